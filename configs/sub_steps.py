"""Subtraction of 0..999, the work shown: column by column with borrows.

    python launch.py --config=configs/sub_steps.py

`configs/add_steps.py` with `-`: the decoder writes each column's digits,
borrow in, difference and borrow out, then the answer (negative results
swap the operands and write the sign). 27,000 training equations.
Expect (2-core CPU): figures in docs/experiments.md (in progress).
"""

from configs import add_steps


def get_config():
  c = add_steps.get_config()
  c.task.operators = '-'
  return c

"""Subtraction of 0..999, the work shown: x's columns minus y's, then the sign.

    python launch.py --config=configs/sub_steps.py

`add_steps.py` with `-`: the decoder writes each column of `a - b`
(digits, borrow in, digit, borrow out), then the sign (the top column's
borrow), then each column of the magnitude from the ten's complement, then
the answer, so every copy reads a fixed place. 27,000 training equations.
Expect (one core beside another run): seed 0 0 wrong of 1,000,000 (12
minutes, and 6 for the grid); seed 1 diverged at epoch 10 (every test
equation wrong); seed 2 4 wrong. Not robust yet (docs/experiments.md).
"""

from configs import add_steps


def get_config():
  c = add_steps.get_config()
  c.task.operators = '-'
  c.optim.weight_decay = 0.3  # 0.1: 15 wrong (seed 0).
  return c

"""Subtraction learnt on operands of up to 3 digits, asked of up to 9 digits.

    python launch.py --config=configs/sub_long.py  # one core: 20 min

`add_long.py` with `-` and `sub_steps.py`'s rate and decay, in
`add_steps.py`'s 30 epochs (`sub_steps.py`'s 40 are not needed: no test
equation wrong from epoch 12, seed 0): each column of `a - b`, the sign, the
negation's columns when the result is negative, then the answer.
"""

from configs import add_long


def get_config():
  c = add_long.get_config('-')
  c.optim.update(learning_rate=0.002, weight_decay=0.3)  # As sub_steps.py.
  return c

"""Subtraction learnt on operands of up to 3 digits, asked of up to 9 digits.

    python launch.py --config=configs/sub_long.py  # one core: 10 min

Expect: 0 wrong of 1M; every equation right of 4 to 9 digits (seeds 0-2)

`add_long.py` with `-` and `sub_steps.py`'s rate and decay, in 25 epochs:
a step of its longer trace takes as long as one of `add_steps.py` (whose
run has 30), and 40 epochs left no test equation wrong from epoch 12 (seed
0). Each column of `a - b`, the sign, the negation's columns when the
result is negative, then the answer.
"""

from configs import add_long
from lstm_math import config as config_lib


def get_config():
  c = add_long.get_config('-')
  config_lib.warmup_cosine(c, learning_rate=0.002, epochs=25)
  c.optim.weight_decay = 0.3  # Rate and decay: sub_steps.py's.
  return c

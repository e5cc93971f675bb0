"""Subtraction of 0..999, negative results allowed, on the whole grid.

    python launch.py --config=configs/sub.py

Results run from -999 to 999 and are written with a leading '-'. The recipe
of configs/add_exact.py (the post's 27,000 training equations), with the
answer at a fixed width, its sign first ('-007'), a wider model, and the
sample weighted towards columns that make or pass on a borrow.

Expect (2-core CPU, 2026-11-29): 1,190 wrong of 1,000,000 (exact-match
0.99881), most with a three-digit a and b; about 4 minutes (222 s).
Without carry_boost: 2,205 wrong, most where the lower two digits of a and
b are equal.
"""

from configs import add_exact


def get_config():
  c = add_exact.get_config()
  c.operators = '-'
  c.pad_result = True  # The sign and every digit at a fixed place.
  c.hidden_size = 96
  c.carry_boost = 1.0  # Borrow chains, e.g. 530 - 230, twice as likely.
  c.epochs = 120
  return c

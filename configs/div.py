"""Integer division of 0..999 by 1..999, rounding towards zero.

    python launch.py --config=configs/div.py

The rule (README, "Equations"): a / b is the integer quotient rounded
towards zero, which is floor division for these non-negative operands; the
divisor is never 0, so the grid is 1,000 x 999. Fresh equations every step
from the 90% of the grid that is not held out.

Expect (2-core CPU, 2026-11-29): 877 wrong of 999,000 (exact-match
0.99912 over the grid; 0.99789 on the held-out tenth, 210 of 99,644
wrong), every one a single character, most on the lines a = k * b where the
quotient changes; about 9 minutes (521 s). With 80 epochs: 1,718 wrong
(350 s); with 50 epochs, before the gates were computed with one tanh:
3,432. With uniform operands instead of 'mixed' (50 epochs): 8,891 wrong,
many of them at divisors below 10.
"""

from lstm_math import config as config_lib


def get_config():
  c = config_lib.base()
  c.operators = '/'
  c.dataset = 'stream'
  c.weighting = 'mixed'  # Small divisors, where the quotients are long.
  c.n_examples = 30_000
  c.steps_per_epoch = 200
  c.pad_operands = True
  c.hidden_size = 128
  c.batch_size = 256
  c.learning_rate = 0.005
  c.schedule = 'warmup_cosine'
  c.warmup_epochs = 2
  c.epochs = 120
  return c

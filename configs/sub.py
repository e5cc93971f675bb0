"""Subtraction of 0..999, negative results allowed, on the whole grid.

    python launch.py --config=configs/sub.py

Results run from -999 to 999 and are written with a leading '-'. The
switches of configs/add_exact.py; the post's 27,000 training equations.

Expect (2-core CPU, 2026-11-29): 2,205 wrong of 1,000,000 (exact-match
0.9978), most where the lower two digits of a and b are equal; about 4
minutes.
"""

from lstm_math import config as config_lib


def get_config():
  c = config_lib.base()
  c.operators = '-'
  c.pad_operands = True
  c.pad_result = True  # '-007': the sign and every digit at a fixed place.
  c.weighting = 'mixed'  # Short operands as common as long ones, half the time.
  c.distinct_operands = False  # a - a = 0 is an answer too.
  c.hidden_size = 96
  c.batch_size = 128
  c.learning_rate = 0.005
  c.schedule = 'warmup_cosine'
  c.warmup_epochs = 2
  c.epochs = 120
  return c

"""Addition of 0..999 without one error on the whole grid.

    python launch.py --config=configs/add_exact.py

The post's model family and data budget (27,000 distinct training equations
of the post's sample, 3,000 held out), with the switches that make it exact:
operands zero-padded to three digits, so every digit sits at a fixed
position; a wider BiLSTM; a learning rate that warms up and decays to zero,
so the last epochs settle instead of jumping between nearly-right states.

Expect (2-core CPU, 2026-11-29): 0 wrong of the 1,000,000 equations of the
grid (973,000 of them never trained on), with seed 0 (216 s) and with
--config.seed=1 (205 s). With 100 epochs
instead of 150, seeds 0, 1 and 2 left 8, 3 and 20 wrong, every one a carry
passed along a column of digits summing to 9.
"""

from lstm_math import config as config_lib


def get_config():
  c = config_lib.base()
  c.pad_operands = True
  c.weighting = 'mixed'  # Short operands as common as long ones, half the time.
  c.distinct_operands = False  # a - a = 0 is an answer too.
  c.hidden_size = 64
  c.batch_size = 128
  c.learning_rate = 0.005
  c.schedule = 'warmup_cosine'
  c.warmup_epochs = 2
  c.epochs = 150
  return c

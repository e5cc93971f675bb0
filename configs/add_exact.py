"""Addition of 0..999 without one error on the whole grid.

    python launch.py --config=configs/add_exact.py

The post's model family and data budget (27,000 distinct training equations
of the post's sample, 3,000 held out), with the switches that make it exact:
operands zero-padded to three digits, so every digit sits at a fixed
position; short operands drawn more often; the sample weighted towards
columns that make or pass on a carry (where the errors were); a wider
BiLSTM; a learning rate that warms up and decays to zero, so the last
epochs settle instead of jumping between nearly-right states.

Expect (2-core CPU, 2026-11-29): 0 wrong of the 1,000,000 equations of the
grid (973,000 of them never trained on) with seed 0 (240 s) and with
--config.seed=1 (227 s). Not every seed: --config.seed=2 leaves 3 wrong
(236 s), carries passed along columns whose digits sum to 9 (`118 + 342 =
560`, expected 460). Without the carry weighting (carry_boost=0), seed 0
gave 0 wrong and seed 1 gave 6; with 150 epochs, 2 and 2.
"""

from lstm_math import config as config_lib


def get_config():
  c = config_lib.base()
  c.pad_operands = True
  c.weighting = 'mixed'  # Short operands as common as long ones, half the time.
  c.distinct_operands = False  # a - a = 0 is an answer too.
  c.carry_boost = 1.0  # (1 + 1)**k: k columns that make or pass on a carry.
  c.hidden_size = 64
  c.batch_size = 128
  c.learning_rate = 0.005
  c.schedule = 'warmup_cosine'
  c.warmup_epochs = 2
  c.epochs = 200
  return c

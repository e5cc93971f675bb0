"""The post's result, fast: test exact-match 0.999 on addition of 0..999.

    python launch.py --config=configs/add_fast.py

(Draft: being tuned.)
"""

from lstm_math import config as config_lib


def get_config():
  c = config_lib.base()
  c.hidden_size = 32
  c.batch_size = 128
  c.learning_rate = 0.02
  c.schedule = 'warmup_cosine'
  c.warmup_epochs = 1
  c.epochs = 22
  c.stop_exact = 0.999
  c.best_by = 'last'
  c.checkpoint_every = 1000
  c.examples_before = 0
  c.examples_after = 0
  c.eval_grid = False
  return c

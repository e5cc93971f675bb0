"""A seconds-long smoke run for tests and CI: addition of 0..99.

    python launch.py --config=configs/tiny.py

Expect: seconds on 2 cores; the loss falls, accuracy rises; 4 epochs: not exact
"""

from lstm_math import config as config_lib


def get_config():
  c = config_lib.base()
  c.task.max_number = 99
  c.data.update(n_examples=2_000, batch_size=64)
  c.model.hidden_size = 16
  c.train.update(epochs=4, examples_before=2, examples_after=3)
  c.eval.chunk = 2_048
  return c

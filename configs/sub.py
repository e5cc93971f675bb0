"""Subtraction of 0..999, negative results allowed, on the whole grid.

    python launch.py --config=configs/sub.py

Expect: 0 wrong of 1,000,000 (800,000 never seen), no spike, seeds 0-4;
11-24 min on one core.

add_exact's recipe with a fixed-width answer and 200,000 equations: the last
errors need rare pairs whose lower digits nearly match (27,000 equations:
1,190 wrong; 100,000: 3).
"""

from configs import add_exact


def get_config():
  c = add_exact.get_config()
  c.task.operators = '-'
  c.task.pad_result = True  # The sign and every digit at a fixed place.
  c.model.hidden_size = 96
  c.data.n_examples = 200_000  # The sample's size is the lever.
  c.train.epochs = 30
  c.optim.average = 0.0  # Not add_exact's: no spike on seeds 0-4 without.
  return c

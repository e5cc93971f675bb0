"""Multiplication with the post's decoder, which recalls products.

    python launch.py --config=configs/mul_repeat.py  # 0..99: 10 min, 2 cores
    python launch.py --config=configs/mul_repeat.py --config.train.epochs=600
    python launch.py --config=configs/mul_repeat.py:3  # 0..999: ~15 hours

Expect: 42/10,000 wrong (95.8% of 1,000 held out), seed 0 on one core

Every error is an equation it never trained on, nearly all with neither order
trained on: it recalls products, where `mul.py`, which writes the steps, does
not. 0..999 streams fresh equations, for an accelerator.
"""

from lstm_math import config as config_lib


def get_config(digits: str = '2'):
  if digits not in ('2', '3'):
    raise ValueError(
      f"configs/mul_repeat.py:{digits}: digits must be '2' or '3'"
    )
  c = config_lib.base()
  c.task.update(operators='*', pad_operands=True)
  c.task.target = 'reversed'  # Units first, as long multiplication goes.
  c.model.update(enc_layers=2, dec_layers=2)  # Depth is what generalises.
  if digits == '2':
    c.task.max_number = 99
    c.data.n_examples = 10_000  # Every pair; the test set is 10% of them.
    c.data.update(distinct_operands=False, batch_size=128)
    c.model.hidden_size = 128
    c.model.dropout = 0.3  # Less memorising, more multiplying.
    c.optim.weight_decay = 0.1  # The same again.
    # The test set is the held-out tenth: it must not choose the epoch.
    c.train.best_by = 'last'
    config_lib.warmup_cosine(c, learning_rate=0.005, epochs=200)
  else:
    c.data.update(dataset='stream', n_examples=30_000, split=0.1)
    c.data.update(steps_per_epoch=500, batch_size=1024)
    c.model.hidden_size = 256
    config_lib.warmup_cosine(c, learning_rate=0.003, epochs=100)
  return c

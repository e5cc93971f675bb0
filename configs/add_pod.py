"""Addition sized for many devices: a TPU pod slice or a multi-GPU machine.

    python launch.py --config=configs/add_pod.py          # global batch 16,384
    python launch.py --config=configs/add_pod.py:65536    # another batch

Expect: not measured on accelerators yet; on 2 CPU cores it runs, slowly.

On a pod slice, the same command on every worker (README). Fresh equations
every step, each device making its own slice of the global batch, which must
divide by the number of devices.
"""

import math

from lstm_math import config as config_lib


def get_config(batch: str = '16384'):
  c = config_lib.base()
  c.task.pad_operands = True
  c.data.update(dataset='stream', weighting='digits', steps_per_epoch=100)
  c.data.n_examples = 30_000  # 3,000 held-out test equations.
  c.data.batch_size = int(batch)
  c.model.hidden_size = 128
  # The post's 0.01 at batch 256, scaled with the square root of the batch.
  lr = min(0.05, 0.01 * math.sqrt(c.data.batch_size / 256))
  config_lib.warmup_cosine(c, learning_rate=lr, epochs=30)
  c.devices.parallel = 'auto'
  return c

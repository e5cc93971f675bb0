"""pmap against shard_map, the same train_epoch on 8 fake CPU devices.

    python bench/parallel.py

Chooses parallel.DEFAULT_MULTI_DEVICE: one epoch of the seed model (batch
256, 32 equations a device), each mode timed in turn, several rounds, in one
run so the machine's noise falls on both alike.
"""

import functools
import json
import os
import statistics
import sys
import time

os.environ['XLA_FLAGS'] = (
  os.environ.get('XLA_FLAGS', '') + ' --xla_force_host_platform_device_count=8'
)
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax  # pylint: disable=g-import-not-at-top,wrong-import-position

from bench import run as bench_run  # pylint: disable=g-import-not-at-top
from lstm_math import config as config_lib  # pylint: disable=g-import-not-at-top
from lstm_math import parallel  # pylint: disable=g-import-not-at-top
from lstm_math import train  # pylint: disable=g-import-not-at-top


def main(rounds: int = 5):
  config = config_lib.base()
  setup, state, train_set, k_train = bench_run.initial_run(config)
  runs = {}
  for mode, n in (('jit', 1), ('pmap', 8), ('shard_map', 8)):
    devices = parallel.make_devices(mode, n)
    fn = devices.map_epoch(
      functools.partial(train.train_epoch, setup=setup, n_devices=n),
      donate=False,
    )
    args = (
      devices.replicate(state),
      devices.place(train_set),
      devices.place(k_train),
    )
    start = time.perf_counter()
    jax.block_until_ready(fn(*args))
    runs[mode] = dict(
      fn=fn, args=args, compile_s=time.perf_counter() - start, epochs=[]
    )
  for _ in range(rounds):
    for run in runs.values():
      start = time.perf_counter()
      jax.block_until_ready(run['fn'](*run['args']))
      run['epochs'].append(time.perf_counter() - start)
  results = {
    mode: dict(
      devices=1 if mode == 'jit' else 8,
      compile_and_first_epoch_s=round(run['compile_s'], 3),
      epoch_s=round(statistics.median(run['epochs']), 4),
      step_ms=round(
        statistics.median(run['epochs']) / setup.steps_per_epoch * 1e3, 3
      ),
    )
    for mode, run in runs.items()
  }
  print(
    f'{"mode":<10} {"devices":>7} {"compile+1st (s)":>16} {"epoch (s)":>10}'
    f' {"step (ms)":>10}'
  )
  for mode, r in results.items():
    print(
      f'{mode:<10} {r["devices"]:>7} {r["compile_and_first_epoch_s"]:>16}'
      f' {r["epoch_s"]:>10} {r["step_ms"]:>10}'
    )
  print(json.dumps(results))


if __name__ == '__main__':
  main()

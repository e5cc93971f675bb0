"""Seconds a training step of any config on this machine, and its whole run.

    python bench/step_time.py configs/mul.py:3 configs/mixed.py:999

For configs too large to run here: times a few steps of the config's own
epoch function (the first call, with compilation, left out) and multiplies
by the run's steps. The estimate leaves out evaluation and start-up.
"""

import argparse
import dataclasses
import functools
import importlib.util
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import jax  # pylint: disable=g-import-not-at-top,wrong-import-position

from lstm_math import config as config_lib  # pylint: disable=g-import-not-at-top
from lstm_math import train  # pylint: disable=g-import-not-at-top


def load_config(spec: str):
  """'path/config.py[:arg]' -> the config, as launch.py's --config reads it."""
  path, _, arg = spec.partition(':')
  module_spec = importlib.util.spec_from_file_location('bench_config', path)
  module = importlib.util.module_from_spec(module_spec)
  module_spec.loader.exec_module(module)
  return module.get_config(arg) if arg else module.get_config()


def step_seconds(config, steps: int = 5, repeats: int = 3) -> float:
  """Median seconds a step over `repeats` epochs of `steps` steps."""
  setup, state, train_set, _, key = train.initial_run(config)
  setup = dataclasses.replace(setup, steps_per_epoch=steps)
  epoch = jax.jit(functools.partial(train.train_epoch, setup=setup))
  state, _ = jax.block_until_ready(epoch(state, train_set, key))
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    state, _ = jax.block_until_ready(epoch(state, train_set, key))
    times.append((time.perf_counter() - start) / steps)
  return statistics.median(times)


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('configs', nargs='+', help='config.py[:argument]')
  parser.add_argument('--steps', type=int, default=5)
  args = parser.parse_args()
  print(f'JAX {jax.__version__}, {jax.devices()[0].device_kind}')
  for spec in args.configs:
    config = load_config(spec)
    config_lib.validate(config)
    seconds = step_seconds(config, args.steps)
    total = config.epochs * train.make_setup(config).steps_per_epoch
    print(
      f'{spec}: {seconds * 1e3:.0f} ms a step (batch {config.batch_size},'
      f' hidden {config.hidden_size}); {total:,} steps:'
      f' {total * seconds / 3600:.1f} h of training',
      flush=True,
    )


if __name__ == '__main__':
  main()

"""Seconds a training step of any config on this machine, and its whole run.

    python bench/step_time.py configs/mul.py:3 configs/mixed.py:999
    python bench/step_time.py configs/mixed.py --set model.dec_head=512
    python bench/step_time.py configs/add_exact.py --epoch

For configs too large to run here: times a few training steps of the
config (the first call, with compilation, left out) and multiplies by the
run's steps. The estimate leaves out evaluation and start-up. `--epoch`
times whole epochs of the config's own epoch function instead (its data, and
the work at an epoch's end: the weight average's batch-norm statistics).
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
import jax.numpy as jnp  # pylint: disable=g-import-not-at-top

from bench import run as bench_run  # pylint: disable=g-import-not-at-top
from lstm_math import config as config_lib  # pylint: disable=g-import-not-at-top
from lstm_math import data  # pylint: disable=g-import-not-at-top
from lstm_math import train  # pylint: disable=g-import-not-at-top


def load_config(spec: str):
  """'path/config.py[:arg]' -> the config, as launch.py's --config reads it."""
  path, _, arg = spec.partition(':')
  module_spec = importlib.util.spec_from_file_location('bench_config', path)
  module = importlib.util.module_from_spec(module_spec)
  module_spec.loader.exec_module(module)
  return module.get_config(arg) if arg else module.get_config()


def override(config, setting: str) -> None:
  """Sets 'section.field=value' in `config`, typed as the field's default."""
  name, sep, text = setting.partition('=')
  section, _, field = name.partition('.')
  if not sep or section not in config or field not in config[section]:
    raise SystemExit(
      f'--set {setting!r}: expected an existing section.field=value'
    )
  old = config[section][field]
  if isinstance(old, bool):
    if text.lower() not in ('true', 'false'):
      raise SystemExit(f'--set {setting!r}: {name} is True or False')
    value = text.lower() == 'true'
  else:
    try:
      value = type(old)(text) if old is not None else text
    except ValueError:
      raise SystemExit(
        f'--set {setting!r}: {name} is a {type(old).__name__}'
      ) from None
  config[section][field] = value


def step_seconds(
  config, steps: int = 5, repeats: int = 3, epoch: bool = False
) -> float:
  """Median seconds a step over `repeats` calls of `steps` steps each.

  Streaming configs run their own epoch function, shortened to `steps`
  steps (data made on the device included); seed-sample configs, whose
  epochs are fixed by the sample, run the jitted train step on one batch.
  `epoch`: every config runs whole epochs of its epoch function.
  """
  setup, state, train_set, key = bench_run.initial_run(config)
  if epoch or train_set is None:
    if not epoch:
      setup = dataclasses.replace(setup, steps_per_epoch=steps)
    steps = setup.steps_per_epoch
    run_epoch = jax.jit(functools.partial(train.train_epoch, setup=setup))
    run = lambda state: run_epoch(state, train_set, key)[0]
  else:
    rows = jnp.arange(config.data.batch_size) % train_set.size
    batch = data.Batch(*(x[rows] for x in train_set.batch))
    step = jax.jit(train.train_step)

    def run(state):
      for _ in range(steps):
        state, _ = step(state, batch)
      return state

  state = jax.block_until_ready(run(state))
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    state = jax.block_until_ready(run(state))
    times.append((time.perf_counter() - start) / steps)
  return statistics.median(times)


def duration(seconds: float) -> str:
  if seconds < 120:
    return f'{seconds:.0f} s'
  if seconds < 2 * 3600:
    return f'{seconds / 60:.0f} min'
  return f'{seconds / 3600:.1f} h'


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('configs', nargs='+', help='config.py[:argument]')
  parser.add_argument('--steps', type=int, default=5)
  parser.add_argument(
    '--epoch', action='store_true', help='time whole epochs, not --steps'
  )
  parser.add_argument(
    '--set',
    action='append',
    default=[],
    metavar='SECTION.FIELD=VALUE',
    help='override a field of every config (repeatable)',
  )
  args = parser.parse_args()
  print(f'JAX {jax.__version__}, {jax.devices()[0].device_kind}')
  for spec in args.configs:
    config = load_config(spec)
    for setting in args.set:
      override(config, setting)
    config_lib.validate(config)
    seconds = step_seconds(config, args.steps, epoch=args.epoch)
    total = config.train.epochs * train.prepare(config).setup.steps_per_epoch
    name = ' '.join([spec, *args.set])
    print(
      f'{name}: {seconds * 1e3:.1f} ms a step (batch {config.data.batch_size},'
      f' hidden {config.model.hidden_size}); {total:,} steps:'
      f' {duration(total * seconds)} of training',
      flush=True,
    )


if __name__ == '__main__':
  main()

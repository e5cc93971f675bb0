"""Speed of the seed model on this machine, against what its matmul rate allows.

    python bench/run.py            # everything (about 6 minutes on 2 CPU cores)
    python bench/run.py --quick    # without time_to_seed (about 30 seconds)
    python bench/run.py --fast     # time_to_seed_fast only (about 3 minutes)
    python bench/run.py --quick --steps  # and the kept step configs (~12 min)

Prints a table for people and, as the last line, one JSON object. Figures and
the commands that produced them are kept in bench/RESULTS.md.

FLOPs are counted from the model's shapes, a multiply-add being 2 FLOPs and
element-wise work (gates, batch norm, softmax) left out, for the seed model
(V symbols, H hidden, S source and T target steps, one layer a side):

  encoder recurrence   S * 2 directions * 2 * H * 4H   (inputs are a gather)
  decoder input        2 directions * 2 * 2H * 4H      (once: same every step)
  decoder recurrence   T * 2 directions * 2 * H * 4H
  output layer         T * 2 * 2H * V

and a training step as 3 forward passes (forward, and a backward pass of
twice the forward's work) per equation of the batch.

`grid_gates_s` times what the count leaves out and no code can skip: the
tanh of the gates and the cell at every recurrent step, for the whole grid.

`ar_steps_*` is the same for the autoregressive decoder writing addition as
steps (`bench_autoregressive`), beside the post's model in the same run.

`time_to_seed_s` is the post's recipe (configs/add.py) and
`time_to_seed_fast_s` the fast one (configs/add_fast.py), both measured the
same way: the whole command, from the process's start to its exit, until
test exact-match 0.999, without the grid; the median of the seeds. The fast
one is timed with the compilation cache off (`_cold_s`) and on (`_s`, warm:
a cache folder of its own, filled by one run before the timed ones).
"""

import argparse
import functools
import importlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import jax  # pylint: disable=g-import-not-at-top,wrong-import-position
from jax import lax  # pylint: disable=g-import-not-at-top
import jax.numpy as jnp  # pylint: disable=g-import-not-at-top

from bench import flops  # pylint: disable=g-import-not-at-top
from lstm_math import config as config_lib  # pylint: disable=g-import-not-at-top
from lstm_math import data  # pylint: disable=g-import-not-at-top
from lstm_math import parallel  # pylint: disable=g-import-not-at-top
from lstm_math import train  # pylint: disable=g-import-not-at-top

# bench/compare.py also measures revisions from before evaluate.py was split
# and before scoring.Scorer (lstm_math is a namespace package: look where its
# train.py came from). `bench_train` and `bench_grid` read no config field,
# so they measure flat configs of those revisions as well.
if os.path.exists(os.path.join(os.path.dirname(train.__file__), 'scoring.py')):
  from lstm_math import scoring  # pylint: disable=g-import-not-at-top
else:
  from lstm_math import evaluate as scoring  # pylint: disable=g-import-not-at-top
_Scorer = getattr(scoring, 'Scorer', None) or scoring.GridEvaluator


def flops_per_equation_forward(v, h, s, t) -> int:
  recurrent = 2 * 2 * h * 4 * h  # Both directions, one step.
  return (
    s * recurrent
    + 2 * 2 * (2 * h) * (4 * h)
    + t * recurrent
    + t * 2 * (2 * h) * v
  )


def timed(fn, *args, repeats=5):
  """Median seconds of fn(*args) after one warm-up call; and the result."""
  out = jax.block_until_ready(fn(*args))
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    out = jax.block_until_ready(fn(*args))
    times.append(time.perf_counter() - start)
  return statistics.median(times), out


def matmul_gflops(n=2048) -> float:
  a = jax.random.normal(jax.random.key(0), (n, n), jnp.float32)
  f = jax.jit(lambda a: a @ a)
  seconds, _ = timed(f, a, repeats=10)
  return 2 * n**3 / seconds / 1e9


def initial_run(config):
  """(setup, fresh state, train set, train key): where training starts."""
  if hasattr(train, 'initial_run'):  # Revisions before it went to tests/.
    setup, state, train_set, _, key = train.initial_run(config)
    return setup, state, train_set, key
  run = train.prepare(config)
  state = jax.jit(run.init)(run.k_init)
  return run.setup, state, run.datasets()[0], run.k_train


def batch_size(setup) -> int:
  # Revisions before data.Sampling kept it in the setup itself.
  return getattr(setup, 'sampling', setup).batch_size


def bench_train(config):
  setup, state, train_set, key = initial_run(config)
  step = jax.jit(train.train_step, donate_argnums=0)
  batch = data.Batch(*(x[: batch_size(setup)] for x in train_set.batch))
  state, _ = step(state, batch)
  jax.block_until_ready(state)
  times = []
  for _ in range(200):
    start = time.perf_counter()
    state, metrics = step(state, batch)
    jax.block_until_ready(metrics)
    times.append(time.perf_counter() - start)
  epoch = jax.jit(
    functools.partial(train.train_epoch, setup=setup), donate_argnums=0
  )
  state, _ = epoch(state, train_set, key)
  epoch_times = []
  for _ in range(5):
    start = time.perf_counter()
    state, metrics = epoch(state, train_set, key)
    jax.block_until_ready(metrics)
    epoch_times.append(time.perf_counter() - start)
  epoch_s = statistics.median(epoch_times)
  return (
    dict(
      train_step_ms=statistics.median(times) * 1e3,
      epoch_s=epoch_s,
      epoch_step_ms=epoch_s / setup.steps_per_epoch * 1e3,
      steps_per_epoch=setup.steps_per_epoch,
    ),
    setup,
    state,
  )


def bench_grid(setup, state, chunk, chunks=(1_024, 4_096, 16_384)):
  """The whole grid at the config's `chunk` size, and at a few others."""
  devices = parallel.make_devices('jit')
  variables = {'params': state.params, 'batch_stats': state.batch_stats}
  sweep = {}
  for chunk_size in sorted(set(chunks) | {chunk}):
    evaluator = _Scorer(
      setup.model, setup.task, devices, chunk=chunk_size, progress_parts=1
    )
    start = time.perf_counter()
    evaluator(variables, progress=False)
    first = time.perf_counter() - start
    seconds, _ = timed(
      lambda v, e=evaluator: e(v, progress=False), variables, repeats=3
    )
    sweep[chunk_size] = dict(seconds=seconds, first_call_s=first)
  best = sweep[chunk]
  return dict(
    grid_eval_s=best['seconds'],
    grid_eval_first_call_s=best['first_call_s'],
    grid_chunk=chunk,
    grid_eval_s_by_chunk={k: round(v['seconds'], 3) for k, v in sweep.items()},
    grid_devices=devices.count,
  )


def grid_gates_s(task, hidden: int, chunk: int) -> float:
  """The grid's LSTM nonlinearities alone: a floor under `grid_eval_s`.

  Every recurrent step of both directions evaluates one tanh per gate and
  one of the cell, 5H a row: a chain of S + T tanh of a [2, chunk, 5H]
  array (what one chunk of the grid computes), timed and scaled to the
  grid's chunks. The FLOP limit leaves this work out.
  """
  steps = task.src_len + task.tgt_len
  x = jax.random.normal(jax.random.key(0), (2, chunk, 5 * hidden))
  chain = jax.jit(
    lambda x: lax.fori_loop(0, steps, lambda i, x: jnp.tanh(x), x)
  )
  seconds, _ = timed(chain, x, repeats=20)
  return seconds * -(-task.grid_size // chunk)


def bench_autoregressive(rate: float, config=None, name='ar_steps') -> dict:
  """The show-the-work model beside the post's: by default addition 0..999
  written as steps (`target='steps'`) by the autoregressive decoder at the
  post's width; or a given config (`--steps`: the kept step configs).

  Its FLOPs per equation are the encoder's and, for each of the T written
  tokens, a decoder step's (`flops.decoder_flops_per_token`).
  """
  if config is None:
    config = config_lib.base()
    config.task.target = 'steps'
    config.model.update(decoder='autoregressive', batch_norm=False)
  figures, setup, state = bench_train(config)
  figures.update(bench_grid(setup, state, config.eval.chunk, chunks=()))
  task, net = setup.task, setup.model
  forward = flops.encoder_flops(
    net, task.src_len
  ) + task.tgt_len * flops.decoder_flops_per_token(net, task.src_len)
  figures['flops_per_equation_forward'] = forward
  figures['grid_eval_limit_s'] = forward * task.grid_size / rate
  figures['grid_eval_ratio'] = (
    figures['grid_eval_s'] / figures['grid_eval_limit_s']
  )
  figures['train_step_limit_ms'] = 3 * forward * batch_size(setup) / rate * 1e3
  figures['train_step_ratio'] = (
    figures['train_step_ms'] / figures['train_step_limit_ms']
  )
  figures['tgt_len'] = task.tgt_len
  return {f'{name}_{k}': v for k, v in figures.items()}


def time_to_seed(
  seed: int, extra: list[str], config: str = 'configs/add.py', cache=None
) -> dict:
  """Wall time of the whole command until test exact-match >= 0.999.

  `cache`: None keeps the environment's compilation cache, 'off' turns it
  off, a folder uses that one.
  """
  env = dict(os.environ)
  if cache is not None:
    env['LSTM_MATH_CACHE'] = cache
  with tempfile.TemporaryDirectory() as workdir:
    cmd = [
      sys.executable,
      os.path.join(ROOT, 'launch.py'),
      f'--config={config}',
      f'--workdir={workdir}',
      f'--config.seed={seed}',
      '--config.train.stop_exact=0.999',
      '--config.eval.grid=False',
      '--config.train.examples_before=0',
      '--config.train.examples_after=0',
      *extra,
    ]
    start = time.perf_counter()
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if out.returncode:
      raise RuntimeError(out.stderr[-2000:])
    with open(os.path.join(workdir, 'metrics.jsonl')) as f:
      rows = [json.loads(line) for line in f]
    startup = next(
      float(line.split()[2][:-1])
      for line in out.stdout.splitlines()
      if line.startswith('start-up took')
    )
  reached = rows[-1]['val_exact_match'] >= 0.999
  # The loop's own clock: the first epoch (which also compiles the test
  # evaluation) and the mean of the others.
  first_epoch = rows[0]['elapsed_s']
  later = (rows[-1]['elapsed_s'] - first_epoch) / max(1, len(rows) - 1)
  return dict(
    seed=seed,
    wall_s=wall,
    epochs=rows[-1]['epoch'],
    reached=reached,
    startup_s=startup,
    first_epoch_s=first_epoch,
    epoch_s=later,
    imports_and_exit_s=wall - startup - rows[-1]['elapsed_s'],
  )


def time_to_seed_fast(seeds: list[int], extra: list[str]) -> dict:
  """configs/add_fast.py timed as `time_to_seed`, cache off, then warm."""
  fast = 'configs/add_fast.py'
  results = {}
  cold = [time_to_seed(s, extra, fast, cache='off') for s in seeds]
  with tempfile.TemporaryDirectory() as cache:
    time_to_seed(seeds[0], extra, fast, cache=cache)  # Fills the cache.
    warm = [time_to_seed(s, extra, fast, cache=cache) for s in seeds]
  for suffix, runs in (('_cold', cold), ('', warm)):
    results[f'time_to_seed_fast{suffix}_runs'] = runs
    results[f'time_to_seed_fast{suffix}_s'] = statistics.median(
      r['wall_s'] for r in runs
    )
    results[f'startup_fast{suffix}_s'] = statistics.median(
      r['startup_s'] for r in runs
    )
  results['epochs_to_seed_fast'] = statistics.median(r['epochs'] for r in cold)
  results['epoch_fast_s'] = statistics.median(r['epoch_s'] for r in cold + warm)
  results['fast_reached_all'] = all(r['reached'] for r in cold + warm)
  return results


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument(
    '--quick',
    action='store_true',
    help='skip time_to_seed (three full training runs)',
  )
  parser.add_argument(
    '--fast',
    action='store_true',
    help='only time_to_seed_fast (configs/add_fast.py, cache off and on)',
  )
  parser.add_argument(
    '--steps',
    action='store_true',
    help='also the kept step configs (configs/add_steps.py, mul.py):'
    ' a training step and the grid, each with its FLOP limit (minutes)',
  )
  parser.add_argument('--seeds', default='0,1,2')
  parser.add_argument(
    '--write',
    metavar='JSON',
    help='also write the figures and this command to JSON (bench/speed.json'
    " is the README's speed table: python -m tools.results_table --write"
    ' README.md)',
  )
  args, extra = parser.parse_known_args()
  seeds = [int(s) for s in args.seeds.split(',')]
  if args.fast:
    results = time_to_seed_fast(seeds, extra)
    _print(results)
    return

  config = config_lib.base()
  results = dict(
    date=time.strftime('%Y-%m-%d'),
    machine=f'{platform.machine()}, {os.cpu_count()} cores,'
    f' {jax.devices()[0].device_kind}',
    jax=jax.__version__,
    backend=jax.default_backend(),
    matmul_gflops=matmul_gflops(),
  )
  train_figures, setup, state = bench_train(config)
  results.update(train_figures)
  results.update(bench_grid(setup, state, config.eval.chunk))

  task = setup.task
  forward = flops_per_equation_forward(
    task.vocab.size, config.model.hidden_size, task.src_len, task.tgt_len
  )
  results['flops_per_equation_forward'] = forward
  results['flops_per_step'] = 3 * forward * config.data.batch_size
  rate = results['matmul_gflops'] * 1e9
  results['grid_eval_limit_s'] = forward * task.grid_size / rate
  results['train_step_limit_ms'] = results['flops_per_step'] / rate * 1e3
  results['grid_eval_ratio'] = (
    results['grid_eval_s'] / results['grid_eval_limit_s']
  )
  results['grid_gates_s'] = grid_gates_s(
    task, config.model.hidden_size, config.eval.chunk
  )
  results['grid_gates_ratio'] = (
    results['grid_gates_s'] / results['grid_eval_limit_s']
  )
  results['train_step_ratio'] = (
    results['train_step_ms'] / results['train_step_limit_ms']
  )
  results['epoch_step_ratio'] = (
    results['epoch_step_ms'] / results['train_step_limit_ms']
  )

  results.update(bench_autoregressive(rate))
  if args.steps:
    for name in ('add_steps', 'mul'):
      module = importlib.import_module(f'configs.{name}')
      results.update(bench_autoregressive(rate, module.get_config(), name))

  if not args.quick:
    runs = [time_to_seed(s, extra) for s in seeds]
    results['time_to_seed_runs'] = runs
    results['time_to_seed_s'] = statistics.median(r['wall_s'] for r in runs)
    results['epochs_to_seed'] = statistics.median(r['epochs'] for r in runs)
    results['startup_s'] = statistics.median(r['startup_s'] for r in runs)
    results.update(time_to_seed_fast(seeds, extra))
  _print(results)
  if args.write:
    results['command'] = 'python bench/run.py ' + ' '.join(sys.argv[1:])
    with open(args.write, 'w') as f:
      json.dump(results, f, indent=2)
      f.write('\n')


def _print(results: dict) -> None:
  """A table for people, then the whole as one JSON line."""
  print(f'{"figure":<28} {"value":>14}')
  for key, value in results.items():
    if isinstance(value, float):
      print(f'{key:<28} {value:>14.4g}')
    elif not isinstance(value, (list, dict)):
      print(f'{key:<28} {value!s:>14}')
  for chunk, seconds in results.get('grid_eval_s_by_chunk', {}).items():
    print(f'{"grid_eval_s, chunk " + str(chunk):<28} {seconds:>14.4g}')
  for name in (
    'time_to_seed',
    'time_to_seed_fast_cold',
    'time_to_seed_fast',
  ):
    for run in results.get(f'{name}_runs', []):
      print(
        f'{name + ", seed " + str(run["seed"]):<28} {run["wall_s"]:>14.4g}'
        f'  ({run["epochs"]} epochs, start-up {run["startup_s"]:.1f} s,'
        f' {run["epoch_s"]:.2f} s an epoch, reached: {run["reached"]})'
      )
  print(json.dumps(results))


if __name__ == '__main__':
  main()

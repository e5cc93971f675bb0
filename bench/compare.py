"""Two versions of the code side by side: training step and grid, in turns.

    python bench/compare.py HEAD~1 HEAD        # any two git revisions
    python bench/compare.py HEAD~1 WORKTREE    # against uncommitted changes
    python bench/compare.py HEAD~1 HEAD --steps  # the autoregressive decoder
    python bench/compare.py HEAD~1 HEAD --config configs/mul.py  # its model

This machine is noisy, so a before/after figure means something only when
both are measured in one run: each revision is checked out in a temporary
git worktree and measured in its own process, the revisions taking turns
`--rounds` times. Each measurement is bench/run.py's: the median of 200
jitted training steps of the seed model (batch 256) and of 3 whole-grid
evaluations; with `--steps`, the same for bench/run.py's other model, the
autoregressive decoder writing addition as steps at the post's width; with
`--config`, that config's model: bench/step_time.py's step (median of 3
calls of 5 steps) and 3 grid evaluations, its weights untrained.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Runs in a fresh process: the revision's lstm_math modules are imported
# first, so that bench/run.py (this checkout's, the same for both
# revisions; it puts this checkout on sys.path) finds them already loaded
# and measures them with `bench_train` and `bench_grid`.
_MEASURE = r"""
import importlib.util, sys
sys.path.insert(0, sys.argv[1])
from lstm_math import config as config_lib, data, parallel, train
spec = importlib.util.spec_from_file_location('bench_run', sys.argv[2])
run = importlib.util.module_from_spec(spec)
spec.loader.exec_module(run)
config = config_lib.base()  # The post's model; flat before the sections.
chunk = config.eval.chunk if 'eval' in config else config.eval_chunk
if sys.argv[3] == 'steps':  # As bench_autoregressive (sectioned configs).
  config.task.target = 'steps'
  config.model.update(decoder='autoregressive', batch_norm=False)
if sys.argv[3].endswith('.py'):  # A config file, as bench/step_time.py reads.
  spec = importlib.util.spec_from_file_location('step_time', sys.argv[4])
  step_time = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(step_time)
  config = step_time.load_config(sys.argv[3])
  figures = dict(train_step_ms=step_time.step_seconds(config) * 1e3)
  setup, state = run.initial_run(config)[:2]
  chunk = config.eval.chunk
else:
  figures, setup, state = run.bench_train(config)
grid = run.bench_grid(setup, state, chunk, chunks=())
assert train.__file__.startswith(sys.argv[1]), train.__file__
print(figures['train_step_ms'], grid['grid_eval_s'])
"""


def measure(tree: str, model: str) -> tuple[float, float]:
  env = dict(os.environ, LSTM_MATH_CACHE='off')
  out = subprocess.run(
    [
      sys.executable,
      '-c',
      _MEASURE,
      tree,
      os.path.join(ROOT, 'bench', 'run.py'),
      model,
      os.path.join(ROOT, 'bench', 'step_time.py'),
    ],
    capture_output=True,
    text=True,
    env=env,
    check=True,
  )
  step_ms, grid_s = out.stdout.split()[-2:]
  return float(step_ms), float(grid_s)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('revisions', nargs=2, help='git revisions or WORKTREE')
  parser.add_argument('--rounds', type=int, default=2)
  parser.add_argument(
    '--steps',
    action='store_true',
    help="the autoregressive decoder writing steps, not the post's model",
  )
  parser.add_argument(
    '--config', help="a config file's model instead (configs/mul.py)"
  )
  args = parser.parse_args()
  model = 'steps' if args.steps else 'post'
  if args.config:
    model = os.path.abspath(args.config)
  with tempfile.TemporaryDirectory() as tmp:
    trees = []
    for i, rev in enumerate(args.revisions):
      if rev == 'WORKTREE':
        trees.append(ROOT)
        continue
      tree = os.path.join(tmp, f'rev{i}')
      subprocess.run(
        ['git', '-C', ROOT, 'worktree', 'add', '-q', '--detach', tree, rev],
        check=True,
      )
      trees.append(tree)
    try:
      results = {rev: [] for rev in args.revisions}
      for _ in range(args.rounds):
        for rev, tree in zip(args.revisions, trees):
          step_ms, grid_s = measure(tree, model)
          results[rev].append((step_ms, grid_s))
          print(f'{rev}: step {step_ms:.3f} ms, grid {grid_s:.3f} s')
    finally:
      for tree in trees:
        if tree != ROOT:
          subprocess.run(
            ['git', '-C', ROOT, 'worktree', 'remove', '--force', tree],
            check=False,
          )
  print(f'\n{"revision":<24} {"step ms":>10} {"grid s":>10}')
  for rev, rows in results.items():
    step = statistics.median(r[0] for r in rows)
    grid = statistics.median(r[1] for r in rows)
    print(f'{rev:<24} {step:>10.3f} {grid:>10.3f}')


if __name__ == '__main__':
  main()

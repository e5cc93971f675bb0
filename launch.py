"""Trains, evaluates or queries an lstm_math model; the library does the work.

python launch.py --config=configs/add.py                 # train + grid eval
python launch.py --config=configs/add.py --mode=eval     # grid eval only
python launch.py --config=configs/add.py --mode=predict --expr='31 + 87'
python launch.py --config=configs/add.py --config.seed=1 --workdir=runs/s1
"""

import difflib
import os
import sys

from absl import app
from absl import flags
from absl import logging
import jax
from ml_collections import config_flags

from lstm_math import config as config_lib
from lstm_math import errors
from lstm_math import metrics
from lstm_math import predict
from lstm_math import train

_CONFIG = config_flags.DEFINE_config_file(
  'config', None, 'A python config file: configs/<task>.py.', lock_config=True
)
_WORKDIR = flags.DEFINE_string(
  'workdir', None, 'Where the run keeps its files; default runs/<config>.'
)
_MODE = flags.DEFINE_enum(
  'mode',
  'train',
  ['train', 'eval', 'predict'],
  'train (then evaluate), eval, or predict.',
)
_EXPR = flags.DEFINE_multi_string(
  'expr',
  [],
  'predict: an expression such as "31 + 87"; repeatable. Without'
  ' it, one expression per line is read from standard input.',
)
_STEPS = flags.DEFINE_bool(
  'steps',
  False,
  'predict: print the steps the model wrote under each answer (a config'
  " with task.target='steps').",
)
_ALLOW_OTHER = flags.DEFINE_bool(
  'allow_other_train_set',
  False,
  "eval, predict: go on when today's code draws another training set than"
  ' the checkpoint was trained on (which equations it never trained on is'
  ' then unknown).',
)
flags.mark_flag_as_required('config')


def _enable_compilation_cache() -> None:
  """Keeps compiled programs on disk, so a second run starts in a moment.

  LSTM_MATH_CACHE names the folder (default ~/.cache/lstm_math/xla); set it
  to 'off' to compile afresh every time.
  """
  folder = os.environ.get(
    'LSTM_MATH_CACHE',
    os.path.join(os.path.expanduser('~'), '.cache', 'lstm_math', 'xla'),
  )
  if folder == 'off':
    return
  jax.config.update('jax_compilation_cache_dir', folder)
  jax.config.update('jax_persistent_cache_min_compile_time_secs', 0.2)


def unknown_override(argv) -> str | None:
  """The first `--config.x=` override that names no config field, in words."""
  leaves = list(config_lib.flatten(config_lib.base()))
  for arg in argv[1:]:
    if not arg.startswith('--config.'):
      continue
    path = arg[len('--config.') :].split('=', 1)[0]
    if path in leaves:
      continue
    # The closest fields, by their own names (`batch_sise`) or whole paths.
    by_name = {leaf.rsplit('.', 1)[-1]: leaf for leaf in leaves}
    name = path.rsplit('.', 1)[-1]
    close = [
      by_name[n] for n in difflib.get_close_matches(name, by_name, 3, 0.6)
    ] or difflib.get_close_matches(path, leaves, 3, 0.6)
    hint = f'; did you mean {" or ".join(close)}?' if close else ''
    return f'--config.{path}: no config field {path!r}{hint}'
  return None


def parse_flags(argv):
  """absl's parsing, with a mistyped config override told in one line."""
  try:
    return app.parse_flags_with_usage(argv)
  except (AttributeError, KeyError):
    message = unknown_override(argv)
    if message is None:
      raise
    print(f'error: {message}', file=sys.stderr)
    sys.exit(2)


def main(argv) -> int:
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  logging.set_verbosity(logging.WARNING)  # Orbax logs every save at INFO.
  _enable_compilation_cache()
  config_path = flags.FLAGS['config'].config_filename
  workdir = _WORKDIR.value or os.path.join(
    'runs', os.path.splitext(os.path.basename(config_path))[0]
  )
  config = _CONFIG.value
  try:
    if _MODE.value == 'train':
      train.train_and_evaluate(config, workdir, config_path)
      return 0
    run, variables, datasets, prov, epoch = train.load_trained(
      config, workdir, _ALLOW_OTHER.value
    )
    if _MODE.value == 'eval':
      rows = metrics.MetricWriter(os.path.join(workdir, 'metrics.jsonl'))
      train.evaluate(run, workdir, variables, datasets, prov, epoch,
                     rows.read())  # fmt: skip
      return 0
    if jax.process_index() != 0:
      return 0  # Process 0 answers; the others only helped restore.
    lines = _EXPR.value or [line.rstrip('\n') for line in sys.stdin]
    predictor = predict.Predictor(run.setup.model, run.setup.task, variables)
    results = predictor(lines, show_steps=_STEPS.value)
    for ok, text in results:
      print(text, file=sys.stdout if ok else sys.stderr, flush=True)
    return 0 if all(ok for ok, _ in results) else 1
  except (errors.ConfigError, train.TrainingDiverged) as e:
    print(f'error: {e}', file=sys.stderr)
    return 2


if __name__ == '__main__':
  app.run(lambda argv: sys.exit(main(argv)), flags_parser=parse_flags)

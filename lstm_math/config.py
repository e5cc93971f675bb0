"""The config: one flat ConfigDict, its defaults, and its validation.

`base()` is the post's experiment; every file in `configs/` starts from it
and changes what its task needs. `validate()` checks every field before
anything compiles, so a user mistake is one line naming the field, the value
and what is allowed, never a traceback from inside JAX.
"""

import math
import numbers

import ml_collections

from lstm_math import checkpoint as checkpoint_lib
from lstm_math import data
from lstm_math import parallel

# Values that had other names: refused in words, read from old config.json.
RENAMED = {
  ('dataset', 'seed'): 'fixed',  # Read like config.seed.
  ('weighting', 'mixed'): 'half_digits',  # Nothing to do with mixed.py.
}

PARALLEL_MODES = ('auto', 'jit', 'pmap', 'shard_map')
SCHEDULES = ('constant', 'cosine', 'warmup_cosine')


def base() -> ml_collections.ConfigDict:
  """The post: addition of 0..999, 30,000 examples, BiLSTM(20), Adam 0.01."""
  c = ml_collections.ConfigDict()
  c.seed = 0

  # The task: what an equation is and how it is written.
  c.operators = '+'
  c.n_terms = 2
  c.min_number = 0
  c.max_number = 999
  c.pad_operands = False  # '007 + 089' instead of '7 + 89'.
  c.pad_result = False  # Result zero-padded to its full width.
  c.reverse_source = False  # Digits of each operand written backwards.
  c.reverse_target = False  # The answer written backwards.

  # The data: the post's fixed sample, or fresh equations every step.
  c.dataset = 'fixed'  # 'fixed' (the post's sample) | 'stream'
  c.n_examples = 30_000  # seed: sample size; stream: test set / split.
  c.split = 0.1  # Fraction held out as the test set.
  c.distinct_operands = True  # seed: pairs a != b (itertools.permutations).
  # 'uniform' | 'digits' (every operand length alike) | 'half_digits'
  # (each operand by a coin toss between the two).
  c.weighting = 'uniform'
  c.carry_boost = 0.0  # seed: (1 + b)**carry columns more likely; 0: off.
  c.near_multiples = 0.0  # stream, a / b: share of a drawn near b's multiples.
  c.steps_per_epoch = 0  # stream: steps between evaluations (required).

  # The model.
  c.hidden_size = 20
  c.enc_layers = 1
  c.dec_layers = 1
  c.batch_norm = True
  c.dropout = 0.0
  c.init_scheme = 'keras'  # 'keras' | 'flax'

  # The optimiser (Keras' Adam: epsilon 1e-7).
  c.batch_size = 256
  c.learning_rate = 0.01
  c.schedule = 'constant'  # 'constant' | 'cosine' | 'warmup_cosine'
  c.warmup_epochs = 0
  c.adam_eps = 1e-7
  c.grad_clip = 0.0  # Global-norm clipping; 0 turns it off.
  c.weight_decay = 0.0  # AdamW's decoupled decay; 0: Adam, as the post.
  c.epochs = 200
  c.stop_exact = 0.0  # Stop early once test exact-match reaches it; 0: off.
  # The checkpoint kept as best and evaluated: 'val_loss' (the post),
  # 'val_exact_match' (the most test equations exactly right) or 'last'.
  c.best_by = 'val_loss'

  # Devices.
  c.parallel = 'auto'  # 'auto' | 'jit' | 'pmap' | 'shard_map'
  c.distributed = False  # jax.distributed.initialize() for multi-host.
  # Multi-host: a process that has not joined by then, or stops answering
  # for so long, ends the run in the others with an error (not a hang).
  c.distributed_timeout_s = 300
  c.heartbeat_timeout_s = 100
  # 'native': XLA compiles for this CPU's instruction set; 'AVX2' (or
  # another cap): the same floats on every x86-64 machine that has it.
  c.cpu_isa = 'native'

  # Evaluation and output.
  c.eval_chunk = 4_096  # Grid equations a chunk: bench/run.py chose it.
  c.eval_random = 100_000  # Held-out equations when there is no grid.
  c.eval_grid = True  # Evaluate the grid at the end of training.
  c.checkpoint_every = 1  # Epochs between saves of the latest state.
  c.examples_before = 5
  c.examples_after = 20
  return c


_FIELDS = {
  # name: (type, check, what is allowed)
  'seed': (int, lambda v: 0 <= v < 2**31, 'an integer in [0, 2**31)'),
  'n_terms': (int, lambda v: 2 <= v <= 6, 'an integer from 2 to 6'),
  'min_number': (int, lambda v: v >= 0, 'an integer >= 0'),
  'max_number': (int, lambda v: v >= 0, 'an integer >= 0'),
  'pad_operands': (bool, None, 'True or False'),
  'pad_result': (bool, None, 'True or False'),
  'reverse_source': (bool, None, 'True or False'),
  'reverse_target': (bool, None, 'True or False'),
  'dataset': (str, lambda v: v in ('fixed', 'stream'), "'fixed' or 'stream'"),
  'n_examples': (int, lambda v: v >= 2, 'an integer >= 2'),
  'split': (float, lambda v: 0 < v < 1, 'a number between 0 and 1'),
  'distinct_operands': (bool, None, 'True or False'),
  'weighting': (
    str,
    lambda v: v in ('uniform', 'digits', 'half_digits'),
    "'uniform', 'digits' or 'half_digits'",
  ),
  'steps_per_epoch': (int, lambda v: v >= 0, 'an integer >= 0'),
  'carry_boost': (float, lambda v: 0 <= v <= 100, 'a number in [0, 100]'),
  'near_multiples': (float, lambda v: 0 <= v <= 1, 'a number in [0, 1]'),
  'hidden_size': (int, lambda v: 1 <= v <= 4096, 'an integer in [1, 4096]'),
  'enc_layers': (int, lambda v: 1 <= v <= 16, 'an integer in [1, 16]'),
  'dec_layers': (int, lambda v: 1 <= v <= 16, 'an integer in [1, 16]'),
  'batch_norm': (bool, None, 'True or False'),
  'dropout': (float, lambda v: 0 <= v < 1, 'a number in [0, 1)'),
  'init_scheme': (str, lambda v: v in ('keras', 'flax'), "'keras' or 'flax'"),
  'batch_size': (int, lambda v: v >= 1, 'a positive integer'),
  'learning_rate': (float, lambda v: 0 < v < 10, 'a number in (0, 10)'),
  'schedule': (str, lambda v: v in SCHEDULES, ' or '.join(SCHEDULES)),
  'warmup_epochs': (int, lambda v: v >= 0, 'an integer >= 0'),
  'adam_eps': (float, lambda v: 0 < v < 1, 'a number in (0, 1)'),
  'grad_clip': (float, lambda v: v >= 0, 'a number >= 0 (0: off)'),
  'weight_decay': (float, lambda v: 0 <= v < 1, 'a number in [0, 1) (0: off)'),
  'epochs': (int, lambda v: v >= 1, 'a positive integer'),
  'stop_exact': (float, lambda v: 0 <= v <= 1, 'a number in [0, 1]'),
  'best_by': (
    str,
    lambda v: v in checkpoint_lib.BEST_BY,
    ' or '.join(repr(b) for b in checkpoint_lib.BEST_BY),
  ),
  'parallel': (str, lambda v: v in PARALLEL_MODES, ', '.join(PARALLEL_MODES)),
  'distributed': (bool, None, 'True or False'),
  'distributed_timeout_s': (int, lambda v: v >= 1, 'a positive integer'),
  'heartbeat_timeout_s': (int, lambda v: v >= 1, 'a positive integer'),
  'cpu_isa': (
    str,
    lambda v: v in parallel.CPU_ISAS,
    'one of ' + ', '.join(repr(v) for v in parallel.CPU_ISAS),
  ),
  'eval_chunk': (int, lambda v: v >= 1, 'a positive integer'),
  'eval_random': (int, lambda v: v >= 1, 'a positive integer'),
  'eval_grid': (bool, None, 'True or False'),
  'checkpoint_every': (int, lambda v: v >= 1, 'a positive integer'),
  'examples_before': (int, lambda v: v >= 0, 'an integer >= 0'),
  'examples_after': (int, lambda v: v >= 0, 'an integer >= 0'),
}


def _type_ok(value, kind) -> bool:
  if kind is bool:
    return isinstance(value, bool)
  if kind is int:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)
  if kind is float:
    return (
      isinstance(value, numbers.Real)
      and not isinstance(value, bool)
      and math.isfinite(value)
    )
  return isinstance(value, kind)


def validate(config: ml_collections.ConfigDict, n_devices: int = 1) -> None:
  """Raises `data.ConfigError` naming the first field that cannot work."""
  known = set(_FIELDS) | {'operators'}
  unknown = sorted(set(config.keys()) - known)
  if unknown:
    raise data.ConfigError(
      f'unknown config field(s) {", ".join(unknown)}; known: '
      f'{", ".join(sorted(known))}'
    )
  for (name, old), new in RENAMED.items():
    if config.get(name) == old:
      raise data.ConfigError(
        f'{name}={old!r} is now called {new!r}: set {name}={new!r}'
      )
  for name, (kind, check, allowed) in _FIELDS.items():
    if name not in config:
      raise data.ConfigError(f'{name} is missing; it must be {allowed}')
    value = config[name]
    if not _type_ok(value, kind) or (check is not None and not check(value)):
      raise data.ConfigError(f'{name}={value!r}: must be {allowed}')
  task = data.Task.from_config(config)  # Operators, ranges, int32 overflow.

  if config.batch_size % n_devices:
    raise data.ConfigError(
      f'batch_size={config.batch_size}: must divide by the {n_devices}'
      f' devices; try'
      f' {max(n_devices, config.batch_size // n_devices * n_devices)}'
    )
  n_test = data.n_test_examples(config.n_examples, config.split)
  if n_test < 1:
    raise data.ConfigError(
      f'split={config.split} of n_examples={config.n_examples} leaves no'
      ' test equation'
    )
  if config.dataset == 'fixed':
    if config.near_multiples:
      raise data.ConfigError(
        f'near_multiples={config.near_multiples}: weights the stream only;'
        " use dataset='stream' or near_multiples=0"
      )
    if not task.has_grid:
      raise data.ConfigError(
        f"dataset='fixed' with n_terms={config.n_terms}: the post's sample"
        " of pairs needs n_terms=2; use dataset='stream'"
      )
    n_ops, n_a, n_b = task.grid_shape
    available = n_ops * n_a * n_b - (
      n_ops * n_b if config.distinct_operands else 0
    )
    if config.n_examples > available:
      raise data.ConfigError(
        f'n_examples={config.n_examples}: the task has only {available}'
        ' distinct equations'
      )
    n_train = config.n_examples - n_test
    if n_train < config.batch_size:
      raise data.ConfigError(
        f'batch_size={config.batch_size}: larger than the {n_train}'
        ' training equations; lower it or raise n_examples'
      )
  else:
    if config.carry_boost:
      raise data.ConfigError(
        f'carry_boost={config.carry_boost}: weights the fixed sample only;'
        " use dataset='fixed' or carry_boost=0"
      )
    data.check_near_multiples(task, config.near_multiples)
    if config.steps_per_epoch < 1:
      raise data.ConfigError(
        f"steps_per_epoch={config.steps_per_epoch}: dataset='stream' needs"
        ' a positive number of steps between evaluations'
      )
    if task.has_grid and n_test > config.split * task.grid_size:
      raise data.ConfigError(
        f'n_examples={config.n_examples}: its test set of {n_test} is more'
        f' than split={config.split} of the {task.grid_size} equations'
      )
  if (
    config.schedule == 'warmup_cosine' and config.warmup_epochs >= config.epochs
  ):
    raise data.ConfigError(
      f'warmup_epochs={config.warmup_epochs}: must be below'
      f' epochs={config.epochs}'
    )

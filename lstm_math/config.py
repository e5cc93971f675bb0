"""The config: its defaults (`base()`, the post's) and `validate()`."""

import math
import numbers

import ml_collections

from lstm_math import data
from lstm_math.errors import ConfigError
from lstm_math.task import MAX_DIGITS

# The checkpoint kept as best (checkpoint.py); parallel.cap_cpu_isa's caps.
BEST_BY = ('val_loss', 'val_exact_match', 'last')
CPU_ISAS = ('native', 'SSE4_2', 'AVX', 'AVX2', 'AVX512')

# Removed fields: an old config.json may hold them at this value only.
RETIRED = {
  'task.min_number': 0,
  'model.init_scheme': 'keras',
  'model.dec_hidden': 0,
}

# Values that had other names: refused in words, read from old config.json.
RENAMED = {
  ('data.dataset', 'seed'): 'fixed',  # Read like config.seed.
  ('data.weighting', 'mixed'): 'half_digits',  # Nothing to do with mixed.py.
}


def base() -> ml_collections.ConfigDict:
  """The post: addition of 0..999, 30,000 examples, BiLSTM(20), Adam 0.01."""
  c = ml_collections.ConfigDict()
  c.seed = 0

  # What an equation is and how it is written.
  c.task = task = ml_collections.ConfigDict()
  task.operators = '+'
  task.n_terms = 2
  task.max_number = 999
  task.pad_operands = False  # '007 + 089' instead of '7 + 89'.
  task.pad_result = False  # Result zero-padded to its full width.
  task.reverse_source = False  # Digits of each operand written backwards.
  # What the decoder writes: 'answer', 'reversed' (units first) or 'steps'
  # (the written-out algorithm, then the answer; decoder='autoregressive').
  task.target = 'answer'

  c.data = d = ml_collections.ConfigDict()
  d.dataset = 'fixed'  # 'fixed': the post's sample; 'stream': fresh each step.
  d.n_examples = 30_000  # fixed: sample size; stream: test set / split.
  d.split = 0.1  # Fraction held out as the test set.
  d.hold_out = 'equations'  # | 'pairs': a op b held out with b op a.
  d.distinct_operands = True  # fixed: pairs a != b (itertools.permutations).
  # 'uniform' | 'digits' (operand lengths alike) | 'half_digits' (either).
  d.weighting = 'uniform'
  d.digits_share = 0.5  # fixed, 'half_digits': the by-length draw's weight.
  d.carry_boost = 0.0  # fixed: (1 + b)**carry columns more likely; 0: off.
  d.near_multiples = 0.0  # stream, a / b: share of a drawn near b's multiples.
  d.steps_per_epoch = 0  # stream: steps between evaluations (required).
  d.batch_size = 256

  c.model = m = ml_collections.ConfigDict()
  m.hidden_size = 20
  m.enc_layers = 1
  m.dec_layers = 1
  m.batch_norm = True
  m.dropout = 0.0
  # 'repeat': the post's decoder, the encoder's summary at every position;
  # 'autoregressive': an LSTM writing a token a step, attending the source.
  m.decoder = 'repeat'
  # The autoregressive decoder's options (why each: docs/experiments.md).
  m.dec_positions = False  # Each step also reads its place in the target.
  m.dec_own_attention = False  # ... attends over the tokens read so far.
  m.dec_source_tokens = False  # ... attends over the source's symbols.
  m.dec_place_queries = False  # Those attentions asked by a query a place.
  m.dec_state_queries = False  # Those place queries plus the state's.
  m.dec_head = 0  # A tanh layer of this many units before the logits; 0: none.
  # No encoder, no rows per position: reads by role and place (add_long.py).
  m.dec_places = False

  c.optim = o = ml_collections.ConfigDict()
  o.learning_rate = 0.01
  o.schedule = 'constant'  # 'constant' | 'warmup_cosine'
  o.warmup_epochs = 0
  o.adam_eps = 1e-7  # Keras' Adam.
  o.b2 = 0.999  # Adam's second-moment decay (optax's and Keras' default).
  o.update_clip = 0.0  # RMS cap of each tensor's Adam step m/sqrt(v); 0: off.
  # Decay a step of an evaluated moving average of the weights; 0: none.
  o.average = 0.0
  # The last batches of each epoch on which the average's batch-norm
  # statistics are measured; 0: it is scored with the raw weights'.
  o.average_bn_batches = 16
  o.grad_clip = 0.0  # Global-norm clipping; 0 turns it off.
  o.weight_decay = 0.0  # AdamW's decoupled decay; 0: Adam, as the post.

  c.train = t = ml_collections.ConfigDict()
  t.epochs = 200
  t.stop_exact = 0.0  # Stop early once test exact-match reaches it; 0: off.
  # The checkpoint kept as best and evaluated: the lowest val_loss (the
  # post's), the highest val_exact_match (ties: the lower loss) or the last.
  t.best_by = 'val_loss'
  t.checkpoint_every = 1  # Epochs between saves of the latest state.
  t.examples_before = 5
  t.examples_after = 20

  c.eval = e = ml_collections.ConfigDict()
  e.grid = True  # Evaluate the grid at the end of training.
  e.chunk = 4_096  # Equations a chunk: bench/run.py chose it.
  e.n_random = 100_000  # Held-out equations when there is no grid.
  # Operands of 1 to this many digits, beyond the trained (dec_places); 0: off.
  e.lengths = 0
  e.length_equations = 10_000  # Random equations a digit count and set.

  c.devices = dev = ml_collections.ConfigDict()
  dev.parallel = 'auto'  # 'auto' | 'jit' | 'pmap' | 'shard_map'
  dev.distributed = False  # jax.distributed.initialize() for multi-host.
  dev.distributed_timeout_s = 300  # A process missing this long: an error,
  dev.heartbeat_timeout_s = 100  # or this long once joined.
  # 'native', or a cap ('AVX2'): the same floats on every CPU that has it.
  dev.cpu_isa = 'native'
  return c


def warmup_cosine(c, *, learning_rate: float, epochs: int, warmup_epochs=2):
  """Most configs' recipe: a warm-up to `learning_rate`, a cosine to 0."""
  c.optim.update(
    learning_rate=learning_rate,
    schedule='warmup_cosine',
    warmup_epochs=warmup_epochs,
  )
  c.train.epochs = epochs


def spike_remedy(c, *, average: float = 0.999):
  """The written-steps configs' cure for loss spikes (docs/experiments.md,
  'Loss spikes'): Adam's v follows the gradient faster, clipping, and the
  weights' moving average with this decay a step scored in their place."""
  c.optim.update(b2=0.95, grad_clip=1.0, average=average)


def _is(*allowed):
  names = [repr(a) for a in allowed]
  return lambda v: v in allowed, ', '.join(names[:-1]) + ' or ' + names[-1]


def _int(lo, hi=None):
  check = lambda v: v >= lo and (hi is None or v <= hi)
  if hi is None:
    return check, 'a positive integer' if lo == 1 else f'an integer >= {lo}'
  return check, f'an integer from {lo} to {hi}'


_BOOL = (None, 'True or False')

_FIELDS = {
  # dotted name: (type, check, what is allowed)
  'seed': (int, lambda v: 0 <= v < 2**31, 'an integer in [0, 2**31)'),
  'task.operators': (str, None, 'a string of + - * /'),
  'task.n_terms': (int, *_int(2, 6)),
  'task.max_number': (int, *_int(0)),
  'task.pad_operands': (bool, *_BOOL),
  'task.pad_result': (bool, *_BOOL),
  'task.reverse_source': (bool, *_BOOL),
  'task.target': (str, *_is(*data.TARGETS)),
  'data.dataset': (str, *_is('fixed', 'stream')),
  'data.n_examples': (int, *_int(2)),
  'data.split': (float, lambda v: 0 < v < 1, 'a number between 0 and 1'),
  'data.hold_out': (str, *_is('equations', 'pairs')),
  'data.distinct_operands': (bool, *_BOOL),
  'data.weighting': (str, *_is('uniform', 'digits', 'half_digits')),
  'data.digits_share': (float, lambda v: 0 < v < 1, 'a number in (0, 1)'),
  'data.carry_boost': (float, lambda v: 0 <= v <= 100, 'a number in [0, 100]'),
  'data.near_multiples': (float, lambda v: 0 <= v <= 1, 'a number in [0, 1]'),
  'data.steps_per_epoch': (int, *_int(0)),
  'data.batch_size': (int, *_int(1)),
  'model.hidden_size': (int, *_int(1, 4096)),
  'model.enc_layers': (int, *_int(1, 16)),
  'model.dec_layers': (int, *_int(1, 16)),
  'model.batch_norm': (bool, *_BOOL),
  'model.dropout': (float, lambda v: 0 <= v < 1, 'a number in [0, 1)'),
  'model.decoder': (str, *_is('repeat', 'autoregressive')),
  'model.dec_positions': (bool, *_BOOL),
  'model.dec_own_attention': (bool, *_BOOL),
  'model.dec_source_tokens': (bool, *_BOOL),
  'model.dec_place_queries': (bool, *_BOOL),
  'model.dec_state_queries': (bool, *_BOOL),
  'model.dec_head': (int, *_int(0)),
  'model.dec_places': (bool, *_BOOL),
  'optim.learning_rate': (float, lambda v: 0 < v < 10, 'a number in (0, 10)'),
  'optim.schedule': (str, *_is('constant', 'warmup_cosine')),
  'optim.warmup_epochs': (int, *_int(0)),
  'optim.adam_eps': (float, lambda v: 0 < v < 1, 'a number in (0, 1)'),
  'optim.grad_clip': (float, lambda v: v >= 0, 'a number >= 0 (0: off)'),
  'optim.b2': (float, lambda v: 0 < v < 1, 'a number in (0, 1)'),
  'optim.update_clip': (float, lambda v: v >= 0, 'a number >= 0 (0: off)'),
  'optim.average': (float, lambda v: 0 <= v < 1, 'a number in [0, 1) (0: off)'),
  'optim.average_bn_batches': (int, *_int(0)),
  'optim.weight_decay': (
    float,
    lambda v: 0 <= v < 1,
    'a number in [0, 1) (0: off)',
  ),
  'train.epochs': (int, *_int(1)),
  'train.stop_exact': (float, lambda v: 0 <= v <= 1, 'a number in [0, 1]'),
  'train.best_by': (str, *_is(*BEST_BY)),
  'train.checkpoint_every': (int, *_int(1)),
  'train.examples_before': (int, *_int(0)),
  'train.examples_after': (int, *_int(0)),
  'eval.grid': (bool, *_BOOL),
  'eval.chunk': (int, *_int(1)),
  'eval.n_random': (int, *_int(1)),
  'eval.lengths': (
    int,
    lambda v: 0 <= v <= MAX_DIGITS,
    f'an integer from 0 to {MAX_DIGITS}: longer sums and differences'
    ' pass int32',
  ),
  'eval.length_equations': (int, *_int(1)),
  'devices.parallel': (str, *_is('auto', 'jit', 'pmap', 'shard_map')),
  'devices.distributed': (bool, *_BOOL),
  'devices.distributed_timeout_s': (int, *_int(1)),
  'devices.heartbeat_timeout_s': (int, *_int(1)),
  'devices.cpu_isa': (str, *_is(*CPU_ISAS)),
}

# Where each field of the flat configs before the sections went.
_FLAT_NAMES = {
  'reverse_target': 'task.target',  # True: 'reversed'; see from_saved.
  'eval_chunk': 'eval.chunk',
  'eval_random': 'eval.n_random',
  'eval_grid': 'eval.grid',
} | {n.split('.')[-1]: n for n in [*_FIELDS, *RETIRED] if '.' in n}


def flatten(tree: dict, prefix: str = '') -> dict:
  """{'model.hidden_size': 20, ...} of a nested config or its JSON."""
  flat = {}
  for key, value in tree.items():
    if isinstance(value, dict | ml_collections.ConfigDict):
      flat |= flatten(value, f'{prefix}{key}.')
    else:
      flat[prefix + key] = value
  return flat


def from_saved(saved: dict) -> dict:
  """The dotted fields of a saved config.json (flat from older runs, or
  nested); missing fields are defaults, renamed values get their names."""
  flat = {_FLAT_NAMES.get(k, k): v for k, v in flatten(saved).items()}
  for name, value in RETIRED.items():
    if name in flat and (old := flat.pop(name)) != value:
      raise ConfigError(
        f"{name}={old!r}: this option was removed; today's code runs"
        f' {name}={value!r} only'
      )
  if isinstance(flat.get('task.target'), bool):  # Was reverse_target.
    flat['task.target'] = 'reversed' if flat['task.target'] else 'answer'
  flat = flatten(base().to_dict()) | flat
  for (name, old), new in RENAMED.items():
    if flat.get(name) == old:
      flat[name] = new
  return flat


def _type_ok(value, kind) -> bool:
  if isinstance(value, bool):  # Python's bool is an int; here it is not.
    return kind is bool
  if kind is int:
    return isinstance(value, numbers.Integral)
  if kind is float:
    return isinstance(value, numbers.Real) and math.isfinite(value)
  return isinstance(value, kind)


_AUTOREGRESSIVE_ONLY = (
  'dec_positions dec_own_attention dec_source_tokens'
  ' dec_place_queries dec_state_queries dec_head dec_places'
).split()
# What the place-coupled decoder replaces (it reads no absolute position).
_NOT_WITH_PLACES = (
  'dec_positions dec_own_attention dec_source_tokens dec_place_queries'
  ' dec_state_queries'
).split()
_DEFAULTS_MODEL = base().model


def task_of(config: ml_collections.ConfigDict) -> data.Task:
  return data.Task(**config.task.to_dict())


def sampling_of(config: ml_collections.ConfigDict) -> data.Sampling:
  return data.Sampling(**config.data.to_dict(), salt=config.seed)


def validate(config: ml_collections.ConfigDict, n_devices: int = 1) -> None:
  """Raises `ConfigError` naming the first field that cannot work."""
  flat = flatten(config)
  unknown = sorted(set(flat) - set(_FIELDS))
  if unknown:
    raise ConfigError(
      f'unknown config field(s) {", ".join(unknown)}; known: '
      f'{", ".join(_FIELDS)}'
    )
  for (name, old), new in RENAMED.items():
    if flat.get(name) == old:
      raise ConfigError(
        f'{name}={old!r} is now called {new!r}: set {name}={new!r}'
      )
  for name, (kind, check, allowed) in _FIELDS.items():
    if name not in flat:
      raise ConfigError(f'{name} is missing; it must be {allowed}')
    value = flat[name]
    if not _type_ok(value, kind) or (check is not None and not check(value)):
      raise ConfigError(f'{name}={value!r}: must be {allowed}')
  task = task_of(config)  # Operators, ranges, int32 overflow.
  _validate_grid(task, config.eval.grid)
  _validate_data(sampling_of(config), task)
  check_devices(config, n_devices)
  m, o, t = config.model, config.optim, config.train
  if m.decoder == 'repeat':
    for field in _AUTOREGRESSIVE_ONLY:
      if m[field] != _DEFAULTS_MODEL[field]:
        raise ConfigError(
          f'model.{field}={m[field]!r}: applies to'
          " model.decoder='autoregressive' only"
        )
  if m.dec_state_queries and not m.dec_place_queries:
    raise ConfigError(
      'model.dec_state_queries=True: adds the state to the place queries;'
      ' set model.dec_place_queries=True too'
    )
  if m.decoder == 'autoregressive' and m.batch_norm:
    raise ConfigError(
      "model.batch_norm=True: applies to model.decoder='repeat' only (the"
      ' autoregressive decoder has none); set model.batch_norm=False'
    )
  if m.dec_places:
    _validate_places(config, task)
  elif config.eval.lengths:
    raise ConfigError(
      f'eval.lengths={config.eval.lengths}: only a model with'
      ' model.dec_places=True reads operands longer than trained; set 0'
    )
  if o.schedule == 'warmup_cosine' and o.warmup_epochs >= t.epochs:
    raise ConfigError(
      f'optim.warmup_epochs={o.warmup_epochs}: must be below'
      f' train.epochs={t.epochs}'
    )


def _validate_places(config, task: data.Task) -> None:
  m = config.model
  for field in _NOT_WITH_PLACES:
    if m[field]:
      raise ConfigError(
        f'model.{field}=True: the place-coupled decoder'
        ' (model.dec_places=True) reads by role and place instead; set False'
      )
  if (task.target, task.n_terms) != ('steps', 2) or task.operators not in '+-':
    raise ConfigError(
      'model.dec_places=True: writes the steps of one + or - of two'
      f" operands only (task.target='steps', n_terms=2, operators '+' or"
      f" '-'), not target={task.target!r}, n_terms={task.n_terms},"
      f' operators={task.operators!r}'
    )
  if task.reverse_source:
    raise ConfigError(
      "task.reverse_source=True: model.dec_places counts a digit's place"
      ' from the end of its number as people write it; set False'
    )
  if task.max_number != 10**task.operand_width - 1:
    raise ConfigError(
      f'task.max_number={task.max_number}: with model.dec_places=True, all'
      f' numbers of up to some digits (9, 99, 999, ...)'
    )
  if 0 < config.eval.lengths <= task.operand_width:
    raise ConfigError(
      f'eval.lengths={config.eval.lengths}: the model trains on'
      f' {task.operand_width} digits already; set more, up to {MAX_DIGITS},'
      ' or 0'
    )


# Host memory the grid's evaluation may take: half of a 24 GiB machine.
EVAL_MEMORY_BYTES = 12 * 2**30


def _validate_grid(task: data.Task, evaluate: bool) -> None:
  """A grid's equations are numbered by int32 and scored in host memory."""
  if not task.has_grid:
    return
  if task.grid_size > data.INT32_MAX:
    raise ConfigError(
      f'task.max_number={task.max_number}: its grid of {task.grid_size:,}'
      f' equations cannot be numbered by int32 (at most {data.INT32_MAX:,});'
      ' lower max_number'
    )
  need = task.grid_size * (task.tgt_len + 64)  # Answers, operands, masks.
  if evaluate and need > EVAL_MEMORY_BYTES:
    raise ConfigError(
      f'task.max_number={task.max_number}: scoring its grid of'
      f' {task.grid_size:,} equations needs about {need / 2**30:.0f} GiB of'
      f' memory (at most {EVAL_MEMORY_BYTES // 2**30}); lower max_number or'
      ' set eval.grid=False'
    )


def check_devices(config: ml_collections.ConfigDict, n_devices: int) -> None:
  """The check that needs the devices counted (JAX started)."""
  batch = config.data.batch_size
  if batch % n_devices:
    raise ConfigError(
      f'data.batch_size={batch}: must divide by the {n_devices} devices;'
      f' try {max(n_devices, batch // n_devices * n_devices)}'
    )


def _validate_data(d: data.Sampling, task: data.Task) -> None:
  n_test = d.n_test
  if n_test < 1:
    raise ConfigError(
      f'data.split={d.split} of data.n_examples={d.n_examples} leaves no'
      ' test equation'
    )
  if d.dataset == 'fixed':
    if d.digits_share != 0.5 and d.weighting != 'half_digits':
      raise ConfigError(
        f'data.digits_share={d.digits_share}: mixes the draws of'
        " weighting='half_digits' only; set it or digits_share=0.5"
      )
    if d.near_multiples:
      raise ConfigError(
        f'data.near_multiples={d.near_multiples}: weights the stream only;'
        " use dataset='stream' or near_multiples=0"
      )
    if not task.has_grid:
      raise ConfigError(
        f"data.dataset='fixed' with task.n_terms={task.n_terms}: the post's"
        " sample of pairs needs n_terms=2; use dataset='stream'"
      )
    n_ops, n_a, n_b = task.grid_shape
    available = n_ops * n_a * n_b - (n_ops * n_b if d.distinct_operands else 0)
    if d.n_examples > available:
      raise ConfigError(
        f'data.n_examples={d.n_examples}: the task has only {available}'
        ' distinct equations'
      )
    n_train = d.n_examples - n_test
    if n_train < d.batch_size:
      raise ConfigError(
        f'data.batch_size={d.batch_size}: larger than the {n_train}'
        ' training equations; lower it or raise n_examples'
      )
    return
  if d.digits_share != 0.5:
    raise ConfigError(
      f'data.digits_share={d.digits_share}: weights the fixed sample only'
      " (the stream tosses a fair coin); use dataset='fixed' or 0.5"
    )
  if d.carry_boost:
    raise ConfigError(
      f'data.carry_boost={d.carry_boost}: weights the fixed sample only;'
      " use dataset='fixed' or carry_boost=0"
    )
  if d.near_multiples and (task.operators != '/' or task.n_terms != 2):
    raise ConfigError(
      f'data.near_multiples={d.near_multiples}: draws dividends of a / b'
      f' only, not operators={task.operators!r} with n_terms={task.n_terms};'
      ' use near_multiples=0'
    )
  if d.steps_per_epoch < 1:
    raise ConfigError(
      f"data.steps_per_epoch={d.steps_per_epoch}: dataset='stream' needs"
      ' a positive number of steps between evaluations'
    )
  if task.has_grid and n_test > d.split * task.grid_size:
    raise ConfigError(
      f'data.n_examples={d.n_examples}: its test set of {n_test} is more'
      f' than split={d.split} of the {task.grid_size} equations'
    )

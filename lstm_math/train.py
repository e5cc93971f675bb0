"""Loss, the train and eval steps, whole epochs, and the training loop."""

import concurrent.futures
import contextlib
import dataclasses
import functools
import json
import os
import signal
import time
from typing import Any
from typing import NamedTuple

import flax.struct
import jax
from jax import lax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from lstm_math import checkpoint as checkpoint_lib
from lstm_math import config as config_lib
from lstm_math import data
from lstm_math import errors
from lstm_math import lengths
from lstm_math import metrics as metrics_lib
from lstm_math import model as model_lib
from lstm_math import parallel
from lstm_math import plots
from lstm_math import predict
from lstm_math import provenance
from lstm_math import reports
from lstm_math import steps


class TrainState(flax.struct.PyTreeNode):
  """Everything that changes during training; no PRNG key (`train_step`)."""

  step: jax.Array
  params: Any
  batch_stats: Any
  opt_state: Any
  # The weight average's batch-norm statistics, measured at each epoch's end
  # (Setup.average_stats_batches); {} where the raw weights' are used.
  average_stats: Any
  apply_fn: Any = flax.struct.field(pytree_node=False)
  tx: Any = flax.struct.field(pytree_node=False)


@dataclasses.dataclass(frozen=True)
class Setup:
  """What a run derives from its config once; static under jit."""

  task: data.Task
  model: model_lib.Seq2Seq
  sampling: data.Sampling
  steps_per_epoch: int
  adam_b2: float  # For the spike sign `adam_ratio`.
  # The last batches of an epoch that measure the weight average's batch-norm
  # statistics (a model with batch norm); 0: it uses the raw weights'.
  average_stats_batches: int = 0


def make_optimizer(optim, epochs: int, steps_per_epoch: int):
  """Adam (or AdamW) as the `optim` section says, for a run of `epochs`."""
  steps, lr = steps_per_epoch, optim.learning_rate
  if optim.schedule == 'warmup_cosine':
    warmup = optim.warmup_epochs * steps
    lr = optax.warmup_cosine_decay_schedule(0.0, lr, warmup, epochs * steps)
  b2, eps, decay = optim.b2, optim.adam_eps, optim.weight_decay
  if optim.update_clip > 0:
    # Wortsman et al. 2023's update clipping, before the learning rate.
    parts = [
      optax.scale_by_adam(b2=b2, eps=eps),
      optax.clip_by_block_rms(optim.update_clip),
    ]
    if decay > 0:
      parts.append(optax.add_decayed_weights(decay, _matrices))
    adam = optax.chain(*parts, optax.scale_by_learning_rate(lr))
  elif decay > 0:
    # Weight matrices decay; vectors (biases, batch-norm scales) do not.
    adam = optax.adamw(lr, b2=b2, eps=eps, weight_decay=decay, mask=_matrices)
  else:
    adam = optax.adam(lr, b2=b2, eps=eps)
  if optim.grad_clip > 0:
    adam = optax.chain(optax.clip_by_global_norm(optim.grad_clip), adam)
  if optim.average > 0:
    adam = optax.chain(adam, weight_average(optim.average))
  return adam


class WeightAverage(NamedTuple):
  params: Any  # The exponential moving average of the weights.


def weight_average(decay: float) -> optax.GradientTransformation:
  """A moving average of the weights, kept in the optimiser's state."""

  def update(updates, state, params):
    new = optax.apply_updates(params, updates)
    return updates, WeightAverage(
      optax.incremental_update(new, state.params, 1 - decay)
    )

  return optax.GradientTransformation(
    lambda params: WeightAverage(jax.tree.map(jnp.copy, params)), update
  )


def _states(opt_state, kind) -> list:
  """The parts of an optimiser state of this `kind` (e.g. Adam's)."""
  is_kind = lambda x: isinstance(x, kind)
  return [x for x in jax.tree.leaves(opt_state, is_leaf=is_kind) if is_kind(x)]


def _matrices(params):
  return jax.tree.map(lambda x: x.ndim > 1, params)


def create_train_state(setup: Setup, tx, key: jax.Array) -> TrainState:
  """A fresh state; call it under jit so every leaf is a placed jax.Array."""
  src = jnp.zeros((2, setup.task.src_len), jnp.int32)
  variables = setup.model.init(key, src)
  return TrainState(
    step=jnp.zeros((), jnp.int32),
    params=variables['params'],
    batch_stats=variables.get('batch_stats', {}),
    opt_state=tx.init(variables['params']),
    average_stats=(
      variables.get('batch_stats', {}) if setup.average_stats_batches else {}
    ),
    apply_fn=setup.model.apply,
    tx=tx,
  )


def sequence_metrics(logits_BxTxV, tgt_BxT, weight_B=None):
  """Sums of loss, right characters and right answers, and the weight."""
  if weight_B is None:
    weight_B = jnp.ones(tgt_BxT.shape[:1], jnp.float32)
  loss_BxT = optax.softmax_cross_entropy_with_integer_labels(
    logits_BxTxV, tgt_BxT
  )
  right_BxT = jnp.argmax(logits_BxTxV, -1) == tgt_BxT
  return dict(
    loss=jnp.sum(loss_BxT.mean(-1) * weight_B),
    char_accuracy=jnp.sum(right_BxT.mean(-1) * weight_B),
    exact_match=jnp.sum(right_BxT.all(-1) * weight_B),
    count=jnp.sum(weight_B),
  )


def _mean(sums, axis_name):
  if axis_name is not None:
    sums = lax.psum(sums, axis_name)
  count = sums.pop('count')
  return {k: v / count for k, v in sums.items()}


def train_step(
  state: TrainState,
  batch: data.Batch,
  *,
  axis_name=None,
  key: jax.Array | None = None,
  weight_B: jax.Array | None = None,
  rows_B: jax.Array | None = None,
  adam_b2: float = 0.999,
):
  """One Adam step on this device's `batch`: (new state, metrics). The loss is
  the mean over real rows (`weight_B` != 0) of all devices of `axis_name`."""
  rngs = {} if key is None else {'dropout': jax.random.fold_in(key, state.step)}

  def loss_fn(params):
    logits, mutated = state.apply_fn(
      {'params': params, 'batch_stats': state.batch_stats},
      batch.src_BxS,
      tgt_BxT=batch.tgt_BxT,  # Teacher forcing (autoregressive decoder).
      train=True,
      axis_name=axis_name,
      weight_B=weight_B,
      rows_B=rows_B,
      mutable=['batch_stats'],
      rngs=rngs,
    )
    sums = sequence_metrics(logits, batch.tgt_BxT, weight_B)
    count = sums['count']
    if axis_name is not None:
      count = lax.psum(count, axis_name)
    return sums['loss'] / count, (sums, mutated)

  grads, (sums, mutated) = jax.grad(loss_fn, has_aux=True)(state.params)
  if axis_name is not None:
    # Each device's loss is its share of the global mean: gradients add up.
    grads = lax.psum(grads, axis_name)
  updates, opt_state = state.tx.update(grads, state.opt_state, state.params)
  # What tells a loss spike apart (the same on every device).
  health = dict(
    grad_norm=optax.global_norm(grads),
    update_norm=optax.global_norm(updates),
    adam_ratio=adam_ratio(grads, state.opt_state, adam_b2),
  )
  state = state.replace(
    step=state.step + 1,
    params=optax.apply_updates(state.params, updates),
    batch_stats=mutated.get('batch_stats', state.batch_stats),
    opt_state=opt_state,
  )
  return state, _mean(sums, axis_name) | health


def adam_ratio(grads, opt_state, b2: float = 0.999) -> jax.Array:
  """The largest mean(g**2) / mean(v), v bias-corrected, over the weights; 0
  before Adam's first step (docs/experiments.md, 'Loss spikes')."""
  ratio = jnp.zeros((), jnp.float32)
  for adam in _states(opt_state, optax.ScaleByAdamState):
    debias = 1 - b2 ** adam.count.astype(jnp.float32)
    for g, nu in zip(jax.tree.leaves(grads), jax.tree.leaves(adam.nu)):
      r = jnp.sum(jnp.square(g)) / jnp.maximum(jnp.sum(nu) / debias, 1e-30)
      ratio = jnp.maximum(ratio, jnp.where(adam.count > 0, r, 0.0))
  return ratio


def eval_metrics(state: TrainState, test: data.Dataset, task: data.Task):
  """Mean loss, char_accuracy, exact_match, trace_exact (steps) of `test`."""
  logits = state.apply_fn(_variables(state), test.batch.src_BxS, train=False)
  sums = sequence_metrics(logits, test.batch.tgt_BxT)
  if task.target == 'steps':
    sums['trace_exact'] = sums['exact_match']
    value_B, valid_B = steps.answer_from_steps(jnp.argmax(logits, -1), task)
    right_B = valid_B & (value_B == data.compute_results(test.eqs, task))
    sums['exact_match'] = jnp.sum(right_B.astype(jnp.float32))
  return _mean(sums, None)


def train_epoch(
  state: TrainState,
  train_set: data.Dataset | None,
  base_key: jax.Array,
  *,
  setup: Setup,
  n_devices: int = 1,
  axis_name=None,
):
  """One epoch as one `lax.scan`: (state, mean metrics). A batch depends on
  `base_key` and the step only: alike when resumed, on any device count."""
  batch_size = setup.sampling.batch_size
  n_local = batch_size // n_devices
  # This device's rows of a global batch: devices take consecutive blocks.
  first_row = 0 if axis_name is None else lax.axis_index(axis_name) * n_local
  device_slice = lambda x: lax.dynamic_slice_in_dim(x, first_row, n_local)
  step0, epoch = state.step, state.step // setup.steps_per_epoch
  k_shuffle, k_stream, k_dropout = _train_keys(base_key)
  dropout_key = k_dropout if setup.model.dropout > 0 else None

  if setup.sampling.dataset == 'fixed':
    key = jax.random.fold_in(k_shuffle, epoch)
    n_slots = setup.steps_per_epoch * batch_size
    n_pad = n_slots - train_set.size
    perm = jnp.pad(jax.random.permutation(key, train_set.size), (0, n_pad))
    rows_NxB = perm.reshape(setup.steps_per_epoch, batch_size)
    real_NxB = (jnp.arange(n_slots) < train_set.size).reshape(rows_NxB.shape)
    rows_N = jnp.sum(real_NxB, axis=1)  # Real rows a step, all devices.

    def get_batch(s):
      rows = device_slice(rows_NxB[s])
      weight = device_slice(real_NxB[s]) if n_pad else None
      return data.Batch(*(x[rows] for x in train_set.batch)), weight
  else:
    rows_N = jnp.full(setup.steps_per_epoch, batch_size)

    def get_batch(s):
      key = jax.random.fold_in(k_stream, step0 + s)
      eqs = data.sample_training_equations(
        key, setup.task, n_local, setup.sampling, start=first_row
      )
      return data.make_batch(eqs, setup.task), None

  rows, b2 = first_row + jnp.arange(n_local), setup.adam_b2
  step = functools.partial(train_step, axis_name=axis_name, key=dropout_key)

  def body(state, s):
    batch, weight = get_batch(s)
    return step(state, batch, weight_B=weight, rows_B=rows, adam_b2=b2)

  state, metrics = lax.scan(body, state, jnp.arange(setup.steps_per_epoch))
  n = setup.steps_per_epoch
  if (k := min(setup.average_stats_batches, n)) and state.batch_stats:
    last = [get_batch(s) for s in range(n - k, n)]
    batch, weight = jax.tree.map(lambda *x: jnp.concatenate(x), *last)
    state = average_stats(state, batch, weight, axis_name, dropout_key)
  # Keras' mean over the epoch's equations; of the spike signs also the max.
  share = rows_N / jnp.sum(rows_N)
  epoch = {k: jnp.sum(m * share) for k, m in metrics.items()}
  for k in ('grad_norm', 'update_norm', 'adam_ratio'):
    epoch[f'{k}_max'] = jnp.max(metrics[k])
  return state, epoch


def average_stats(state, batch, weight_B, axis_name, key=None) -> TrainState:
  """The state whose `average_stats` are the weight average's batch-norm
  statistics on `batch` (all devices of `axis_name`), as SWA re-estimates
  them: the raw weights' describe other weights."""
  rngs = {} if key is None else {'dropout': jax.random.fold_in(key, state.step)}
  _, mutated = state.apply_fn(
    {
      'params': _states(state.opt_state, WeightAverage)[0].params,
      'batch_stats': state.batch_stats,
    },
    batch.src_BxS,
    tgt_BxT=batch.tgt_BxT,
    train=True,
    axis_name=axis_name,
    weight_B=weight_B,
    bn_momentum=0.0,
    mutable=['batch_stats'],
    rngs=rngs,
  )
  return state.replace(average_stats=mutated['batch_stats'])


def _train_keys(k_train: jax.Array) -> jax.Array:
  """The training key's three: shuffles, fresh equations, dropout."""
  return jax.random.split(k_train, 3)


# ------------------------------------------------------------------- loop ---


class TrainingDiverged(RuntimeError):
  """The loss became NaN or infinite."""


@dataclasses.dataclass(frozen=True)
class Run:
  """What training, evaluation and prediction start from alike."""

  config: ml_collections.ConfigDict
  setup: Setup
  tx: Any
  k_data: jax.Array  # Every random choice of a run comes from these three.
  k_init: jax.Array
  k_train: jax.Array
  devices: parallel.Devices | None = None
  drawn: tuple | None = None  # The datasets, where `prepare` drew them.

  @property
  def init(self):
    """key -> a fresh TrainState; jit it so every leaf is placed."""
    return functools.partial(create_train_state, self.setup, self.tx)

  @property
  def k_stream(self) -> jax.Array:  # Folded with a step: a stream's batch.
    return _train_keys(self.k_train)[1]

  def datasets(self):
    """(train set, or None when streaming; test set)."""
    if self.drawn is not None:
      return self.drawn
    return data.datasets(self.k_data, self.setup.task, self.setup.sampling)

  def checkpointer(self, workdir: str):
    return checkpoint_lib.Checkpointer(
      os.path.join(workdir, 'checkpoints'),
      say=metrics_lib.say,
      best_by=self.config.train.best_by,
    )


def prepare(config: ml_collections.ConfigDict, devices=None) -> Run:
  task, s = config_lib.task_of(config), config_lib.sampling_of(config)
  keys = jax.random.split(jax.random.key(config.seed), 3)
  drawn, steps = None, s.steps_per_epoch
  if s.dataset == 'fixed':
    n_train = s.n_examples - s.n_test
    if s.pairs:  # Then the size is known once drawn (kept for `datasets`).
      drawn = data.datasets(keys[0], task, s)
      n_train = drawn[0].size
    # As in Keras, the last batch may be partial: rows of weight 0 pad it.
    steps = -(-n_train // s.batch_size)
  model = model_lib.from_config(config.model, task)
  o = config.optim
  refit = o.average_bn_batches if o.average > 0 else 0
  setup = Setup(task, model, s, steps, o.b2, refit)
  tx = make_optimizer(config.optim, config.train.epochs, steps)
  return Run(config, setup, tx, *keys, devices, drawn)


def start(config, workdir: str, training: bool = False) -> Run:
  """The shared start-up: checks, processes, devices; config.json to train."""
  config_lib.validate(config)  # Before JAX starts; the device count after.
  d = config.devices
  parallel.cap_cpu_isa(d.cpu_isa)
  parallel.maybe_initialize_distributed(
    d.distributed, d.distributed_timeout_s, d.heartbeat_timeout_s
  )
  devices = parallel.make_devices(d.parallel)
  config_lib.check_devices(config, devices.count)
  if training:
    check_workdir(workdir)
  check_same_run(config, workdir)
  if training and metrics_lib.is_main_process():
    with open(os.path.join(workdir, 'config.json'), 'w') as f:
      f.write(config.to_json_best_effort(indent=2, sort_keys=True) + '\n')
  return prepare(config, devices)


# The sections a resumed run may change; not what trained its checkpoints.
RESUME_MAY_CHANGE = ('train.', 'eval.', 'devices.')


def check_same_run(config: ml_collections.ConfigDict, workdir: str) -> None:
  """Fails fast when another config trained the workdir's checkpoints."""
  folder = os.path.join(workdir, 'checkpoints')
  saved = os.path.join(workdir, 'config.json')
  names = os.listdir(folder) if os.path.isdir(folder) else []
  if not any(name.isdigit() for name in names) or not os.path.exists(saved):
    return  # No checkpoints: nothing to resume or check.
  try:
    with open(saved) as f:
      before = config_lib.from_saved(json.load(f))
  except (OSError, ValueError):
    return  # Unreadable: the checkpoints' own metadata is what is left.
  now = config_lib.from_saved(json.loads(config.to_json_best_effort()))
  changed = [
    f'{k} {before.get(k)!r} -> {now.get(k)!r}'
    for k in sorted(before.keys() | now.keys())
    if not k.startswith(RESUME_MAY_CHANGE) and before.get(k) != now.get(k)
  ]
  epochs = 'train.epochs'
  if before[epochs] != now[epochs] and now['optim.schedule'] != 'constant':
    # The schedule spans all epochs: another length changes every later step.
    changed.append(
      f'{epochs} {before[epochs]!r} -> {now[epochs]!r} (under'
      f' optim.schedule={now["optim.schedule"]!r} the learning rate decays'
      ' over all epochs; only a constant schedule may be lengthened)'
    )
  if changed:
    raise errors.ConfigError(
      f'workdir {workdir!r} holds checkpoints of a run with another config'
      f' ({", ".join(changed)}); resume it with its own config (only the'
      f' sections {", ".join(s[:-1] for s in RESUME_MAY_CHANGE)} may change)'
      ' or pass another --workdir'
    )


def check_workdir(workdir: str) -> None:
  """Fails fast, in one line, when the workdir cannot take a run's files."""
  try:
    os.makedirs(workdir, exist_ok=True)
    # One probe a process: the processes of a multi-host run share the folder.
    probe = os.path.join(workdir, f'.write_test.{jax.process_index()}')
    with open(probe, 'wb') as f:
      f.write(b'\0' * 1_000_000)  # A checkpoint needs room for a few of these.
      f.flush()
      os.fsync(f.fileno())
    os.remove(probe)
  except OSError as e:
    raise errors.ConfigError(
      f'workdir {workdir!r} is not writable: {e.strerror or e}'
    ) from None


def show_examples(run: Run, when, predictor, variables, test_set) -> None:
  """The post's example predictions `when` 'before' or 'after' training."""
  count = run.config.train[f'examples_{when}']
  if count <= 0:
    return
  count = min(count, test_set.size)
  key = jax.random.fold_in(run.k_data, 1 if when == 'before' else 2)
  rows = jax.random.choice(key, test_set.size, (count,), replace=False)
  rows = np.asarray(rows)
  ops = np.asarray(test_set.eqs.ops_BxK1)[rows]
  operands = np.asarray(test_set.eqs.operands_BxK)[rows]
  tgt = np.asarray(test_set.batch.tgt_BxT)[rows]
  predictor.variables = variables
  _, _, pred = predictor.answer_equations(operands, ops)
  task = predictor.task
  metrics_lib.say(f'examples {when} training:')
  for i in range(count):
    question = task.text(operands[i], ops[i])
    got, want = task.vocab.decode(pred[i]), task.vocab.decode(tgt[i])
    mark = 'right' if np.array_equal(pred[i], tgt[i]) else 'WRONG'
    metrics_lib.say(
      f'  {question:<{task.src_len + 2}} = {got!r:<{task.tgt_len + 3}}'
      f' (expected {want!r})  {mark}'
    )


class _StopFlag:
  """Ctrl-C (or SIGTERM) asks the loop to stop after the current epoch."""

  def __init__(self):
    self.requested = False
    self._previous = {}

  def __enter__(self):
    for sig in (signal.SIGINT, signal.SIGTERM):
      with contextlib.suppress(ValueError):  # Not the main thread: leave it.
        self._previous[sig] = signal.signal(sig, self._handle)
    return self

  def _handle(self, signum, frame):
    del frame
    if self.requested:  # A second Ctrl-C stops at once.
      raise KeyboardInterrupt
    self.requested = True
    metrics_lib.say(
      f'\ncaught {signal.Signals(signum).name}: stopping after'
      ' this epoch (again to stop now)'
    )

  def agreed(self, *flags: bool) -> tuple[bool, ...]:
    """(stop asked, *flags), each true if so on any process: all agree."""
    every = checkpoint_lib.every_process(self.requested, *flags)
    if every[:, 0].any() and not self.requested:
      metrics_lib.say(
        f'\nprocess {int(np.argmax(every[:, 0]))} was asked to stop:'
        ' stopping after this epoch'
      )
    self.requested, *agreed = (bool(x) for x in every.any(axis=0))
    return self.requested, *agreed

  def __exit__(self, *exc):
    for sig, handler in self._previous.items():
      signal.signal(sig, handler)


def _compile_epoch(run: Run):
  """A future of the epoch function, compiled from shapes on another thread."""
  devices, setup = run.devices, run.setup
  epoch_fn = devices.map_epoch(
    functools.partial(train_epoch, setup=setup, n_devices=devices.count)
  )
  train_shapes = None
  if setup.sampling.dataset == 'fixed':
    train_shapes = jax.eval_shape(lambda: run.datasets()[0])
  args = (
    devices.abstract(jax.eval_shape(run.init, run.k_init), replicated=True),
    devices.abstract(train_shapes, replicated=False),
    devices.abstract(jax.eval_shape(lambda k: k, run.k_train), False),
  )
  pool = concurrent.futures.ThreadPoolExecutor(1)
  future = pool.submit(lambda: epoch_fn.lower(*args).compile())
  pool.shutdown(wait=False)
  return future


def _banner(run: Run, state, train_set, test_set, config_path, workdir):
  say, task, n = metrics_lib.say, run.setup.task, jax.process_count()
  hosts = f' in {n} processes' if n > 1 else ''
  say(
    f'JAX {jax.__version__}, backend {jax.default_backend()},'
    f' {jax.device_count()} device(s){hosts}: {jax.devices()[0].device_kind};'
    f' running {run.devices.mode} on {run.devices.count}'
  )
  say(f'config {config_path or "(in code)"}, workdir {workdir}')
  if run.config.devices.cpu_isa != 'native':
    say(f'XLA:CPU compiles for at most {run.config.devices.cpu_isa} (cpu_isa)')
  n_params, n_stats = model_lib.count_parameters(_variables(state))
  say(
    f'model: {n_params:,} trainable parameters, {n_stats} batch-norm'
    f' statistics; {task.vocab.size} symbols, source {task.src_len},'
    f' target {task.tgt_len}'
  )
  train_desc = (
    f'{train_set.size:,} training equations'
    if train_set
    else 'fresh equations every step'
    f' ({run.setup.steps_per_epoch} steps an epoch)'
  )
  say(
    f'data: {reports.task_description(task)}; {train_desc};'
    f' {test_set.size:,} test equations'
  )


def _resume(run: Run, ckpt, writer, placed):
  """(placed state, first epoch, rows) of the newest readable checkpoint."""
  restored = ckpt.restore_latest(run.devices.canonical(placed))
  if restored is None:
    if ckpt.epochs():
      ckpt.set_aside()
      metrics_lib.say('no readable checkpoint: starting fresh')
    writer.truncate_after(0)
    return placed, 1, []
  state, last = restored
  writer.truncate_after(last)
  metrics_lib.say(f'resumed from the checkpoint of epoch {last}')
  return run.devices.replicate(state), last + 1, writer.read()


def train_and_evaluate(
  config: ml_collections.ConfigDict, workdir: str, config_path: str = ''
) -> dict:
  """Trains (resuming from `workdir`) and evaluates; a summary dict."""
  t_start = time.perf_counter()
  run = start(config, workdir, training=True)
  devices = run.devices
  compiling = _compile_epoch(run)
  train_set, test_set = run.datasets()
  placed = devices.replicate(jax.jit(run.init)(run.k_init))
  _banner(run, devices.local(placed), train_set, test_set, config_path, workdir)

  ckpt = run.checkpointer(workdir)
  writer = metrics_lib.MetricWriter(os.path.join(workdir, 'metrics.jsonl'))
  prov = _provenance(run, workdir, ckpt, (train_set, test_set))
  predictor = predict.Predictor(run.setup.model, run.setup.task, None)
  loop = _Loop(run, workdir, ckpt, writer, prov, train_set, test_set, predictor)
  placed, first_epoch, rows = _resume(run, ckpt, writer, placed)
  if first_epoch == 1:
    variables = _variables(devices.local(placed))
    show_examples(run, 'before', loop.predictor, variables, test_set)

  epoch_fn = compiling.result()
  eval_fn = jax.jit(functools.partial(eval_metrics, task=run.setup.task))
  inputs = devices.place((train_set, run.k_train))
  loop.train = lambda state: epoch_fn(state, *inputs)
  loop.score = lambda state: eval_fn(state, test_set)
  metrics_lib.say(f'start-up took {time.perf_counter() - t_start:.1f}s')
  # Elapsed time counts start-up and compilation; a resumed run goes on.
  loop.t0 = t_start - (rows[-1]['elapsed_s'] if rows else 0.0)
  finished = _finished(run, ckpt, first_epoch - 1)
  if finished:
    metrics_lib.say(
      f'the run in {workdir} finished at epoch {first_epoch - 1}'
      f' ({finished}): nothing to train; evaluating its checkpoint'
    )
  else:
    with _StopFlag() as stop:
      for epoch in range(first_epoch, config.train.epochs + 1):
        placed, row, last = _epoch(loop, stop, epoch, placed)
        rows.append(row)
        if last:
          break
  return _finish(loop, placed, rows)


@dataclasses.dataclass
class _Loop:
  """What the epochs of one training run share."""

  run: Run
  workdir: str
  ckpt: checkpoint_lib.Checkpointer
  writer: metrics_lib.MetricWriter
  prov: dict  # run.json
  train_set: data.Dataset | None
  test_set: data.Dataset
  predictor: predict.Predictor
  train: Any = None  # placed state -> (placed state, train metrics)
  score: Any = None  # this process's state -> test metrics
  t0: float = 0.0  # Where elapsed_s counts from: the run's start.


def _provenance(run: Run, workdir: str, ckpt, datasets) -> dict:
  """run.json: checked against today's draw when resuming, else written."""
  prov = None
  if ckpt.epochs():
    what = 'resume it with the code that trained it, or pass another --workdir'
    prov = provenance.check(run, workdir, datasets, what=what)
  if prov is None:
    prov = provenance.record(run, datasets)
    if ckpt.epochs():  # A run from before run.json: its start is unknown.
      prov['recorded_at_resume'] = True
    if metrics_lib.is_main_process():
      provenance.write(workdir, prov)
  return prov


def _finished(run: Run, ckpt, epoch: int) -> str:
  """Why the run that saved `epoch` is over, or ''; alike on every process."""
  t = run.config.train
  if epoch < 1:
    return ''
  if epoch >= t.epochs:
    return f'train.epochs={t.epochs}'
  exact = (ckpt.metrics(epoch) or {}).get('val_exact_match', 0.0)
  if t.stop_exact and exact >= t.stop_exact:
    return f'test exact-match {exact:.4f} >= train.stop_exact={t.stop_exact}'
  return ''


FAULT_ENV = checkpoint_lib.FAULT_ENV


def _epoch(loop: _Loop, stop, epoch: int, placed):
  """Trains, scores, writes the row, then checkpoints (a kill in between only
  repeats the epoch); (placed state, row, whether to stop)."""
  run, n_test = loop.run, loop.test_set.size
  say, devices, t = metrics_lib.say, run.devices, run.config.train
  placed, train_metrics = loop.train(placed)
  # Each process scores the test set alone, on its own copy of the state.
  state = devices.local(placed)
  val, train_metrics = jax.device_get(
    (loop.score(state), devices.local(train_metrics))
  )
  elapsed = time.perf_counter() - loop.t0  # The epoch's results are here.
  if run.setup.task.target == 'steps':  # Teacher-forced: the whole trace.
    train_metrics['trace_exact'] = train_metrics.pop('exact_match')
  row = dict(
    epoch=epoch,
    step=int(state.step),
    elapsed_s=round(elapsed, 3),
    **{f'train_{k}': float(v) for k, v in train_metrics.items()},
    **{f'val_{k}': float(v) for k, v in val.items()},
    val_count=n_test,
    val_wrong=int(round(n_test * (1 - float(val['exact_match'])))),
  )
  if os.environ.get(FAULT_ENV) == f'nan:{epoch}':
    row['val_loss'] = float('nan')
  # Every decision is taken from values all processes share.
  diverged = not all(np.isfinite([row['train_loss'], row['val_loss']]))
  reached = bool(t.stop_exact) and row['val_exact_match'] >= t.stop_exact
  reached |= os.environ.get(FAULT_ENV) == f'reached:{epoch}'
  stopping, reached, diverged = stop.agreed(reached, diverged)
  if diverged:
    where = ' on some process; here' if jax.process_count() > 1 else ''
    raise TrainingDiverged(
      f'epoch {epoch}: loss is not finite{where}: {row["train_loss"]}'
      f' (train), {row["val_loss"]} (test); lower optim.learning_rate'
      f' ({run.config.optim.learning_rate}) or set optim.grad_clip'
    )
  last = reached or stopping or epoch == t.epochs
  loop.writer.write(row)
  if os.environ.get(FAULT_ENV) == f'after_row:{epoch}':
    os.kill(os.getpid(), signal.SIGKILL)
  if last or epoch % t.checkpoint_every == 0:
    canonical = devices.canonical(placed)
    loop.ckpt.save(epoch, canonical, row['val_loss'], row['val_exact_match'])
  say(metrics_lib.format_epoch(row, t.epochs))
  if reached:
    say(
      f'test exact-match {row["val_exact_match"]:.4f} reached'
      f' train.stop_exact={t.stop_exact}'
      + (' (on some process)' if jax.process_count() > 1 else '')
      + ': stopping'
    )
  return placed, row, last


def _variables(state):
  """What is evaluated: the weight average where optim.average keeps one."""
  average = _states(state.opt_state, WeightAverage)
  if not average:
    return {'params': state.params, 'batch_stats': state.batch_stats}
  stats = state.average_stats or state.batch_stats
  return {'params': average[0].params, 'batch_stats': stats}


def _finish(loop: _Loop, placed, rows):
  """The end of a run: the plot, the best checkpoint, examples, the grid."""
  run, workdir, ckpt = loop.run, loop.workdir, loop.ckpt
  say, devices, t = metrics_lib.say, run.devices, run.config.train
  if metrics_lib.is_main_process() and rows:
    title = reports.task_description(run.setup.task)
    plots.accuracy_plot(rows, f'{workdir}/accuracy.png', title=title)
  state = devices.local(placed)
  best = ckpt.best_epoch()
  if best is not None and best != int(state.step) // run.setup.steps_per_epoch:
    restored = ckpt.restore(best, devices.canonical(placed))
    state = devices.local(restored, single=True)
    m = ckpt.metrics(best)
    say(
      f'reloaded the best checkpoint by {t.best_by} (epoch {best},'
      f' val_loss {m["val_loss"]:.5f},'
      f' exact-match {m.get("val_exact_match", float("nan")):.4f})'
    )
  ckpt.close()
  variables = _variables(state)
  show_examples(run, 'after', loop.predictor, variables, loop.test_set)
  summary = dict(last_epoch=rows[-1] if rows else {}, best_epoch=best)
  if run.config.eval.grid:
    datasets = (loop.train_set, loop.test_set)
    summary['eval'] = evaluate(
      run, workdir, variables, datasets, loop.prov, best, rows
    )
  return summary


def spikes(rows, share: float = 0.01) -> dict:
  """Epochs after the first with no test equation wrong at which more than
  `share` of the test set is wrong again."""
  clean = next((r['epoch'] for r in rows if r.get('val_wrong') == 0), None)
  epochs = [
    r['epoch']
    for r in rows
    if clean is not None
    and r['epoch'] > clean
    and r['val_wrong'] > share * r['val_count']
  ]
  return dict(count=len(epochs), epochs=epochs, first_clean_epoch=clean)


def selection(config) -> str | None:
  """What the test set decided, if anything: then it is not 'never seen'."""
  t = config.train
  if t.best_by != 'last':
    return f'chose the checkpoint (train.best_by={t.best_by!r})'
  if t.stop_exact:
    return f'decided when to stop (train.stop_exact={t.stop_exact})'
  return None


def evaluate(
  run: Run, workdir: str, variables, datasets, prov=None, epoch=None, rows=()
) -> dict:
  """Scores the grid (or unseen random equations); writes eval.json etc."""
  s, d = run.setup, run.setup.sampling
  train_set, test_set = datasets
  chosen = selection(run.config)
  chosen_by = test_set if chosen else None
  held_out = data.HeldOut(d, train_set, chosen_by)
  row = next((r for r in rows if r.get('epoch') == epoch), {})
  about = dict(
    checkpoint_epoch=epoch,
    train_seconds=row.get('elapsed_s'),
    spikes=spikes(rows),
    test_set=dict(
      equations=test_set.size,
      counted_as_never_trained_on=chosen is None,
      **({'why_not': f'it {chosen}'} if chosen else {}),
    ),
    provenance=prov,
    evaluated_by=provenance.code(),
  )
  if prov and prov.get('train_set_differs'):
    say = metrics_lib.say
    say('warning: today\'s code draws another training set than this run\'s;'
        ' "never trained on" is not known')  # fmt: skip
  if run.config.eval.lengths:
    metrics_lib.say('Operands longer than trained (eval.lengths):')
    about['lengths'] = lengths.evaluate(
      run.config.eval, run.config.model, s.task, variables, run.devices,
      held_out,
    )  # fmt: skip
  return reports.run_evaluation(
    run.config.eval, workdir, s.model, s.task, variables, run.devices,
    held_out, about,
  )  # fmt: skip


def load_trained(config, workdir: str, allow_other_train_set: bool = False):
  """(run, variables, datasets, provenance, epoch) of the workdir's best
  checkpoint, once its training set is checked against today's draw."""
  run = start(config, workdir)
  ckpt = run.checkpointer(workdir)
  best = ckpt.best_epoch()
  if best is None:
    raise errors.ConfigError(
      f'workdir {workdir!r} has no checkpoint; train first with --mode=train'
    )
  datasets = run.datasets()
  what = 'pass --allow_other_train_set to go on without knowing which'
  what += ' equations it never trained on'
  prov = provenance.check(
    run, workdir, datasets, what=what, allow_other=allow_other_train_set
  )
  shapes = jax.eval_shape(run.init, run.k_init)
  state = ckpt.restore(best, run.devices.abstract(shapes, replicated=False))
  ckpt.close()
  return run, run.devices.local(_variables(state)), datasets, prov, best

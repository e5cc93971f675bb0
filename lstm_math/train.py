"""Loss, the train and eval steps, whole epochs, and the training loop.

`train_step` is one pure per-device function: under `jax.jit` it is the
whole story; under `jax.pmap` or `jax.shard_map` with an `axis_name`,
gradients, metrics and batch-norm statistics are averaged over that axis, so
1 and N devices compute the same update. `train_epoch` runs a whole epoch as
one `lax.scan`, making each device's slice of every batch on the device.
"""

import concurrent.futures
import dataclasses
import functools
import json
import os
import signal
import time
from typing import Any

import flax.struct
import jax
from jax import lax
from jax.experimental import multihost_utils
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from lstm_math import checkpoint as checkpoint_lib
from lstm_math import config as config_lib
from lstm_math import data
from lstm_math import metrics as metrics_lib
from lstm_math import model as model_lib
from lstm_math import parallel
from lstm_math import plots
from lstm_math import predict
from lstm_math import reports


class TrainState(flax.struct.PyTreeNode):
  """Everything that changes during training; no PRNG key (see `step_key`)."""

  step: jax.Array
  params: Any
  batch_stats: Any
  opt_state: Any
  apply_fn: Any = flax.struct.field(pytree_node=False)
  tx: Any = flax.struct.field(pytree_node=False)


@dataclasses.dataclass(frozen=True)
class Setup:
  """What a run derives from its config once; static under jit."""

  task: data.Task
  model: model_lib.Seq2Seq
  batch_size: int
  steps_per_epoch: int
  dataset: str
  split: float
  weighting: str
  near_multiples: float
  seed: int
  dropout: bool


def make_setup(config: ml_collections.ConfigDict) -> Setup:
  task = data.Task.from_config(config)
  if config.dataset == 'fixed':
    n_train = config.n_examples - data.n_test_examples(
      config.n_examples, config.split
    )
    # As in Keras, the last batch of an epoch may be partial; it is padded
    # with rows of weight 0 so that every step has the same shape.
    steps = -(-n_train // config.batch_size)
  else:
    steps = config.steps_per_epoch
  return Setup(
    task=task,
    model=model_lib.from_config(config, task.vocab.size, task.tgt_len),
    batch_size=config.batch_size,
    steps_per_epoch=steps,
    dataset=config.dataset,
    split=config.split,
    weighting=config.weighting,
    near_multiples=config.near_multiples,
    seed=config.seed,
    dropout=config.dropout > 0,
  )


def make_optimizer(config: ml_collections.ConfigDict, steps_per_epoch: int):
  total = config.epochs * steps_per_epoch
  lr = config.learning_rate
  if config.schedule == 'cosine':
    lr = optax.cosine_decay_schedule(lr, total)
  elif config.schedule == 'warmup_cosine':
    lr = optax.warmup_cosine_decay_schedule(
      0.0, lr, config.warmup_epochs * steps_per_epoch, total
    )
  if config.weight_decay > 0:
    # Decoupled (AdamW): each weight matrix shrinks by lr * weight_decay a
    # step; biases and batch-norm scales (vectors) are left alone.
    adam = optax.adamw(
      lr,
      eps=config.adam_eps,
      weight_decay=config.weight_decay,
      mask=lambda p: jax.tree.map(lambda x: x.ndim > 1, p),
    )
  else:
    adam = optax.adam(lr, eps=config.adam_eps)
  if config.grad_clip > 0:
    return optax.chain(optax.clip_by_global_norm(config.grad_clip), adam)
  return adam


def create_train_state(setup: Setup, tx, key: jax.Array) -> TrainState:
  """A fresh state; call it under jit so every leaf is a placed jax.Array."""
  src = jnp.zeros((2, setup.task.src_len), jnp.int32)
  variables = setup.model.init(key, src)
  return TrainState(
    step=jnp.zeros((), jnp.int32),
    params=variables['params'],
    batch_stats=variables.get('batch_stats', {}),
    opt_state=tx.init(variables['params']),
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
):
  """One Adam step on this device's `batch`; (new state, metrics).

  `key` (for dropout) is folded with the step, so no key lives in the state.
  `weight_B` (0 or 1 a row) marks padding rows of a partial batch: they are
  left out of the loss, the metrics and the batch-norm statistics. The loss
  is the mean over the real rows of all devices together. `rows_B`, the
  rows' places in the global batch, picks their dropout masks.
  """
  rngs = {}
  if key is not None:
    rngs['dropout'] = jax.random.fold_in(key, state.step)

  def loss_fn(params):
    logits, updates = state.apply_fn(
      {'params': params, 'batch_stats': state.batch_stats},
      batch.src_BxS,
      train=True,
      axis_name=axis_name,
      weight_B=weight_B,
      rows_B=rows_B,
      mutable=['batch_stats'],
      rngs=rngs,
    )
    sums = sequence_metrics(logits, batch.tgt_BxT, weight_B)
    return sums['loss'] / count, (sums, updates)

  count = jnp.float32(batch.tgt_BxT.shape[0])
  if weight_B is not None:
    count = jnp.sum(weight_B.astype(jnp.float32))
  if axis_name is not None:
    count = lax.psum(count, axis_name)
  grads, (sums, updates) = jax.grad(loss_fn, has_aux=True)(state.params)
  if axis_name is not None:
    # Each device's loss is its share of the global mean: gradients add up.
    grads = lax.psum(grads, axis_name)
  param_updates, opt_state = state.tx.update(
    grads, state.opt_state, state.params
  )
  state = state.replace(
    step=state.step + 1,
    params=optax.apply_updates(state.params, param_updates),
    batch_stats=updates.get('batch_stats', state.batch_stats),
    opt_state=opt_state,
  )
  return state, _mean(sums, axis_name)


def eval_metrics(
  state: TrainState, batch: data.Batch, weight_B=None, *, axis_name=None
):
  """Mean loss, char_accuracy and exact_match of `batch`, in eval mode."""
  logits = state.apply_fn(
    {'params': state.params, 'batch_stats': state.batch_stats},
    batch.src_BxS,
    train=False,
  )
  return _mean(sequence_metrics(logits, batch.tgt_BxT, weight_B), axis_name)


def _device_slice(global_rows, n_local, axis_name):
  """This device's rows of a global batch: devices take consecutive blocks."""
  index = 0 if axis_name is None else lax.axis_index(axis_name)
  return lax.dynamic_slice_in_dim(global_rows, index * n_local, n_local)


def train_epoch(
  state: TrainState,
  train_set: data.Dataset | None,
  base_key: jax.Array,
  *,
  setup: Setup,
  n_devices: int = 1,
  axis_name=None,
):
  """One epoch as a single `lax.scan`; (state, mean train metrics).

  Every batch is a function of `base_key` and the step number in the state,
  so a resumed run sees exactly the batches it would have seen, and every
  device count sees the same global batches.
  """
  n_local = setup.batch_size // n_devices
  epoch = state.step // setup.steps_per_epoch
  k_shuffle, k_stream, k_dropout = jax.random.split(base_key, 3)
  dropout_key = k_dropout if setup.dropout else None

  if setup.dataset == 'fixed':
    perm = jax.random.permutation(
      jax.random.fold_in(k_shuffle, epoch), train_set.size
    )
    n_slots = setup.steps_per_epoch * setup.batch_size
    n_pad = n_slots - train_set.size
    perm = jnp.concatenate([perm, jnp.zeros(n_pad, perm.dtype)])
    rows_NxB = perm.reshape(setup.steps_per_epoch, setup.batch_size)
    real_NxB = (jnp.arange(n_slots) < train_set.size).reshape(rows_NxB.shape)
    rows_N = jnp.sum(real_NxB, axis=1)  # Real rows a step, all devices.

    def get_batch(step, s):
      del step
      rows = _device_slice(rows_NxB[s], n_local, axis_name)
      weight = None
      if n_pad:
        weight = _device_slice(real_NxB[s], n_local, axis_name)
      batch = data.Batch(
        train_set.batch.src_BxS[rows], train_set.batch.tgt_BxT[rows]
      )
      return batch, weight
  else:
    rows_N = jnp.full(setup.steps_per_epoch, setup.batch_size)

    def get_batch(step, s):
      del s
      index = 0 if axis_name is None else lax.axis_index(axis_name)
      eqs = data.sample_training_equations(
        jax.random.fold_in(k_stream, step),
        setup.task,
        n_local,
        split=setup.split,
        salt=setup.seed,
        start=index * n_local,
        weighting=setup.weighting,
        near_multiples=setup.near_multiples,
      )
      return data.make_batch(eqs, setup.task), None

  first_row = 0 if axis_name is None else lax.axis_index(axis_name) * n_local
  rows = first_row + jnp.arange(n_local)

  def body(state, s):
    batch, weight = get_batch(state.step, s)
    return train_step(
      state,
      batch,
      axis_name=axis_name,
      key=dropout_key,
      weight_B=weight,
      rows_B=rows,
    )

  state, metrics = lax.scan(body, state, jnp.arange(setup.steps_per_epoch))
  # The mean over the epoch's equations, as Keras reports it.
  share = rows_N / jnp.sum(rows_N)
  return state, jax.tree.map(lambda m: jnp.sum(m * share), metrics)


# ------------------------------------------------------------------- loop ---


class TrainingDiverged(RuntimeError):
  """The loss became NaN or infinite."""


def run_keys(seed: int):
  """(data, init, train) keys: every random choice of a run comes from one."""
  return jax.random.split(jax.random.key(seed), 3)


def build_datasets(config, setup: Setup, key):
  """(train set or None when streaming, test set), on the device."""
  if config.dataset == 'fixed':
    make = jax.jit(data.fixed_dataset, static_argnums=(1, 2, 3, 4, 5, 6))
    return make(
      key,
      setup.task,
      config.n_examples,
      config.split,
      config.distinct_operands,
      config.weighting,
      config.carry_boost,
    )
  n_test = data.n_test_examples(config.n_examples, config.split)
  return None, data.stream_test_set(
    key, setup.task, n_test, config.split, salt=config.seed
  )


def initial_run(config):
  """(setup, fresh state, train set, test set, train key) of a config.

  What `train_and_evaluate` starts from, for notebooks, tests and benchmarks.
  """
  setup = make_setup(config)
  k_data, k_init, k_train = run_keys(config.seed)
  train_set, test_set = build_datasets(config, setup, k_data)
  tx = make_optimizer(config, setup.steps_per_epoch)
  state = jax.jit(functools.partial(create_train_state, setup, tx))(k_init)
  return setup, state, train_set, test_set, k_train


# What a resumed run may change: how long it runs, how it picks and reports
# its results, on which devices. Anything else would continue a run under
# another config than the one that trained its checkpoints.
RESUME_MAY_CHANGE = frozenset(
  {
    'epochs',
    'stop_exact',
    'best_by',
    'parallel',
    'distributed',
    'distributed_timeout_s',
    'heartbeat_timeout_s',
    'cpu_isa',
    'eval_chunk',
    'eval_random',
    'eval_grid',
    'checkpoint_every',
    'examples_before',
    'examples_after',
  }
)


def check_same_run(config: ml_collections.ConfigDict, workdir: str) -> None:
  """Fails fast when the workdir's checkpoints were trained by another config.

  Compares with the workdir's config.json (fields it lacks, from older
  versions, count as their defaults); fields in `RESUME_MAY_CHANGE` may
  differ. Without checkpoints there is nothing to resume and nothing to check.
  """
  folder = os.path.join(workdir, 'checkpoints')
  saved = os.path.join(workdir, 'config.json')
  if not (
    os.path.isdir(folder)
    and any(name.isdigit() for name in os.listdir(folder))
    and os.path.exists(saved)
  ):
    return
  defaults = json.loads(config_lib.base().to_json_best_effort())
  try:
    with open(saved) as f:
      before = {**defaults, **json.load(f)}
  except (OSError, ValueError):
    return  # Unreadable: the checkpoints' own metadata is what is left.
  for (name, old), new in config_lib.RENAMED.items():
    if before.get(name) == old:
      before[name] = new  # Written before the value was renamed.
  now = {**defaults, **json.loads(config.to_json_best_effort())}
  changed = [
    f'{k} {before.get(k)!r} -> {now.get(k)!r}'
    for k in sorted(before.keys() | now.keys())
    if k not in RESUME_MAY_CHANGE and before.get(k) != now.get(k)
  ]
  if (
    before.get('epochs') != now.get('epochs') and now['schedule'] != 'constant'
  ):
    # The schedule spans epochs x steps: another length would change the
    # learning rate of every step still to come, not just add some.
    changed.append(
      f'epochs {before.get("epochs")!r} -> {now.get("epochs")!r} (under'
      f' schedule={now["schedule"]!r} the learning rate decays over all'
      ' epochs; only a constant schedule may be lengthened)'
    )
  if changed:
    raise data.ConfigError(
      f'workdir {workdir!r} holds checkpoints of a run with another config'
      f' ({", ".join(changed)}); resume it with its own config (only'
      f' {", ".join(sorted(RESUME_MAY_CHANGE))} may change) or pass another'
      ' --workdir'
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
    raise data.ConfigError(
      f'workdir {workdir!r} is not writable: {e.strerror or e}'
    ) from None


def show_examples(title, setup, state, test_set, count, key) -> None:
  """The post's example predictions: question, answer, expected, right?"""
  if count <= 0:
    return
  count = min(count, test_set.size)
  rows = np.asarray(
    jax.random.choice(key, test_set.size, (count,), replace=False)
  )
  ops = np.asarray(test_set.eqs.ops_BxK1)[rows]
  operands = np.asarray(test_set.eqs.operands_BxK)[rows]
  tgt = np.asarray(test_set.batch.tgt_BxT)[rows]
  variables = {'params': state.params, 'batch_stats': state.batch_stats}
  predictor = predict.Predictor(setup.model, setup.task, variables)
  _, _, pred = predictor.answer_equations(operands, ops)
  voc, task = setup.task.vocab, setup.task
  width = task.src_len + 2
  metrics_lib.say(title)
  for i in range(count):
    question = task.text(operands[i], ops[i])
    got, want = voc.decode(pred[i]), voc.decode(tgt[i])
    mark = 'right' if np.array_equal(pred[i], tgt[i]) else 'WRONG'
    metrics_lib.say(
      f'  {question:<{width}} = {got!r:<{task.tgt_len + 3}}'
      f' (expected {want!r})  {mark}'
    )


class _StopFlag:
  """Ctrl-C (or SIGTERM) asks the loop to stop after the current epoch."""

  def __init__(self):
    self.requested = False
    self._previous = {}

  def __enter__(self):
    for sig in (signal.SIGINT, signal.SIGTERM):
      try:
        self._previous[sig] = signal.signal(sig, self._handle)
      except ValueError:  # Not the main thread: leave signals alone.
        pass
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

  def agreed(self) -> bool:
    """Whether any process was asked to stop: all of them stop together."""
    if jax.process_count() == 1:
      return self.requested
    flags = multihost_utils.process_allgather(np.int32(self.requested))
    if np.any(flags) and not self.requested:
      self.requested = True
      metrics_lib.say(
        f'\nprocess {int(np.argmax(flags))} was asked to stop: stopping'
        ' after this epoch'
      )
    return bool(np.any(flags))

  def __exit__(self, *exc):
    for sig, handler in self._previous.items():
      signal.signal(sig, handler)


# Fault injection for the tests: LSTM_MATH_FAULT=after_row:3 kills the
# process right after epoch 3's row is written, before its checkpoint.
FAULT_ENV = 'LSTM_MATH_FAULT'


def _maybe_fail(where: str, epoch: int) -> None:
  if os.environ.get(FAULT_ENV) == f'{where}:{epoch}':
    os.kill(os.getpid(), signal.SIGKILL)


def _compile_in_background(fn, *abstract_args):
  """A future of `fn` compiled for these argument shapes and shardings."""
  pool = concurrent.futures.ThreadPoolExecutor(1)
  future = pool.submit(lambda: fn.lower(*abstract_args).compile())
  pool.shutdown(wait=False)
  return future


def train_and_evaluate(
  config: ml_collections.ConfigDict, workdir: str, config_path: str = ''
) -> dict:
  """Trains as the config says, resuming from `workdir`; evaluates the grid.

  Returns the last epoch's metrics and, when run, the evaluation summary.
  """
  t_start = time.perf_counter()
  say = metrics_lib.say
  devices = start_devices(config)
  setup = make_setup(config)
  check_workdir(workdir)
  check_same_run(config, workdir)
  if metrics_lib.is_main_process():
    with open(os.path.join(workdir, 'config.json'), 'w') as f:
      f.write(config.to_json_best_effort(indent=2, sort_keys=True) + '\n')

  hosts = (
    f' in {jax.process_count()} processes' if jax.process_count() > 1 else ''
  )
  say(
    f'JAX {jax.__version__}, backend {jax.default_backend()},'
    f' {jax.device_count()} device(s){hosts}: {jax.devices()[0].device_kind};'
    f' running {devices.mode} on {devices.count}'
  )
  say(f'config {config_path or "(in code)"}, workdir {workdir}')
  if config.cpu_isa != 'native':
    say(f'XLA:CPU compiles for at most {config.cpu_isa} (cpu_isa)')

  k_data, k_init, k_train = run_keys(config.seed)
  tx = make_optimizer(config, setup.steps_per_epoch)
  init = functools.partial(create_train_state, setup, tx)
  epoch_fn = devices.map_epoch(
    functools.partial(train_epoch, setup=setup, n_devices=devices.count)
  )
  # Compile the epoch (the longest compilation) on another thread, from
  # shapes alone, while this one makes the data and the initial state.
  compiling = _compile_in_background(
    epoch_fn,
    devices.abstract(jax.eval_shape(init, k_init), replicated=True),
    devices.abstract(
      jax.eval_shape(lambda k: build_datasets(config, setup, k)[0], k_data)
      if config.dataset == 'fixed'
      else None,
      replicated=False,
    ),
    devices.abstract(jax.eval_shape(lambda k: k, k_train), replicated=False),
  )
  train_set, test_set = build_datasets(config, setup, k_data)
  placed = devices.replicate(jax.jit(init)(k_init))
  state = devices.local(placed)
  n_params, n_stats = model_lib.count_parameters(
    {'params': state.params, 'batch_stats': state.batch_stats}
  )
  task = setup.task
  train_desc = (
    f'{train_set.size:,} training equations'
    if train_set
    else f'fresh equations every step ({setup.steps_per_epoch} steps an epoch)'
  )
  say(
    f'model: {n_params:,} trainable parameters, {n_stats} batch-norm'
    f' statistics; {task.vocab.size} symbols, source {task.src_len},'
    f' target {task.tgt_len}'
  )
  say(
    f'data: {reports.task_description(task)}; {train_desc};'
    f' {test_set.size:,} test equations'
  )

  # An epoch's row goes to metrics.jsonl before its checkpoint, and a resumed
  # run drops the rows after the checkpoint it starts from: a kill between
  # the two loses no row for good, it only repeats that epoch. Saves are
  # synchronous (asynchronous ones were 5-15% faster an epoch;
  # bench/RESULTS.md) so that a kill loses at most the epoch in progress.
  ckpt = checkpoint_lib.Checkpointer(
    os.path.join(workdir, 'checkpoints'), say=say, best_by=config.best_by
  )
  writer = metrics_lib.MetricWriter(os.path.join(workdir, 'metrics.jsonl'))
  first_epoch = 1
  restored = ckpt.restore_latest(devices.canonical(placed), say=say)
  if restored is not None:
    restored_state, last = restored
    placed = devices.replicate(restored_state)
    state = devices.local(placed)
    first_epoch = last + 1
    writer.truncate_after(last)
    say(f'resumed from the checkpoint of epoch {last}')
  else:
    if ckpt.epochs():
      ckpt.set_aside_all(say=say)
      say('no readable checkpoint: starting fresh')
    writer.truncate_after(0)
  rows = writer.read()

  eval_fn = jax.jit(eval_metrics)
  if first_epoch == 1:
    show_examples(
      'examples before training:',
      setup,
      state,
      test_set,
      config.examples_before,
      jax.random.fold_in(k_data, 1),
    )

  epoch_fn = compiling.result()
  train_set_placed = devices.place(train_set) if train_set else None
  k_train = devices.place(k_train)
  elapsed_before = rows[-1]['elapsed_s'] if rows else 0.0
  t_loop = time.perf_counter()
  last_row = rows[-1] if rows else {}
  say(f'start-up took {t_loop - t_start:.1f}s')
  with _StopFlag() as stop:
    for epoch in range(first_epoch, config.epochs + 1):
      placed, train_metrics = epoch_fn(placed, train_set_placed, k_train)
      # Each process scores the test set alone, on its own copy of the state.
      state = devices.local(placed)
      val = eval_fn(state, test_set.batch)
      val, train_metrics = jax.device_get((val, devices.local(train_metrics)))
      row = dict(
        epoch=epoch,
        step=int(state.step),
        elapsed_s=round(elapsed_before + time.perf_counter() - t_loop, 3),
        **{f'train_{k}': float(v) for k, v in train_metrics.items()},
        **{f'val_{k}': float(v) for k, v in val.items()},
        val_count=test_set.size,
        val_wrong=int(round(test_set.size * (1 - float(val['exact_match'])))),
      )
      if not all(np.isfinite([row['train_loss'], row['val_loss']])):
        raise TrainingDiverged(
          f'epoch {epoch}: loss is {row["train_loss"]} (train),'
          f' {row["val_loss"]} (test); lower learning_rate'
          f' ({config.learning_rate}) or set grad_clip'
        )
      reached = bool(config.stop_exact) and (
        row['val_exact_match'] >= config.stop_exact
      )
      last = reached or stop.agreed() or epoch == config.epochs
      writer.write(row)
      _maybe_fail('after_row', epoch)
      if last or epoch % config.checkpoint_every == 0:
        ckpt.save(
          epoch,
          devices.canonical(placed),
          row['val_loss'],
          row['val_exact_match'],
        )
      rows.append(row)
      last_row = row
      say(metrics_lib.format_epoch(row, config.epochs))
      if reached:
        say(
          f'test exact-match {row["val_exact_match"]:.4f} reached'
          f' stop_exact={config.stop_exact}: stopping'
        )
      if last:
        break

  if metrics_lib.is_main_process() and rows:
    plots.accuracy_plot(
      rows,
      os.path.join(workdir, 'accuracy.png'),
      title=reports.task_description(task),
    )
  best = ckpt.best_epoch()
  if best is not None and best != int(state.step) // setup.steps_per_epoch:
    state = devices.local(ckpt.restore(best, devices.canonical(placed)))
    m = ckpt.best_metrics()
    say(
      f'reloaded the best checkpoint by {config.best_by} (epoch {best},'
      f' val_loss {m["val_loss"]:.5f},'
      f' exact-match {m.get("val_exact_match", float("nan")):.4f})'
    )
  ckpt.close()
  show_examples(
    'examples after training:',
    setup,
    state,
    test_set,
    config.examples_after,
    jax.random.fold_in(k_data, 2),
  )
  summary = dict(last_epoch=last_row, best_epoch=best)
  if config.eval_grid:
    summary['eval'] = reports.run_evaluation(
      config,
      workdir,
      setup,
      {'params': state.params, 'batch_stats': state.batch_stats},
      devices,
      train_set,
    )
  return summary


def start_devices(config) -> parallel.Devices:
  """Joins the other processes (if any), picks the devices, checks config."""
  if config.get('cpu_isa') not in parallel.CPU_ISAS:
    config_lib.validate(config)  # Names the field before JAX could start.
  parallel.cap_cpu_isa(config.cpu_isa)
  parallel.maybe_initialize_distributed(
    config.distributed, config.distributed_timeout_s, config.heartbeat_timeout_s
  )
  devices = parallel.make_devices(config.parallel)
  config_lib.validate(config, devices.count)
  return devices


def load_trained(config, workdir: str):
  """(setup, variables, devices, train set) of the workdir's best checkpoint."""
  devices = start_devices(config)
  setup = make_setup(config)
  check_same_run(config, workdir)
  ckpt = checkpoint_lib.Checkpointer(
    os.path.join(workdir, 'checkpoints'), best_by=config.best_by
  )
  best = ckpt.best_epoch()
  if best is None:
    raise data.ConfigError(
      f'workdir {workdir!r} has no checkpoint; train first with --mode=train'
    )
  k_data, k_init, _ = run_keys(config.seed)
  tx = make_optimizer(config, setup.steps_per_epoch)
  template = devices.abstract(
    jax.eval_shape(functools.partial(create_train_state, setup, tx), k_init),
    replicated=False,
  )
  state = ckpt.restore(best, template)
  ckpt.close()
  train_set, _ = build_datasets(config, setup, k_data)
  variables = devices.local(
    {'params': state.params, 'batch_stats': state.batch_stats}
  )
  return setup, variables, devices, train_set

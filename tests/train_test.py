"""Tests of the train step, whole epochs, devices, and the training loop."""

import functools
import json
import os

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from runs import initial_run as fresh
from runs import tiny_config

from lstm_math import checkpoint
from lstm_math import config as config_lib
from lstm_math import data
from lstm_math import errors
from lstm_math import parallel
from lstm_math import steps
from lstm_math import train


def run_epochs(config, mode, n_devices, n_epochs):
  setup, state, train_set, _, key = fresh(config)
  devices = parallel.make_devices(mode, n_devices)
  epoch_fn = devices.map_epoch(
    functools.partial(train.train_epoch, setup=setup, n_devices=devices.count)
  )
  placed = devices.replicate(state)
  train_set = devices.place(train_set) if train_set else None
  losses = []
  for _ in range(n_epochs):
    placed, metrics = epoch_fn(placed, train_set, devices.place(key))
    losses.append(float(devices.canonical(metrics)['loss']))
  return devices.canonical(placed), np.asarray(losses)


def test_train_step_learns_on_a_small_problem():
  # Without batch norm, so that eval mode is not judged by running averages
  # that have seen only a few steps.
  config = tiny_config(model=dict(batch_norm=False))
  setup, state, train_set, test_set, _ = fresh(config)
  step = jax.jit(train.train_step)
  evaluate = jax.jit(functools.partial(train.eval_metrics, task=setup.task))
  before = evaluate(state, test_set)
  losses = []
  for i in range(150):
    rows = (jnp.arange(64) + 64 * i) % train_set.size
    state, metrics = step(
      state, data.Batch(*(x[rows] for x in train_set.batch))
    )
    losses.append(float(metrics['loss']))
  after = evaluate(state, test_set)
  assert np.mean(losses[-10:]) < 0.6 * np.mean(losses[:10]), losses[::10]
  assert after['char_accuracy'] > before['char_accuracy'] + 0.3, (before, after)
  assert int(state.step) == 150


def test_one_sgd_step_moves_by_the_gradient_of_the_mean_loss():
  # Size, not only sign: with plain SGD the step is -lr * grad of the mean
  # cross-entropy over the real rows, computed here from the model alone.
  config = tiny_config()
  setup, _, train_set, _, _ = fresh(config)
  lr = 0.5
  init = functools.partial(train.create_train_state, setup, optax.sgd(lr))
  state = jax.jit(init)(jax.random.key(3))
  batch = data.Batch(*(x[:16] for x in train_set.batch))
  weight_B = jnp.arange(16) < 11  # The last 5 rows are padding.

  def reference_loss(params):
    logits, _ = setup.model.apply(
      {'params': params, 'batch_stats': state.batch_stats},
      batch.src_BxS,
      train=True,
      weight_B=weight_B,
      mutable=['batch_stats'],
    )
    per_row = optax.softmax_cross_entropy_with_integer_labels(
      logits, batch.tgt_BxT
    ).mean(-1)
    return jnp.sum(per_row * weight_B) / jnp.sum(weight_B)

  reference_loss = jax.jit(reference_loss)
  grads = jax.jit(jax.grad(reference_loss))(state.params)
  stepped, metrics = jax.jit(train.train_step)(state, batch, weight_B=weight_B)
  np.testing.assert_allclose(
    metrics['loss'], reference_loss(state.params), rtol=1e-6
  )
  moved = jax.tree.map(lambda a, b: a - b, stepped.params, state.params)
  chex.assert_trees_all_close(
    moved, jax.tree.map(lambda g: -lr * g, grads), rtol=1e-3, atol=1e-6
  )
  moved = jax.tree.map(lambda m: jnp.abs(m).max(), moved)
  assert max(jax.tree.leaves(moved)) > 1e-3, 'the step must move the weights'


def test_sgd_step_on_8_devices_equals_the_step_on_1():
  # Adam cancels a uniform scale of the gradients; plain SGD does not: a
  # pmean where the gradients must add up (or a loss divided by the local
  # count) would move every weight by 1/8 (or 8x) of the one-device step.
  config = tiny_config()
  setup, _, train_set, _, _ = fresh(config)
  lr, n = 0.5, 8
  init = functools.partial(train.create_train_state, setup, optax.sgd(lr))
  state = jax.jit(init)(jax.random.key(5))
  batch = data.Batch(*(x[:64] for x in train_set.batch))
  want_state, want = jax.jit(train.train_step)(state, batch)

  def on_device(state, src, tgt):
    return train.train_step(state, data.Batch(src, tgt), axis_name='data')

  split = lambda x: x.reshape(n, x.shape[0] // n, *x.shape[1:])
  got_state, got = jax.pmap(
    on_device, axis_name='data', in_axes=(None, 0, 0), devices=jax.devices()[:n]
  )(state, split(batch.src_BxS), split(batch.tgt_BxT))
  # Every device ends with the same state; compare the first with jit's.
  for copies in jax.tree.leaves((got_state.params, got)):
    np.testing.assert_array_equal(
      copies, np.broadcast_to(copies[0], copies.shape)
    )
  first = functools.partial(jax.tree.map, lambda x: x[0])
  np.testing.assert_allclose(first(got)['loss'], want['loss'], rtol=1e-5)
  chex.assert_trees_all_close(
    first(got), want, rtol=1e-5, custom_message='metrics, 8 devices vs 1'
  )
  moved = lambda s: jax.tree.map(lambda a, b: a - b, s.params, state.params)
  chex.assert_trees_all_close(
    moved(first(got_state)),
    moved(want_state),
    rtol=1e-3,
    atol=1e-6,
    custom_message='SGD update on 8 devices vs 1 (a psum/pmean slip?)',
  )
  chex.assert_trees_all_close(
    first(got_state.batch_stats), want_state.batch_stats, rtol=1e-4, atol=1e-6
  )
  largest = max(jnp.abs(m).max() for m in jax.tree.leaves(moved(want_state)))
  assert largest > 1e-2, f'the step must move the weights ({largest})'


def test_weight_decay_shrinks_matrices_and_spares_vectors():
  zero = lambda tree: jax.tree.map(jnp.zeros_like, tree)
  for decay in (0.0, 0.1):
    config = tiny_config(optim=dict(weight_decay=decay, learning_rate=0.01))
    _, state, *_ = fresh(config)
    tx = train.make_optimizer(config.optim, epochs=1, steps_per_epoch=10)
    params = state.params
    updates, _ = tx.update(zero(params), tx.init(params), params)
    pairs = list(zip(jax.tree.leaves(updates), jax.tree.leaves(params)))
    assert any(p.ndim > 1 for _, p in pairs) and any(
      p.ndim == 1 for _, p in pairs
    )
    for u, p in pairs:
      if decay and p.ndim > 1:
        # Zero gradients: the update is -lr * decay * the weight itself.
        np.testing.assert_allclose(u, -0.01 * decay * p, rtol=1e-5, atol=1e-9)
      else:
        np.testing.assert_array_equal(u, 0.0)


def test_padding_rows_change_nothing_and_devices_share_the_mean():
  # The last batch of a fixed-sample epoch is padded to the batch size with
  # rows of weight 0: the step must equal a step on the real rows alone, also
  # when the real rows sit unevenly on the devices.
  config = tiny_config()
  _, state, train_set, _, _ = fresh(config)
  rows = jnp.arange(64)
  real = rows < 23  # 23 real rows: devices of 16 hold 16, 7, 0 and 0.
  padded = data.Batch(*(x[rows] for x in train_set.batch))
  alone = data.Batch(*(x[:23] for x in train_set.batch))
  step = jax.jit(train.train_step)
  want_state, want = step(state, alone)
  got_state, got = step(state, padded, weight_B=real)
  chex.assert_trees_all_close(
    (got_state.params, got_state.batch_stats, got),
    (want_state.params, want_state.batch_stats, want),
    atol=1e-4,  # Adam's first step is about lr = 0.01 for every parameter.
  )

  def on_device(src, tgt, weight):
    return train.train_step(
      state, data.Batch(src, tgt), axis_name='d', weight_B=weight
    )

  dev_state, dev = jax.jit(jax.vmap(on_device, axis_name='d'))(
    padded.src_BxS.reshape(4, 16, -1),
    padded.tgt_BxT.reshape(4, 16, -1),
    real.reshape(4, 16),
  )
  first = functools.partial(jax.tree.map, lambda x: x[0])
  chex.assert_trees_all_close(
    (first(dev_state.params), first(dev_state.batch_stats), first(dev)),
    (want_state.params, want_state.batch_stats, want),
    atol=1e-4,  # Adam's first step is about lr = 0.01 for every parameter.
  )


def test_seed_epoch_trains_on_every_equation_once():
  config = tiny_config(data=dict(n_examples=1_000, batch_size=64))
  setup, state, train_set, _, key = fresh(config)
  assert train_set.size == 900
  assert setup.steps_per_epoch == 15  # 14 full batches and one of 4.
  seen = []

  def spy(state, batch, **kwargs):
    weight = kwargs['weight_B']
    seen.append(jnp.where(weight[:, None], batch.src_BxS, -1))
    health = ('grad_norm', 'update_norm', 'adam_ratio')
    return state, dict.fromkeys(('loss', *health), jnp.float32(0))

  original = train.train_step
  train.train_step = spy
  try:
    with jax.disable_jit():
      train.train_epoch(state, train_set, key, setup=setup)
  finally:
    train.train_step = original
  got = np.concatenate([np.asarray(x) for x in seen])
  got = got[got[:, 0] >= 0]
  want = np.asarray(train_set.batch.src_BxS)
  assert got.shape == want.shape
  np.testing.assert_array_equal(
    np.unique(got, axis=0, return_counts=True)[1],
    np.unique(want, axis=0, return_counts=True)[1],
  )


def test_state_is_placed_and_holds_no_key():
  _, state, *_ = fresh(tiny_config())
  for leaf in jax.tree.leaves(state):
    assert isinstance(leaf, jax.Array), type(leaf)
    assert not jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key), leaf


def test_pmap_shard_map_and_jit_reach_the_same_state():
  # Streamed batches on several devices: the loss curve test below.
  # With a weight average whose batch-norm statistics are measured too.
  config = tiny_config(
    data=dict(steps_per_epoch=8),
    optim=dict(average=0.9, average_bn_batches=3),
  )
  single, loss_1 = run_epochs(config, 'jit', 1, 2)
  assert single.average_stats
  for mode in ('pmap', 'shard_map'):
    multi, loss_8 = run_epochs(config, mode, 8, 2)
    chex.assert_trees_all_close(
      multi.params,
      single.params,
      atol=2e-4,
      rtol=2e-3,
      custom_message=f'{mode} on 8 devices vs jit on 1',
    )
    chex.assert_trees_all_close(
      (multi.batch_stats, multi.average_stats),
      (single.batch_stats, single.average_stats),
      atol=2e-4,
      rtol=2e-3,
    )
    np.testing.assert_allclose(loss_8, loss_1, rtol=1e-4)
    assert int(multi.step) == int(single.step)


def test_pmap_run_reloads_an_earlier_best_checkpoint(
  tmp_path, monkeypatch, capsys
):
  # pmap's state is replicated, a restored one is not: the end of the run
  # must not take the first copy of a single copy.
  monkeypatch.setattr(checkpoint.Checkpointer, 'best_epoch', lambda _: 1)
  config = tiny_config(devices=dict(parallel='pmap'), model=dict(hidden_size=8))
  config.train.epochs = 2
  train.train_and_evaluate(config, str(tmp_path))
  assert 'reloaded the best checkpoint by val_loss (epoch 1,' in (
    capsys.readouterr().out
  )
  assert os.path.exists(tmp_path / 'eval.json')


def test_pairs_held_out_size_the_epoch_by_the_drawn_training_set():
  # tiny.py's split estimates 1,800 training pairs (29 batches of 64); the
  # pairs drawn leave 1,792: a 29th step of no rows made the loss NaN.
  config = tiny_config(data=dict(hold_out='pairs'))
  setup, state, train_set, _, key = fresh(config)
  assert train_set.size % config.data.batch_size == 0, train_set.size
  assert setup.steps_per_epoch == train_set.size // config.data.batch_size
  epoch = jax.jit(functools.partial(train.train_epoch, setup=setup))
  _, metrics = epoch(state, train_set, key)
  assert np.isfinite(float(metrics['loss'])), metrics


def test_loss_curve_does_not_depend_on_device_count():
  # With dropout on, each row's mask must follow the row, not the device.
  config = tiny_config(
    data=dict(dataset='stream', steps_per_epoch=6), model=dict(dropout=0.3)
  )
  curves = {n: run_epochs(config, 'shard_map', n, 3)[1] for n in (1, 8)}
  np.testing.assert_allclose(curves[8], curves[1], rtol=1e-4)


def test_epoch_compiles_once():
  config = tiny_config()
  setup, state, train_set, _, key = fresh(config)

  @jax.jit
  @chex.assert_max_traces(n=1)
  def epoch(state, train_set, key):
    return train.train_epoch(state, train_set, key, setup=setup)

  for _ in range(3):
    state, _ = epoch(state, train_set, key)
  assert int(state.step) == 3 * setup.steps_per_epoch


def test_batch_must_divide_by_devices():
  with pytest.raises(errors.ConfigError, match='batch_size=60.*8 devices'):
    config_lib.validate(tiny_config(data=dict(batch_size=60)), n_devices=8)


def read_rows(workdir):
  with open(os.path.join(workdir, 'metrics.jsonl')) as f:
    return [json.loads(line) for line in f]


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp('run'))
  summary = train.train_and_evaluate(tiny_config(), workdir)
  return workdir, summary


def test_training_writes_every_output(trained):
  workdir, summary = trained
  for name in (
    'config.json',
    'metrics.jsonl',
    'accuracy.png',
    'eval.json',
    'grid.png',
    'grid_errors.txt',
    'run.json',
  ):
    path = os.path.join(workdir, name)
    assert os.path.getsize(path) > 0, f'{name} missing or empty'
  rows = read_rows(workdir)
  assert [r['epoch'] for r in rows] == [1, 2, 3]
  for key in (
    'train_loss',
    'val_loss',
    'val_char_accuracy',
    'val_exact_match',
    'train_exact_match',
  ):
    assert all(np.isfinite(r[key]) for r in rows), key
  for r in rows:  # The spike signs: means and the largest of a step.
    for key in ('grad_norm', 'update_norm', 'adam_ratio'):
      assert 0 < r[f'train_{key}'] <= r[f'train_{key}_max'], (key, r)
  assert rows[-1]['train_loss'] < rows[0]['train_loss']
  result = json.load(open(os.path.join(workdir, 'eval.json')))
  assert result['equations'] == 100 * 100
  # 1,800 trained on; the 200 test equations chose the checkpoint (val_loss).
  assert result['never_trained_on']['equations'] == 10_000 - 1_800 - 200
  assert result['checkpoint_epoch'] == summary['best_epoch']
  row = rows[result['checkpoint_epoch'] - 1]
  assert result['train_seconds'] == row['elapsed_s'] > 0
  # The time of an epoch is taken once its figures are back: it grows with
  # the epochs, and the first counts start-up and compilation.
  assert 0 < rows[0]['elapsed_s'] < rows[1]['elapsed_s'] < rows[2]['elapsed_s']
  assert result['provenance']['data']['equations'] == 1_800
  assert summary['eval']['errors'] == result['errors']


def test_same_seed_same_metrics_and_resume_continues_the_same_run(
  trained, tmp_path
):
  workdir, _ = trained
  full = read_rows(workdir)
  resumed_dir = str(tmp_path / 'resumed')
  train.train_and_evaluate(
    tiny_config(train=dict(epochs=1), eval=dict(grid=False)), resumed_dir
  )
  train.train_and_evaluate(tiny_config(eval=dict(grid=False)), resumed_dir)
  resumed = read_rows(resumed_dir)
  assert [r['epoch'] for r in resumed] == [1, 2, 3]
  for a, b in zip(full, resumed):
    for key in ('train_loss', 'val_loss', 'val_exact_match'):
      assert a[key] == b[key], (key, a['epoch'], a[key], b[key])


def test_nan_loss_stops_with_the_epoch(tmp_path, monkeypatch):
  real_epoch = train.train_epoch

  def poisoned_epoch(state, *args, **kwargs):
    state, metrics = real_epoch(state, *args, **kwargs)
    epoch = state.step // kwargs['setup'].steps_per_epoch
    loss = jnp.where(epoch >= 2, jnp.nan, metrics['loss'])
    return state, {**metrics, 'loss': loss}

  monkeypatch.setattr(train, 'train_epoch', poisoned_epoch)
  config = tiny_config(train=dict(epochs=5), eval=dict(grid=False))
  diverged = 'epoch 2: loss is not finite: nan'
  with pytest.raises(train.TrainingDiverged, match=diverged):
    train.train_and_evaluate(config, str(tmp_path))
  assert [r['epoch'] for r in read_rows(str(tmp_path))] == [1]


def test_checkpoint_from_8_devices_continues_on_1(trained, tmp_path):
  # (pmap places its state otherwise; the same-state test runs it.)
  mode = 'shard_map'
  workdir, _ = trained
  reference = read_rows(workdir)
  moved = str(tmp_path / 'moved')
  train.train_and_evaluate(
    tiny_config(
      train=dict(epochs=1), devices=dict(parallel=mode), eval=dict(grid=False)
    ),
    moved,
  )
  train.train_and_evaluate(
    tiny_config(train=dict(epochs=2), eval=dict(grid=False)), moved
  )
  rows = read_rows(moved)
  assert [r['epoch'] for r in rows] == [1, 2]
  for got, want in zip(rows, reference):
    for key in ('train_loss', 'val_loss'):
      np.testing.assert_allclose(
        got[key], want[key], rtol=2e-3, err_msg=f'{key} of epoch {got["epoch"]}'
      )


def test_autoregressive_decoder_learns_under_teacher_forcing():
  config = tiny_config(
    task=dict(target='reversed'),
    model=dict(decoder='autoregressive', batch_norm=False, hidden_size=32),
    optim=dict(learning_rate=0.003),
  )
  setup, state, train_set, test_set, key = fresh(config)
  epoch = jax.jit(functools.partial(train.train_epoch, setup=setup))
  # Greedy: the decoder's own tokens.
  evaluate = jax.jit(functools.partial(train.eval_metrics, task=setup.task))
  before = evaluate(state, test_set)
  losses = []
  for _ in range(6):
    state, metrics = epoch(state, train_set, key)
    losses.append(float(metrics['loss']))
  after = evaluate(state, test_set)
  assert losses[-1] < 0.7 * losses[0], losses
  assert after['char_accuracy'] > before['char_accuracy'] + 0.15, (
    before,
    after,
  )


class _Saved:
  """A Checkpointer's metrics by epoch, as `train._finished` reads them."""

  def __init__(self, exact_by_epoch):
    self.exact = exact_by_epoch

  def metrics(self, epoch):
    return {'val_exact_match': self.exact[epoch]}


def test_a_run_is_finished_at_its_last_epoch_or_at_stop_exact():
  config = tiny_config(train=dict(epochs=5, stop_exact=0.9))
  run = train.prepare(config)
  saved = _Saved({1: 0.5, 2: 0.95, 5: 0.1})
  assert train._finished(run, saved, 0) == ''  # Nothing trained yet.
  assert train._finished(run, saved, 1) == ''
  assert 'stop_exact=0.9' in train._finished(run, saved, 2)
  assert train._finished(run, saved, 5) == 'train.epochs=5'
  config.train.stop_exact = 0.0  # Off: only the last epoch finishes it.
  assert train._finished(train.prepare(config), saved, 2) == ''


def test_spikes_count_epochs_far_wrong_after_the_first_clean_one():
  wrong = [900, 40, 0, 3, 50, 0, 31, 0]  # Of 3,000: > 30 is a spike.
  rows = [
    dict(epoch=i + 1, val_wrong=w, val_count=3_000) for i, w in enumerate(wrong)
  ]
  assert train.spikes(rows) == dict(count=2, epochs=[5, 7], first_clean_epoch=3)
  assert train.spikes(rows[:2])['count'] == 0  # Never clean: none counted.


def test_exact_match_is_the_answer_and_trace_exact_the_trace():
  # A model that writes the right trace for the first equation, a trace
  # with a wrong step but the right answer for the second, and a wrong
  # answer for the third: exact_match 2/3 (stop_exact and best_by read
  # it), trace_exact 1/3.
  task = data.Task(max_number=99, target='steps')
  eqs = data.Equations(
    jnp.asarray([[12, 34], [56, 7], [99, 99]], jnp.int32),
    jnp.zeros((3, 1), jnp.int32),
  )
  test = data.Dataset(eqs, data.make_batch(eqs, task))
  written = np.asarray(test.batch.tgt_BxT).copy()
  first_digit = 0  # The first step copies a digit: write another.
  written[1, first_digit] = (written[1, first_digit] + 1) % 10
  value, valid = steps.answer_from_steps(jnp.asarray(written), task)
  assert list(np.asarray(value)) == [46, 63, 198] and all(valid)
  end = int(np.argmax(written[2] == task.vocab.eos_id))
  written[2, end - task.result_width] = (
    written[2, end - task.result_width] + 1
  ) % 10
  logits = jax.nn.one_hot(written, task.vocab.size) * 10.0
  state = train.TrainState(
    step=jnp.zeros((), jnp.int32),
    params={},
    batch_stats={},
    opt_state=(),
    average_stats={},
    apply_fn=lambda variables, src, train: logits,
    tx=None,
  )
  m = train.eval_metrics(state, test, task)
  np.testing.assert_allclose(m['exact_match'], 2 / 3, rtol=1e-6)
  np.testing.assert_allclose(m['trace_exact'], 1 / 3, rtol=1e-6)
  # Without steps, the two are one: every character of the answer.
  plain = data.Task(max_number=99)
  test = data.Dataset(eqs, data.make_batch(eqs, plain))
  logits = jax.nn.one_hot(test.batch.tgt_BxT, plain.vocab.size) * 10.0
  state = state.replace(apply_fn=lambda variables, src, train: logits)
  m = train.eval_metrics(state, test, plain)
  assert float(m['exact_match']) == 1.0 and 'trace_exact' not in m


def test_weight_average_is_scored_with_batch_norm_statistics_of_its_own():
  config = tiny_config(optim=dict(average=0.9, average_bn_batches=2))
  setup, state, train_set, test_set, key = fresh(config)
  assert setup.average_stats_batches == 2
  epoch = jax.jit(functools.partial(train.train_epoch, setup=setup))
  state, _ = epoch(state, train_set, key)
  variables = train._variables(state)
  chex.assert_trees_all_equal(variables['batch_stats'], state.average_stats)
  mean = lambda stats: np.asarray(stats['encoder_norm']['mean'])
  assert not np.allclose(mean(state.average_stats), mean(state.batch_stats))
  # They are the batch statistics of what the average's encoder gives.
  batch = data.Batch(*(x[:100] for x in train_set.batch))
  state = train.average_stats(state, batch, None, None)
  _, seen = setup.model.apply(
    {'params': variables['params'], 'batch_stats': state.batch_stats},
    batch.src_BxS,
    mutable=['intermediates'],
    capture_intermediates=lambda m, _: m.name == 'encoder_0',
  )
  summary = seen['intermediates']['encoder_0']['__call__'][0]
  np.testing.assert_allclose(
    mean(state.average_stats), summary.mean(0), rtol=1e-5, atol=1e-6
  )
  np.testing.assert_allclose(
    state.average_stats['encoder_norm']['var'], summary.var(0), rtol=1e-4
  )
  # Switched off, or with nothing to average, the raw statistics are used.
  for optim in (dict(average=0.9, average_bn_batches=0), dict(average=0.0)):
    setup, state, *_ = fresh(tiny_config(optim=optim))
    assert setup.average_stats_batches == 0 and state.average_stats == {}
    state, _ = jax.jit(functools.partial(train.train_epoch, setup=setup))(
      state, train_set, key
    )
    assert state.average_stats == {}
    stats = train._variables(state)['batch_stats']
    chex.assert_trees_all_equal(stats, state.batch_stats)
  # A model without batch norm has no statistics to measure.
  config = tiny_config(optim=dict(average=0.9), model=dict(batch_norm=False))
  setup, state, train_set, _, key = fresh(config)
  state, _ = jax.jit(functools.partial(train.train_epoch, setup=setup))(
    state, train_set, key
  )
  assert state.batch_stats == {} and state.average_stats == {}
  assert train._variables(state)['batch_stats'] == {}


def test_adam_ratio_is_the_squared_gradient_over_adams_second_moment():
  tx = optax.adam(0.1)
  params = {'w': jnp.ones((3, 4)), 'b': jnp.zeros(4)}
  grads = {'w': jnp.full((3, 4), 0.5), 'b': jnp.full(4, 2.0)}
  opt_state = tx.init(params)
  assert float(train.adam_ratio(grads, opt_state)) == 0.0  # No step yet.
  _, opt_state = tx.update(grads, opt_state, params)
  # One step: v, bias-corrected, is g**2 itself.
  np.testing.assert_allclose(train.adam_ratio(grads, opt_state), 1.0, 1e-4)
  # A gradient ten times as large on one tensor: 100 times its v.
  spike = {'w': grads['w'], 'b': grads['b'] * 10}
  np.testing.assert_allclose(train.adam_ratio(spike, opt_state), 100.0, 1e-3)


def test_adam_ratio_corrects_the_bias_with_the_runs_b2():
  params = {'w': jnp.ones((3, 4))}
  grads = {'w': jnp.full((3, 4), 0.5)}
  for b2 in (0.95, 0.999):
    tx = optax.adam(0.1, b2=b2)
    _, opt_state = tx.update(grads, tx.init(params), params)
    np.testing.assert_allclose(
      train.adam_ratio(grads, opt_state, b2), 1.0, 1e-4
    )
  # Corrected with another b2, the ratio is off by their debias factors.
  wrong = float(train.adam_ratio(grads, opt_state, 0.95))
  np.testing.assert_allclose(wrong, (1 - 0.95) / (1 - 0.999), 1e-3)


def test_update_clip_caps_each_tensors_adam_step():
  config = tiny_config(optim=dict(learning_rate=1.0))
  params = {'w': jnp.ones((8, 8)), 'b': jnp.zeros(8)}
  quiet = {'w': jnp.full((8, 8), 0.01), 'b': jnp.full(8, 0.01)}
  loud = {'w': jnp.full((8, 8), 100.0), 'b': jnp.full(8, 0.01)}

  def second_step(update_clip):
    config.optim.update_clip = update_clip
    tx = train.make_optimizer(config.optim, epochs=1, steps_per_epoch=10)
    step = lambda _, state: tx.update(quiet, state, params)[1]
    state = jax.lax.fori_loop(0, 3000, step, tx.init(params))
    updates, _ = tx.update(loud, state, params)
    rms = lambda u: float(jnp.sqrt(jnp.mean(u**2)))
    return rms(updates['w']), rms(updates['b'])

  w_free, b_free = second_step(0.0)
  w_capped, b_capped = second_step(2.0)
  # A steady gradient makes steps of RMS 1; one that outruns v, far more.
  assert w_free > 3.0 and 0.99 < b_free < 1.01
  np.testing.assert_allclose(w_capped, 2.0, rtol=1e-4)  # Capped at 2 * lr.
  np.testing.assert_allclose(b_capped, b_free, rtol=1e-6)  # Under the cap.


def test_weight_average_is_evaluated_in_place_of_the_weights():
  config = tiny_config(optim=dict(average=0.9, learning_rate=0.05))
  task = config_lib.task_of(config)
  _, state, train_set, test_set, _ = fresh(config)
  tx = train.make_optimizer(config.optim, epochs=1, steps_per_epoch=10)
  state = state.replace(tx=tx, opt_state=tx.init(state.params))
  # Before a step the average is the weights themselves.
  chex.assert_trees_all_equal(train._variables(state)['params'], state.params)
  step = jax.jit(train.train_step)
  batch = data.Batch(*(x[:64] for x in train_set.batch))
  want = state.params
  for _ in range(3):
    state, _ = step(state, batch)
    want = jax.tree.map(lambda a, w: 0.9 * a + 0.1 * w, want, state.params)
  average = train._variables(state)['params']
  chex.assert_trees_all_close(average, want, rtol=1e-5, atol=1e-7)
  assert not np.allclose(
    jax.tree.leaves(average)[0], jax.tree.leaves(state.params)[0]
  )
  # The test set is scored with the average, not the last weights.
  plain = state.replace(opt_state=())
  m_average = train.eval_metrics(state, test_set, task)
  m_plain = train.eval_metrics(plain, test_set, task)
  assert float(m_average['loss']) != float(m_plain['loss'])

"""The place-coupled decoder (`model.dec_places`) and longer operands."""

import functools
import json

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from runs import equations
from runs import initial_run
from runs import tiny_config

from lstm_math import config as config_lib
from lstm_math import data
from lstm_math import lengths
from lstm_math import model
from lstm_math import predict
from lstm_math import steps
from lstm_math import train
from lstm_math.errors import ConfigError

ADD = data.Task(operators='+', max_number=999, target='steps')
SUB = data.Task(operators='-', max_number=999, target='steps')


def _role(name):
  return steps.ROLES.index(name)


@pytest.mark.parametrize('task', [ADD, SUB], ids=['add', 'sub'])
def test_each_position_is_about_the_digits_of_its_place(task):
  # Every token whose role names a digit of a place holds that digit.
  eqs = equations(
    task, [f'907 {task.operators} 95', f'15 {task.operators} 988'], 2
  )
  tgt = np.asarray(steps.encode_steps(eqs, task))
  roles, places = map(np.asarray, steps.place_layout(task))
  chex.assert_shape([roles, places], (task.tgt_len,))
  a, b = np.asarray(eqs.operands_BxK).T
  result = np.asarray(data.compute_results(eqs, task))
  digit = lambda v, p: (np.abs(v) // 10**p) % 10
  for name, value in (('x', a), ('y', b), ('answer', result)):
    at = np.flatnonzero(roles == _role(name))
    assert len(at) >= 3, name
    for pos in at:
      np.testing.assert_array_equal(tgt[:, pos], digit(value, places[pos]))
  # A carry (or borrow) out of column i is about place i + 1 and is read
  # back as the carry into it.
  out, into = ('carry', 'carry_in') if task.operators == '+' else (
    'borrow', 'borrow_in'
  )  # fmt: skip
  for pos in np.flatnonzero(roles == _role(into)):
    source = np.flatnonzero((roles == _role(out)) & (places == places[pos]))
    expected = tgt[:, source[0]] if len(source) else 0
    np.testing.assert_array_equal(tgt[:, pos], expected)
  assert roles[-1] == _role('end') and places[-1] == -1


def test_source_places_count_from_each_units_digit():
  voc = ADD.vocab
  src = jnp.asarray([[8, 9, voc.space_id, voc.op_id('+'), voc.space_id, 7]])
  places, operand = model.source_places(src, voc.size)
  np.testing.assert_array_equal(places, [[1, 0, -1, -1, -1, 0]])
  np.testing.assert_array_equal(operand, [[0, 0, 0, 1, 1, 1]])


def _net(task, hidden=8):
  return model.Seq2Seq(
    task.vocab.size,
    task.tgt_len,
    hidden=hidden,
    batch_norm=False,
    decoder='autoregressive',
    dec_places=True,
    layout=steps.place_layout(task),
  )


def test_a_longer_task_changes_nothing_of_the_columns_both_write():
  # No row per position: `12 + 34` under a 3- and a 5-digit task has the
  # same logits for the columns both write (a row per position would not).
  short, long = ADD, lengths.task_of_digits(ADD, 5)
  eqs = equations(ADD, ['12 + 34', '999 + 1'], 2)
  batch_s, batch_l = data.make_batch(eqs, short), data.make_batch(eqs, long)
  np.testing.assert_array_equal(batch_s.src_BxS, batch_l.src_BxS[:, :10])
  variables = _net(short).init(jax.random.key(0), batch_s.src_BxS)
  apply = lambda net, b: net.apply(variables, b.src_BxS, tgt_BxT=b.tgt_BxT)
  logits_s = apply(_net(short), batch_s)
  logits_l = apply(_net(long), batch_l)
  columns = 6 * 3
  np.testing.assert_allclose(
    logits_s[:, :columns], logits_l[:, :columns], rtol=1e-5, atol=1e-5
  )
  assert logits_l.shape[1] == long.tgt_len > short.tgt_len


def test_attention_reads_the_key_of_its_place_or_nothing():
  rows = jnp.eye(4)  # Values: one-hot symbols.
  kinds = (jnp.zeros((1, 4)), jnp.zeros((1,), jnp.int32))
  ids = jnp.asarray([[1, 2, 3]])
  read = lambda mask: model._attend_places(
    jnp.zeros(4), -30.0, (rows, ids), kinds, jnp.asarray([mask])
  )
  np.testing.assert_allclose(read([0, 1, 0]), [[0, 0, 1, 0]], atol=1e-6)
  np.testing.assert_allclose(read([1, 1, 0]), [[0, 0.5, 0.5, 0]], atol=1e-6)
  empty = model._attend_places(
    jnp.zeros(4), 0.0, (rows, ids), kinds, jnp.zeros((1, 3), bool)
  )
  np.testing.assert_allclose(empty, [[0, 0, 0, 0]], atol=1e-6)


@pytest.mark.parametrize('which', ['both', 'one'])
def test_length_sets_have_operands_of_the_digits_asked(which):
  for d in (1, 4, 9):
    eqs = lengths.equations(jax.random.key(d), ADD, d, 500, which)
    widths = np.vectorize(lambda x: len(str(x)))(np.asarray(eqs.operands_BxK))
    assert (widths.max(axis=1) == d).all()
    if which == 'both' or d == 1:
      assert (widths.min(axis=1) == d).all()
    else:
      assert (widths.min(axis=1) < d).all()
      assert 0.3 < (widths[:, 0] == d).mean() < 0.7  # The long one: a or b.
    results = np.asarray(
      data.compute_results(eqs, lengths.task_of_digits(ADD, d))
    )
    a, b = np.asarray(eqs.operands_BxK, np.int64).T
    np.testing.assert_array_equal(results, a + b)  # int32 holds 9 digits.


def _place_config(**sections):
  c = tiny_config(
    task=dict(max_number=99, target='steps'),
    model=dict(decoder='autoregressive', batch_norm=False, dec_places=True),
  )
  c.update(sections)
  return c


@pytest.mark.parametrize(
  'sections, message',
  [
    (dict(task=dict(operators='*')), 'writes the steps of one \\+ or -'),
    (dict(model=dict(dec_source_tokens=True)), 'model.dec_source_tokens=True'),
    (dict(task=dict(max_number=50)), 'task.max_number=50'),
    (dict(task=dict(reverse_source=True)), 'task.reverse_source=True'),
    (dict(eval=dict(lengths=10)), 'eval.lengths=10: .*pass int32'),
    (dict(eval=dict(lengths=2)), 'trains on 2 digits already'),
  ],
)
def test_place_configs_refuse_what_they_cannot_do(sections, message):
  config = _place_config()
  config.update(sections)
  with pytest.raises(ConfigError, match=message):
    config_lib.validate(config)
  other = tiny_config(eval=dict(lengths=4))
  with pytest.raises(ConfigError, match='only a model with model.dec_places'):
    config_lib.validate(other)


def test_place_decoder_learns_and_answers_longer_operands():
  config = _place_config(
    model=dict(hidden_size=32), optim=dict(learning_rate=0.003)
  )
  setup, state, train_set, test_set, key = initial_run(config)
  epoch = jax.jit(functools.partial(train.train_epoch, setup=setup))
  losses = []
  for _ in range(4):
    state, metrics = epoch(state, train_set, key)
    losses.append(float(metrics['loss']))
  assert losses[-1] < 0.5 * losses[0], losses
  variables = {'params': state.params, 'batch_stats': state.batch_stats}
  predictor = predict.Predictor(setup.model, setup.task, variables)
  (ok, text), (bad, error) = predictor(['12345 + 987', '1234567890 + 1'])
  assert ok and text.startswith('12345 + 987 = '), text
  assert not bad and 'more than 9 digits' in error
  ((ok, text),) = predictor(['123456789 + 987654321'], show_steps=True)
  assert ok and len(text.splitlines()) == 1 + 9 + 1, text  # 9 columns.


def test_a_run_scores_longer_operands_into_eval_json_and_a_picture(tmp_path):
  config = _place_config(
    task=dict(max_number=9),  # A grid of 100 and one length past it.
    data=dict(n_examples=90, batch_size=16),
    train=dict(epochs=1, examples_before=0, examples_after=0),
    eval=dict(lengths=2, length_equations=64),
  )
  train.train_and_evaluate(config, str(tmp_path))
  evaluation = json.loads((tmp_path / 'eval.json').read_text())
  for which in lengths.SETS:
    by_digits = evaluation['lengths'][which]
    assert list(by_digits) == ['1', '2']
    for d, figures in by_digits.items():
      assert figures['equations'] == 64
      right = figures['equations'] - figures['errors']
      assert figures['exact_match'] == right / 64
      assert figures['trace_exact'] <= figures['exact_match'] + 1e-9
      assert ('seen_in_training' in figures) == (d == '1')
  assert (tmp_path / 'length.png').stat().st_size > 10_000

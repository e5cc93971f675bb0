"""The evaluation files and their analysis: counts, splits, pictures."""

import collections
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import runs

from lstm_math import config as config_lib
from lstm_math import data
from lstm_math import parallel
from lstm_math import predict
from lstm_math import reports
from lstm_math import scoring
from lstm_math import train


def test_run_evaluation_writes_consistent_files(model_and_variables, tmp_path):
  config, _, variables, train_set = model_and_variables
  run = train.prepare(config, parallel.make_devices('jit'))
  _, test_set = run.datasets()
  result = train.evaluate(run, str(tmp_path), variables, (train_set, test_set))
  assert result['equations'] == 2_500
  # The test set chose the checkpoint (best_by='val_loss'): not unseen.
  assert not result['test_set']['counted_as_never_trained_on']
  assert result['never_trained_on']['equations'] == (
    2_500 - train_set.size - test_set.size
  )
  sizes = result['errors_by_operand_size']
  assert sum(v['equations'] for v in sizes.values()) == 2_500
  assert sum(v['errors'] for v in sizes.values()) == result['errors']
  chars = result['errors_by_characters_wrong']
  assert chars['one'] + chars['more'] == result['errors']
  lines = (tmp_path / 'grid_errors.txt').read_text().splitlines()
  assert len(lines) == result['errors'] + 1  # A header line.
  for line in lines[1:50]:
    equation, rest = line.split(' = ')
    a, b = (int(x) for x in equation.split(' + '))
    assert f'(expected {a + b})' in rest, line
  assert (tmp_path / 'grid.png').stat().st_size > 1000
  assert not (tmp_path / 'operators.png').exists()  # One operator.
  # Never-trained-on equations split by whether b + a was trained on.
  trained = {tuple(p) for p in np.asarray(train_set.eqs.operands_BxK).tolist()}
  chose = {tuple(p) for p in np.asarray(test_set.eqs.operands_BxK).tolist()}
  unseen = [
    (a, b)
    for a in range(50)
    for b in range(50)
    if (a, b) not in trained | chose
  ]
  by_mirror = result['never_trained_on_by_mirror']
  assert by_mirror['mirror trained on']['equations'] == sum(
    (b, a) in trained for a, b in unseen
  )
  assert by_mirror['neither order trained on']['equations'] == sum(
    (b, a) not in trained for a, b in unseen
  )
  for key in ('equations', 'errors'):
    assert (
      sum(v[key] for v in by_mirror.values()) == result['never_trained_on'][key]
    )


def _evaluate_untrained(c, workdir) -> dict:
  """`run_evaluation` of a freshly initialised model of config `c`."""
  run = train.prepare(c, parallel.make_devices('jit'))
  state = run.init(run.k_init)
  variables = {'params': state.params, 'batch_stats': state.batch_stats}
  return train.evaluate(run, str(workdir), variables, run.datasets())


def test_random_evaluation_without_a_grid(tmp_path, capsys):
  c = config_lib.base()
  c.task.operators, c.task.n_terms, c.task.max_number = '+-', 3, 9
  c.data.dataset, c.data.steps_per_epoch, c.data.n_examples = 'stream', 1, 200
  c.data.split = 0.9  # 3,600 of the 4,000 equations held out.
  c.model.hidden_size, c.eval.n_random, c.eval.chunk = 8, 3_000, 1_024
  result = _evaluate_untrained(c, tmp_path)
  assert result['mode'] == 'random'
  assert result['equations'] == 3_000
  assert result['never_trained_on']['equations'] == 3_000
  # Distinct, from an exact count of those never seen (the 20 test
  # equations chose the checkpoint: best_by='val_loss').
  assert result['drawn_from']['exact']
  assert 3_000 < result['drawn_from']['equations'] < 3_600
  errors = (tmp_path / 'errors.txt').read_text().splitlines()[1:]
  assert len(set(errors)) == len(errors), 'an equation counted twice'
  assert not (tmp_path / 'grid.png').exists()
  assert (tmp_path / 'operators.png').stat().st_size > 1000
  printed = capsys.readouterr().out
  assert 'a - b - c' in printed and f'{tmp_path}/operators.png' in printed
  assert 'grid.png' not in printed
  # Errors by operator pattern agree with the wrong equations written out.
  by_ops = result['errors_by_operators']
  assert list(by_ops) == ['a + b + c', 'a + b - c', 'a - b + c', 'a - b - c']
  assert sum(v['equations'] for v in by_ops.values()) == 3_000
  lines = (tmp_path / 'errors.txt').read_text().splitlines()[1:]
  assert len(lines) == result['errors'] > 0
  from_file = collections.Counter(
    ' '.join(['a'] + [f'{op} {x}' for op, x in zip(eq.split()[1::2], 'bc')])
    for eq in (line.split(' = ')[0] for line in lines)
  )
  assert {k: v['errors'] for k, v in by_ops.items() if v['errors']} == dict(
    from_file
  )


def _png_size(path) -> tuple[int, int]:
  with open(path, 'rb') as f:
    header = f.read(24)
  assert header[:8] == b'\x89PNG\r\n\x1a\n'
  return int.from_bytes(header[16:20], 'big'), int.from_bytes(
    header[20:24], 'big'
  )


@pytest.mark.parametrize('operators', ['+', '+-'])
def test_grid_picture_has_a_panel_per_operator(tmp_path, operators):
  c = config_lib.base()
  c.task.operators, c.task.max_number, c.data.n_examples = operators, 19, 100
  c.model.hidden_size, c.eval.chunk = 8, 256
  result = _evaluate_untrained(c, tmp_path)
  assert result['equations'] == 400 * len(operators)
  width, height = _png_size(tmp_path / 'grid.png')
  if len(operators) == 1:
    assert 'errors_by_operators' not in result
    assert height < 1.5 * width
  else:
    by_ops = result['errors_by_operators']
    assert list(by_ops) == ['a + b', 'a - b']
    assert [v['equations'] for v in by_ops.values()] == [400, 400]
    assert sum(v['errors'] for v in by_ops.values()) == result['errors']
    assert height > 1.5 * width  # Two planes, one above the other.
    assert (tmp_path / 'operators.png').exists()


def test_errors_by_operators_counts_each_pattern():
  task = data.Task(operators='+-*', n_terms=3, max_number=9)
  # Operator indices into '+-*': rows 0-1 'a + b * c', 2 'a * b - c', 3 'a +
  # b + c'; rows 1 and 2 wrong (fewer characters right than tgt_len).
  ops = np.array([[0, 2], [0, 2], [2, 1], [0, 0]])
  operands = np.ones((4, 3), np.int32)
  n_right = np.array([task.tgt_len, 0, 1, task.tgt_len])
  result = reports.analyse(operands, n_right, np.zeros(4, bool), task, ops)
  by_ops = result['errors_by_operators']
  assert len(by_ops) == 9
  assert by_ops['a + b * c'] == dict(equations=2, errors=1)
  assert by_ops['a * b - c'] == dict(equations=1, errors=1)
  assert by_ops['a + b + c'] == dict(equations=1, errors=0)
  assert sum(v['equations'] for v in by_ops.values()) == 4
  # One operator: nothing to split by.
  plus = data.Task(operators='+', max_number=9)
  one = reports.analyse(
    operands[:, :2], n_right, np.zeros(4, bool), plus, np.zeros((4, 1), int)
  )
  assert 'errors_by_operators' not in one


def test_mirror_mask_finds_b_op_a():
  task = data.Task(operators='*-', max_number=3)
  t, m = task.operators.index('*'), task.operators.index('-')
  trained = data.Equations(
    jnp.array([[1, 2], [3, 3], [0, 1], [2, 3]]), jnp.array([[t], [t], [t], [m]])
  )
  train_set = collections.namedtuple('Trained', 'eqs')(trained)
  eqs = data.Equations(
    np.array([[2, 1], [1, 2], [3, 3], [1, 0], [0, 0], [2, 3]]),
    np.array([[t], [t], [t], [t], [t], [m]]),
  )
  has_mirror, mirror_seen = reports.mirror_mask(
    eqs, task, data.HeldOut(data.Sampling(split=0.1), train_set)
  )
  # The last row, 2 - 3, was trained on itself, but '-' does not commute: no
  # mirror, so no mirror seen.
  np.testing.assert_array_equal(has_mirror, [1, 1, 1, 1, 1, 0])
  np.testing.assert_array_equal(mirror_seen, [1, 0, 1, 1, 0, 0])
  # Streaming: the mirror is seen unless its hash holds it out.
  stream = data.HeldOut(data.Sampling(split=0.5, salt=3), None)
  has_mirror, mirror_seen = reports.mirror_mask(eqs, task, stream)
  flipped = data.Equations(eqs.operands_BxK[:, ::-1], eqs.ops_BxK1)
  held = np.asarray(data.is_held_out(flipped, 0.5, 3))
  np.testing.assert_array_equal(mirror_seen, has_mirror & ~held)
  # No mirrors: a division beside (b counts from 1, so 2 / 0 is not on the
  # grid), non-commuting operators, three operands.
  div = data.Task(operators='*/', max_number=3)
  t, d = div.operators.index('*'), div.operators.index('/')
  has_mirror, _ = reports.mirror_mask(
    data.Equations(
      np.array([[0, 2], [2, 1], [2, 1]]), np.array([[t], [t], [d]])
    ),
    div,
    stream,
  )
  np.testing.assert_array_equal(has_mirror, [0, 1, 0])
  minus = data.Task(operators='-', max_number=3)
  assert reports.mirror_mask(eqs, minus, stream) is None
  three = data.Task(operators='*', n_terms=3, max_number=3)
  assert reports.mirror_mask(eqs, three, stream) is None


def test_never_trained_on_split_by_mirror():
  task = data.Task(operators='*', max_number=9)
  operands = np.ones((5, 2), np.int32)
  n_right = np.array([task.tgt_len, 0, task.tgt_len, 0, 0])
  seen = np.array([0, 0, 0, 0, 1], bool)
  has_mirror = np.ones(5, bool)
  mirror_seen = np.array([1, 1, 0, 0, 0], bool)
  result = reports.analyse(
    operands, n_right, seen, task, mirror=(has_mirror, mirror_seen)
  )
  by_mirror = result['never_trained_on_by_mirror']
  assert by_mirror['mirror trained on']['equations'] == 2
  assert by_mirror['mirror trained on']['errors'] == 1
  assert by_mirror['neither order trained on']['equations'] == 2
  assert by_mirror['neither order trained on']['errors'] == 1
  text = reports.summary_text(
    dict(result, mode='grid', seconds=1.0, task='t'), 'w', []
  )
  assert 'neither order trained on:' in text
  # Every unseen equation's mirror seen: one group, no empty one.
  only = reports.analyse(
    operands, n_right, seen, task, mirror=(has_mirror, np.ones(5, bool))
  )
  assert list(only['never_trained_on_by_mirror']) == ['mirror trained on']
  assert 'never_trained_on_by_mirror' not in reports.analyse(
    operands, n_right, seen, task
  )


@pytest.mark.parametrize(
  'task, written, shown',
  [
    (data.Task(), ' 118\0', '118'),
    (data.Task(), '0118\0', "'0118'"),
    (data.Task(), ' 1 8\0', "' 1 8'"),
    (data.Task(operators='-', pad_result=True), '-002\0', '-2'),
    (data.Task(operators='-', pad_result=True), '-000\0', "'-000'"),
    (data.Task(operators='-', pad_result=True), '  -2\0', "'  -2'"),
    (data.Task(target='reversed'), '811 \0', '118'),
  ],
)
def test_answer_texts_show_malformed_answers_as_written(task, written, shown):
  ids = runs.encode(task.vocab, written)[None]
  assert predict.answer_texts(ids, task) == [shown]


def test_random_held_out_equations_are_distinct_and_never_seen():
  task = data.Task(operators='+-', n_terms=3, max_number=9)  # 4,000 in all.
  _, test_set = data.fixed_dataset(
    jax.random.key(1),
    data.Task(max_number=9),
    data.Sampling(n_examples=20, split=0.5),
  )
  test = data.Dataset(
    data.Equations(
      jnp.asarray([[1, 2, 3], [4, 5, 6]]), jnp.asarray([[0, 1], [1, 1]])
    ),
    None,
  )
  held_out = data.HeldOut(data.Sampling(split=0.5, salt=7), None, test)
  count, exact = scoring.unseen_population(task, held_out)
  every = data.Equations(
    jnp.asarray(list(itertools.product(range(10), repeat=3))).repeat(4, 0),
    jnp.asarray(list(itertools.product(range(2), repeat=2)) * 1000),
  )
  unseen = ~held_out.seen(every, task)
  assert exact and count == int(unseen.sum()), (count, unseen.sum())
  # Almost all of them: a draw with replacement would repeat many.
  n = count - 20
  eqs = scoring.random_held_out(jax.random.key(0), task, n, held_out)
  keys = data.equation_keys(eqs)
  assert len(np.unique(keys)) == n, 'repeats in the sample'
  assert not held_out.seen(eqs, task).any()
  assert not np.isin(data.equation_keys(test.eqs), keys).any()
  del test_set


def test_a_wrong_trace_with_the_right_answer_counts_as_each_should():
  task = data.Task(max_number=9, target='steps')
  n_right = np.asarray([task.tgt_len, task.tgt_len - 1, task.tgt_len - 3])
  exact = np.asarray([True, True, False])  # The answer right, right, wrong.
  first_wrong = np.asarray([-1, 0, 0])  # The trace right, wrong, wrong.
  operands = np.asarray([[1, 2], [3, 4], [5, 6]])
  result = reports.analyse(
    operands, n_right, np.zeros(3, bool), task, exact_N=exact,
    first_wrong_N=first_wrong,
  )  # fmt: skip
  assert result['errors'] == 1 and result['trace_errors'] == 2, result
  assert result['exact_match'] == 2 / 3 and result['trace_exact'] == 1 / 3
  assert result['never_trained_on']['trace_errors'] == 2

"""Tests of step-by-step traces: answers, layouts, golden traces, kinds."""

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import runs

from lstm_math import data
from lstm_math import steps

_Task = functools.partial(data.Task, target='steps')
# One batch size, so that a task compiles once for all its tests.
N = 10_000  # The grid of 0..99.
MUL_99 = _Task('*', max_number=99)
MIXED3 = _Task('+-*', n_terms=3, max_number=20)


@functools.partial(jax.jit, static_argnums=1)
def _encode_and_read(eqs, task):
  ids = steps.encode_steps(eqs, task)
  value, valid = steps.answer_from_steps(ids, task)
  return ids, value, valid, data.compute_results(eqs, task)


_first_wrong_kind = jax.jit(steps.first_wrong_kind, static_argnums=3)
_answer_from_steps = jax.jit(steps.answer_from_steps, static_argnums=1)


def _equations(task, texts):
  return runs.equations(task, texts, N)


def _encode(task, texts):
  return _encode_and_read(_equations(task, texts), task)[0]


def _random_equations(task, n, seed=0):
  """Uniform equations by numpy: nothing to compile."""
  rng = np.random.default_rng(seed)
  ops = rng.integers(0, len(task.operators), (n, task.n_terms - 1))
  x = rng.integers(0, task.max_number + 1, (n, task.n_terms))
  if '/' in task.operators:
    divisor = rng.integers(task.divisor_min, task.max_number + 1, x.shape)
    after_div = np.pad(ops == task.operators.index('/'), ((0, 0), (1, 0)))
    x = np.where(after_div, divisor, x)
  return data.Equations(jnp.asarray(x, jnp.int32), jnp.asarray(ops, jnp.int32))


def _text(ids_T, task):
  return ''.join(task.vocab.symbols[i] for i in np.asarray(ids_T))


def _check_answers(task, eqs):
  ids, value, valid, want = _encode_and_read(eqs, task)
  chex.assert_shape(ids, (eqs.operands_BxK.shape[0], task.tgt_len))
  chex.assert_type(ids, jnp.int32)
  chex.assert_type(value, jnp.int32)
  assert valid.dtype == jnp.bool_
  np.testing.assert_array_equal(value, want)
  assert np.all(valid)
  ids = np.asarray(ids)
  assert ids.min() >= 0 and ids.max() < task.vocab.size  # Never the pad.
  assert np.all(ids[:, -1] == task.vocab.eos_id)
  # EOS only at the end: once written, it fills the rest.
  is_eos = ids == task.vocab.eos_id
  assert np.all(np.cumsum(~is_eos[:, ::-1], axis=1)[:, ::-1][is_eos] == 0)


@pytest.mark.parametrize('op', list('+-*/'))
def test_answers_exhaustive_two_digits(op):
  task = _Task(op, max_number=99)
  every = np.resize(np.arange(task.grid_size), N)  # All, then repeats.
  _check_answers(task, data.grid_equations(jnp.asarray(every), task))


@pytest.mark.parametrize(
  'task',
  [
    *(_Task(op, max_number=999) for op in '+-*/'),
    _Task('+-*', n_terms=3, max_number=20),
    _Task('-/', n_terms=3, max_number=9),  # -x - y adds, with no '+'.
  ],
  ids=str,
)
def test_answers_random(task):
  _check_answers(task, _random_equations(task, N))


def test_tgt_len():
  assert _Task('+', max_number=999).tgt_len == 23
  assert _Task('-', max_number=999).tgt_len == 43
  assert _Task('*', max_number=99).tgt_len == 55
  assert _Task('*', max_number=999).tgt_len == 106
  assert _Task('/', max_number=999).tgt_len == 43
  assert _Task('+-*', max_number=99, n_terms=3).tgt_len == 151


@pytest.mark.parametrize(
  'task',
  [
    *(_Task(op, max_number=n) for op in '+-*/' for n in (1, 9, 10, 999, 12345)),
    _Task('+-', max_number=99),
    _Task('*/', max_number=99),
    _Task('+-*', max_number=20, n_terms=3),
    _Task('-/', max_number=9, n_terms=3),
    _Task('*/', max_number=99, n_terms=3),
    _Task('+-*/', max_number=9, n_terms=4),
  ],
  ids=str,
)
def test_tgt_len_counts_the_longest_trace(task):
  # task.py counts the tokens of the traces written here, by their widths.
  kinds = steps.step_kinds(task)  # Every trace, padded with 'end' to T.
  end = steps.KINDS.index('end')
  assert kinds.shape[1] == task.tgt_len, 'a trace longer than tgt_len'
  assert np.all(kinds[:, -1] == end), 'a trace without room for its end'
  assert np.any(kinds[:, -2] != end), 'tgt_len longer than every trace'


@pytest.mark.parametrize(
  'task, text, want',
  [
    (
      MUL_99,
      '31 * 87',
      '1*7070 3*7012 1*8080 3*8042 7070 18090 24060 2020 7962',
    ),
    (
      _Task('-', max_number=999),
      '118 - 131',
      '81070 13081 11191 - 7-031 8-111 9-101 310-',
    ),
    (
      _Task('-', max_number=999),
      '131 - 118',
      '18031 31110 11000   3 030 1 010 0 000 310 ',
    ),
    (
      _Task('/', max_number=999),
      '845 / 7',
      '8000/7001100 4100/7002000 5000/7000500 021',
    ),
    (_Task('+', max_number=999), '31 + 87', '17080 38011 00110 8110'),
    (
      MIXED3,
      '5 - 4 * 6',
      '-* 4*6042 0*6220 4*0000 0*0000 4040 20020 00000 0000'
      ' 54010 02081 00191 - 1-091 8-111 9-101 9100-',
    ),
    # The operators, then 20 + 4 (the terms after a '-'), then 3 - 24.
    (MIXED3, '3 - 20 - 4', '-- 04040 20020 34091 02171 - 9-011 7-121 1200-'),
    # 3 + 4 (the first term and those after a '+'), then 7 - 20.
    (MIXED3, '3 - 20 + 4', '-+ 34070 00000 70070 02081 - 7-031 8-111 3100-'),
  ],
)
def test_golden_traces(task, text, want):
  ids = _encode(task, [text])[0]
  assert _text(ids, task) == want.ljust(task.tgt_len, '\0')


def test_jit_equals_eager():
  task = _Task('+-', max_number=99)
  eqs = _random_equations(task, 64)
  eager = steps.encode_steps(eqs, task)
  jitted = jax.jit(steps.encode_steps, static_argnums=1)(eqs, task)
  np.testing.assert_array_equal(eager, jitted)
  one = lambda x, o: steps.encode_steps(data.Equations(x[None], o[None]), task)
  vmapped = jax.jit(jax.vmap(one))(*eqs)[:, 0]
  np.testing.assert_array_equal(eager, vmapped)


def test_answer_from_steps_invalid():
  task = _Task('-', max_number=999)
  voc = task.vocab
  ids = np.asarray(_encode(task, ['118 - 131']))
  end = task.tgt_len - 1
  bad = ids.copy()
  bad[0, end - 2] = voc.space_id  # A space where a digit belongs.
  bad[1, end - 1] = 7  # A digit in the sign slot.
  bad[2, :] = 3  # No end symbol.
  bad[3, 2] = voc.eos_id  # Ends before there is room for an answer.
  value, valid = _answer_from_steps(jnp.asarray(bad), task)
  assert valid[:4].tolist() == [False] * 4 and np.all(valid[4:])
  assert np.all(value[4:] == -13)


def test_format_steps():
  ids = _encode(MUL_99, ['31 * 87'])[0]
  assert steps.format_steps(ids, MUL_99, '*') == '\n'.join(
    [
      '1*7 +0 = 07',
      '3*7 +0 = 21',
      '1*8 +0 = 08',
      '3*8 +0 = 24',
      '7 +0 = 07',
      '1+8 +0 = 09',
      '2+4 +0 = 06',
      '2 +0 = 02',
      '= 2697',
    ]
  )
  ids = _encode(MIXED3, ['3 - 20 - 4'])[0]
  want = '\n'.join(
    [
      'ops - -',
      '0+4 +0 = 04',
      '2+0 +0 = 02',
      '3-4 -0 = 9 b1',
      '0-2 -1 = 7 b1',
      'sign -',
      '0-9 -0 = 1 b1',
      '0-7 -1 = 2 b1',
      '= -21',
    ]
  )
  assert steps.format_steps(ids, MIXED3, ops='--') == want
  assert steps.format_steps(ids, MIXED3, ops=[1, 1]) == want  # By index.
  task = _Task('/', max_number=999)
  ids = _encode(task, ['845 / 7'])[0]
  assert steps.format_steps(ids, task, '/').splitlines() == [
    '8/7 = 1 r1',
    '14/7 = 2 r0',
    '5/7 = 0 r5',
    '= 120',
  ]


def test_step_kinds_and_first_wrong_kind():
  kinds = steps.step_kinds(MIXED3)
  assert kinds.shape == (9, MIXED3.tgt_len)
  assert kinds.dtype == np.int32
  eqs = _equations(MUL_99, ['31 * 87'])
  tgt = _encode_and_read(eqs, MUL_99)[0]
  name = dict(enumerate(steps.KINDS))
  assert [name[k] for k in steps.step_kinds(MUL_99)[0, :7]] == [
    'copy',
    'marker',
    'copy',
    'copy',
    'product',
    'carry',
    'separator',
  ]
  assert name[steps.step_kinds(MUL_99)[0, -1]] == 'end'
  cases = [((), None), ((4,), 'product'), ((5, 50), 'carry')]
  cases += [((51,), 'answer'), ((1,), 'marker'), ((32, 3), 'copy')]
  cases += [((54,), 'end')]
  pred = np.asarray(tgt).copy()
  for row, (positions, _) in enumerate(cases):
    for p in positions:
      pred[row, p] = (pred[row, p] + 1) % MUL_99.vocab.size
  got = _first_wrong_kind(jnp.asarray(pred), tgt, eqs, MUL_99)
  chex.assert_type(got, jnp.int32)
  want = [-1 if k is None else steps.KINDS.index(k) for _, k in cases]
  assert got[: len(cases)].tolist() == want
  assert np.all(got[len(cases) :] == -1)
  # Several patterns: each row reads its own pattern's kinds.
  eqs = _equations(MIXED3, ['5 - 4 * 6', '3 - 20 - 4'])
  tgt = _encode_and_read(eqs, MIXED3)[0]
  pred = np.asarray(tgt).copy()
  pred[0, 3] = MIXED3.vocab.space_id  # '4' (a copy).
  pred[1, 27] = MIXED3.vocab.space_id  # '-' (the sign of 3 - 24).
  pred[2, 0] = MIXED3.vocab.space_id  # '-' (the first operator's copy).
  got = _first_wrong_kind(jnp.asarray(pred), tgt, eqs, MIXED3)
  want = ['copy', 'sign', 'copy']
  assert [steps.KINDS[k] for k in got[:3].tolist()] == want

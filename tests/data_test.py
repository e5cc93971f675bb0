"""Tests of equations: sampling, exact results, tokens, grid and datasets."""

import functools
import itertools
import re

from absl.testing import absltest
from absl.testing import parameterized
import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import runs

from lstm_math import data
from lstm_math import errors
from lstm_math import steps

# Eager calls: XLA caches each primitive by shape, so the many tasks below
# share compiled code, where a jit per static task would compile each anew.
_sample = data.sample_equations
_results = data.compute_results
_make_batch = data.make_batch
_held_out = data.is_held_out
# Jitted where a new shape would make eager ops compile one by one.
_sample_training = jax.jit(
  data.sample_training_equations, static_argnames=('task', 'n', 'sampling')
)
N = 2000  # One batch size, so that eager ops hit the cache.

ADDITION = data.Task()
MIXED3 = data.Task(operators='+-*/', n_terms=3)
ALL_SWITCHES = data.Task(
  operators='+-',
  pad_operands=True,
  pad_result=True,
  reverse_source=True,
  target='reversed',
)


def _equations(task, texts):
  return runs.equations(task, texts, N)


def _as_lists(eqs):
  return (
    np.asarray(eqs.operands_BxK).tolist(),
    np.asarray(eqs.ops_BxK1).tolist(),
  )


def _reference_result(operands, ops):
  """Independent reference: terms of `*` and `/` first, then a signed sum."""
  terms = [[1, operands[0]]]  # [sign, magnitude] of each additive term.
  for op, x in zip(ops, operands[1:], strict=True):
    if op == '*':
      terms[-1][1] *= x
    elif op == '/':
      assert x != 0, 'division by zero in the data'
      terms[-1][1] //= x  # Non-negative operands: floor == truncation.
    elif op == '+':
      terms.append([1, x])
    elif op == '-':
      terms.append([-1, x])
    else:
      raise ValueError(op)
  return sum(sign * magnitude for sign, magnitude in terms)


def _left_to_right(operands, ops):
  """Evaluation without precedence: differs from the right answer often."""
  value = operands[0]
  for op, x in zip(ops, operands[1:], strict=True):
    value = {
      '+': value + x,
      '-': value - x,
      '*': value * x,
      '/': value // x if x else 0,
    }[op]
  return value


def _format_source(task, operands, ops):
  """The source as a person writes it, with the task's switches."""
  width = task.operand_width
  words = []
  for k, x in enumerate(operands):
    digits = str(x).zfill(width) if task.pad_operands else str(x)
    words.append(digits[::-1] if task.reverse_source else digits)
    if k < len(ops):
      words.append(task.operators[ops[k]])
  return ' '.join(words)


def _format_target(task, result):
  """The answer right-aligned in tgt_len - 1 slots, before the end symbol."""
  digits = str(abs(result))
  if task.pad_result:
    digits = digits.zfill(task.result_width)
  body = ('-' if result < 0 else '') + digits
  body = body.rjust(task.tgt_len - 1)
  return body[::-1] if task.target == 'reversed' else body


# ------------------------------------------------------------- shapes ---


class ShapesTest(chex.TestCase):
  @chex.variants(with_jit=True, without_jit=True)
  @parameterized.named_parameters(
    ('addition', ADDITION),
    ('mixed_3_terms', MIXED3),
  )
  def test_sample_and_batch(self, task):
    n = N
    sample = self.variant(
      functools.partial(data.sample_equations, task=task, n=n)
    )
    eqs = sample(jax.random.key(0))
    chex.assert_shape(eqs.operands_BxK, (n, task.n_terms))
    chex.assert_shape(eqs.ops_BxK1, (n, task.n_terms - 1))
    chex.assert_type([eqs.operands_BxK, eqs.ops_BxK1], jnp.int32)

    batch = self.variant(functools.partial(data.make_batch, task=task))(eqs)
    chex.assert_shape(batch.src_BxS, (n, task.src_len))
    chex.assert_shape(batch.tgt_BxT, (n, task.tgt_len))
    chex.assert_type([batch.src_BxS, batch.tgt_BxT], jnp.int32)

    results = self.variant(functools.partial(data.compute_results, task=task))(
      eqs
    )
    chex.assert_shape(results, (n,))
    chex.assert_type(results, jnp.int32)

  @chex.variants(with_jit=True, without_jit=True)
  @parameterized.named_parameters(
    ('addition', ADDITION),
    ('plus_minus', data.Task(operators='+-', max_number=99)),
    ('division', data.Task(operators='/', max_number=50)),
  )
  def test_grid_equations(self, task):
    idx = jnp.arange(0, task.grid_size, task.grid_size // 7, dtype=jnp.int32)
    eqs = self.variant(functools.partial(data.grid_equations, task=task))(idx)
    chex.assert_shape(eqs.operands_BxK, (idx.shape[0], 2))
    chex.assert_shape(eqs.ops_BxK1, (idx.shape[0], 1))
    chex.assert_type([eqs.operands_BxK, eqs.ops_BxK1], jnp.int32)
    back = self.variant(functools.partial(data.grid_index, task=task))(eqs)
    np.testing.assert_array_equal(
      back, idx, err_msg='grid_index is not the inverse of grid_equations'
    )

  def test_task_lengths(self):
    # '999 + 999' + end; '1998' + end.
    self.assertEqual((ADDITION.src_len, ADDITION.tgt_len), (10, 5))
    plus_minus = data.Task(operators='+-')
    self.assertEqual(plus_minus.result_range, (-999, 1998))
    self.assertEqual(plus_minus.tgt_len, 6, msg='a sign slot for negatives')
    self.assertEqual(MIXED3.src_len, 3 * 3 + 2 * 3 + 1)
    self.assertEqual(MIXED3.result_range, (-998001, 997002999))


# ------------------------------------------------------------- tokens ---


class EncodingTest(parameterized.TestCase):
  def _check(self, task, operands, ops, results, batch):
    voc = task.vocab
    src = np.asarray(batch.src_BxS)
    tgt = np.asarray(batch.tgt_BxT)
    for i, (xs, os_) in enumerate(zip(operands, ops, strict=True)):
      want_src = _format_source(task, xs, os_)
      got_src = voc.decode(src[i])
      self.assertEqual(
        got_src, want_src, msg=f'source of equation {i} ({xs}, {os_})'
      )
      n = len(want_src)
      self.assertEqual(
        src[i, n],
        voc.eos_id,
        msg=f'source {want_src!r} must end with the end id',
      )
      self.assertTrue(
        (src[i, n + 1 :] == voc.pad_id).all(),
        msg=f'source {want_src!r}: pad ids after the end id',
      )
      want_tgt = _format_target(task, results[i])
      self.assertEqual(
        voc.decode(tgt[i]),
        want_tgt,
        msg=f'target of {want_src!r} = {results[i]}',
      )
      self.assertEqual(
        tgt[i, -1],
        voc.eos_id,
        msg=f'target of {want_src!r} must end with end id',
      )

  @parameterized.named_parameters(
    ('zeros', ADDITION, '0 + 0', '0 + 0', '   0'),
    ('post', ADDITION, '89 + 7', '89 + 7', '  96'),
    ('carry_longer', ADDITION, '999 + 999', '999 + 999', '1998'),
    ('negative', data.Task(operators='+-'), '7 - 89', '7 - 89', '  -82'),
    ('most_negative', data.Task(operators='+-'), '0 - 999', '0 - 999', ' -999'),
    (
      'precedence',
      data.Task(operators='+-*', n_terms=3),
      '83 - 744 * 33',
      '83 - 744 * 33',
      '    -24469',
    ),
    (
      'pad_operands',
      data.Task(pad_operands=True),
      '7 + 89',
      '007 + 089',
      '  96',
    ),
    (
      'reverse_source',
      data.Task(reverse_source=True),
      '120 + 3',
      '021 + 3',
      ' 123',
    ),
    (
      'reverse_padded_source',
      data.Task(reverse_source=True, pad_operands=True),
      '7 + 89',
      '700 + 980',
      '  96',
    ),
    (
      'reversed_target',
      data.Task(target='reversed'),
      '89 + 7',
      '89 + 7',
      '69  ',
    ),
    ('pad_result', data.Task(pad_result=True), '89 + 7', '89 + 7', '0096'),
    (
      'pad_negative_result',
      data.Task(operators='+-', pad_result=True),
      '7 - 89',
      '7 - 89',
      '-0082',
    ),
    (
      'pad_positive_result',
      data.Task(operators='+-', pad_result=True),
      '89 - 7',
      '89 - 7',
      ' 0082',
    ),
    (
      'all_switches',
      ALL_SWITCHES,
      '7 - 89',
      '700 - 980',
      '2800-',
    ),
  )
  def test_written_as_people_write(self, task, text, want_src, want_tgt):
    eqs = _equations(task, [text])
    batch = data.make_batch(eqs, task)
    voc = task.vocab
    self.assertEqual(voc.decode(batch.src_BxS[0]), want_src)
    self.assertEqual(
      voc.decode(batch.tgt_BxT[0]),
      want_tgt,
      msg=f'target of {text!r} under {task}',
    )
    self.assertEqual(batch.tgt_BxT.shape, (N, len(want_tgt) + 1))
    self.assertEqual(int(batch.tgt_BxT[0, -1]), voc.eos_id)
    self.assertEqual(
      want_src,
      _format_source(task, *map(lambda x: x[0], _as_lists(eqs))),
      msg='the test helper disagrees',
    )

  @parameterized.named_parameters(
    ('addition', ADDITION, 'uniform'),
    ('addition_short', ADDITION, 'digits'),
    ('plus_minus', data.Task(operators='+-'), 'digits'),
    ('mixed_3_terms', MIXED3, 'digits'),
    ('plus_divide', data.Task(operators='+/'), 'digits'),
    (
      'all_switches',
      ALL_SWITCHES,
      'digits',
    ),
    (
      'reversed_small',
      data.Task(max_number=99, reverse_source=True, target='reversed'),
      'digits',
    ),
  )
  def test_random_round_trip(self, task, weighting):
    eqs = _sample(jax.random.key(1), task=task, n=N, weighting=weighting)
    batch = _make_batch(eqs, task=task)
    operands, ops = _as_lists(eqs)
    results = [
      _reference_result(x, [task.operators[i] for i in o])
      for x, o in zip(operands, ops, strict=True)
    ]
    self._check(task, operands, ops, results, batch)
    values, valid = data.decode_target(batch.tgt_BxT, task)
    self.assertTrue(valid.all(), msg='decode_target rejects true targets')
    np.testing.assert_array_equal(
      values, results, err_msg='decode_target misreads targets'
    )


# ------------------------------------------------------------ results ---


class ResultsTest(parameterized.TestCase):
  @parameterized.named_parameters(
    ('sum', '2 + 3 + 4', 9),
    ('times_first', '2 + 3 * 4', 14),
    ('times_last', '2 * 3 + 4', 10),
    ('divide_after_minus', '20 - 6 / 4', 19),
    ('divide_then_times', '8 / 2 * 3', 12),
    ('times_then_divide', '7 * 3 / 2', 10),
    ('divide_twice', '8 / 3 / 2', 1),
    ('minus_left_assoc', '1 - 2 - 3', -4),
    ('minus_then_plus', '1 - 2 + 3', 2),
    ('zero_dividend', '0 / 7 + 1', 1),
    ('truncate', '999 / 1000 + 0', 0),
    ('big', '999 * 999 * 999', 997002999),
    ('negative', '0 - 999 * 999', -998001),
  )
  def test_hand_computed(self, text, want):
    task = data.Task(operators='+-*/', n_terms=3, max_number=1000)
    eqs = _equations(task, [text])
    got = int(data.compute_results(eqs, task)[0])
    self.assertEqual(got, want, msg=f'{text} = {want}, got {got}')
    operands, ops = _as_lists(eqs)
    self.assertEqual(task.python_result(operands[0], ops[0]), want)

  def test_post_example_four_terms(self):
    # '131 + 83 - 744 * 33' needs max_number >= 744, where four '*' terms
    # overflow int32; compute_results itself reads any int32 operands.
    task = data.Task(operators='+-*', n_terms=4, max_number=99)
    eqs = _equations(task, ['131 + 83 - 744 * 33'])
    self.assertEqual(int(data.compute_results(eqs, task)[0]), -24338)

  @parameterized.named_parameters(
    ('plus', data.Task(operators='+')),
    ('minus', data.Task(operators='-')),
    ('times', data.Task(operators='*')),
    ('divide', data.Task(operators='/')),
    ('divide_3_terms', data.Task(operators='*/', n_terms=3)),
    ('mixed_3_terms', MIXED3),
    ('mixed_4_terms', data.Task(operators='+-*/', n_terms=4, max_number=99)),
  )
  def test_matches_python_integers(self, task):
    n = N
    for weighting in ('uniform', 'digits'):
      eqs = _sample(jax.random.key(7), task=task, n=n, weighting=weighting)
      got = np.asarray(_results(eqs, task=task)).tolist()
      operands, ops = _as_lists(eqs)
      n_precedence = 0
      for x, o, r in zip(operands, ops, got, strict=True):
        chars = [task.operators[i] for i in o]
        want = _reference_result(x, chars)
        text = task.text(x, o)
        self.assertEqual(r, want, msg=f'{text} = {want}, got {r}')
        self.assertEqual(
          task.python_result(x, o), want, msg=f'Task.python_result({text})'
        )
        lo, hi = task.result_range
        self.assertBetween(r, lo, hi, msg=f'{text}: outside result_range')
        n_precedence += want != _left_to_right(x, chars)
      if task.n_terms > 2 and set(task.operators) & set('+-'):
        self.assertGreater(
          n_precedence,
          n // 10,
          msg='too few equations where precedence matters to test it',
        )

  @parameterized.named_parameters(
    ('divide', data.Task(operators='/', max_number=9)),
    ('plus_divide', data.Task(operators='+/', n_terms=3, max_number=9)),
    ('mixed', data.Task(operators='+-*/', n_terms=4, max_number=9)),
  )
  def test_no_division_by_zero(self, task):
    div = task.operators.index('/')
    for weighting in ('uniform', 'digits'):
      eqs = _sample(jax.random.key(3), task=task, n=N, weighting=weighting)
      after = np.asarray(eqs.operands_BxK[:, 1:])
      is_div = np.asarray(eqs.ops_BxK1) == div
      self.assertTrue(is_div.any())
      self.assertEqual(
        int((after[is_div] == 0).sum()),
        0,
        msg=f'{weighting}: a divisor after / is 0',
      )
      # Zero is common elsewhere, so the rule is what keeps it out.
      self.assertGreater(
        int((np.asarray(eqs.operands_BxK[:, 0]) == 0).sum()),
        30,
        msg='zero should be a common first operand',
      )


# ----------------------------------------------------------- sampling ---


class SamplingTest(parameterized.TestCase):
  def test_same_key_same_data_different_keys_differ(self):
    task = MIXED3
    a = _sample(jax.random.key(5), task=task, n=N, weighting='uniform')
    b = _sample(jax.random.key(5), task=task, n=N, weighting='uniform')
    c = _sample(jax.random.key(6), task=task, n=N, weighting='uniform')
    chex.assert_trees_all_equal(a, b)
    differ = np.asarray(a.operands_BxK) != np.asarray(c.operands_BxK)
    self.assertGreater(
      differ.mean(), 0.9, msg='different keys should give different operands'
    )
    self.assertFalse(np.array_equal(a.ops_BxK1, c.ops_BxK1))

  def test_example_depends_only_on_its_index(self):
    whole = _sample(jax.random.key(2), ADDITION, N)
    part = _sample(jax.random.key(2), ADDITION, N, start=500)
    chex.assert_trees_all_equal(
      data.Equations(*(x[:-500] for x in part)),
      data.Equations(*(x[500:] for x in whole)),
    )

  def test_digits_weighting_favours_short_operands(self):
    def small_fraction(weighting):
      eqs = _sample(jax.random.key(0), task=ADDITION, n=N, weighting=weighting)
      return float(np.mean(np.asarray(eqs.operands_BxK) < 10))

    uniform, digits = small_fraction('uniform'), small_fraction('digits')
    self.assertLess(uniform, 0.03, msg=f'uniform: {uniform:.3f} below 10')
    self.assertGreater(digits, 0.25, msg=f'digits: {digits:.3f} below 10')
    self.assertGreater(digits, 10 * uniform)

  def test_digits_weighting_spreads_over_possible_lengths(self):
    # 0..1234 holds numbers of 1, 2, 3 and 4 digits; each length a quarter.
    task = data.Task(max_number=1234)
    eqs = _sample(jax.random.key(0), task, N, weighting='digits')
    lengths = np.char.str_len(np.asarray(eqs.operands_BxK).astype(str))
    for n_digits in (1, 2, 3, 4):
      share = float(np.mean(lengths == n_digits))
      self.assertBetween(
        share, 0.21, 0.29, msg=f'{share:.3f} of operands have {n_digits} digits'
      )

  @parameterized.product(
    max_number=(999, 9, 1234, 0),
    weighting_and_share=(
      ('uniform', 0.5),
      ('digits', 0.5),
      ('half_digits', 0.5),
      ('half_digits', 1 / 3),
    ),
  )
  def test_fixed_sample_weights_sum_to_one_split_by_length_as_documented(
    self, max_number, weighting_and_share
  ):
    # `fixed_dataset`'s weights are the probabilities `_sample_operand` draws
    # with: uniform, every length alike, or a mix with `share` by length.
    weighting, share = weighting_and_share
    task = data.Task(max_number=max_number)
    x = jnp.arange(task.max_number + 1)
    log_p = data._log_operand_prob(x, task, weighting, share)
    p = np.exp(np.asarray(log_p, float))
    self.assertAlmostEqual(p.sum(), 1.0, places=5)
    lengths = np.char.str_len(np.asarray(x).astype(str))
    by_length = np.asarray([p[lengths == n].sum() for n in np.unique(lengths)])
    uniform = np.asarray([np.mean(lengths == n) for n in np.unique(lengths)])
    even = np.full(len(by_length), 1 / len(by_length))
    share = dict(uniform=0.0, digits=1.0).get(weighting, share)
    want = (1 - share) * uniform + share * even
    np.testing.assert_allclose(by_length, want, rtol=1e-5)

  @parameterized.named_parameters(
    ('addition', data.Task()),
    ('uneven_lengths', data.Task(max_number=1234)),
    ('one_value', data.Task(max_number=0)),
    ('divide', data.Task(operators='/', max_number=9)),
    ('plus_divide', data.Task(operators='+/', n_terms=3, max_number=345)),
    ('mixed', data.Task(operators='+-*/', n_terms=3, max_number=150)),
  )
  def test_operands_stay_in_range(self, task):
    for weighting in ('uniform', 'digits'):
      eqs = _sample(jax.random.key(4), task=task, n=N, weighting=weighting)
      x = np.asarray(eqs.operands_BxK)
      ops = np.asarray(eqs.ops_BxK1)
      self.assertGreaterEqual(int(x.min()), 0, msg=f'{weighting}: below 0')
      self.assertLessEqual(
        int(x.max()),
        task.max_number,
        msg=f'{weighting}: operand above max_number {task.max_number}',
      )
      self.assertTrue(((ops >= 0) & (ops < len(task.operators))).all())
      if '/' in task.operators:
        after_div = x[:, 1:][ops == task.operators.index('/')]
        self.assertGreaterEqual(int(after_div.min()), task.divisor_min)
      # Both ends of the range are reached.
      if task.max_number < 20:
        self.assertEqual(int(x.min()), 0)
        self.assertEqual(int(x.max()), task.max_number)


# ---------------------------------------------------------- streaming ---


class StreamingTest(parameterized.TestCase):
  def test_training_never_sees_held_out(self):
    split = 0.3
    for seed in range(3):
      key = jax.random.key(seed)
      plain = _sample(key, ADDITION, N)
      plain_held = np.asarray(_held_out(plain, split))
      self.assertBetween(
        plain_held.mean(),
        0.25,
        0.35,
        msg=f'{plain_held.mean():.3f} held out, not ~{split}',
      )
      eqs = _sample_training(key, ADDITION, N, data.Sampling(split=split))
      held = np.asarray(_held_out(eqs, split))
      self.assertFalse(
        held.any(),
        msg=f'key {seed}: {held.sum()} held-out'
        ' equations in the training stream',
      )
      # Accepted equations are kept as they were; rejected ones redrawn.
      np.testing.assert_array_equal(
        np.asarray(eqs.operands_BxK)[~plain_held],
        np.asarray(plain.operands_BxK)[~plain_held],
      )
      redrawn = np.asarray(eqs.operands_BxK)[plain_held]
      self.assertGreater(
        np.mean(redrawn != np.asarray(plain.operands_BxK)[plain_held]), 0.9
      )

  def test_held_out_depends_on_salt(self):
    eqs = _sample(jax.random.key(0), ADDITION, N)
    a = np.asarray(_held_out(eqs, 0.3, salt=0))
    b = np.asarray(_held_out(eqs, 0.3, salt=1))
    self.assertGreater(np.mean(a != b), 0.2)

  def test_stream_test_set_grid(self):
    sampling = data.Sampling(n_examples=10 * N, split=0.1)
    test = data.stream_test_set(jax.random.key(0), ADDITION, sampling)
    self.assertEqual(test.size, N)
    self.assertTrue(
      np.asarray(_held_out(test.eqs, 0.1)).all(),
      msg='the test set must hold only held-out equations',
    )
    idx = np.asarray(data.grid_index(test.eqs, ADDITION))
    self.assertLen(set(idx.tolist()), N, msg='test equations must differ')
    # Its tokens are its equations written out: '89 + 7', then the end id
    # and padding; the sum right-aligned, then the end id. Built here from
    # the vocabulary's symbols, not by make_batch.
    voc, task = ADDITION.vocab, ADDITION

    def ids(text, length):
      row = [voc.symbols.index(c) for c in text] + [voc.eos_id]
      return row + [voc.pad_id] * (length - len(row))

    operands = np.asarray(test.eqs.operands_BxK).tolist()
    want_src = [ids(f'{a} + {b}', task.src_len) for a, b in operands]
    want_tgt = [
      ids(str(a + b).rjust(task.tgt_len - 1), task.tgt_len) for a, b in operands
    ]
    np.testing.assert_array_equal(
      test.batch.src_BxS, want_src, err_msg='source ids of the test set'
    )
    np.testing.assert_array_equal(
      test.batch.tgt_BxT, want_tgt, err_msg='target ids of the test set'
    )

  def test_stream_test_set_without_grid(self):
    sampling = data.Sampling(n_examples=2 * N, split=0.5)
    test = data.stream_test_set(jax.random.key(0), MIXED3, sampling)
    self.assertEqual(test.size, N)
    self.assertTrue(
      np.asarray(_held_out(test.eqs, 0.5)).all(),
      msg='the test set must hold only held-out equations',
    )

  def test_stream_test_set_too_small(self):
    task = data.Task(max_number=9)
    with pytest.raises(errors.ConfigError, match='n_examples=50'):
      sampling = data.Sampling(n_examples=500, split=0.1)
      data.stream_test_set(jax.random.key(0), task, sampling)


# --------------------------------------------------------------- grid ---


class GridTest(parameterized.TestCase):
  def test_grid_covers_every_pair_once(self):
    task = data.Task(max_number=99)
    self.assertEqual(task.grid_shape, (1, 100, 100))
    self.assertEqual(task.grid_size, 10_000)
    idx = jnp.arange(task.grid_size)
    eqs = data.grid_equations(idx, task)
    np.testing.assert_array_equal(data.grid_index(eqs, task), idx)
    pairs = set(map(tuple, np.asarray(eqs.operands_BxK).tolist()))
    self.assertEqual(
      pairs,
      set(itertools.product(range(100), repeat=2)),
      msg='the grid misses or repeats (a, b) pairs',
    )
    self.assertTrue((np.asarray(eqs.ops_BxK1) == 0).all())

  def test_division_grid_starts_b_at_one(self):
    task = data.Task(operators='/')
    self.assertEqual(task.grid_shape, (1, 1000, 999))
    idx = jnp.arange(task.grid_size)
    eqs = data.grid_equations(idx, task)
    a, b = np.asarray(eqs.operands_BxK).T
    self.assertEqual((a.min(), a.max()), (0, 999))
    self.assertEqual((b.min(), b.max()), (1, 999), msg='b must start at 1')
    np.testing.assert_array_equal(data.grid_index(eqs, task), idx)
    codes = a.astype(np.int64) * 1000 + b
    self.assertLen(np.unique(codes), task.grid_size)

  def test_operator_blocks(self):
    task = data.Task(operators='+-', max_number=99)
    self.assertEqual(task.grid_shape, (2, 100, 100))
    idx = jnp.arange(task.grid_size)
    eqs = data.grid_equations(idx, task)
    ops = np.asarray(eqs.ops_BxK1[:, 0])
    np.testing.assert_array_equal(ops[:10_000], 0)
    np.testing.assert_array_equal(ops[10_000:], 1)
    pairs = np.asarray(eqs.operands_BxK).tolist()
    triples = {(o, a, b) for o, (a, b) in zip(ops.tolist(), pairs, strict=True)}
    self.assertEqual(
      triples, set(itertools.product(range(2), range(100), range(100)))
    )
    np.testing.assert_array_equal(data.grid_index(eqs, task), idx)

  def test_division_and_addition_grid_start_b_at_one(self):
    task = data.Task(operators='+/', max_number=12)
    self.assertEqual(task.grid_shape, (2, 13, 12))
    idx = jnp.arange(task.grid_size)
    eqs = data.grid_equations(idx, task)
    a, b = np.asarray(eqs.operands_BxK).T
    self.assertEqual((a.min(), a.max(), b.min(), b.max()), (0, 12, 1, 12))
    np.testing.assert_array_equal(data.grid_index(eqs, task), idx)
    rows = np.concatenate([eqs.operands_BxK, eqs.ops_BxK1], axis=1)
    self.assertLen({tuple(r) for r in np.asarray(rows).tolist()}, 312)

  def test_grid_needs_two_terms(self):
    with pytest.raises(ValueError, match='n_terms=3'):
      _ = MIXED3.grid_shape


# ----------------------------------------------------------- datasets ---


class SeedDatasetTest(parameterized.TestCase):
  def test_posts_split(self):
    train, test = data.fixed_dataset(
      jax.random.key(0), ADDITION, data.Sampling(n_examples=30_000, split=0.1)
    )
    self.assertEqual((train.size, test.size), (27_000, 3_000))
    chex.assert_shape(train.batch.src_BxS, (27_000, ADDITION.src_len))
    chex.assert_shape(test.batch.tgt_BxT, (3_000, ADDITION.tgt_len))
    train_idx = set(np.asarray(data.grid_index(train.eqs, ADDITION)).tolist())
    test_idx = set(np.asarray(data.grid_index(test.eqs, ADDITION)).tolist())
    self.assertLen(train_idx, 27_000, msg='repeated train equations')
    self.assertLen(test_idx, 3_000, msg='repeated test equations')
    self.assertEmpty(train_idx & test_idx, msg='train and test overlap')
    for part in (train, test):
      a, b = np.asarray(part.eqs.operands_BxK).T
      self.assertFalse((a == b).any(), msg='distinct_operands kept a == b')
    a, b = np.asarray(train.eqs.operands_BxK).T
    self.assertLen(np.unique(a), 1000, msg='a should span 0..999')
    self.assertLen(np.unique(b), 1000, msg='b should span 0..999')
    # The tokens are those of the equations.
    voc = ADDITION.vocab
    for i in range(0, 3_000, 97):
      x, (o,) = test.eqs.operands_BxK[i].tolist(), test.eqs.ops_BxK1[i]
      self.assertEqual(voc.decode(test.batch.src_BxS[i]), f'{x[0]} + {x[1]}')
      self.assertEqual(
        voc.decode(test.batch.tgt_BxT[i]), str(x[0] + x[1]).rjust(4)
      )
      self.assertEqual(int(o), 0)

  @parameterized.named_parameters(
    ('addition', data.Task(max_number=9), 90),
    ('division', data.Task(operators='/', max_number=9), 81),
    ('plus_minus', data.Task(operators='+-', max_number=9), 180),
  )
  def test_every_distinct_pair_fits(self, task, n_distinct):
    sampling = data.Sampling(n_examples=n_distinct, split=0.2)
    train, test = data.fixed_dataset(jax.random.key(0), task, sampling)
    self.assertEqual(test.size, round(0.2 * n_distinct))
    eqs = data.Equations(
      *(
        jnp.concatenate([x, y])
        for x, y in zip(train.eqs, test.eqs, strict=True)
      )
    )
    a, b = np.asarray(eqs.operands_BxK).T
    self.assertFalse((a == b).any(), msg='a == b kept')
    self.assertLen(
      set(np.asarray(data.grid_index(eqs, task)).tolist()),
      n_distinct,
      msg='every distinct pair, each once',
    )
    # The same key gives the same data, another key another order.
    again = data.fixed_dataset(jax.random.key(0), task, sampling)
    chex.assert_trees_all_equal((train, test), again)
    other = data.fixed_dataset(jax.random.key(1), task, sampling)
    self.assertFalse(
      np.array_equal(other[0].eqs.operands_BxK, train.eqs.operands_BxK)
    )

  def test_all_pairs_when_operands_may_repeat(self):
    task = data.Task(max_number=9)
    sampling = data.Sampling(n_examples=100, split=0.1, distinct_operands=False)
    train, test = data.fixed_dataset(jax.random.key(0), task, sampling)
    self.assertEqual((train.size, test.size), (90, 10))
    eqs = data.Equations(
      *(
        jnp.concatenate([x, y])
        for x, y in zip(train.eqs, test.eqs, strict=True)
      )
    )
    a, b = np.asarray(eqs.operands_BxK).T
    self.assertEqual(int((a == b).sum()), 10, msg='all 10 pairs a == b')
    self.assertLen(set(np.asarray(data.grid_index(eqs, task)).tolist()), 100)


# ------------------------------------------------------------- config ---


class ConfigErrorTest(parameterized.TestCase):
  @parameterized.named_parameters(
    ('unknown_operator', dict(operators='x'), "operators='x'"),
    ('no_operator', dict(operators=''), "operators=''"),
    ('overflow', dict(operators='*', n_terms=4, max_number=999), 'n_terms=4'),
    (
      'overflow_mixed',
      dict(operators='+*', n_terms=5, max_number=99),
      'n_terms=5',
    ),
    (
      'division_by_zero_only',
      dict(operators='/', max_number=0),
      'max_number=0',
    ),
    (
      'mixed_division_by_zero_only',
      dict(operators='+/', max_number=0),
      'max_number=0',
    ),
    ('huge_max', dict(max_number=2**30), 'max_number=1073741824: must be <'),
    (
      'long_division_steps',
      dict(operators='/', n_terms=3, max_number=300_000_000, target='steps'),
      'divisors up to 300000000: long division steps need 10 * divisor',
    ),
  )
  def test_bad_task_raises(self, kwargs, field):
    with pytest.raises(errors.ConfigError, match=re.escape(field)):
      data.Task(**kwargs)

  def test_overflow_message_names_int32(self):
    with pytest.raises(errors.ConfigError, match='beyond int32'):
      data.Task(operators='*', n_terms=4, max_number=999)

  def test_largest_tasks_that_fit(self):
    # 215**4 < 2**31 - 1 < 216**4: the check is exact, not conservative.
    self.assertEqual(
      data.Task(operators='*', n_terms=4, max_number=215).result_range,
      (0, 215**4),
    )
    with pytest.raises(errors.ConfigError, match='int32'):
      data.Task(operators='*', n_terms=4, max_number=216)


def test_near_multiples_draws_dividends_where_the_quotient_steps():
  task = data.Task(operators='/', pad_operands=True)
  draw = lambda key, near=0.0: _sample_training(
    key,
    task,
    N,
    data.Sampling(split=0.1, weighting='half_digits', near_multiples=near),
  )
  key = jax.random.key(3)
  plain, near = draw(key), draw(key, near=0.5)

  def share_near(eqs):
    a, b = np.asarray(eqs.operands_BxK).T
    r = a % b
    return np.mean(np.minimum(r, b - r) <= 3 + b // 20)

  a, b = np.asarray(near.operands_BxK).T
  assert a.min() >= 0 and a.max() <= 999 and b.min() >= 1
  assert not np.any(np.asarray(data.is_held_out(near, 0.1)))
  # Half the dividends move to within 3 + b // 20 of a multiple of b; the
  # rest land there by chance as often as before.
  assert share_near(near) > share_near(plain) + 0.2
  chex.assert_trees_all_equal(
    data.compute_results(near, task), jnp.asarray(a // b, jnp.int32)
  )


def test_carry_count_and_carry_boost():
  add, sub = data.Task(), data.Task(operators='-')
  eqs = data.Equations(
    jnp.asarray([[999, 1], [154, 446], [123, 100], [500, 499]], jnp.int32),
    jnp.zeros((4, 1), jnp.int32),
  )
  np.testing.assert_array_equal(data.carry_count(eqs, add), [3, 2, 0, 3])
  np.testing.assert_array_equal(data.carry_count(eqs, sub), [0, 1, 1, 2])
  means = []
  for boost in (0.0, 1.0):
    sampling = data.Sampling(
      n_examples=5_000, split=0.1, distinct_operands=False, carry_boost=boost
    )
    train, _ = data.fixed_dataset(jax.random.key(0), add, sampling)
    means.append(float(jnp.mean(data.carry_count(train.eqs, add))))
    assert len({tuple(r) for r in np.asarray(train.eqs.operands_BxK)}) == 4500
  assert means[1] > means[0] + 0.3, means


def test_digits_share_sets_how_often_the_fixed_sample_draws_by_length():
  task = data.Task(max_number=999)
  short = []
  for share in (0.1, 0.5, 0.9):
    sampling = data.Sampling(
      n_examples=20_000,
      split=0.1,
      distinct_operands=False,
      weighting='half_digits',
      digits_share=share,
    )
    train, _ = data.fixed_dataset(jax.random.key(0), task, sampling)
    short.append(float(np.mean(np.asarray(train.eqs.operands_BxK) < 100)))
  # Two of three lengths are short: a share s of by-length draws gives about
  # (1 - s) * 0.1 + s * 2 / 3 of operands below 100, less what the sample of
  # distinct equations runs out of (there are only 10,000 short pairs).
  assert short[0] < short[1] < short[2], short
  assert 0.1 < short[0] < 0.25 and short[2] > 0.4, short


def test_pairs_hold_out_both_orders_together():
  task = data.Task(operators='*', max_number=99)
  by_pair = data.Sampling(
    n_examples=10_000,
    split=0.1,
    hold_out='pairs',
    distinct_operands=False,
    salt=3,
  )
  train, test = data.fixed_dataset(jax.random.key(0), task, by_pair)
  assert train.size + test.size == 10_000
  assert 0.07 < test.size / 10_000 < 0.13, test.size  # About split of pairs.
  trained = {tuple(p) for p in np.asarray(train.eqs.operands_BxK).tolist()}
  held = {tuple(p) for p in np.asarray(test.eqs.operands_BxK).tolist()}
  assert not trained & held
  assert {(b, a) for a, b in held} == held, 'each mirror is held out too'
  # By equation (the default), most held-out equations have a trained mirror.
  by_eq = data.fixed_dataset(
    jax.random.key(0),
    task,
    data.Sampling(n_examples=10_000, split=0.1, distinct_operands=False),
  )[1]
  mirrors = {(b, a) for a, b in np.asarray(by_eq.eqs.operands_BxK).tolist()}
  assert len(mirrors & trained) > 0.8 * by_eq.size
  # Streaming draws never one of a held-out pair, in either order.
  eqs = data.sample_training_equations(jax.random.key(1), task, 4_096, by_pair)
  drawn = {tuple(p) for p in np.asarray(eqs.operands_BxK).tolist()}
  assert not drawn & held


def test_steps_target_is_the_trace_and_reads_back_as_the_result():
  task = data.Task(operators='+-', max_number=99, target='steps')
  eqs = data.sample_equations(jax.random.key(2), task, 256)
  batch = data.make_batch(eqs, task)
  chex.assert_shape(batch.tgt_BxT, (256, task.tgt_len))
  # The target is the written-out algorithm: two equations traced by hand.
  two = runs.equations(task, ['31 + 87', '7 - 89'], 2)
  written = data.make_batch(two, task).tgt_BxT
  assert steps.format_steps(written[0], task, '+').splitlines() == [
    'ops +',
    '1+7 +0 = 08',  # Units: 1 + 7, carry 0 -> carry 0, digit 8.
    '3+8 +0 = 11',
    '= 118',
  ]
  assert steps.format_steps(written[1], task, '-').splitlines() == [
    'ops -',
    '7-9 -0 = 8 b1',  # 7 - 89 = -82: first 07 - 89 = 18 (mod 100), ...
    '0-8 -1 = 1 b1',
    'sign -',
    '0-8 -0 = 2 b1',  # ... then 00 - 18 = 82, the magnitude.
    '0-1 -1 = 8 b1',
    '= -82',
  ]
  values, valid = data.decode_target(batch.tgt_BxT, task)
  assert valid.all()
  np.testing.assert_array_equal(values, data.compute_results(eqs, task))
  assert task.tgt_len > data.Task(operators='+-', max_number=99).tgt_len


if __name__ == '__main__':
  absltest.main()

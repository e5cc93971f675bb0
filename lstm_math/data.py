"""Equations made on the device (pure jnp): sampling, tokens, grid, datasets."""

import dataclasses
import functools
import re
from typing import NamedTuple

import jax
from jax import lax
import jax.numpy as jnp
import numpy as np

from lstm_math import steps
from lstm_math import vocab as vocab_lib
from lstm_math.errors import ConfigError
from lstm_math.task import INT32_MAX as INT32_MAX
from lstm_math.task import TARGETS as TARGETS
from lstm_math.task import Equations
from lstm_math.task import Task
from lstm_math.task import fold_precedence


@dataclasses.dataclass(frozen=True)
class Sampling:
  """The config's `data` section, and the seed as `salt`; jit-static."""

  dataset: str = 'fixed'
  n_examples: int = 30_000
  split: float = 0.1
  hold_out: str = 'equations'
  distinct_operands: bool = True
  weighting: str = 'uniform'
  digits_share: float = 0.5
  carry_boost: float = 0.0
  near_multiples: float = 0.0
  steps_per_epoch: int = 0
  batch_size: int = 256
  salt: int = 0

  @property
  def pairs(self) -> bool:  # a op b held out with b op a.
    return self.hold_out == 'pairs'

  @property
  def n_test(self) -> int:
    return int(round(self.split * self.n_examples))  # The post's round().


class Batch(NamedTuple):
  src_BxS: jax.Array  # int32 token ids, padded with vocab.pad_id
  tgt_BxT: jax.Array  # int32 token ids, ending in vocab.eos_id


def compute_results(eqs: Equations, task: Task) -> jax.Array:
  """Exact int32 results with precedence, every row at once."""
  x_BxK, ops_BxK1 = eqs
  terms = [(task.op_masks(o), x) for o, x in zip(ops_BxK1.T, x_BxK.T[1:])]
  return fold_precedence(x_BxK[:, 0], terms, jnp.where)


# --------------------------------------------------------------- sampling ---


def _sample_operand(key: jax.Array, task: Task, lo: int, weighting: str):
  """One operand in [lo, max_number]; 'digits' draws its length first."""
  hi = task.max_number
  if weighting == 'half_digits':
    k_coin, k_uniform, k_digits = jax.random.split(key, 3)
    uniform = _sample_operand(k_uniform, task, lo, 'uniform')
    digits = _sample_operand(k_digits, task, lo, 'digits')
    return jnp.where(jax.random.bernoulli(k_coin), uniform, digits)
  if weighting == 'uniform':
    return jax.random.randint(key, (), lo, hi + 1, jnp.int32)
  k_len, k_val = jax.random.split(key)
  n_digits = jax.random.randint(k_len, (), 1, task.operand_width + 1)
  pow10 = jnp.asarray([10**d for d in range(task.operand_width + 1)])
  d_lo = jnp.maximum(jnp.where(n_digits == 1, 0, pow10[n_digits - 1]), lo)
  d_hi = jnp.minimum(pow10[n_digits] - 1, hi)
  return jax.random.randint(k_val, (), d_lo, d_hi + 1, jnp.int32)


def _near_multiple(key: jax.Array, task: Task, b: jax.Array) -> jax.Array:
  """A dividend near a multiple of `b`: q * b + r, |r| <= 3 + b // 20."""
  k_q, k_r = jax.random.split(key)
  q = jax.random.randint(k_q, (), 0, task.max_number // b + 1, jnp.int32)
  w = 3 + b // 20
  r = jax.random.randint(k_r, (), -w, w + 1, jnp.int32)
  return jnp.clip(q * b + r, 0, task.max_number)


def _sample_one(
  key: jax.Array, task: Task, weighting: str, near_multiples: float
) -> Equations:
  k_ops, *k_terms = jax.random.split(key, task.n_terms + 1)
  n_ops = len(task.operators)
  ops = jax.random.randint(k_ops, (task.n_terms - 1,), 0, n_ops, jnp.int32)
  div_id = task.operators.find('/')
  operands = [_sample_operand(k_terms[0], task, 0, weighting)]
  for k in range(1, task.n_terms):
    k_any, k_div = jax.random.split(k_terms[k])
    x = _sample_operand(k_any, task, 0, weighting)
    if div_id >= 0:
      x_div = _sample_operand(k_div, task, task.divisor_min, weighting)
      x = jnp.where(ops[k - 1] == div_id, x_div, x)
    operands.append(x)
  if near_multiples > 0:  # Its own key keeps the other draws as they were.
    k_coin, k_a = jax.random.split(jax.random.fold_in(key, 0x6E656172))
    near = jax.random.bernoulli(k_coin, near_multiples)
    a_near = _near_multiple(k_a, task, operands[1])
    operands[0] = jnp.where(near, a_near, operands[0])
  return Equations(jnp.stack(operands), ops)


def sample_equations(
  key: jax.Array,
  task: Task,
  n: int,
  *,
  start: int | jax.Array = 0,
  weighting: str = 'uniform',
  near_multiples: float = 0.0,
) -> Equations:
  """`n` random equations; row i depends on `key` and `start + i` only."""
  one = lambda i: _sample_one(
    jax.random.fold_in(key, i), task, weighting, near_multiples
  )
  return jax.vmap(one)(start + jnp.arange(n, dtype=jnp.int32))


def _mix32(h: jax.Array) -> jax.Array:
  """The murmur3 finaliser: a good 32-bit integer hash."""
  h = h ^ (h >> 16)
  h = h * jnp.uint32(0x85EBCA6B)
  h = h ^ (h >> 13)
  h = h * jnp.uint32(0xC2B2AE35)
  return h ^ (h >> 16)


def is_held_out(
  eqs: Equations, split: float, salt: int = 0, pairs: bool = False
) -> jax.Array:
  """Whether each equation is in the held-out share `split`, by a fixed hash
  (no table); with `pairs`, `a op b` and `b op a` together."""
  x_BxK = eqs.operands_BxK
  if pairs and x_BxK.shape[1] == 2:
    x_BxK = jnp.sort(x_BxK, axis=1)
  h = jnp.full(x_BxK.shape[:1], salt, jnp.uint32)
  for col in jnp.concatenate([x_BxK, eqs.ops_BxK1], 1).astype(jnp.uint32).T:
    h = _mix32(h ^ (col + jnp.uint32(0x9E3779B9)))
  return h < jnp.uint32(min(int(split * 2**32), 2**32 - 1))


def sample_training_equations(
  key: jax.Array,
  task: Task,
  n: int,
  sampling: Sampling,
  start: int | jax.Array = 0,
) -> Equations:
  """Fresh equations that are never held out: rejected ones are redrawn."""
  s = sampling
  mix = dict(weighting=s.weighting, near_multiples=s.near_multiples)
  draw = lambda k: sample_equations(k, task, n, start=start, **mix)
  held_out = lambda eqs: is_held_out(eqs, s.split, s.salt, s.pairs)
  eqs = draw(key)
  if s.split <= 0:
    return eqs

  def redraw(carry):
    attempt, eqs = carry
    fresh = draw(jax.random.fold_in(key, -1 - attempt))
    bad = held_out(eqs)[:, None]
    eqs = Equations(*(jnp.where(bad, f, e) for f, e in zip(fresh, eqs)))
    return attempt + 1, eqs

  any_bad = lambda carry: jnp.any(held_out(carry[1]))
  return lax.while_loop(any_bad, redraw, (jnp.int32(0), eqs))[1]


# ----------------------------------------------------------------- tokens ---


def _n_digits(n_B: jax.Array, width: int, pad: bool = False) -> jax.Array:
  """Digits written for each n: all `width` with `pad`, else n's own."""
  if pad:
    return jnp.full_like(n_B, width)
  count = jnp.ones_like(n_B)
  for p in range(1, width):
    count += n_B >= 10**p
  return count


def encode_source(eqs: Equations, task: Task) -> jax.Array:
  """Source ids [B, S]: `'89 + 7'` then end, then padding."""
  voc, w = task.vocab, task.operand_width
  batch = eqs.operands_BxK.shape[0]
  # Slot p holds the digit of 10**place[p]: the units last, or first.
  place = np.arange(w) if task.reverse_source else np.arange(w)[::-1]
  powers = jnp.asarray(10**place, jnp.int32)
  op_ids = jnp.asarray([voc.op_id(c) for c in task.operators], jnp.int32)
  space = jnp.full((batch,), voc.space_id, jnp.int32)
  tokens, valid = [], []
  for k in range(task.n_terms):
    x = eqs.operands_BxK[:, k]
    tokens.append((x[:, None] // powers) % 10)
    n_digits = _n_digits(x, w, task.pad_operands)
    valid.append(place[None, :] < n_digits[:, None])
    if k < task.n_terms - 1:
      ops = op_ids[eqs.ops_BxK1[:, k]]
      tokens.append(jnp.stack([space, ops, space], axis=1))
      valid.append(jnp.ones((batch, 3), bool))
  tokens_BxL = jnp.concatenate(tokens, axis=1)
  valid_BxL = jnp.concatenate(valid, axis=1)
  # Pack the valid slots to the left, then write end-of-sequence after them.
  length = task.src_len
  pos_BxL = jnp.where(valid_BxL, jnp.cumsum(valid_BxL, axis=1) - 1, length)
  rows = jnp.arange(batch)[:, None]
  src = jnp.full((batch, length), voc.pad_id, jnp.int32)
  src = src.at[rows, pos_BxL].set(tokens_BxL, mode='drop')
  return src.at[jnp.arange(batch), valid_BxL.sum(axis=1)].set(voc.eos_id)


def encode_target(results_B: jax.Array, task: Task) -> jax.Array:
  """Target ids [B, T]: right-aligned with spaces (the post), then end."""
  voc = task.vocab
  n_slots, width = task.tgt_len - 1, task.result_width
  magnitude = jnp.abs(results_B)
  n_digits = _n_digits(magnitude, width, task.pad_result)
  # q: slots from the right (0: units); past int32's 10 digits only a sign.
  q = np.arange(n_slots - 1, -1, -1)
  powers = jnp.asarray([10 ** min(i, 9) for i in q], jnp.int32)
  digits = jnp.where(q < 10, (magnitude[:, None] // powers) % 10, 0)
  is_digit = q[None, :] < n_digits[:, None]
  is_sign = (q[None, :] == n_digits[:, None]) & (results_B[:, None] < 0)
  minus = voc.minus_id if '-' in task.operators else voc.space_id
  body = jnp.where(is_digit, digits, jnp.where(is_sign, minus, voc.space_id))
  if task.target == 'reversed':
    body = body[:, ::-1]
  eos = jnp.full((results_B.shape[0], 1), voc.eos_id, jnp.int32)
  return jnp.concatenate([body.astype(jnp.int32), eos], axis=1)


def decode_target(tgt_BxT: jax.Array, task: Task):
  """(value [B] int64, valid [B] bool) of predicted target ids, on the host;
  valid: a number in the target's layout, the end symbol last."""
  if task.target == 'steps':
    values, valid = steps.answer_from_steps(jnp.asarray(tgt_BxT), task)
    return np.asarray(values, np.int64), np.asarray(valid)
  tgt = np.asarray(tgt_BxT)
  voc = task.vocab
  values = np.zeros(tgt.shape[0], np.int64)
  valid = np.zeros(tgt.shape[0], bool)
  for i, row in enumerate(tgt):
    text = ''.join(voc.symbols[t] if t < voc.size else '?' for t in row)
    body = text[:-1][::-1] if task.target == 'reversed' else text[:-1]
    number = re.fullmatch(' *(-?[0-9]+)', body)  # Spaces only in front.
    if number and text[-1:] == vocab_lib.EOS:
      values[i], valid[i] = int(number[1]), True
  return values, valid


def make_batch(eqs: Equations, task: Task) -> Batch:
  if task.target == 'steps':
    return Batch(encode_source(eqs, task), steps.encode_steps(eqs, task))
  results_B = compute_results(eqs, task)
  return Batch(encode_source(eqs, task), encode_target(results_B, task))


# ------------------------------------------------------------------- grid ---


def grid_equations(idx_B: jax.Array, task: Task) -> Equations:
  """Equation number `idx` of the full grid: operator-major, then a, then b."""
  _, n_a, n_b = task.grid_shape
  op, rem = idx_B // (n_a * n_b), idx_B % (n_a * n_b)
  a, b = rem // n_b, task.grid_b_min + rem % n_b
  operands_Bx2 = jnp.stack([a, b], axis=1).astype(jnp.int32)
  return Equations(operands_Bx2, op[:, None].astype(jnp.int32))


def grid_index(eqs: Equations, task: Task) -> jax.Array:
  """The inverse of `grid_equations`."""
  _, n_a, n_b = task.grid_shape
  a = eqs.operands_BxK[:, 0]
  b = eqs.operands_BxK[:, 1] - task.grid_b_min
  return eqs.ops_BxK1[:, 0] * (n_a * n_b) + a * n_b + b


# --------------------------------------------------------------- datasets ---


class Dataset(NamedTuple):
  """Equations and their tokens, resident on the device."""

  eqs: Equations
  batch: Batch

  @property
  def size(self) -> int:
    return self.batch.src_BxS.shape[0]


@functools.partial(jax.jit, static_argnames='task')
def _dataset(eqs: Equations, task: Task) -> Dataset:
  return Dataset(eqs, make_batch(eqs, task))


def _log_operand_prob(x, task: Task, weighting: str, digits_share=0.5):
  """Log-probability of operands `x` under `_sample_operand`'s weighting."""
  hi, width = task.max_number, task.operand_width
  counts = np.asarray(
    [
      min(hi, 10**n - 1) - (10 ** (n - 1) if n > 1 else 0) + 1
      for n in range(1, width + 1)
    ]
  )
  uniform = -np.log(hi + 1)
  digits = -np.log(counts) - np.log(width)
  digits = jnp.asarray(digits, jnp.float32)[_n_digits(x, width) - 1]
  if weighting == 'uniform':
    return jnp.full(x.shape, uniform, jnp.float32)
  if weighting == 'digits':
    return digits
  by_length = np.log(digits_share) + digits
  return jnp.logaddexp(np.log1p(-digits_share) + uniform, by_length)


def carry_count(eqs: Equations, task: Task) -> jax.Array:
  """Columns of `a + b` that make a carry or pass one on (digits summing to
  9); for `a - b`, borrows and columns of equal digits; else 0."""
  a, b = eqs.operands_BxK[:, 0], eqs.operands_BxK[:, 1]
  plus, minus, _, _ = task.op_masks(eqs.ops_BxK1[:, 0])
  big, small = jnp.maximum(a, b), jnp.minimum(a, b)
  carry = borrow = count = jnp.zeros_like(a)
  for place in range(task.operand_width):
    a_i, b_i = (a // 10**place) % 10, (b // 10**place) % 10
    carry = (a_i + b_i + carry >= 10).astype(a.dtype)
    big_i, small_i = (big // 10**place) % 10, (small // 10**place) % 10
    borrow = (big_i - small_i - borrow < 0).astype(a.dtype)
    plus_chain = carry | (a_i + b_i == 9)
    minus_chain = borrow | (big_i == small_i)
    count += jnp.where(plus, plus_chain, jnp.where(minus, minus_chain, 0))
  return count


def datasets(key: jax.Array, task: Task, sampling: Sampling):
  """(train set, or None when streaming; test set) as `sampling` says."""
  if sampling.dataset == 'fixed':
    return fixed_dataset(key, task, sampling)
  return None, stream_test_set(key, task, sampling)


def fixed_dataset(
  key: jax.Array, task: Task, sampling: Sampling
) -> tuple[Dataset, Dataset]:
  """The post's data: (train, test) from a shuffled sample of the grid, the
  first `split` of it (with `pairs`, those `is_held_out` picks) the test set;
  other weightings sample by Gumbel top-k (config.py says what each does)."""
  s = sampling
  chosen = _grid_sample(key, task, s)
  n_test = s.n_test
  if s.pairs:
    chosen, n_held = _held_out_first(chosen, s.split, s.salt)
    n_test = int(n_held)
  test = Equations(*(x[:n_test] for x in chosen))
  train = Equations(*(x[n_test:] for x in chosen))
  return _dataset(train, task), _dataset(test, task)


@functools.partial(jax.jit, static_argnums=(1, 2))
def _grid_sample(key, task: Task, s: Sampling) -> Equations:
  """`fixed_dataset`'s `n_examples` equations of the grid, in sample order."""
  size = task.grid_size
  weighted = s.weighting != 'uniform' or s.carry_boost > 0
  if not weighted:
    perm = jax.random.permutation(key, size)
  else:
    every = grid_equations(jnp.arange(size), task)
    x = every.operands_BxK
    log_w = _log_operand_prob(x, task, s.weighting, s.digits_share).sum(axis=1)
    log_w += np.log1p(s.carry_boost) * carry_count(every, task)
    perm = jnp.argsort(-(log_w + jax.random.gumbel(key, (size,))))
  if s.distinct_operands:
    eqs = grid_equations(perm, task)
    same = eqs.operands_BxK[:, 0] == eqs.operands_BxK[:, 1]
    perm = perm[jnp.argsort(same, stable=True)]  # Drop a == b, keep order.
  chosen = perm[: s.n_examples]
  if weighted:
    # Top-k comes heaviest first; shuffle so the test set is a fair part.
    chosen = jax.random.permutation(jax.random.fold_in(key, 1), chosen)
  return grid_equations(chosen, task)


@functools.partial(jax.jit, static_argnums=(1, 2, 3))
def _held_out_first(eqs: Equations, split, salt, pairs=True):
  """(eqs, those `is_held_out` picks first; how many those are)."""
  held = is_held_out(eqs, split, salt, pairs)
  order = jnp.argsort(~held, stable=True)
  return Equations(*(x[order] for x in eqs)), held.sum()


def stream_test_set(key: jax.Array, task: Task, sampling: Sampling) -> Dataset:
  """`sampling.n_test` held-out equations, distinct where there is a grid."""
  eqs, n_held = _held_out_draw(key, task, sampling)
  n_test, split = sampling.n_test, sampling.split
  if int(n_held) < n_test:
    raise ConfigError(
      f'n_examples={n_test} held-out equations asked for, but split={split}'
      f' holds out only {int(n_held)} here; raise split or lower n_examples'
    )
  return _dataset(eqs, task)


@functools.partial(jax.jit, static_argnums=(1, 2))
def _held_out_draw(key, task: Task, s: Sampling):
  """(`n_test` equations, held-out first; how many of the draw are held out)."""
  if task.has_grid:
    perm = jax.random.permutation(key, task.grid_size)
    candidates = grid_equations(perm, task)
  else:
    n_draw = int(s.n_test / max(s.split, 1e-6) * 1.5) + 4096
    candidates = sample_equations(key, task, n_draw)
  first, n_held = _held_out_first(candidates, s.split, s.salt, s.pairs)
  return Equations(*(x[: s.n_test] for x in first)), n_held


class HeldOut(NamedTuple):
  """Which equations a run has seen: trained on (`train_set`'s; if None, all
  `is_held_out` leaves) or that chose its checkpoint or stop (`chosen_by`)."""

  sampling: Sampling
  train_set: Dataset | None
  chosen_by: Dataset | None = None

  def seen(self, eqs: Equations, task: Task) -> np.ndarray:
    """Which of `eqs` training may have used, or that chose the checkpoint."""
    if self.train_set is None:
      s = self.sampling
      seen = ~np.asarray(is_held_out(eqs, s.split, s.salt, s.pairs))
    else:
      trained = np.zeros(task.grid_size, bool)
      trained[np.asarray(grid_index(self.train_set.eqs, task))] = True
      seen = trained[np.asarray(grid_index(eqs, task))]
    if self.chosen_by is not None:
      seen |= np.isin(equation_keys(eqs), equation_keys(self.chosen_by.eqs))
    return seen


def equation_keys(eqs: Equations) -> np.ndarray:
  """One opaque key per equation, equal only for equal equations (np.isin)."""
  rows = np.concatenate(
    [np.asarray(eqs.operands_BxK), np.asarray(eqs.ops_BxK1)], axis=1
  ).astype('<i4')
  rows = np.ascontiguousarray(rows)
  return rows.view(np.dtype((np.void, rows.shape[1] * 4))).ravel()

"""Written steps as targets: the school algorithm as tokens, a step the digits
it copies, those it makes, a space (golden traces: tests/steps_test.py)."""

from collections.abc import Callable
import functools
from typing import NamedTuple

import jax
from jax import lax
import jax.numpy as jnp
import numpy as np

from lstm_math import vocab as vocab_lib
from lstm_math.task import Equations
from lstm_math.task import Task

KINDS = tuple(
  'copy marker separator sign product carry sum difference borrow quotient'
  ' remainder answer end'.split()
)

# What a position of a `+` or `-` trace writes, for `model.dec_places`.
ROLES = tuple(
  'other start separator x y carry_in sum carry borrow_in difference borrow'
  ' sign neg_digit neg_sign neg_borrow_in neg_difference neg_borrow answer'
  ' answer_sign end'.split()
)


class _Layout(NamedTuple):
  kinds: tuple[int, ...]  # A `KINDS` index per position.
  # (line, slots) per step: `format_steps` fills `line` (a format string or a
  # function) with the slots' texts (a slot: positions, the last first).
  steps: tuple[tuple[str | Callable, tuple], ...]
  roles: tuple[int, ...]  # A `ROLES` index per position.
  # The power of ten each position is about (a carry out of column i: i + 1),
  # or -1; shared with the source's digits (`model.source_places`).
  places: tuple[int, ...]


class _Num(NamedTuple):  # A value [B] int32 with static bounds.
  v: jax.Array
  lo: int
  hi: int

  @property
  def width(self) -> int:
    return len(str(max(abs(self.lo), abs(self.hi))))


class _Builder:
  """Collects a trace's tokens [B] and its static layout."""

  def __init__(self, task: Task, batch: int):
    self.voc, self.batch = task.vocab, batch
    self.toks, self.kinds, self.fixed, self.steps = [], [], [], []
    self.roles, self.places = [], []

  def put(self, tok, kind: str, role: str = 'other', place: int = -1) -> int:
    """Appends a token: an id the layout fixes, or ids [B]; its position."""
    if isinstance(tok, int):
      self.fixed.append(tok)
    else:
      self.fixed.append(-1)
      self.toks.append(tok.astype(jnp.int32))
    self.kinds.append(KINDS.index(kind))
    self.roles.append(ROLES.index(role))
    self.places.append(place)
    return len(self.kinds) - 1

  def ids(self, length: int) -> jax.Array:
    """Ids [B, length]: the tokens, then EOS to `length`."""
    fixed = np.asarray(
      self.fixed + [self.voc.eos_id] * (length - len(self.fixed))
    )
    data_pos = np.flatnonzero(fixed < 0)
    const_BxL = jnp.broadcast_to(
      jnp.asarray(np.maximum(fixed, 0), jnp.int32), (self.batch, length)
    )
    return const_BxL.at[:, data_pos].set(jnp.stack(self.toks, axis=1))

  def step(self, show, *slots) -> None:
    self.steps.append((show, slots))
    self.put(self.voc.space_id, 'separator', 'separator')


def _digit(v_B: jax.Array, i: int) -> jax.Array:
  """Digit i (10**i) of values >= 0, where `lax.div` and `lax.rem` (one op
  each) equal `//` and `%` (several); 0 past int32's 10 digits."""
  if i > 9:
    return jnp.zeros_like(v_B)
  return lax.rem(lax.div(v_B, 10**i), 10)


def _number(digits: str) -> str:
  return digits.lstrip('0') or '0'


def _negate_line(x: str, sign: str, b: str, d: str, b_out: str) -> str:
  return f'0-{x} -{b} = {d} b{b_out}' if sign == '-' else f'{x} = {d}'


def _add(bld: _Builder, x: _Num, y: _Num) -> _Num:
  """`x + y`, `x, y >= 0`; column i: `x_i y_i c s c'` (carry in, sum, out)."""
  c = jnp.zeros_like(x.v)
  for i in range(max(x.width, y.width)):
    x_i, y_i = _digit(x.v, i), _digit(y.v, i)
    roles = ('x', 'y', 'carry_in')
    copies = [bld.put(t, 'copy', r, i) for t, r in zip((x_i, y_i, c), roles)]
    total = x_i + y_i + c  # In [0, 19].
    c = lax.div(total, 10)
    r = (
      bld.put(total - 10 * c, 'sum', 'sum', i),
      bld.put(c, 'carry', 'carry', i + 1),
    )
    bld.step('{}+{} +{} = {}', *copies, r)
  return _Num(x.v + y.v, x.lo + y.lo, x.hi + y.hi)


def _subtract(bld: _Builder, x: _Num, y: _Num) -> _Num:
  """`x - y`, `x, y >= 0`; column i: `x_i y_i b d b'` (borrow in, digit, out).
  If `x < y`, the ten's complement R is left: then a sign, and columns
  `d_i s b e b'`, `0 - R` or R by the sign."""
  voc, n = bld.voc, max(x.width, y.width)
  r = _Num(x.v - y.v, x.lo - y.hi, x.hi - y.lo)
  b, digits = jnp.zeros_like(x.v), []
  for i in range(n):
    x_i, y_i = _digit(x.v, i), _digit(y.v, i)
    roles = ('x', 'y', 'borrow_in')
    copies = [bld.put(t, 'copy', r, i) for t, r in zip((x_i, y_i, b), roles)]
    diff = x_i - y_i - b
    b = (diff < 0).astype(jnp.int32)
    digits.append(diff + 10 * b)
    made = (
      bld.put(digits[-1], 'difference', 'difference', i),
      bld.put(b, 'borrow', 'borrow', i + 1),
    )
    bld.step('{}-{} -{} = {} b{}', *copies, *made)
  if r.lo >= 0:
    return r
  negative = r.v < 0  # The top column's borrow.
  sign = jnp.where(negative, voc.minus_id, voc.space_id)
  signed = bld.put(sign, 'sign', 'sign', n)  # The top column's borrow.
  bld.step(lambda s: 'sign ' + s.replace(' ', '+'), signed)
  b = jnp.zeros_like(x.v)
  for i, d_i in enumerate(digits):
    copies = [
      bld.put(d_i, 'copy', 'neg_digit', i),
      bld.put(sign, 'copy', 'neg_sign', n),
      bld.put(b, 'copy', 'neg_borrow_in', i),
    ]
    diff = jnp.where(negative, -d_i - b, d_i)
    b = (diff < 0).astype(jnp.int32)
    made = (
      bld.put(diff + 10 * b, 'difference', 'neg_difference', i),
      bld.put(b, 'borrow', 'neg_borrow', i + 1),
    )
    bld.step(_negate_line, *copies, *made)
  return r


def _multiply(bld: _Builder, a: _Num, b: _Num) -> _Num:
  """Long multiplication, `a, b >= 0`: rows `a_i * b_j c u t` (the carry in,
  the product's units and tens), then column sums `d_0 .. d_n c u t`."""
  wa, wb = a.width, b.width
  da = [_digit(a.v, i) for i in range(wa)]
  db = [_digit(b.v, j) for j in range(wb)]
  rows = []
  for j in range(wb):
    c, row = jnp.zeros_like(a.v), []
    for i in range(wa):
      p = da[i] * db[j] + c
      pa = bld.put(da[i], 'copy')
      bld.put(bld.voc.op_id('*'), 'marker')
      pb, pc = bld.put(db[j], 'copy'), bld.put(c, 'copy')
      c, u = lax.div(p, 10), lax.rem(p, 10)
      r = bld.put(u, 'product'), bld.put(c, 'carry')
      bld.step('{}*{} +{} = {}', pa, pb, pc, r)
      row.append(u)
    rows.append(row + [c])
  if wb > 1:
    c = jnp.zeros_like(a.v)
    for k in range(wa + wb):
      terms = [rows[j][k - j] for j in range(wb) if 0 <= k - j <= wa]
      total = sum(terms) + c
      copies = [bld.put(t, 'copy') for t in terms + [c]]
      c = lax.div(total, 10)
      r = bld.put(lax.rem(total, 10), 'sum'), bld.put(c, 'carry')
      bld.step('+'.join(['{}'] * len(terms)) + ' +{} = {}', *copies, r)
  return _Num(a.v * b.v, a.lo * b.lo, a.hi * b.hi)


def _divide(bld: _Builder, a: _Num, b: _Num) -> _Num:
  """Long division `a // b`, `a >= 0`, `b >= 1`, from a's top digit:
  `n / b q r`, n = remainder * 10 + digit, quotient digit, new remainder."""
  wa, wb = a.width, b.width
  db = [_digit(b.v, j) for j in range(wb)]
  r = jnp.zeros_like(a.v)
  for i in reversed(range(wa)):
    n = r * 10 + _digit(a.v, i)
    pn = [bld.put(_digit(n, 0), 'copy')]
    pn += [bld.put(_digit(r, j), 'copy') for j in range(wb)]
    bld.put(bld.voc.op_id('/'), 'marker')
    pb = tuple(bld.put(d, 'copy') for d in db)
    q = lax.div(n, b.v)
    pq = bld.put(q, 'quotient')
    r = n - q * b.v
    pr = tuple(bld.put(_digit(r, j), 'remainder') for j in range(wb))
    line = lambda n, b, q, r: f'{_number(n)}/{_number(b)} = {q} r{_number(r)}'
    bld.step(line, tuple(pn), pb, pq, pr)
  return _Num(lax.div(a.v, b.v), a.lo // b.hi, a.hi // b.lo)


def _answer(bld: _Builder, total: _Num, task: Task) -> None:
  mag = jnp.abs(total.v)
  width = task.result_width
  pr = [bld.put(_digit(mag, i), 'answer', 'answer', i) for i in range(width)]
  ps = []
  if task.result_range[0] < 0:
    sign = jnp.where(total.v < 0, bld.voc.minus_id, bld.voc.space_id)
    ps = [bld.put(sign, 'answer', 'answer_sign', width)]
  line = lambda r, s: f'= {s.strip(" ")}{_number(r)}'
  bld.steps.append((line, (tuple(pr), tuple(ps))))  # No separator.


def _trace(eqs: Equations, task: Task, pattern) -> _Builder:
  """The trace of every equation as if its operators were `pattern`."""
  x_BxK = eqs.operands_BxK
  bld = _Builder(task, x_BxK.shape[0])
  if len(task.patterns) > 1:  # The layout depends on them: copy them.
    copies = [bld.put(bld.voc.op_id(op), 'copy') for op in pattern]
    bld.step(' '.join(['ops'] + ['{}'] * len(copies)), *copies)
  hi = task.max_number
  terms, signs = [_Num(x_BxK[:, 0], 0, hi)], ['+']
  for k, op in enumerate(pattern):
    if op == '/':  # Rows of other patterns may hold 0 here: never divide.
      y = _Num(jnp.maximum(x_BxK[:, k + 1], 1), task.divisor_min, hi)
      terms[-1] = _divide(bld, terms[-1], y)
    elif op == '*':
      terms[-1] = _multiply(bld, terms[-1], _Num(x_BxK[:, k + 1], 0, hi))
    else:
      signs.append(op)
      terms.append(_Num(x_BxK[:, k + 1], 0, hi))
  add = lambda xs: functools.reduce(lambda x, y: _add(bld, x, y), xs)
  total = add([t for t, s in zip(terms, signs) if s == '+'])
  subtracted = [t for t, s in zip(terms, signs) if s == '-']
  if subtracted:
    total = _subtract(bld, total, add(subtracted))
  _answer(bld, total, task)
  return bld


@functools.lru_cache(maxsize=64)
def _layouts(task: Task) -> tuple[_Layout, ...]:
  out = []

  def traces(eqs):
    for p in task.patterns:
      bld = _trace(eqs, task, p)
      out.append(
        _Layout(*map(tuple, (bld.kinds, bld.steps, bld.roles, bld.places)))
      )

  rows = lambda n: jax.ShapeDtypeStruct((1, n), jnp.int32)
  jax.eval_shape(traces, Equations(rows(task.n_terms), rows(task.n_terms - 1)))
  return tuple(out)


def pattern_index(ops_BxK1: jax.Array, task: Task) -> jax.Array:
  """Index [B] of each equation's pattern in `task.patterns`."""
  n, k1 = len(task.operators), task.n_terms - 1
  weights = jnp.asarray([n ** (k1 - 1 - k) for k in range(k1)], jnp.int32)
  return (ops_BxK1 * weights).sum(axis=1).astype(jnp.int32)


def encode_steps(eqs: Equations, task: Task) -> jax.Array:
  """Trace ids [B, T] int32: every pattern's trace is made and each row
  takes its own (4 s to compile `'+-*'`, 3 terms, on 2 CPU cores)."""
  batch, length = eqs.operands_BxK.shape[0], task.tgt_len
  traces = [_trace(eqs, task, p).ids(length) for p in task.patterns]
  if len(traces) == 1:
    return traces[0]
  pattern_B = pattern_index(eqs.ops_BxK1, task)
  return jnp.stack(traces)[pattern_B, jnp.arange(batch)]


def answer_from_steps(ids_BxT: jax.Array, task: Task):
  """(value [B] int32, valid [B] bool): the answer before the first EOS;
  valid where it has room and its slots hold digits and the sign slot."""
  voc, width = task.vocab, task.result_width
  signed = task.result_range[0] < 0
  n_ans = width + signed
  is_eos = ids_BxT == voc.eos_id
  end_B = jnp.argmax(is_eos, axis=1)
  pos_BxA = end_B[:, None] - n_ans + jnp.arange(n_ans)
  ans_BxA = jnp.take_along_axis(ids_BxT, jnp.maximum(pos_BxA, 0), axis=1)
  digits = ans_BxA[:, :width]
  valid = is_eos.any(axis=1) & (end_B >= n_ans)
  valid &= ((digits >= 0) & (digits < 10)).all(axis=1)
  powers = jnp.asarray([10**i for i in range(width)], jnp.int32)
  value = (jnp.clip(digits, 0, 9) * powers).sum(axis=1).astype(jnp.int32)
  if signed:
    sign = ans_BxA[:, width]
    minus = sign == voc.minus_id
    valid &= minus | (sign == voc.space_id)
    value = jnp.where(minus, -value, value)
  return value, valid


def step_kinds(task: Task) -> np.ndarray:
  """Kinds [P, T] int32, indices into `KINDS`, per pattern and position."""
  length, end = task.tgt_len, KINDS.index('end')
  return np.asarray(
    [k.kinds + (end,) * (length - len(k.kinds)) for k in _layouts(task)],
    np.int32,
  )


def first_wrong_kind(
  pred_BxT: jax.Array, tgt_BxT: jax.Array, eqs: Equations, task: Task
) -> jax.Array:
  """`KINDS` index [B] int32 of the first wrong position; -1 if all right."""
  kinds_BxT = jnp.asarray(step_kinds(task))[pattern_index(eqs.ops_BxK1, task)]
  wrong_BxT = pred_BxT != tgt_BxT
  first_B = jnp.argmax(wrong_BxT, axis=1)
  kind_B = jnp.take_along_axis(kinds_BxT, first_B[:, None], axis=1)[:, 0]
  return jnp.where(wrong_BxT.any(axis=1), kind_B, -1).astype(jnp.int32)


def format_steps(ids_T, task: Task, ops) -> str:
  """One line per step of a trace of operators `ops` (characters or
  indices), e.g. `7*1 +0 = 07`, then `= 2697`."""
  ids, voc = np.asarray(ids_T).reshape(-1), task.vocab
  ops = tuple(task.operators[o] if not isinstance(o, str) else o for o in ops)
  steps = _layouts(task)[task.patterns.index(ops)].steps
  table = voc.symbols.replace(vocab_lib.EOS, '$')

  def text(slot):  # The symbols of a slot, its last position first.
    slot = slot if isinstance(slot, tuple) else (slot,)
    ids_ = [int(ids[p]) if p < len(ids) else voc.eos_id for p in slot[::-1]]
    return ''.join(table[i] if 0 <= i < voc.size else '?' for i in ids_)

  lines = []
  for show, slots in steps:
    texts = [text(slot) for slot in slots]
    lines.append(show.format(*texts) if isinstance(show, str) else show(*texts))
  return '\n'.join(lines)


def place_layout(task: Task) -> tuple[tuple[int, ...], tuple[int, ...]]:
  """(`ROLES` index, place) of each target position: `dec_places` reads it."""
  (layout,) = _layouts(task)
  pad = task.tgt_len - len(layout.roles)
  return (
    layout.roles + (ROLES.index('end'),) * pad,
    layout.places + (-1,) * pad,
  )

"""Step-by-step targets ("show the work") of the arithmetic, as jnp functions.

A trace writes out the school algorithm, least-significant digit first, and
every step first copies the digits it uses, then writes what it makes; a
space ends each step. The final answer closes the trace: `task.result_width`
digits, least significant first, then a sign slot (`'-'` or space) when the
task's results can be negative, then the end symbol, repeated to the fixed
length `steps_len(task)`. Only the task's own symbols are used.

Steps (digits of a number are written least significant first):

* `+` column i: `a_i b_i c s c'`, the digits, the carry in, the sum digit
  and the carry out. `'31 + 87'` (0..999): `17080 38011 00110 8110`.
* `x - y`, both non-negative: column by column x's digits minus y's,
  `x_i y_i b d b'` (borrow in, digit, borrow out), every copy at a fixed
  place; then, when results can be negative, the sign (a borrow out of the
  top column) and each column of the magnitude, `d_i s b e b'`: the digit
  of `0 - d` when the sign is `'-'`, `d` itself when it is a space.
  `'118 - 131'`: `81070 13081 11191 - 7-031 8-111 9-101 310-`.
* `*` row j, digit i: `a_i * b_j c u t`, the product plus carry's units and
  tens; row j's partial product is the units digits and the last tens. Then
  (when `b` has more than one digit) column k of the partial products:
  `d_0 .. d_n c u t`, the digits of the rows in that column, the carry in,
  the units and the carry out. `'31 * 87'`:
  `1*7070 3*7012 1*8080 3*8042 7070 18090 24060 2020 7962`.
* `/` long division, for each digit of the dividend from the most
  significant: `n / b q r`, `n` = remainder * 10 + digit (the digit, then
  the running remainder's digits), the divisor's digits, the quotient digit
  and the new remainder. `'845 / 7'`:
  `8000/7001100 4100/7002000 5000/7000500 021`.
* More terms: first the operators, copied (the layout depends on them);
  then every `*` and `/` left to right; then the terms after a `+` (and
  the first) are added, those after a `-` added, and the second sum is
  subtracted from the first, each with the steps above. So every value is
  non-negative until the last subtraction, and every copy reads a place
  that the pattern fixes. `'13 - 8 * 4'` (0..99): `-* 8*4023 0*4330 ...`,
  the operators, `8 * 4`, then `13 - 32`.

Operands and intermediates are zero-padded to static widths (from interval
bounds), so each operator pattern has a fixed layout; the traces of all
patterns are made and each equation takes its own.
"""

import dataclasses
import functools
import itertools
from typing import NamedTuple

import jax
from jax import lax
import jax.numpy as jnp
import numpy as np

from lstm_math import data
from lstm_math import errors

KINDS = tuple(
  'copy marker separator sign product carry sum difference borrow quotient'
  ' remainder answer end'.split()
)
_KIND_ID = {k: i for i, k in enumerate(KINDS)}


@dataclasses.dataclass(frozen=True)
class _Step:
  """Where one step's tokens are, for `format_steps`: `slots` maps a role to
  its token positions; a column of `+`/`-` has `mode` 'add' or 'sub'."""

  name: str
  slots: tuple[tuple[str, tuple[int, ...]], ...]
  mode: str | None = None

  def at(self, role: str) -> tuple[int, ...]:
    return dict(self.slots).get(role, ())


class _Layout(NamedTuple):
  kinds: tuple[int, ...]  # A `KINDS` index per position.
  fixed: tuple[int, ...]  # The token where the layout fixes it, else -1.
  steps: tuple[_Step, ...]


class _Num(NamedTuple):
  """A value [B] int32 with static bounds."""

  v: jax.Array
  lo: int
  hi: int

  @property
  def width(self) -> int:
    return len(str(max(abs(self.lo), abs(self.hi))))


class _Builder:
  """Collects a trace's tokens [B] and its static layout."""

  def __init__(self, task: data.Task, batch: int):
    self.voc = task.vocab
    self.batch = batch
    self.toks, self.kinds, self.fixed, self.steps = [], [], [], []

  def put(self, tok, kind: str) -> int:
    """Appends a token: an id the layout fixes, or ids [B]; its position."""
    if isinstance(tok, int):
      self.fixed.append(tok)
    else:
      self.fixed.append(-1)
      self.toks.append(tok.astype(jnp.int32))
    self.kinds.append(_KIND_ID[kind])
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

  def step(self, name: str, mode=None, **slots) -> None:
    slots = tuple((k, tuple(v)) for k, v in slots.items())
    self.steps.append(_Step(name, slots, mode))
    self.put(self.voc.space_id, 'separator')

  def layout(self) -> _Layout:
    return _Layout(tuple(self.kinds), tuple(self.fixed), tuple(self.steps))


def _digit(v_B: jax.Array, i: int) -> jax.Array:
  """Digit i (10**i) of values >= 0, where `lax.div` and `lax.rem` (one op
  each) equal `//` and `%` (several); 0 past int32's 10 digits."""
  if i > 9:
    return jnp.zeros_like(v_B)
  return lax.rem(lax.div(v_B, 10**i), 10)


# ------------------------------------------------------------- algorithms ---


def _add(bld: _Builder, x: _Num, y: _Num) -> _Num:
  """`x + y`, `x, y >= 0`: column by column with carries."""
  c = jnp.zeros_like(x.v)
  for i in range(max(x.width, y.width)):
    x_i, y_i = _digit(x.v, i), _digit(y.v, i)
    pos = [bld.put(t, 'copy') for t in (x_i, y_i, c)]
    total = x_i + y_i + c  # In [0, 19].
    c = lax.div(total, 10)
    res = [bld.put(total - 10 * c, 'sum'), bld.put(c, 'carry')]
    bld.step('col', 'add', x=pos[:1], y=pos[1:2], c=pos[2:], r=res)
  return _Num(x.v + y.v, x.lo + y.lo, x.hi + y.hi)


def _subtract(bld: _Builder, x: _Num, y: _Num) -> _Num:
  """`x - y`, `x, y >= 0`: x's columns minus y's, whatever the sign.

  Every copy reads a fixed place. A borrow out of the top column means
  `x < y` and leaves the ten's complement `R = 10**n + x - y`, so the
  magnitude's columns (the module docstring) negate R's digits.
  """
  voc, n = bld.voc, max(x.width, y.width)
  r = _Num(x.v - y.v, x.lo - y.hi, x.hi - y.lo)
  b, digits = jnp.zeros_like(x.v), []
  for i in range(n):
    x_i, y_i = _digit(x.v, i), _digit(y.v, i)
    pos = [bld.put(t, 'copy') for t in (x_i, y_i, b)]
    diff = x_i - y_i - b
    b = (diff < 0).astype(jnp.int32)
    digits.append(diff + 10 * b)
    res = [bld.put(digits[-1], 'difference'), bld.put(b, 'borrow')]
    bld.step('col', 'sub', x=pos[:1], y=pos[1:2], c=pos[2:], r=res)
  if r.lo >= 0:
    return r
  negative = r.v < 0  # The top column's borrow.
  sign = jnp.where(negative, voc.minus_id, voc.space_id)
  ps = bld.put(sign, 'sign')
  bld.step('sign', s=[ps])
  b = jnp.zeros_like(x.v)
  for d_i in digits:
    pos = [bld.put(t, 'copy') for t in (d_i, sign, b)]
    diff = jnp.where(negative, -d_i - b, d_i)
    b = (diff < 0).astype(jnp.int32)
    res = [bld.put(diff + 10 * b, 'difference'), bld.put(b, 'borrow')]
    bld.step('negate', x=pos[:1], s=pos[1:2], c=pos[2:], r=res)
  return r


def _multiply(bld: _Builder, a: _Num, b: _Num) -> _Num:
  """Long multiplication `a * b`, `a, b >= 0`: rows, then column sums."""
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
      res = [bld.put(u, 'product'), bld.put(c, 'carry')]
      bld.step('mul', a=[pa], b=[pb], c=[pc], r=res)
      row.append(u)
    rows.append(row + [c])
  if wb > 1:
    c = jnp.zeros_like(a.v)
    for k in range(wa + wb):
      terms = [rows[j][k - j] for j in range(wb) if 0 <= k - j <= wa]
      s = sum(terms) + c
      pos = [bld.put(t, 'copy') for t in terms]
      pc = bld.put(c, 'copy')
      c = lax.div(s, 10)
      res = [bld.put(lax.rem(s, 10), 'sum'), bld.put(c, 'carry')]
      bld.step('colsum', x=pos, c=[pc], r=res)
  return _Num(a.v * b.v, a.lo * b.lo, a.hi * b.hi)


def _divide(bld: _Builder, a: _Num, b: _Num) -> _Num:
  """Long division `a // b`, `a >= 0`, `b >= 1`, from a's top digit."""
  wa, wb = a.width, b.width
  if 10 * b.hi > data.INT32_MAX:
    raise errors.ConfigError(
      f'divisors up to {b.hi}: long division steps need 10 * divisor in int32'
    )
  db = [_digit(b.v, j) for j in range(wb)]
  r = jnp.zeros_like(a.v)
  for i in reversed(range(wa)):
    n = r * 10 + _digit(a.v, i)
    pn = [bld.put(_digit(n, 0), 'copy')]
    pn += [bld.put(_digit(r, j), 'copy') for j in range(wb)]
    bld.put(bld.voc.op_id('/'), 'marker')
    pb = [bld.put(d, 'copy') for d in db]
    q = lax.div(n, b.v)
    pq = bld.put(q, 'quotient')
    r = n - q * b.v
    pr = [bld.put(_digit(r, j), 'remainder') for j in range(wb)]
    bld.step('div', n=pn, b=pb, q=[pq], r=pr)
  return _Num(lax.div(a.v, b.v), a.lo // b.hi, a.hi // b.lo)


def _answer(bld: _Builder, total: _Num, task: data.Task) -> None:
  mag = jnp.abs(total.v)
  pr = [bld.put(_digit(mag, i), 'answer') for i in range(task.result_width)]
  ps = []
  if task.result_range[0] < 0:
    sign = jnp.where(total.v < 0, bld.voc.minus_id, bld.voc.space_id)
    ps = [bld.put(sign, 'answer')]
  bld.steps.append(_Step('answer', (('r', tuple(pr)), ('s', tuple(ps)))))


def _trace(eqs: data.Equations, task: data.Task, pattern) -> _Builder:
  """The trace of every equation as if its operators were `pattern`."""
  x_BxK = eqs.operands_BxK
  bld = _Builder(task, x_BxK.shape[0])
  if len(_patterns(task)) > 1:  # The layout depends on them: copy them.
    ops = [bld.put(bld.voc.op_id(op), 'copy') for op in pattern]
    bld.step('ops', o=ops)
  lo, hi = task.min_number, task.max_number
  terms, signs = [_Num(x_BxK[:, 0], lo, hi)], ['+']
  for k, op in enumerate(pattern):
    if op == '/':  # Rows of other patterns may hold 0 here: never divide.
      y = _Num(jnp.maximum(x_BxK[:, k + 1], 1), task.divisor_min, hi)
      terms[-1] = _divide(bld, terms[-1], y)
    elif op == '*':
      terms[-1] = _multiply(bld, terms[-1], _Num(x_BxK[:, k + 1], lo, hi))
    else:
      signs.append(op)
      terms.append(_Num(x_BxK[:, k + 1], lo, hi))
  add = lambda xs: functools.reduce(lambda x, y: _add(bld, x, y), xs)
  total = add([t for t, s in zip(terms, signs) if s == '+'])
  subtracted = [t for t, s in zip(terms, signs) if s == '-']
  if subtracted:
    total = _subtract(bld, total, add(subtracted))
  _answer(bld, total, task)
  return bld


def _patterns(task: data.Task) -> list[tuple[str, ...]]:
  """Operator patterns in the order of `pattern_index`."""
  return list(itertools.product(task.operators, repeat=task.n_terms - 1))


@functools.lru_cache(maxsize=64)
def _layouts(task: data.Task) -> tuple[_Layout, ...]:
  out = []

  def traces(eqs):
    out.extend(_trace(eqs, task, p).layout() for p in _patterns(task))

  rows = lambda n: jax.ShapeDtypeStruct((1, n), jnp.int32)
  jax.eval_shape(
    traces, data.Equations(rows(task.n_terms), rows(task.n_terms - 1))
  )
  return tuple(out)


# -------------------------------------------------------------------- API ---


def steps_len(task: data.Task) -> int:
  """T: the longest trace over the task's operator patterns, plus EOS."""
  return max(len(lay.kinds) for lay in _layouts(task)) + 1


def pattern_index(ops_BxK1: jax.Array, task: data.Task) -> jax.Array:
  """Index [B] of each equation's operator pattern (rows of `step_kinds`)."""
  n, k1 = len(task.operators), task.n_terms - 1
  weights = jnp.asarray([n ** (k1 - 1 - k) for k in range(k1)], jnp.int32)
  return (ops_BxK1 * weights).sum(axis=1).astype(jnp.int32)


def encode_steps(eqs: data.Equations, task: data.Task) -> jax.Array:
  """Trace ids [B, T] int32: the steps, the answer, EOS to the end.

  Every pattern's trace is made and each row takes its own, so the compile
  time grows with the patterns and their lengths (4 s for `'+-*'`, 3 terms,
  0..20, on two busy CPU cores; under 1 s for two terms of one operator).
  """
  batch, length = eqs.operands_BxK.shape[0], steps_len(task)
  traces = [_trace(eqs, task, p).ids(length) for p in _patterns(task)]
  if len(traces) == 1:
    return traces[0]
  pattern_B = pattern_index(eqs.ops_BxK1, task)
  return jnp.stack(traces)[pattern_B, jnp.arange(batch)]


def answer_from_steps(ids_BxT: jax.Array, task: data.Task):
  """(value [B] int32, valid [B] bool): the answer before the first EOS.

  Valid where there is an EOS with room before it, and the answer's slots
  hold digits and (when results can be negative) `'-'` or a space.
  """
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


def step_kinds(task: data.Task) -> np.ndarray:
  """Kinds [P, T] int32, indices into `KINDS`, per pattern and position."""
  length = steps_len(task)
  end = _KIND_ID['end']
  return np.asarray(
    [lay.kinds + (end,) * (length - len(lay.kinds)) for lay in _layouts(task)],
    np.int32,
  )


def first_wrong_kind(
  pred_BxT: jax.Array, tgt_BxT: jax.Array, eqs: data.Equations, task: data.Task
) -> jax.Array:
  """`KINDS` index [B] int32 of the first wrong position; -1 if all right."""
  kinds_BxT = jnp.asarray(step_kinds(task))[pattern_index(eqs.ops_BxK1, task)]
  wrong_BxT = pred_BxT != tgt_BxT
  first_B = jnp.argmax(wrong_BxT, axis=1)
  kind_B = jnp.take_along_axis(kinds_BxT, first_B[:, None], axis=1)[:, 0]
  return jnp.where(wrong_BxT.any(axis=1), kind_B, -1).astype(jnp.int32)


# ---------------------------------------------------------------- display ---


def format_steps(ids_T, task: data.Task, ops=None) -> str:
  """One line per step of a trace, e.g. `7*1 +0 = 07`, then `= 2697`.

  `ops` (the operator characters or indices) names the pattern; without
  it, the pattern whose fixed tokens the trace matches best is used (with
  several patterns a trace starts with its operators, fixed tokens).
  """
  ids = np.asarray(ids_T).reshape(-1)
  voc, patterns, layouts = task.vocab, _patterns(task), _layouts(task)
  if ops is not None:
    ops = tuple(task.operators[o] if not isinstance(o, str) else o for o in ops)
    lay = layouts[patterns.index(ops)]
  else:

    def score(lay):
      fixed = np.asarray(lay.fixed + (voc.eos_id,))[: len(ids)]
      return np.sum((fixed >= 0) & (fixed == ids[: len(fixed)]))

    lay = max(layouts, key=score)

  def sym(pos):
    i = int(ids[pos]) if pos < len(ids) else voc.eos_id
    return {voc.eos_id: '$'}.get(
      i, voc.symbols[i] if 0 <= i < voc.size else '?'
    )

  def num(positions):  # Most significant first, without leading zeros.
    return ''.join(sym(p) for p in reversed(positions)).lstrip('0') or '0'

  lines = []
  for st in lay.steps:
    r = ''.join(sym(p) for p in reversed(st.at('r')))
    if st.name == 'ops':
      lines.append('ops ' + ' '.join(sym(p) for p in st.at('o')))
    elif st.name == 'sign':
      lines.append(f'sign {sym(st.at("s")[0]).replace(" ", "+")}')
    elif st.name == 'col':
      x, y, c = sym(st.at('x')[0]), sym(st.at('y')[0]), sym(st.at('c')[0])
      if st.mode == 'add':
        lines.append(f'{x}+{y} +{c} = {r}')
      else:
        lines.append(f'{x}-{y} -{c} = {r[1]} b{r[0]}')
    elif st.name == 'negate':
      x, c = sym(st.at('x')[0]), sym(st.at('c')[0])
      neg = sym(st.at('s')[0]) == '-'
      lines.append(f'0-{x} -{c} = {r[1]} b{r[0]}' if neg else f'{x} = {r[1]}')
    elif st.name == 'mul':
      a, b, c = (sym(st.at(k)[0]) for k in 'abc')
      lines.append(f'{a}*{b} +{c} = {r}')
    elif st.name == 'colsum':
      terms = '+'.join(sym(p) for p in st.at('x'))
      lines.append(f'{terms} +{sym(st.at("c")[0])} = {r}')
    elif st.name == 'div':
      n, b, q = num(st.at('n')), num(st.at('b')), sym(st.at('q')[0])
      lines.append(f'{n}/{b} = {q} r{num(st.at("r"))}')
    else:
      sign = ''.join(sym(p) for p in st.at('s')).strip(' ')
      lines.append(f'= {sign}{num(st.at("r"))}')
  return '\n'.join(lines)

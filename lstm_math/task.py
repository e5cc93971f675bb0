"""What a task is: `Task`, its `Equations`, and the usual precedence (exact
int32; `/` rounds towards zero, as `//` on operands that are never negative)."""

import dataclasses
import functools
import itertools
import math
from typing import NamedTuple

import jax

from lstm_math import vocab as vocab_lib
from lstm_math.errors import ConfigError

INT32_MAX = 2**31 - 1
# The longest operands a place-coupled model is asked (`eval.lengths`,
# predict): 9-digit sums and differences fit int32, 10-digit ones do not.
MAX_DIGITS = 9
# What the decoder writes: the answer, units first, or the steps (steps.py).
TARGETS = ('answer', 'reversed', 'steps')


class Equations(NamedTuple):
  operands_BxK: jax.Array  # int32, each in [0, max_number]
  ops_BxK1: jax.Array  # int32, index into Task.operators


@dataclasses.dataclass(frozen=True)
class Task:
  """One arithmetic task; hashable, so jit-static (config.py checks types)."""

  operators: str = '+'
  n_terms: int = 2
  max_number: int = 999
  pad_operands: bool = False
  pad_result: bool = False
  reverse_source: bool = False
  target: str = 'answer'  # One of TARGETS.

  def __post_init__(self):
    try:
      voc = vocab_lib.Vocab(self.operators)
    except ValueError as e:
      raise ConfigError(str(e)) from None
    # One order for every spelling: '-+' and '++-' are the task '+-'.
    object.__setattr__(self, 'operators', voc.operators)
    if '/' in self.operators and self.max_number < 1:
      raise ConfigError(
        f'max_number={self.max_number}: division needs a divisor >= 1'
      )
    if self.max_number > INT32_MAX // 2:
      raise ConfigError(f'max_number={self.max_number}: must be < 2**30')
    if self.target == 'steps' and '/' in self.operators:
      if 10 * self.max_number > INT32_MAX:
        raise ConfigError(
          f'divisors up to {self.max_number}: long division steps need'
          ' 10 * divisor in int32'
        )
    _ = self.result_range  # Raises if results overflow int32.

  @property
  def vocab(self) -> vocab_lib.Vocab:
    return vocab_lib.Vocab(self.operators)

  @property
  def operand_width(self) -> int:
    return len(str(self.max_number))

  @property
  def divisor_min(self) -> int:
    return 1

  @property
  def patterns(self) -> list[tuple[str, ...]]:
    """Every operator pattern, in the order of `steps.pattern_index`."""
    return list(itertools.product(self.operators, repeat=self.n_terms - 1))

  def op_masks(self, ops):
    """Whether operator ids `ops` (ints or arrays) are `+`, `-`, `*`, `/`."""
    return tuple(ops == self.operators.find(c) for c in vocab_lib.OPERATORS)

  @functools.cached_property
  def result_range(self) -> tuple[int, int]:
    """Exact bounds of results and of every intermediate, by intervals."""
    any_x = _Interval(0, self.max_number)
    divisor = _Interval(self.divisor_min, self.max_number)
    results, biggest = [], [0]
    seen = lambda v: biggest.append(max(abs(e) for e in _Interval.of(v)))
    step_of_op = [
      (self.op_masks(o), divisor if op == '/' else any_x)
      for o, op in enumerate(self.operators)
    ]
    for steps in itertools.product(step_of_op, repeat=self.n_terms - 1):
      results.append(fold_precedence(any_x, steps, _pick, seen))
      seen(results[-1])
    if max(biggest) > INT32_MAX:
      raise ConfigError(
        f'n_terms={self.n_terms}, operators={self.operators!r},'
        f' max_number={self.max_number}: intermediate results reach'
        f' {max(biggest)}, beyond int32 ({INT32_MAX}); use fewer terms or'
        ' smaller numbers'
      )
    return min(r.lo for r in results), max(r.hi for r in results)

  @property
  def result_width(self) -> int:
    return _Interval(*self.result_range).width

  @property
  def src_len(self) -> int:
    """Longest source: K operands, K - 1 `' op '` and the end symbol."""
    return self.n_terms * self.operand_width + 3 * (self.n_terms - 1) + 1

  @functools.cached_property
  def tgt_len(self) -> int:
    """The answer's digits, a sign slot where results can be negative and the
    end symbol; with `target='steps'`, the longest trace before them."""
    answer = self.result_width + (self.result_range[0] < 0) + 1
    if self.target != 'steps':
      return answer
    return max(_trace_len(self, p) for p in self.patterns) + answer

  @property
  def has_grid(self) -> bool:
    """Two operands: every equation is a point of the (a, b) plane."""
    return self.n_terms == 2

  @property
  def grid_shape(self) -> tuple[int, int, int]:
    """(operators, values of a, values of b) of the full grid."""
    if not self.has_grid:
      raise ValueError(f'n_terms={self.n_terms}: only 2 terms make a grid')
    n_b = self.max_number - self.grid_b_min + 1
    return len(self.operators), self.max_number + 1, n_b

  @property
  def grid_b_min(self) -> int:
    """The grid's smallest b: the lowest divisor when `/` is there."""
    return self.divisor_min if '/' in self.operators else 0

  @property
  def grid_size(self) -> int:
    return math.prod(self.grid_shape)

  def python_result(self, operands, ops) -> int:
    """The exact result by Python integers; the reference for tests."""
    steps = [(self.op_masks(o), x) for o, x in zip(ops, operands[1:])]
    return fold_precedence(operands[0], steps, _pick)

  def text(self, operands, ops) -> str:
    """Canonical text of one equation, e.g. `'131 + 83 - 744 * 33'`; with
    names for operands (`'abc'`), its pattern, e.g. `'a + b * c'`."""
    rest = [f' {self.operators[int(o)]} {x}' for o, x in zip(ops, operands[1:])]
    return str(operands[0]) + ''.join(rest)


def fold_precedence(first, steps, where, seen=lambda value: None):
  """The usual precedence, written once: `*` and `/` before `+` and `-`.
  `steps`: ((is_plus, is_minus, is_times, is_div), operand) per operator;
  `where(cond, a, b)` lets one fold serve ints, intervals and jnp arrays;
  `seen` is shown every intermediate value kept."""
  total, term, sign = 0, first, 1
  for (plus, minus, times, div), x in steps:
    additive = plus | minus
    # `x` is never 0 after '/', but guard the division for the other ops.
    term_next = where(times, term * x, term // where(div, x, 1))
    total = where(additive, total + sign * term, total)
    sign = where(additive, where(minus, -1, 1), sign)
    term = where(additive, x, term_next)
    seen(term)
    seen(total)
  return total + sign * term


def _pick(cond, a, b):
  return a if cond else b


class _Interval(NamedTuple):
  """All values from lo to hi: what `fold_precedence` computes bounds with."""

  lo: int
  hi: int

  @staticmethod
  def of(x) -> '_Interval':
    return x if isinstance(x, _Interval) else _Interval(x, x)

  @property
  def width(self) -> int:
    return len(str(max(abs(self.lo), abs(self.hi))))

  def __add__(self, other):
    other = _Interval.of(other)
    return _Interval(self.lo + other.lo, self.hi + other.hi)

  __radd__ = __add__

  def __mul__(self, other):
    other = _Interval.of(other)
    ends = [a * b for a in self for b in (other.lo, other.hi)]
    return _Interval(min(ends), max(ends))

  __rmul__ = __mul__

  def __floordiv__(self, other):  # Non-negative over positive, as here.
    other = _Interval.of(other)
    return _Interval(self.lo // other.hi, self.hi // other.lo)


def _trace_len(task: Task, pattern) -> int:
  """Tokens of steps.py's trace of `pattern` before its answer, counted from
  the operands' bounds as steps.py writes them (steps_test checks both)."""
  x = _Interval(0, task.max_number)
  divisor = _Interval(task.divisor_min, task.max_number)
  n = task.n_terms if len(task.patterns) > 1 else 0  # The operators, copied.
  terms, signs = [x], ['+']
  for op in pattern:
    wa = terms[-1].width
    if op == '*':  # Rows of 7 tokens a digit pair; then the column sums.
      wb = x.width
      n += 7 * wa * wb + (wb * (wa + 1) + 4 * (wa + wb) if wb > 1 else 0)
      terms[-1] = terms[-1] * x
    elif op == '/':
      n += wa * (3 * divisor.width + 4)
      terms[-1] = terms[-1] // divisor
    else:
      signs.append(op)
      terms.append(x)

  def add(a, b):  # 6 tokens a column.
    nonlocal n
    n += 6 * max(a.width, b.width)
    return a + b

  total = functools.reduce(add, [t for t, s in zip(terms, signs) if s == '+'])
  subtracted = [t for t, s in zip(terms, signs) if s == '-']
  if subtracted:
    y = functools.reduce(add, subtracted)
    columns = 6 * max(total.width, y.width)
    n += columns + (2 + columns if total.lo - y.hi < 0 else 0)
  return n

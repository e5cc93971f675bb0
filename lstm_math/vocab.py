"""The symbols and their ids, in the post's order (a digit's id is its value);
padding is no symbol: the id past the last, a zero vector."""

from collections.abc import Iterable
import dataclasses
import itertools

import numpy as np

DIGITS = '0123456789'
OPERATORS = '+-*/'
SPACE = ' '
EOS = '\0'  # The post's end-of-sequence character.


@dataclasses.dataclass(frozen=True)
class Vocab:
  """The symbols of a task with `operators`, a subset of `+-*/`."""

  operators: str = '+'

  def __post_init__(self):
    if not self.operators or not set(self.operators) <= set(OPERATORS):
      raise ValueError(
        f'operators={self.operators!r}: each must be one of {OPERATORS!r}'
        ' and at least one is needed'
      )
    # Canonical order and no repeats, so that equal tasks share ids.
    canonical = ''.join(c for c in OPERATORS if c in self.operators)
    object.__setattr__(self, 'operators', canonical)

  @property
  def symbols(self) -> str:
    return DIGITS + self.operators + SPACE + EOS

  @property
  def size(self) -> int:
    """Number of symbols the model reads and predicts (13 for addition)."""
    return len(self.symbols)

  @property
  def pad_id(self) -> int:
    return self.size

  @property
  def space_id(self) -> int:
    return self.symbols.index(SPACE)

  @property
  def eos_id(self) -> int:
    return self.symbols.index(EOS)

  @property
  def minus_id(self) -> int:
    """Id of `-`, the operator and the sign of negative results."""
    if '-' in self.operators:
      return self.symbols.index('-')
    raise ValueError('this vocabulary has no minus sign')

  def op_id(self, op: str) -> int:
    return self.symbols.index(op)

  def decode(self, ids: Iterable[int]) -> str:
    """The text of `ids`, up to end-of-sequence, without pads."""
    ids = np.asarray(ids).reshape(-1).tolist()
    ids = itertools.takewhile(lambda i: i != self.eos_id, ids)
    return ''.join(self.symbols[i] for i in ids if 0 <= i < self.size)

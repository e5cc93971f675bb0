"""The character table: every symbol an equation can contain, and its ids.

One table serves every task. Its order is the post's (`'0'..'9'`, operators,
space, end-of-sequence), so that a digit's id is its value and the one-hot
columns of the post's Keras model line up with ours. A task uses only the
operators it needs: the post's addition has 13 symbols, `0-9 + ' ' '\\0'`.
Padding is not a symbol the model reads or writes: it has the id just past
the task's last symbol and enters the model as a zero vector, as in the post.
"""

from collections.abc import Iterable
from collections.abc import Sequence
import dataclasses
import itertools

import numpy as np

DIGITS = '0123456789'
OPERATORS = '+-*/'
SPACE = ' '
EOS = '\0'  # The post's end-of-sequence character.


def _show(char: str) -> str:
  """A printable name for a character, for error messages."""
  return {EOS: "'\\0' (end)", SPACE: "' ' (space)"}.get(char, repr(char))


@dataclasses.dataclass(frozen=True)
class Vocab:
  """The symbols of one task, in the post's order, plus a padding id.

  Attributes:
    operators: the task's operators, a subset of `+-*/` in that order.
  """

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

  def encode(self, text: str, length: int | None = None) -> np.ndarray:
    """Returns int32 ids of `text`, padded to `length` when given.

    Raises:
      ValueError: naming the first unknown character and what is allowed,
        or saying that `text` does not fit in `length`.
    """
    ids = []
    for pos, char in enumerate(text):
      if char not in self.symbols:
        allowed = ', '.join(_show(c) for c in self.symbols)
        raise ValueError(
          f'unknown character {_show(char)} at position {pos} of'
          f' {text[:40]!r}; allowed: {allowed}'
        )
      ids.append(self.symbols.index(char))
    if length is not None:
      if len(ids) > length:
        raise ValueError(
          f'{text[:40]!r} has {len(ids)} characters; at most {length} fit'
        )
      ids += [self.pad_id] * (length - len(ids))
    return np.asarray(ids, np.int32)

  def decode(self, ids: Iterable[int]) -> str:
    """Returns the text of `ids`, stopping at end-of-sequence, skipping pads."""
    ids = np.asarray(ids).reshape(-1).tolist()
    ids = itertools.takewhile(lambda i: i != self.eos_id, ids)
    return ''.join(self.symbols[i] for i in ids if 0 <= i < self.size)

  def decode_batch(self, ids_BxT: Sequence[Sequence[int]]) -> list[str]:
    return [self.decode(row) for row in np.asarray(ids_BxT)]

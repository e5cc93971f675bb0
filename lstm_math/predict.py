"""The predict command: expressions people type, scanned (never evaluated as
code) and answered by a trained model; a bad line gets a one-line error."""

import dataclasses
import re
import textwrap
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from lstm_math import data
from lstm_math import scoring
from lstm_math import steps
from lstm_math import vocab as vocab_lib

MAX_EXPRESSION_CHARS = 200


def parse_expression(text: str, task: data.Task):
  """(operands, ops) of `text` such as `'31 + 87'`, or a one-line ValueError."""
  if len(text) > MAX_EXPRESSION_CHARS:
    raise ValueError(
      f'expression of {len(text):,} characters; at most'
      f' {MAX_EXPRESSION_CHARS} are read'
    )
  numbers, ops = [], []
  for token in re.finditer(r'[0-9]+|[ \t]+|.', text, re.DOTALL):
    char, pos = token[0][0], token.start()
    expect_number = len(numbers) == len(ops)
    if char in vocab_lib.DIGITS:
      if not expect_number:
        raise ValueError(
          f'a number at position {pos} follows a number;'
          ' an operator must come between'
        )
      numbers.append(token[0])
    elif char in vocab_lib.OPERATORS:
      if char not in task.operators:
        raise ValueError(
          f'operator {char!r} at position {pos}: this model'
          f' knows only {" ".join(task.operators)}'
        )
      if expect_number:
        raise ValueError(
          f'operator {char!r} at position {pos} needs a number before it'
        )
      ops.append(char)
    elif char not in ' \t':
      allowed = ', '.join(repr(c) for c in vocab_lib.DIGITS + task.operators)
      raise ValueError(
        f'unknown character {ascii(char)} at position {pos};'
        f' allowed: {allowed} and spaces'
      )
  if not numbers:
    raise ValueError('empty expression')
  if len(numbers) == len(ops):
    raise ValueError(f'expression ends with operator {ops[-1]!r}')
  if len(numbers) != task.n_terms:
    raise ValueError(
      f'{len(numbers)} numbers; this model answers exactly {task.n_terms}'
    )
  operands = [int(digits) for digits in numbers]
  for x in operands:
    if not 0 <= x <= task.max_number:
      shown = str(x)[:12] + '...' if x >= 10**12 else x
      raise ValueError(
        f'operand {shown} is outside the trained range 0..{task.max_number}'
      )
  if any(op == '/' and x == 0 for op, x in zip(ops, operands[1:])):
    raise ValueError('division by zero')
  return operands, [task.operators.index(o) for o in ops]


def answer_texts(pred_NxT, task: data.Task) -> list[str]:
  """Predicted answers as people read them: `118`, or quoted as written
  (`'0018'`, `'1 8'`) unless the ids are exactly how the task writes it."""
  pred_NxT = np.asarray(pred_NxT)
  if not len(pred_NxT):
    return []
  values, valid = data.decode_target(pred_NxT, task)
  written_NxT = pred_NxT  # With steps, any readable answer is as written.
  if task.target != 'steps':
    values_N = jnp.asarray(values, jnp.int32)
    written_NxT = np.asarray(data.encode_target(values_N, task))

  def shown(row, value, ok, written):
    if ok and np.array_equal(row, written):
      return str(value)
    text = task.vocab.decode(row)
    return repr(text[::-1] if task.target == 'reversed' else text)

  return [shown(*r) for r in zip(pred_NxT, values, valid, written_NxT)]


@dataclasses.dataclass
class Predictor:
  """Answers expressions with a trained model, batched and jitted."""

  model: Any
  task: data.Task
  variables: Any

  def __post_init__(self):
    self._answer = jax.jit(self._tokens)

  def _tokens(self, variables, operands, ops):
    batch = data.make_batch(data.Equations(operands, ops), self.task)
    return scoring.predict_tokens(self.model, variables, batch.src_BxS)

  def answer_equations(self, operands_NxK, ops_NxK1):
    """(predicted values, readable flags, predicted ids) for equations."""
    n = len(operands_NxK)
    size = 1 << max(0, (n - 1).bit_length())  # Few shapes, few compiles.
    pad = lambda x: jnp.asarray(
      np.concatenate([x, np.repeat(x[:1], size - n, 0)]), jnp.int32
    )
    ids = self._answer(self.variables, pad(operands_NxK), pad(ops_NxK1))
    pred = np.asarray(ids)[:n]
    values, valid = data.decode_target(pred, self.task)
    return values, valid, pred

  def __call__(self, lines, show_steps=False) -> list[tuple[bool, str]]:
    """(ok, text) per line: `31 + 87 = 118`, or `error: ...`; `show_steps`
    (with `target='steps'`): the steps the model wrote under each answer."""
    parsed, results = {}, [None] * len(lines)  # parsed: by line number.
    for i, line in enumerate(lines):
      try:
        parsed[i] = parse_expression(line, self.task)
      except ValueError as e:
        shown = ascii(line[:40]) + ('...' if len(line) > 40 else '')
        results[i] = (False, f'{shown}: error: {e}')
    if not parsed:
      return results
    good = list(parsed.values())
    operands = np.asarray([p[0] for p in good], np.int32)
    ops = np.asarray([p[1] for p in good], np.int32).reshape(len(good), -1)
    _, _, pred = self.answer_equations(operands, ops)
    shown = answer_texts(pred, self.task)
    for j, (i, p) in enumerate(parsed.items()):
      exact = self.task.python_result(*p)
      note = '' if shown[j] == str(exact) else f'   (wrong: expected {exact})'
      text = f'{self.task.text(*p)} = {shown[j]}{note}'
      if show_steps and self.task.target == 'steps':
        written = steps.format_steps(pred[j], self.task, p[1])
        text += '\n' + textwrap.indent(written, '    ')
      results[i] = (True, text)
    return results

"""The predict command: typed expressions parsed (never eval'd) and answered."""

import dataclasses
import re
import textwrap
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from lstm_math import data
from lstm_math import lengths
from lstm_math import scoring
from lstm_math import steps
from lstm_math import vocab as vocab_lib
from lstm_math.task import MAX_DIGITS

MAX_EXPRESSION_CHARS = 200


def parse_expression(text: str, task: data.Task, longest: int = 0):
  """(operands, ops) of `text` such as `'31 + 87'`, or a one-line ValueError;
  `longest`: operands of up to that many digits are read (`dec_places`)."""
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
    shown = str(x)[:12] + '...' if x >= 10**12 else x
    if longest and x >= 10**longest:
      raise ValueError(
        f'operand {shown} has more than {longest} digits; longer sums and'
        ' differences pass int32'
      )
    if not longest and not 0 <= x <= task.max_number:
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
    # The place-coupled decoder reads longer operands with their own trace.
    self.longest = MAX_DIGITS if getattr(self.model, 'dec_places', 0) else 0
    self._jitted = {}

  def _answer(self, task, variables, operands, ops):
    if task not in self._jitted:
      model = self.model
      if self.longest:
        model = model.clone(
          tgt_len=task.tgt_len, layout=steps.place_layout(task)
        )

      def tokens(variables, operands, ops):
        batch = data.make_batch(data.Equations(operands, ops), task)
        return scoring.predict_tokens(model, variables, batch.src_BxS)

      self._jitted[task] = jax.jit(tokens)
    return self._jitted[task](variables, operands, ops)

  def task_for(self, operands) -> data.Task:
    """The task that answers `operands` (with `dec_places`, as wide as they)."""
    if not self.longest:
      return self.task
    return lengths.task_of_digits(self.task, len(str(max(operands))))

  def answer_equations(self, operands_NxK, ops_NxK1, task=None):
    """(predicted values, readable flags, predicted ids) for equations."""
    task = task or self.task
    n = len(operands_NxK)
    size = 1 << max(0, (n - 1).bit_length())  # Few shapes, few compiles.
    pad = lambda x: jnp.asarray(
      np.concatenate([x, np.repeat(x[:1], size - n, 0)]), jnp.int32
    )
    ids = self._answer(task, self.variables, pad(operands_NxK), pad(ops_NxK1))
    pred = np.asarray(ids)[:n]
    values, valid = data.decode_target(pred, task)
    return values, valid, pred

  def __call__(self, lines, show_steps=False) -> list[tuple[bool, str]]:
    """(ok, text) per line: `31 + 87 = 118`, or `error: ...`; `show_steps`
    (with `target='steps'`): the steps the model wrote under each answer."""
    parsed, results = {}, [None] * len(lines)  # parsed: by line number.
    for i, line in enumerate(lines):
      try:
        parsed[i] = parse_expression(line, self.task, self.longest)
      except ValueError as e:
        shown = ascii(line[:40]) + ('...' if len(line) > 40 else '')
        results[i] = (False, f'{shown}: error: {e}')
    if not parsed:
      return results
    by_task = {}  # Lines answered with the same task's trace, together.
    for i, p in parsed.items():
      by_task.setdefault(self.task_for(p[0]), []).append(i)
    for task, lines_ in by_task.items():
      good = [parsed[i] for i in lines_]
      operands = np.asarray([p[0] for p in good], np.int32)
      ops = np.asarray([p[1] for p in good], np.int32).reshape(len(good), -1)
      _, _, pred = self.answer_equations(operands, ops, task)
      shown = answer_texts(pred, task)
      for j, (i, p) in enumerate(zip(lines_, good)):
        exact = task.python_result(*p)
        wrong = shown[j] != str(exact)
        note = f'   (wrong: expected {exact})' if wrong else ''
        text = f'{task.text(*p)} = {shown[j]}{note}'
        if show_steps and task.target == 'steps':
          written = steps.format_steps(pred[j], task, p[1])
          text += '\n' + textwrap.indent(written, '    ')
        results[i] = (True, text)
    return results

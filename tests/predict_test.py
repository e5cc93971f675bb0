"""The predict command: parsing what people type, answering it."""

import jax
import jax.numpy as jnp
import pytest

from lstm_math import data
from lstm_math import predict
from lstm_math import steps


@pytest.mark.parametrize(
  'text, message',
  [
    ('31 x 87', "unknown character 'x' at position 3"),
    ('31 * 87', "operator '\\*' at position 3: this model knows only \\+"),
    ('31 + 870', 'operand 870 is outside the trained range 0..49'),
    ('9' * 1_000_000, 'at most 200 are read'),
    ('31 +', "ends with operator '\\+'"),
    ('+ 31', 'needs a number before it'),
    ('1 + 2 + 3', '3 numbers; this model answers exactly 2'),
    ('', 'empty expression'),
    ('3 1 + 2', 'follows a number'),
    ('31 + 8\u00e9', "unknown character '\\\\xe9'"),
  ],
)
def test_parse_expression_refuses_bad_input(text, message):
  task = data.Task(max_number=49)
  with pytest.raises(ValueError, match=message):
    predict.parse_expression(text, task)


def test_parse_expression_reads_what_people_write():
  task = data.Task(operators='+-*/', n_terms=3)
  operands, ops = predict.parse_expression(' 83 -  744*33 ', task)
  assert operands == [83, 744, 33]
  assert [task.operators[o] for o in ops] == ['-', '*']
  assert task.python_result(operands, ops) == 83 - 744 * 33
  assert task.text(operands, ops) == '83 - 744 * 33'
  operands, ops = predict.parse_expression('007 / 3 * 2', task)
  assert operands == [7, 3, 2]
  assert [task.operators[o] for o in ops] == ['/', '*']
  with pytest.raises(ValueError, match='division by zero'):
    predict.parse_expression('7 / 0 + 1', task)


def test_predict_answers_good_lines_and_reports_bad_ones(model_and_variables):
  _, setup, variables, _ = model_and_variables
  predictor = predict.Predictor(setup.model, setup.task, variables)
  results = predictor(['31 + 17', 'bad', '40+9', '1 + 99'])
  assert [ok for ok, _ in results] == [True, False, True, False]
  assert results[0][1].startswith('31 + 17 = ')
  assert results[2][1].startswith('40 + 9 = ')
  assert "'bad': error: unknown character 'b'" in results[1][1]
  assert 'outside the trained range' in results[3][1]


def test_steps_are_printed_under_the_answer_when_asked():
  # A model that always writes the trace of 31 * 87 answers that one right.
  task = data.Task(operators='*', max_number=99, target='steps')
  eqs = data.Equations(jnp.array([[31, 87]]), jnp.array([[0]]))
  trace = data.make_batch(eqs, task).tgt_BxT

  class Writes:
    def apply(self, variables, src_BxS, train=False):
      del variables, train
      one_hot = jax.nn.one_hot(trace, task.vocab.size)
      return jnp.broadcast_to(one_hot, (src_BxS.shape[0], *one_hot.shape[1:]))

  predictor = predict.Predictor(Writes(), task, {})
  ((ok, plain),) = predictor(['31 * 87'])
  assert ok and plain == '31 * 87 = 2697'
  ((ok, shown),) = predictor(['31 * 87', '2 * 3'], show_steps=True)[:1]
  lines = shown.splitlines()
  assert lines[0] == '31 * 87 = 2697'
  assert lines[1:] == [
    '    ' + line
    for line in steps.format_steps(trace[0], task, '*').splitlines()
  ]
  assert lines[-1].strip().endswith('2697'), lines
  ((_, wrong),) = predictor(['2 * 3'])
  assert wrong == '2 * 3 = 2697   (wrong: expected 6)'

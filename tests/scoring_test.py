"""Scoring on the devices: the grid agrees with predict and with Python."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lstm_math import data
from lstm_math import parallel
from lstm_math import predict
from lstm_math import scoring


def test_grid_agrees_with_predict_and_python(model_and_variables):
  config, setup, variables, _ = model_and_variables
  task = setup.task
  devices = parallel.make_devices('jit')
  pred, n_right, exact, first_wrong = scoring.Scorer(
    setup.model, task, devices, chunk=512
  )(variables, progress=False)
  assert pred.shape == (2_500, task.tgt_len)
  eqs = data.grid_equations(jnp.arange(task.grid_size), task)
  operands, ops = np.asarray(eqs.operands_BxK), np.asarray(eqs.ops_BxK1)
  predictor = predict.Predictor(setup.model, task, variables)
  values, valid, pred_again = predictor.answer_equations(operands, ops)
  np.testing.assert_array_equal(pred_again, pred)
  expected = np.asarray([a + b for a, b in operands])
  grid_right = n_right == task.tgt_len
  np.testing.assert_array_equal(grid_right, valid & (values == expected))
  np.testing.assert_array_equal(exact, grid_right)
  assert np.all(first_wrong == -1)  # Only steps have kinds of steps.
  assert 0 < grid_right.sum() < task.grid_size, 'want both right and wrong'


@pytest.mark.parametrize('mode, n', [('jit', 1), ('shard_map', 8)])
def test_scorer_traces_once_for_every_call(
  model_and_variables, monkeypatch, mode, n
):
  # The Scorer's function is traced (and compiled) once: its later chunks,
  # and later calls (one an epoch or checkpoint), must reuse it.
  _, setup, variables, _ = model_and_variables
  chex.clear_trace_counter()  # Counted by function: the other case's too.
  traced = chex.assert_max_traces(scoring.score_chunks, n=1)
  monkeypatch.setattr(scoring, 'score_chunks', traced)
  scorer = scoring.Scorer(
    setup.model, setup.task, parallel.make_devices(mode, n), chunk=128
  )
  assert scorer.size == setup.task.grid_size
  assert -(-scorer.size // scorer.per_call) > 1, 'want several chunks a call'
  first = scorer(variables, progress=False)
  # Later calls, with the same and with new weights of the same shapes: a
  # retrace (a new jit each call, arguments that change type) fails here.
  moved = jax.tree.map(lambda x: x + 0.01, variables)
  for again in (variables, moved):
    scores = scorer(again, progress=False)
    assert scores.pred_NxT.shape == (scorer.size, setup.task.tgt_len)
  np.testing.assert_array_equal(scorer(variables, False).pred_NxT, first[0])


def test_one_and_eight_devices_give_the_same_map(model_and_variables):
  _, setup, variables, _ = model_and_variables
  maps = []
  # (With parallel='pmap' the grid runs this same shard_map code.)
  for mode, n in (('jit', 1), ('shard_map', 8)):
    devices = parallel.make_devices(mode, n)
    scores = scoring.Scorer(setup.model, setup.task, devices, chunk=128)(
      variables, progress=False
    )
    maps.append(scores)
  for scores in maps[1:]:
    for got, want in zip(scores, maps[0]):
      np.testing.assert_array_equal(got, want)


def test_given_equations_take_the_grid_path_on_eight_devices(
  model_and_variables,
):
  # The held-out sample of a task without a grid is scored by the same
  # sharded, chunked code: its answers are the grid's for the same rows.
  _, setup, variables, _ = model_and_variables
  grid = scoring.Scorer(
    setup.model, setup.task, parallel.make_devices('jit'), chunk=512
  )(variables, progress=False)
  rows = np.random.default_rng(0).choice(setup.task.grid_size, 1_001)
  eqs = data.grid_equations(jnp.asarray(rows), setup.task)
  given = data.Equations(*(np.asarray(x) for x in eqs))
  scorer = scoring.Scorer(
    setup.model,
    setup.task,
    parallel.make_devices('shard_map', 8),
    chunk=64,
    given=given,
  )
  assert scorer.size == 1_001
  for got, want in zip(scorer(variables, progress=False), grid):
    np.testing.assert_array_equal(got, want[rows])

"""What several test files make: tiny configs, equations and ids from text."""

import conftest
import jax
import jax.numpy as jnp
import numpy as np

from configs import tiny
from lstm_math import data
from lstm_math import train

# For the commands tests start (a re-export: other test files import it).
XLA_FLAGS = conftest.FAST_COMPILE


def tiny_config(**sections):
  """tiny.py for 3 epochs without examples, updated by section:

  `tiny_config(model=dict(hidden_size=8), train=dict(epochs=1))`.
  """
  c = tiny.get_config()
  c.update(
    train=dict(epochs=3, examples_before=0, examples_after=0),
    devices=dict(parallel='jit'),
  )
  c.update(sections)
  return c


def initial_run(config):
  """(setup, fresh state, train set, test set, train key) of a config."""
  run = train.prepare(config)
  train_set, test_set = run.datasets()
  state = jax.jit(run.init)(run.k_init)
  return run.setup, state, train_set, test_set, run.k_train


def encode(voc, text: str, length: int | None = None) -> np.ndarray:
  """int32 ids of `text` in `voc`, padded with `voc.pad_id` to `length`."""
  ids = [voc.symbols.index(char) for char in text]
  return np.asarray(ids + [voc.pad_id] * ((length or 0) - len(ids)), np.int32)


def equations(task, texts, rows: int):
  """Equations of texts like `'13 + 8 - 74 * 33'` (spaces around ops).

  The rows repeat up to `rows`, so that every call has one shape (eager
  calls then hit the compilation cache).
  """
  operands, ops = [], []
  for text in texts:
    words = text.split(' ')
    operands.append([int(w) for w in words[::2]])
    ops.append([task.operators.index(w) for w in words[1::2]])
  return data.Equations(
    jnp.asarray(np.resize(operands, (rows, task.n_terms)), jnp.int32),
    jnp.asarray(np.resize(ops, (rows, task.n_terms - 1)), jnp.int32),
  )

"""Scoring on the device: greedy answers, chunk by chunk under `lax.map`."""

import dataclasses
import functools
from typing import Any
from typing import NamedTuple

import jax
from jax import lax
import jax.numpy as jnp
from jax.sharding import PartitionSpec as P
import numpy as np

from lstm_math import data
from lstm_math import metrics as metrics_lib
from lstm_math import parallel
from lstm_math import steps


def predict_tokens(model, variables, src_BxS):
  """Greedy answer ids [B, T] in eval mode (batch norm uses running means)."""
  logits = model.apply(variables, src_BxS, train=False)
  return jnp.argmax(logits, -1).astype(jnp.int32)


class Scores(NamedTuple):
  """The model's answers to N equations, and how right they are."""

  pred_NxT: Any  # int8 ids the model wrote
  n_right_N: Any  # int16 characters right
  exact_N: Any  # bool: the answer right (after the steps, with 'steps')
  first_wrong_N: Any  # int8: steps.KINDS of the first wrong step, or -1


def _score(model, variables, eqs: data.Equations, task: data.Task) -> Scores:
  batch = data.make_batch(eqs, task)
  pred_BxT = predict_tokens(model, variables, batch.src_BxS)
  n_right_B = (pred_BxT == batch.tgt_BxT).sum(-1)
  if task.target == 'steps':
    value_B, valid_B = steps.answer_from_steps(pred_BxT, task)
    exact_B = valid_B & (value_B == data.compute_results(eqs, task))
    first_wrong_B = steps.first_wrong_kind(pred_BxT, batch.tgt_BxT, eqs, task)
  else:
    exact_B = n_right_B == task.tgt_len
    first_wrong_B = jnp.full(exact_B.shape, -1)
  return Scores(
    pred_BxT.astype(jnp.int8),
    n_right_B.astype(jnp.int16),
    exact_B,
    first_wrong_B.astype(jnp.int8),
  )


def score_chunks(
  variables, first, given, *, model, task, size, chunk, n_chunks, axis_name=None
):
  """`Scores` of n_chunks * chunk equations from first + d * n_chunks * chunk
  on device d: the grid's, or rows of `given`; past `size` the last repeats."""
  device = 0 if axis_name is None else lax.axis_index(axis_name)
  start = first + device * n_chunks * chunk

  def one_chunk(c):
    idx = jnp.minimum(start + c * chunk + jnp.arange(chunk), size - 1)
    if given is None:
      eqs = data.grid_equations(idx, task)
    else:
      eqs = data.Equations(*(x[idx] for x in given))
    return _score(model, variables, eqs, task)

  scores = lax.map(one_chunk, jnp.arange(n_chunks))
  return Scores(*(x.reshape(-1, *x.shape[2:]) for x in scores))


@dataclasses.dataclass
class Scorer:
  """Compiles the scoring of the grid, or of `given` equations, once."""

  model: Any
  task: data.Task
  devices: parallel.Devices
  chunk: int = 16_384
  given: data.Equations | None = None  # Host arrays; None: the whole grid.
  progress_parts: int = 8  # Calls the work is cut into, for a progress bar.

  def __post_init__(self):
    n = self.devices.count
    if self.given is None:
      self.size = self.task.grid_size
    else:  # A task without a grid has no grid_size.
      self.size = len(self.given.operands_BxK)
    self.chunk = max(1, min(self.chunk, -(-self.size // n)))
    per_call = -(-self.size // self.progress_parts)
    self.n_chunks = max(1, -(-per_call // (self.chunk * n)))
    self.per_call = self.n_chunks * self.chunk * n
    sizes = dict(size=self.size, chunk=self.chunk, n_chunks=self.n_chunks)
    fn = functools.partial(
      score_chunks, model=self.model, task=self.task, **sizes
    )
    if self.devices.mode != 'jit':
      fn = self.devices.shard_map(fn, P(parallel.AXIS))
    self._fn = jax.jit(fn)

  def __call__(self, variables, progress: bool = True) -> Scores:
    """The `Scores` of all N equations, as numpy arrays."""
    variables, given = self.devices.place((variables, self.given))
    name = 'grid' if self.given is None else 'equations'
    bar = metrics_lib.Progress(self.size, name) if progress else None
    outs = []
    for first in range(0, self.size, self.per_call):
      outs.append(self._fn(variables, jnp.int32(first), given))
      if bar:
        jax.block_until_ready(outs[-1])
        bar.update(min(first + self.per_call, self.size))
    # Every process gets every answer (a few MB); process 0 writes the files.
    outs = self.devices.gather(outs)
    return Scores(*(np.concatenate(x)[: self.size] for x in zip(*outs)))


def random_held_out(key, task: data.Task, n: int, held_out: data.HeldOut):
  """`n` distinct random equations that the run has never seen."""
  chunks, keys, found, i = [], [], 0, 0
  draw = jax.jit(functools.partial(data.sample_equations, task=task, n=65_536))
  while found < n:
    eqs = draw(jax.random.fold_in(key, i))
    unseen = ~held_out.seen(eqs, task)
    eqs = data.Equations(*(np.asarray(x)[unseen] for x in eqs))
    chunks.append(eqs)
    keys.append(data.equation_keys(eqs))
    found = len(np.unique(np.concatenate(keys)))
    i += 1
    if i > 1000 and found < n:
      raise ValueError(
        f'only {found} distinct held-out equations found for eval.n_random={n}'
      )
  # The first draw of each equation, in draw order.
  _, first = np.unique(np.concatenate(keys), return_index=True)
  rows = np.sort(first)[:n]
  return data.Equations(*(np.concatenate(c)[rows] for c in zip(*chunks)))


def unseen_population(task: data.Task, held_out: data.HeldOut, limit=5 * 10**7):
  """(count, exact) of the task's equations the run never saw: enumerated up
  to `limit` without division, else the held-out share of all of them."""
  n_values = task.max_number + 1
  total = len(task.operators) ** (task.n_terms - 1) * n_values**task.n_terms
  if '/' in task.operators or total > limit:
    return int(round(total * held_out.sampling.split)), False
  count, chunk = 0, 1 << 20
  radix = [n_values] * task.n_terms + [len(task.operators)] * (task.n_terms - 1)

  @jax.jit
  def equations(idx):
    digits = []
    for r in radix:
      digits.append(idx % r)
      idx = idx // r
    operands = jnp.stack(digits[: task.n_terms], 1)
    return data.Equations(operands, jnp.stack(digits[task.n_terms :], 1))

  for first in range(0, total, chunk):
    idx = jnp.arange(first, min(first + chunk, total), dtype=jnp.int32)
    count += int(np.sum(~held_out.seen(equations(idx), task)))
  return count, True

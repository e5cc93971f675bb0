"""Device-side scoring: the model's greedy answers for many equations.

`grid_chunks` is the per-device function: from a range of grid indices it
makes the equations, their tokens and the model's answers, chunk by chunk
under `lax.map`, so memory stays bounded; `GridEvaluator` spreads it over
every device of every process, each taking a contiguous block of the grid.
`equations_chunks` scores given equations (the held-out sample of a task
without a grid) the same way.
"""

import dataclasses
import functools
from typing import Any

import jax
from jax import lax
import jax.numpy as jnp
from jax.sharding import PartitionSpec as P
import numpy as np

from lstm_math import data
from lstm_math import metrics as metrics_lib
from lstm_math import parallel


def predict_tokens(model, variables, src_BxS):
  """Greedy answer ids [B, T] in eval mode (batch norm uses running means)."""
  logits = model.apply(variables, src_BxS, train=False)
  return jnp.argmax(logits, -1).astype(jnp.int32)


def _score(model, variables, eqs: data.Equations, task: data.Task):
  batch = data.make_batch(eqs, task)
  pred_BxT = predict_tokens(model, variables, batch.src_BxS)
  right_BxT = pred_BxT == batch.tgt_BxT
  return pred_BxT.astype(jnp.int8), right_BxT.sum(-1).astype(jnp.int8)


def grid_chunks(
  variables,
  first,
  *,
  model,
  task: data.Task,
  chunk: int,
  n_chunks: int,
  axis_name=None,
):
  """Answers of grid equations [first + d * n_chunks * chunk, ...) for device d.

  Returns (pred_NxT int8, n_right_N int8) for N = n_chunks * chunk indices;
  indices past the grid repeat its last equation and are cut off by the host.
  """
  device = 0 if axis_name is None else lax.axis_index(axis_name)
  start = first + device * n_chunks * chunk
  last = task.grid_size - 1

  def one_chunk(c):
    idx = jnp.minimum(start + c * chunk + jnp.arange(chunk), last)
    return _score(model, variables, data.grid_equations(idx, task), task)

  pred, n_right = lax.map(one_chunk, jnp.arange(n_chunks))
  return pred.reshape(-1, task.tgt_len), n_right.reshape(-1)


def equations_chunks(
  variables, eqs: data.Equations, *, model, task: data.Task, chunk: int
):
  """Answers of given equations (a multiple of `chunk`), chunk by chunk."""
  eqs_c = data.Equations(*(x.reshape(-1, chunk, x.shape[-1]) for x in eqs))
  pred, n_right = lax.map(
    lambda e: _score(model, variables, data.Equations(*e), task), eqs_c
  )
  return pred.reshape(-1, task.tgt_len), n_right.reshape(-1)


@dataclasses.dataclass
class GridEvaluator:
  """Compiles the grid evaluation once for a model, task and device set."""

  model: Any
  task: data.Task
  devices: parallel.Devices
  chunk: int = 16_384
  progress_parts: int = 8  # Calls the grid is cut into, for a progress bar.

  def __post_init__(self):
    n = self.devices.count
    size = self.task.grid_size
    self.chunk = max(1, min(self.chunk, -(-size // n)))
    per_call = -(-size // self.progress_parts)
    self.n_chunks = max(1, -(-per_call // (self.chunk * n)))
    self.per_call = self.n_chunks * self.chunk * n
    fn = functools.partial(
      grid_chunks,
      model=self.model,
      task=self.task,
      chunk=self.chunk,
      n_chunks=self.n_chunks,
    )
    if self.devices.mode == 'jit':
      self._fn = jax.jit(functools.partial(fn, axis_name=None))
    else:
      self._fn = jax.jit(
        jax.shard_map(
          functools.partial(fn, axis_name=parallel.AXIS),
          mesh=self.devices.mesh,
          in_specs=(P(), P()),
          out_specs=(P(parallel.AXIS), P(parallel.AXIS)),
          check_vma=False,
        )
      )

  def __call__(self, variables, progress: bool = True):
    """(pred [N, T] int8, n_right [N] int8) for the whole grid of N."""
    variables = self.devices.place(variables)
    size = self.task.grid_size
    bar = metrics_lib.Progress(size, 'grid') if progress else None
    outs = []
    for first in range(0, size, self.per_call):
      outs.append(self._fn(variables, jnp.int32(first)))
      if bar:
        jax.block_until_ready(outs[-1])
        bar.update(min(first + self.per_call, size))
    # Every process gets the whole grid (a few MB), so any of them could
    # analyse it; process 0 writes the files.
    outs = self.devices.gather(outs)
    pred = np.concatenate([p for p, _ in outs])[:size]
    n_right = np.concatenate([r for _, r in outs])[:size]
    return pred, n_right


def random_held_out(key, task: data.Task, n: int, split: float, salt: int):
  """`n` random equations from the held-out part, never trained on."""
  chunks, found, i = [], 0, 0
  draw = jax.jit(functools.partial(data.sample_equations, task=task, n=65_536))
  while found < n:
    eqs = draw(jax.random.fold_in(key, i))
    held = np.asarray(data.is_held_out(eqs, split, salt))
    chunks.append(data.Equations(*(np.asarray(x)[held] for x in eqs)))
    found += int(held.sum())
    i += 1
  return data.Equations(*(np.concatenate(c)[:n] for c in zip(*chunks)))

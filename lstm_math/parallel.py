"""Spreading one per-device function over devices: jit, pmap or shard_map.

The per-device functions (`train.train_epoch`, `evaluate.grid_chunks`) take
an `axis_name`; this module maps them over the devices in one of three ways
and keeps the train state in the matching layout:

  'jit'        one device; the state is an ordinary pytree of arrays.
  'pmap'       `jax.pmap(..., axis_name='data')`; the state carries a leading
               device axis.
  'shard_map'  `jax.jit(jax.shard_map(...))` over a 1-D ('data',) mesh of
               every device of every host; the state is replicated.

`Devices.canonical(state)` always gives the plain single-copy state, for
checkpoints and evaluation.
"""

from collections.abc import Callable
import dataclasses
import functools
import os
from typing import Any

import jax
import jax.numpy as jnp
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P
import numpy as np

AXIS = 'data'
# Measured with 8 fake CPU devices (bench/parallel.py): see README.
DEFAULT_MULTI_DEVICE = 'shard_map'


def maybe_initialize_distributed(requested: bool) -> None:
  """Starts JAX's multi-host runtime when asked to by config or environment.

  On a TPU pod slice or a GPU cluster each process runs the same command;
  `jax.distributed.initialize()` finds the others from the environment.
  """
  from_env = 'JAX_COORDINATOR_ADDRESS' in os.environ
  if requested or from_env:
    jax.distributed.initialize()


@dataclasses.dataclass(frozen=True)
class Devices:
  """How one run spans its devices."""

  mode: str
  mesh: jax.sharding.Mesh

  @property
  def count(self) -> int:
    return self.mesh.devices.size

  def replicate(self, tree):
    """Places `tree` for the per-device function: one copy per device."""
    if self.mode == 'pmap':
      n, stacked = self.count, NamedSharding(self.mesh, P(AXIS))
      return jax.device_put(
        jax.tree.map(lambda x: jnp.broadcast_to(x, (n, *jnp.shape(x))), tree),
        stacked,
      )
    return self.place(tree)

  def _replicated(self) -> jax.sharding.Sharding:
    if self.mode == 'jit':
      return jax.sharding.SingleDeviceSharding(self.mesh.devices.flat[0])
    return NamedSharding(self.mesh, P())

  def place(self, tree):
    """One copy of `tree` for a jit or shard_map function of these devices."""
    return jax.device_put(tree, self._replicated())

  def abstract(self, shapes, replicated: bool):
    """Shapes and shardings of `replicate` (or `place`) of a tree of shapes.

    Lets a function be compiled ahead of time, before its inputs exist.
    """
    if self.mode == 'pmap' and replicated:
      return jax.tree.map(
        lambda s: jax.ShapeDtypeStruct((self.count, *s.shape), s.dtype), shapes
      )
    sharding = self._replicated()
    return jax.tree.map(
      lambda s: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=sharding),
      shapes,
    )

  def canonical(self, tree):
    """The single-copy view of a tree placed by `replicate`."""
    if self.mode == 'pmap':
      return jax.tree.map(lambda x: x[0], tree)
    return tree

  def map_epoch(self, fn: Callable[..., Any], donate: bool = True):
    """Compiles `fn(state, train_set, key, *, axis_name)` for these devices."""
    donate_argnums = (0,) if donate else ()
    if self.mode == 'jit':
      return jax.jit(
        functools.partial(fn, axis_name=None), donate_argnums=donate_argnums
      )
    if self.mode == 'pmap':
      return jax.pmap(
        functools.partial(fn, axis_name=AXIS),
        axis_name=AXIS,
        in_axes=(0, None, None),
        donate_argnums=donate_argnums,
      )
    mapped = jax.shard_map(
      functools.partial(fn, axis_name=AXIS),
      mesh=self.mesh,
      in_specs=(P(), P(), P()),
      out_specs=(P(), P()),
      check_vma=False,
    )
    return jax.jit(mapped, donate_argnums=donate_argnums)


def resolve_mode(mode: str, n_devices: int) -> str:
  if mode == 'auto':
    return 'jit' if n_devices == 1 else DEFAULT_MULTI_DEVICE
  return mode


def make_devices(mode: str = 'auto', n_devices: int | None = None) -> Devices:
  """A 1-D ('data',) mesh over the first `n_devices` devices (default all)."""
  devices = jax.devices()
  if n_devices is not None:
    if n_devices > len(devices):
      raise ValueError(f'{n_devices} devices asked for; {len(devices)} exist')
    devices = devices[:n_devices]
  mode = resolve_mode(mode, len(devices))
  if mode == 'jit' and len(devices) > 1:
    devices = devices[:1]
  return Devices(mode, jax.sharding.Mesh(np.asarray(devices), (AXIS,)))

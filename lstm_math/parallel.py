"""Spreading one per-device function over devices: jit, pmap or shard_map.

The per-device functions (`train.train_epoch`, `scoring.score_chunks`) take
an `axis_name`. Under 'jit' (one device) the train state is a plain pytree,
under 'pmap' it carries a leading device axis, and under 'shard_map' (a 1-D
('data',) mesh of every device of every host) it is replicated;
`Devices.canonical(state)` is always the single copy, for checkpoints and
evaluation.
"""

from collections.abc import Callable
import dataclasses
import functools
import os
from typing import Any

import jax
from jax._src import xla_bridge  # backends_are_initialized has no public name.
from jax.experimental import multihost_utils
import jax.numpy as jnp
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P
import numpy as np

from lstm_math import errors

AXIS = 'data'
# Measured with 8 fake CPU devices (bench/parallel.py): see README.
DEFAULT_MULTI_DEVICE = 'shard_map'


def cap_cpu_isa(isa: str) -> None:
  """Caps the instruction set XLA:CPU compiles for, before JAX starts.

  XLA compiles for the host's own instruction set by default ('native'), and
  wider vectors sum floats in another order: two x86-64 machines of one kind
  but different CPUs part in the last bits within a few epochs. With a cap
  (say 'AVX2') every machine that has it runs the same code, so the same
  floats, for the same JAX version and core count.
  """
  flag = f'--xla_cpu_max_isa={isa}'
  xla_flags = os.environ.get('XLA_FLAGS', '').split()
  if isa == 'native' or flag in xla_flags:
    return
  if any(f.startswith('--xla_cpu_max_isa=') for f in xla_flags):
    raise errors.ConfigError(
      f'cpu_isa={isa!r}: XLA_FLAGS asks for another cap ({" ".join(xla_flags)})'
    )
  if xla_bridge.backends_are_initialized():
    raise errors.ConfigError(
      f'cpu_isa={isa!r}: JAX has started already; set XLA_FLAGS={flag}'
      ' before it starts, or run launch.py'
    )
  os.environ['XLA_FLAGS'] = ' '.join([*xla_flags, flag])


def _env_int(name: str) -> int | None:
  text = os.environ.get(name)
  if not text:
    return None
  try:
    return int(text)
  except ValueError:
    raise errors.ConfigError(f'{name}={text!r}: must be an integer') from None


def maybe_initialize_distributed(
  requested: bool, timeout_s: int = 300, heartbeat_s: int = 100
) -> None:
  """Starts JAX's multi-host runtime when asked to by config or environment.

  On a TPU pod slice or a SLURM, MPI or Kubernetes GPU cluster each process
  runs the same command and `jax.distributed.initialize()` finds the others.
  Elsewhere `JAX_COORDINATOR_ADDRESS` (host:port of process 0),
  `JAX_NUM_PROCESSES` and `JAX_PROCESS_ID` say it. A process that has not
  joined within `timeout_s`, or stops answering for `heartbeat_s`, ends the
  run in every other process with an error instead of a hang; at the end a
  process waits up to `timeout_s` for the others to finish.
  """
  if jax.distributed.is_initialized():
    return
  # JAX reads JAX_COORDINATOR_ADDRESS itself; these two are passed on.
  num_processes = _env_int('JAX_NUM_PROCESSES')
  process_id = _env_int('JAX_PROCESS_ID')
  if not (requested or 'JAX_COORDINATOR_ADDRESS' in os.environ):
    if num_processes is not None or process_id is not None:
      raise errors.ConfigError(
        'JAX_NUM_PROCESSES and JAX_PROCESS_ID need JAX_COORDINATOR_ADDRESS'
        ' (host:port of process 0) beside them'
      )
    return
  if num_processes is not None and process_id is not None:
    if not 0 <= process_id < num_processes:
      raise errors.ConfigError(
        f'JAX_PROCESS_ID={process_id}: must be in [0, {num_processes})'
      )
  jax.distributed.initialize(
    num_processes=num_processes,
    process_id=process_id,
    initialization_timeout=timeout_s,
    heartbeat_timeout_seconds=heartbeat_s,
    shutdown_timeout_seconds=timeout_s,
  )


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
      stack = lambda x: jnp.broadcast_to(x, (self.count, *jnp.shape(x)))
      sharding = NamedSharding(self.mesh, P(AXIS))
      return jax.device_put(jax.tree.map(stack, tree), sharding)
    return self.place(tree)

  def _replicated(self) -> jax.sharding.Sharding:
    if self.mode == 'jit':
      return jax.sharding.SingleDeviceSharding(self.mesh.devices.flat[0])
    return NamedSharding(self.mesh, P())

  def place(self, tree):
    """One copy of `tree` for a jit or shard_map function of these devices.

    With several processes, every process passes the same values and gets
    its part of one global array (`device_put` cannot reach the devices of
    another process).
    """
    sharding = self._replicated()
    if sharding.is_fully_addressable:
      return jax.device_put(tree, sharding)
    return jax.tree.map(functools.partial(_global_copy, sharding), tree)

  def local(self, tree, single: bool = False):
    """This process's own copy of a tree placed by `place` or `replicate`.

    For work that each process does alone on one of its devices (the epoch's
    test metrics, example predictions): no collective, nothing to wait for.
    `single`: the tree is already in `canonical`'s single-copy view.
    """
    own = lambda x: x.addressable_data(0) if isinstance(x, jax.Array) else x
    return jax.tree.map(own, tree if single else self.canonical(tree))

  def gather(self, tree):
    """Numpy copies of a tree of arrays sharded over every process's devices."""
    if jax.process_count() == 1:
      return jax.tree.map(np.asarray, tree)
    return multihost_utils.process_allgather(tree, tiled=True)

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
    return jax.tree.map(lambda x: x[0], tree) if self.mode == 'pmap' else tree

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
    mapped = self.shard_map(fn, out_specs=(P(), P()))
    return jax.jit(mapped, donate_argnums=donate_argnums)

  def shard_map(self, fn: Callable[..., Any], out_specs):
    """`fn(a, b, c, *, axis_name)` over the mesh, its inputs replicated."""
    return jax.shard_map(
      functools.partial(fn, axis_name=AXIS),
      mesh=self.mesh,
      in_specs=(P(), P(), P()),
      out_specs=out_specs,
      check_vma=False,
    )


def _global_copy(sharding, x):
  if isinstance(x, jax.Array) and not x.is_fully_addressable:
    return x  # Already one array over every process's devices.
  if jnp.issubdtype(jnp.result_type(x), jax.dtypes.prng_key):
    impl = jax.random.key_impl(x)
    data = _global_copy(sharding, jax.random.key_data(x))
    return jax.random.wrap_key_data(data, impl=impl)
  return jax.make_array_from_process_local_data(sharding, np.asarray(x))


def make_devices(mode: str = 'auto', n_devices: int | None = None) -> Devices:
  """A 1-D ('data',) mesh over the first `n_devices` devices (default all)."""
  devices = jax.devices()
  if n_devices is not None:
    if n_devices > len(devices):
      raise ValueError(f'{n_devices} devices asked for; {len(devices)} exist')
    devices = devices[:n_devices]
  if mode == 'auto':
    mode = 'jit' if len(devices) == 1 else DEFAULT_MULTI_DEVICE
  if jax.process_count() > 1 and mode != 'shard_map':
    raise errors.ConfigError(
      f'parallel={mode!r}: a run over {jax.process_count()} processes'
      " needs 'shard_map' (or 'auto'), which spans every process's devices"
    )
  if mode == 'jit':
    devices = devices[:1]
  return Devices(mode, jax.sharding.Mesh(np.asarray(devices), (AXIS,)))

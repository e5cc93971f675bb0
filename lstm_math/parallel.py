"""One per-device function over the devices: by 'jit', 'pmap' or 'shard_map'."""

import dataclasses
import functools
import os

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
  """Caps the instruction set XLA:CPU compiles for, before JAX starts, so CPUs
  agree to the bit (docs/experiments.md, 'Floats across machines')."""
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
  if not (text := os.environ.get(name)):
    return None
  try:
    return int(text)
  except ValueError:
    raise errors.ConfigError(f'{name}={text!r}: must be an integer') from None


def maybe_initialize_distributed(
  requested: bool, timeout_s: int = 300, heartbeat_s: int = 100
) -> None:
  """Starts JAX's multi-host runtime when the config or environment asks; a
  process missing `timeout_s` (`heartbeat_s` once joined) is an error."""
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
    """One copy of `tree` for a jit or shard_map function of these devices;
    with several processes, every one passes the same values."""
    sharding = self._replicated()
    if sharding.is_fully_addressable:
      return jax.device_put(tree, sharding)
    return jax.tree.map(functools.partial(_global_copy, sharding), tree)

  def local(self, tree, single: bool = False):
    """This process's copy of a placed tree (`single`: already canonical)."""
    own = lambda x: x.addressable_data(0) if isinstance(x, jax.Array) else x
    return jax.tree.map(own, tree if single else self.canonical(tree))

  def gather(self, tree):
    """Numpy copies of a tree of arrays sharded over every process's devices."""
    if jax.process_count() == 1:
      return jax.tree.map(np.asarray, tree)
    return multihost_utils.process_allgather(tree, tiled=True)

  def abstract(self, shapes, replicated: bool):
    """`replicate`'s (or `place`'s) shapes and shardings, to compile early."""
    if self.mode == 'pmap' and replicated:
      to = lambda s: jax.ShapeDtypeStruct((self.count, *s.shape), s.dtype)
    else:
      sharding = self._replicated()
      to = lambda s: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=sharding)
    return jax.tree.map(to, shapes)

  def canonical(self, tree):
    """The single-copy view of a tree placed by `replicate`."""
    return jax.tree.map(lambda x: x[0], tree) if self.mode == 'pmap' else tree

  def map_epoch(self, fn, donate: bool = True):
    """Compiles `fn(state, train_set, key, *, axis_name)` for these devices."""
    donate = dict(donate_argnums=(0,) if donate else ())
    if self.mode == 'jit':
      return jax.jit(functools.partial(fn, axis_name=None), **donate)
    if self.mode == 'pmap':
      per_device = functools.partial(fn, axis_name=AXIS)
      return jax.pmap(per_device, AXIS, in_axes=(0, None, None), **donate)
    return jax.jit(self.shard_map(fn, out_specs=(P(), P())), **donate)

  def shard_map(self, fn, out_specs):
    """`fn(a, b, c, *, axis_name)` over the mesh, its inputs replicated."""
    per_device = functools.partial(fn, axis_name=AXIS)
    specs = dict(in_specs=(P(), P(), P()), out_specs=out_specs)
    return jax.shard_map(per_device, mesh=self.mesh, **specs, check_vma=False)


def _global_copy(sharding, x):
  if isinstance(x, jax.Array) and not x.is_fully_addressable:
    return x  # Already one array over every process's devices.
  if jnp.issubdtype(jnp.result_type(x), jax.dtypes.prng_key):
    data = _global_copy(sharding, jax.random.key_data(x))
    return jax.random.wrap_key_data(data, impl=jax.random.key_impl(x))
  return jax.make_array_from_process_local_data(sharding, np.asarray(x))


def make_devices(mode: str = 'auto', n_devices: int | None = None) -> Devices:
  """A 1-D ('data',) mesh over the first `n_devices` devices (default all)."""
  devices = jax.devices()
  if n_devices is not None and n_devices > len(devices):
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

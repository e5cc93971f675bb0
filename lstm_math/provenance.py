"""run.json: a run's code, machine and training set, checked when resumed."""

import hashlib
import importlib.metadata
import json
import os
import subprocess

import jax
import numpy as np

from lstm_math import data
from lstm_math import errors

RUN_FILE = 'run.json'
_PACKAGES = ('jax', 'jaxlib', 'flax', 'optax', 'orbax-checkpoint', 'numpy')


def _git(*args) -> str | None:
  here = os.path.dirname(os.path.abspath(__file__))
  try:
    out = subprocess.run(
      ['git', '-C', here, *args], capture_output=True, text=True, timeout=10
    )
  except (OSError, subprocess.SubprocessError):
    return None
  return out.stdout.strip() if out.returncode == 0 else None


def code() -> dict:
  """The commit, whether the tree differs from it, the package versions."""
  versions = {}
  for name in _PACKAGES:
    try:
      versions[name] = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
      versions[name] = None
  status = _git('status', '--porcelain', '--untracked-files=no')
  return dict(
    commit=_git('rev-parse', 'HEAD'),
    dirty=None if status is None else bool(status),
    versions=versions,
  )


def machine() -> dict:
  """The device kind and count, and the CPU cores this process may use."""
  affinity = getattr(os, 'sched_getaffinity', None)  # Not on macOS.
  cores = len(affinity(0)) if affinity else os.cpu_count()
  return dict(
    backend=jax.default_backend(),
    device_kind=jax.devices()[0].device_kind,
    devices=jax.device_count(),
    processes=jax.process_count(),
    cpu_cores=cores,
    compilation_cache=jax.config.jax_compilation_cache_dir or 'off',
  )


def _digest(*arrays) -> str:
  h = hashlib.sha256()
  for x in arrays:
    x = np.ascontiguousarray(np.asarray(x).astype('<i4'))
    h.update(str(x.shape).encode())
    h.update(x.tobytes())
  return h.hexdigest()[:16]


def train_set_fingerprint(run, datasets) -> dict:
  """Hashes of the train and test sets: a fixed sample's grid indices; a
  stream's first batch and held-out rule on a probe (a sampler change shows)."""
  train_set, test_set = datasets
  task, s = run.setup.task, run.setup.sampling
  test = _digest(test_set.eqs.operands_BxK, test_set.eqs.ops_BxK1)
  if train_set is not None:
    idx = np.sort(np.asarray(data.grid_index(train_set.eqs, task)))
    return dict(kind='fixed', equations=len(idx), train=_digest(idx), test=test)
  key = jax.random.fold_in(run.k_stream, 0)
  first = data.sample_training_equations(key, task, min(s.batch_size, 4096), s)
  probe = data.sample_equations(jax.random.key(0), task, 65_536)
  rule = data.is_held_out(probe, s.split, s.salt, s.pairs)
  train = _digest(first.operands_BxK, first.ops_BxK1, rule)
  return dict(kind='stream', train=train, test=test)


def record(run, datasets) -> dict:
  """What `run.json` holds for a run starting now."""
  prints = train_set_fingerprint(run, datasets)
  return dict(**code(), machine=machine(), data=prints)


def read(workdir: str) -> dict | None:
  path = os.path.join(workdir, RUN_FILE)
  if not os.path.exists(path):
    return None
  with open(path) as f:
    return json.load(f)


def write(workdir: str, prov: dict) -> None:
  with open(os.path.join(workdir, RUN_FILE), 'w') as f:
    json.dump(prov, f, indent=2, sort_keys=True)
    f.write('\n')


def check(run, workdir: str, datasets, *, what: str, allow_other=False):
  """The saved run.json (or None) once today's code draws the same training
  set; else refused, or with `allow_other` marked `train_set_differs`."""
  saved = read(workdir)
  if saved is None:
    return None
  now = train_set_fingerprint(run, datasets)
  if now == saved.get('data'):
    return saved
  if allow_other:
    return dict(saved, train_set_differs=True)
  raise errors.ConfigError(
    f"workdir {workdir!r}: today's code draws another training set than"
    f' the one its checkpoints were trained on ({RUN_FILE}:'
    f' {saved.get("data")}, now: {now}); {what}'
  )

"""Test set-up: 8 fake CPU devices, set before JAX starts."""

import os
import sys
import tempfile

# XLA's quickest compilation for the tests' many small programs: no
# optimisation and the older loop emitters (together about half the
# compile time of the default; what the tests check does not depend on
# them). Commands the tests start get them too (runs.XLA_FLAGS).
FAST_COMPILE = (
  '--xla_backend_optimization_level=0 --xla_cpu_use_fusion_emitters=false'
)
os.environ['XLA_FLAGS'] = ' '.join(
  [
    os.environ.get('XLA_FLAGS', ''),
    FAST_COMPILE,
    '--xla_force_host_platform_device_count=8',
  ]
).strip()
os.environ.setdefault('JAX_PLATFORMS', 'cpu')
# Commands the tests start compile into a cache of their own, shared by the
# session and never the user's (~/.cache/lstm_math).
os.environ['LSTM_MATH_CACHE'] = tempfile.mkdtemp(prefix='lstm_math_xla_')
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


import functools  # noqa: E402
import subprocess  # noqa: E402

import jax  # noqa: E402
import pytest  # noqa: E402

# The tests compile many identical programs (the same tiny config in many
# tests): the session's cache compiles each once.
jax.config.update('jax_compilation_cache_dir', os.environ['LSTM_MATH_CACHE'])
jax.config.update('jax_persistent_cache_min_compile_time_secs', 0)

from lstm_math import config as config_lib  # noqa: E402
from lstm_math import train  # noqa: E402


@pytest.fixture(scope='session')
def model_and_variables():
  """A briefly trained addition model of 0..49: some answers right, some not."""
  c = config_lib.base()
  c.task.max_number = 49
  c.data.n_examples = 1_500
  c.data.batch_size = 50
  c.model.hidden_size = 16
  c.model.batch_norm = False
  run = train.prepare(c)
  train_set, _ = run.datasets()
  state = jax.jit(run.init)(run.k_init)
  epoch = jax.jit(functools.partial(train.train_epoch, setup=run.setup))
  for _ in range(12):
    state, _ = epoch(state, train_set, run.k_train)
  variables = {'params': state.params, 'batch_stats': state.batch_stats}
  return c, run.setup, variables, train_set


class Processes:
  """Starts processes; `close` kills those still running."""

  def __init__(self):
    self.started = []

  def start(self, *args, **kwargs) -> subprocess.Popen:
    self.started.append(subprocess.Popen(*args, **kwargs))
    return self.started[-1]

  def close(self):
    for proc in self.started:
      if proc.poll() is None:
        proc.kill()
        proc.wait()


@pytest.fixture
def processes():
  """A test's `processes.start(args, ...)`: killed if running at its end.

  Pass or fail, the test leaves no process behind.
  """
  procs = Processes()
  yield procs
  procs.close()

"""bench/step_time.py reads configs as launch.py does and times real steps."""

import importlib.util
import os

import jax

from lstm_math import config as config_lib
from lstm_math import train

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _step_time():
  spec = importlib.util.spec_from_file_location(
    'step_time', os.path.join(ROOT, 'bench', 'step_time.py')
  )
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


class StepClock:
  """A clock that reads the training steps done (the state's `step` when
  the benchmark waits for it): on it, every step lasts exactly 1 second."""

  def __init__(self, block_until_ready):
    self._block = block_until_ready
    self.now = 0
    self.waited_at = []  # The state's step at each wait.

  def perf_counter(self) -> float:
    return float(self.now)

  def block_until_ready(self, state):
    state = self._block(state)
    self.now = int(state.step)
    self.waited_at.append(self.now)
    return state


def test_step_time_reads_config_arguments_and_times_steps(monkeypatch):
  step_time = _step_time()
  mul3 = step_time.load_config(os.path.join(ROOT, 'configs', 'mul.py:3'))
  mul2 = step_time.load_config(os.path.join(ROOT, 'configs', 'mul.py'))
  assert (mul3.task.max_number, mul2.task.max_number) == (999, 99)
  clock = StepClock(jax.block_until_ready)
  monkeypatch.setattr(step_time, 'time', clock)
  monkeypatch.setattr(jax, 'block_until_ready', clock.block_until_ready)
  shapes = []

  def spy(state, batch, **kwargs):
    shapes.append((batch.src_BxS.shape, batch.tgt_BxT.shape))
    return train_step(state, batch, **kwargs)

  train_step = train.train_step
  monkeypatch.setattr(train, 'train_step', spy)
  for dataset in ('fixed', 'stream'):
    small = step_time.load_config(os.path.join(ROOT, 'configs', 'tiny.py'))
    small.devices.parallel = 'jit'
    small.model.hidden_size = 8
    small.data.update(n_examples=2_000, batch_size=32, dataset=dataset)
    small.data.steps_per_epoch = 0 if dataset == 'fixed' else 30
    task = config_lib.task_of(small)
    clock.waited_at.clear()
    shapes.clear()
    seconds = step_time.step_seconds(small, steps=3, repeats=2)
    # A warm-up call, then two timed ones, each of 3 steps it waited for.
    assert clock.waited_at == [3, 6, 9], (dataset, clock.waited_at)
    # Seconds a step on a clock of one second a step: the time between the
    # waits, divided by the steps asked (not 0, not the steps of 1 call).
    assert seconds == 1.0, (dataset, seconds)
    # The steps are the config's: its batch of its task's shapes.
    want = ((32, task.src_len), (32, task.tgt_len))
    assert shapes and set(shapes) == {want}, (dataset, shapes, want)
  # --epoch: whole epochs of the epoch function, with its end's work.
  small.optim.average = 0.9
  clock.waited_at.clear()
  seconds = step_time.step_seconds(small, steps=3, repeats=2, epoch=True)
  assert clock.waited_at == [30, 60, 90] and seconds == 1.0, clock.waited_at


def test_step_time_writes_durations_in_a_readable_unit():
  duration = _step_time().duration
  assert [duration(s) for s in (5, 668, 15 * 3600)] == [
    '5 s',
    '11 min',
    '15.0 h',
  ]


def test_step_time_overrides_fields_typed_as_their_defaults():
  step_time = _step_time()
  c = step_time.load_config(os.path.join(ROOT, 'configs', 'mixed.py'))
  step_time.override(c, 'model.dec_head=512')
  step_time.override(c, 'model.dec_layers=2')
  step_time.override(c, 'model.dec_state_queries=false')
  step_time.override(c, 'optim.learning_rate=0.001')
  assert (c.model.dec_head, c.model.dec_layers) == (512, 2)
  assert c.model.dec_state_queries is False
  assert c.optim.learning_rate == 0.001
  for bad in (
    'model.dec_hed=1',
    'model.dec_head',
    'model.dec_head=wide',
    'model.dec_positions=yes',
    'nosection.x=1',
  ):
    try:
      step_time.override(c, bad)
    except SystemExit as e:
      assert bad in str(e), e
    else:
      raise AssertionError(f'{bad!r} was accepted')

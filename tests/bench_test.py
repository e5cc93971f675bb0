"""bench/step_time.py reads configs as launch.py does and times real steps."""

import importlib.util
import math
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _step_time():
  spec = importlib.util.spec_from_file_location(
    'step_time', os.path.join(ROOT, 'bench', 'step_time.py')
  )
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def test_step_time_reads_config_arguments_and_times_steps():
  step_time = _step_time()
  mul3 = step_time.load_config(os.path.join(ROOT, 'configs', 'mul.py:3'))
  mul2 = step_time.load_config(os.path.join(ROOT, 'configs', 'mul.py'))
  assert (mul3.task.max_number, mul2.task.max_number) == (999, 99)
  for dataset in ('fixed', 'stream'):
    small = step_time.load_config(os.path.join(ROOT, 'configs', 'tiny.py'))
    small.devices.parallel = 'jit'
    small.model.hidden_size = 8
    small.data.n_examples = 2_000
    small.data.dataset = dataset
    small.data.steps_per_epoch = 0 if dataset == 'fixed' else 30
    # How long is for bench/ to say; here only that real steps were timed.
    seconds = step_time.step_seconds(small, steps=2, repeats=1)
    assert math.isfinite(seconds) and seconds > 0, dataset


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

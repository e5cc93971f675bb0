"""Every config in configs/ is valid; bad values get a message naming them."""

import glob
import importlib.util
import os

import pytest

from lstm_math import config as config_lib
from lstm_math import data

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load(path):
  spec = importlib.util.spec_from_file_location('cfg', path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


@pytest.mark.parametrize(
  'path',
  sorted(glob.glob(os.path.join(ROOT, 'configs', '[!_]*.py'))),
  ids=os.path.basename,
)
def test_every_config_is_valid_and_documented(path):
  module = load(path)
  config = module.get_config()
  config_lib.validate(config)
  assert 'python launch.py --config=configs/' in module.__doc__, (
    f'{path}: the docstring must start with the command that runs it'
  )


@pytest.mark.parametrize(
  'name, arg', [('mul.py', '3'), ('mixed.py', '999'), ('add_pod.py', '4096')]
)
def test_config_arguments_make_valid_configs(name, arg):
  config = load(os.path.join(ROOT, 'configs', name)).get_config(arg)
  config_lib.validate(config)
  assert config != load(os.path.join(ROOT, 'configs', name)).get_config()


BAD = [
  (dict(batch_size=0), 'batch_size=0: must be a positive integer'),
  (dict(learning_rate=-0.1), 'learning_rate=-0.1: must be a number in'),
  (dict(learning_rate=float('nan')), 'learning_rate=nan'),
  (dict(min_number=5, max_number=3), 'max_number=3: must be >= min_number'),
  (dict(min_number=-2), 'min_number=-2: must be an integer >= 0'),
  (dict(operators='+x'), "operators='\\+x': each must be one of"),
  (dict(operators=''), "operators='': each must be one of"),
  (dict(n_terms=1), 'n_terms=1: must be an integer from 2 to 6'),
  (dict(n_terms=4, operators='*'), 'beyond int32'),
  (dict(split=1.5), 'split=1.5: must be a number between 0 and 1'),
  (dict(dataset='web'), "dataset='web': must be 'fixed' or 'stream'"),
  (dict(dataset='seed'), "dataset='seed' is now called 'fixed'"),
  (dict(weighting='mixed'), "weighting='mixed' is now called 'half_digits'"),
  (dict(dataset='stream'), 'steps_per_epoch=0: dataset=.stream. needs'),
  (dict(n_terms=3, operators='+'), "dataset='fixed' with n_terms=3"),
  (dict(n_examples=2_000_000), 'n_examples=2000000: the task has only'),
  (dict(max_number=9, n_examples=80), 'batch_size=256: larger than the'),
  (dict(parallel='gpu'), "parallel='gpu': must be auto, jit, pmap"),
  (dict(epochs=0), 'epochs=0: must be a positive integer'),
  (dict(init_scheme='he'), "init_scheme='he'"),
  (dict(dropout=1.0), 'dropout=1.0: must be a number in'),
  (dict(weight_decay=-0.1), r'weight_decay=-0.1: must be a number in \[0, 1\)'),
  (dict(weighting='log'), "weighting='log'"),
  (
    dict(carry_boost=1.0, dataset='stream', steps_per_epoch=5),
    'carry_boost=1.0: weights the fixed sample only',
  ),
  (
    dict(near_multiples=0.5, dataset='stream', steps_per_epoch=5),
    "near_multiples=0.5: draws dividends of a / b only, not operators='\\+'",
  ),
  (dict(near_multiples=0.5), 'near_multiples=0.5: weights the stream only'),
  (dict(best_by='accuracy'), "best_by='accuracy': must be 'val_loss' or"),
  (dict(near_multiples=1.5), 'near_multiples=1.5: must be a number in'),
  (
    dict(schedule='warmup_cosine', warmup_epochs=300),
    'warmup_epochs=300: must be below epochs=200',
  ),
]


@pytest.mark.parametrize('overrides, message', BAD, ids=lambda x: str(x)[:40])
def test_bad_configs_name_the_field(overrides, message):
  config = config_lib.base()
  for key, value in overrides.items():
    config[key] = value
  with pytest.raises(data.ConfigError, match=message):
    config_lib.validate(config)


def test_unknown_field_is_named():
  config = config_lib.base()
  config.batch_sise = 12
  with pytest.raises(
    data.ConfigError, match='unknown config field.*batch_sise'
  ):
    config_lib.validate(config)


def test_batch_divides_by_devices():
  with pytest.raises(data.ConfigError, match='batch_size=100: must divide'):
    config_lib.validate(_with(batch_size=100), n_devices=8)


def _with(**overrides):
  config = config_lib.base()
  config.update(overrides)
  return config

"""Every config in configs/ is valid; bad values get a message naming them."""

import glob
import importlib.util
import os

import pytest

from lstm_math import config as config_lib
from lstm_math import data
from lstm_math import errors

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
  'name, arg',
  [('mul.py', '3'), ('mul_repeat.py', '3'), ('mixed.py', '999')]
  + [('mixed_repeat.py', '999')]
  + [('add_pod.py', '4096')],
)
def test_config_arguments_make_valid_configs(name, arg):
  config = load(os.path.join(ROOT, 'configs', name)).get_config(arg)
  config_lib.validate(config)
  assert config != load(os.path.join(ROOT, 'configs', name)).get_config()


BAD = [
  ({'data.batch_size': 0}, 'batch_size=0: must be a positive integer'),
  ({'optim.learning_rate': -0.1}, 'learning_rate=-0.1: must be a number in'),
  ({'optim.learning_rate': float('nan')}, 'learning_rate=nan'),
  ({'task.operators': '+x'}, "operators='\\+x': each must be one of"),
  ({'task.operators': ''}, "operators='': each must be one of"),
  ({'task.n_terms': 1}, 'task.n_terms=1: must be an integer from 2 to 6'),
  ({'task.n_terms': 4, 'task.operators': '*'}, 'beyond int32'),
  ({'data.split': 1.5}, 'split=1.5: must be a number between 0 and 1'),
  ({'data.dataset': 'web'}, "dataset='web': must be 'fixed' or 'stream'"),
  ({'data.dataset': 'seed'}, "dataset='seed' is now called 'fixed'"),
  (
    {'data.weighting': 'mixed'},
    "weighting='mixed' is now called 'half_digits'",
  ),
  ({'data.dataset': 'stream'}, 'steps_per_epoch=0: dataset=.stream. needs'),
  (
    {'task.n_terms': 3, 'task.operators': '+'},
    "data.dataset='fixed' with task.n_terms=3",
  ),
  ({'data.n_examples': 2_000_000}, 'n_examples=2000000: the task has only'),
  (
    {'task.max_number': 9, 'data.n_examples': 80},
    'batch_size=256: larger than the',
  ),
  (
    {'devices.parallel': 'gpu'},
    "devices.parallel='gpu': must be 'auto', 'jit', 'pmap' or",
  ),
  ({'train.epochs': 0}, 'epochs=0: must be a positive integer'),
  ({'model.dec_head': -1}, 'dec_head=-1: must be an integer >= 0'),
  (
    {'model.dec_head': 64},
    "model.dec_head=64: applies to model.decoder='autoregressive' only",
  ),
  (
    {'model.decoder': 'autoregressive', 'model.dec_state_queries': True},
    'set model.dec_place_queries=True too',
  ),
  ({'model.dropout': 1.0}, 'dropout=1.0: must be a number in'),
  (
    {'optim.weight_decay': -0.1},
    r'weight_decay=-0.1: must be a number in \[0, 1\)',
  ),
  (
    {'optim.b2': 1.0},
    r'optim.b2=1.0: must be a number in \(0, 1\)',
  ),
  (
    {'optim.update_clip': -1.0},
    r'update_clip=-1.0: must be a number >= 0 \(0: off\)',
  ),
  (
    {'optim.average_bn_batches': -1},
    'average_bn_batches=-1: must be an integer >= 0',
  ),
  ({'data.weighting': 'log'}, "weighting='log'"),
  (
    {'data.digits_share': 1.0},
    r'digits_share=1.0: must be a number in \(0, 1\)',
  ),
  (
    {'data.digits_share': 0.25},
    "digits_share=0.25: mixes the draws of weighting='half_digits' only",
  ),
  (
    {
      'data.digits_share': 0.25,
      'data.weighting': 'half_digits',
      'data.dataset': 'stream',
      'data.steps_per_epoch': 5,
    },
    'digits_share=0.25: weights the fixed sample only',
  ),
  (
    {
      'data.carry_boost': 1.0,
      'data.dataset': 'stream',
      'data.steps_per_epoch': 5,
    },
    'carry_boost=1.0: weights the fixed sample only',
  ),
  (
    {
      'data.near_multiples': 0.5,
      'data.dataset': 'stream',
      'data.steps_per_epoch': 5,
    },
    "near_multiples=0.5: draws dividends of a / b only, not operators='\\+'",
  ),
  ({'data.near_multiples': 0.5}, 'near_multiples=0.5: weights the stream only'),
  (
    {'train.best_by': 'accuracy'},
    "train.best_by='accuracy': must be 'val_loss', 'val_exact_match' or",
  ),
  ({'data.near_multiples': 1.5}, 'near_multiples=1.5: must be a number in'),
  (
    {'optim.schedule': 'warmup_cosine', 'optim.warmup_epochs': 300},
    'optim.warmup_epochs=300: must be below train.epochs=200',
  ),
  (
    {'model.decoder': 'autoregressive'},
    "model.batch_norm=True: applies to model.decoder='repeat' only",
  ),
  (
    {'task.max_number': 99_999},
    'max_number=99999: its grid of 10,000,000,000 equations cannot be'
    ' numbered by int32',
  ),
  (
    {'task.max_number': 29_999},
    'max_number=29999: scoring its grid of 900,000,000 equations needs about'
    ' 59 GiB',
  ),
]


@pytest.mark.parametrize('overrides, message', BAD, ids=lambda x: str(x)[:40])
def test_bad_configs_name_the_field(overrides, message):
  config = config_lib.base()
  config.update_from_flattened_dict(overrides)
  with pytest.raises(errors.ConfigError, match=message):
    config_lib.validate(config)


def test_unknown_field_is_named():
  config = config_lib.base()
  config.batch_sise = 12
  with pytest.raises(
    errors.ConfigError, match='unknown config field.*batch_sise'
  ):
    config_lib.validate(config)


def test_batch_divides_by_devices():
  with pytest.raises(errors.ConfigError, match='batch_size=100: must divide'):
    config_lib.validate(_with(data=dict(batch_size=100)), n_devices=8)
  with pytest.raises(errors.ConfigError, match='batch_size=100: must divide'):
    config_lib.check_devices(_with(data=dict(batch_size=100)), 8)


def test_the_data_modules_defaults_are_the_posts():
  # data.Task and data.Sampling default to the post, as base() does.
  config = config_lib.base()
  assert config_lib.task_of(config) == data.Task()
  assert config_lib.sampling_of(config) == data.Sampling()


def _with(**overrides):
  config = config_lib.base()
  config.update(overrides)
  return config


def test_saved_configs_read_removed_options_at_the_value_run_today():
  saved = config_lib.base().to_dict()
  saved['task']['min_number'] = 0  # As a run of an older version saved it.
  saved['model']['dec_hidden'] = 0
  flat = config_lib.from_saved(saved)
  assert flat == config_lib.flatten(config_lib.base().to_dict())
  saved['model']['dec_hidden'] = 96  # A decoder today's code cannot build.
  with pytest.raises(
    errors.ConfigError, match='model.dec_hidden=96: this option was removed'
  ):
    config_lib.from_saved(saved)

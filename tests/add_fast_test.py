"""configs/add_fast.py: the post's task, data and model, trained faster."""

import importlib.util
import os

from lstm_math import config as config_lib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# What the fast recipe may change: how the model is trained, how wide it is,
# when it stops and what it writes. Everything else (the task, how equations
# are written, the sample and its split, the layers) must be the post's.
MAY_CHANGE = frozenset(
  {
    'model.hidden_size',
    'model.init_scheme',
    'data.batch_size',
    'optim.learning_rate',
    'optim.schedule',
    'optim.warmup_epochs',
    'optim.adam_eps',
    'optim.grad_clip',
    'train.epochs',
    'train.stop_exact',
    'train.best_by',
    'train.checkpoint_every',
    'train.examples_before',
    'train.examples_after',
    'eval.grid',
  }
)


def _config(name):
  spec = importlib.util.spec_from_file_location(
    name, os.path.join(ROOT, 'configs', f'{name}.py')
  )
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config()


def test_add_fast_changes_only_how_the_post_is_trained():
  fast, post = _config('add_fast'), _config('add')
  config_lib.validate(fast)
  fast_fields = config_lib.flatten(fast)
  post_fields = config_lib.flatten(post)
  changed = sorted(k for k in post_fields if fast_fields[k] != post_fields[k])
  assert set(changed) <= MAY_CHANGE, (
    f'configs/add_fast.py changes {sorted(set(changed) - MAY_CHANGE)}:'
    " the post's task, data and model family must stay as in add.py"
  )
  assert sorted(fast_fields) == sorted(post_fields)
  assert fast.train.stop_exact == 0.999, (
    "the post's result is exact-match 0.999"
  )


def test_add_py_is_still_the_post():
  assert _config('add') == config_lib.base(), (
    "configs/add.py must stay the post's recipe, config.base()"
  )

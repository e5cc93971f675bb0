"""configs/add_fast.py: the post's task, data and model, trained faster."""

import importlib.util
import os

from lstm_math import config as config_lib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The post's experiment, written out from the post (not read from base()):
# the task, the sample and its split, the model and how it was trained.
POST = {
  'task.operators': '+',
  'task.n_terms': 2,
  'task.max_number': 999,
  'task.target': 'answer',
  'data.dataset': 'fixed',
  'data.n_examples': 30_000,
  'data.split': 0.1,
  'data.distinct_operands': True,
  'data.batch_size': 256,
  'model.hidden_size': 20,
  'model.enc_layers': 1,
  'model.dec_layers': 1,
  'model.batch_norm': True,
  'model.dropout': 0.0,
  'model.decoder': 'repeat',
  'optim.learning_rate': 0.01,
  'optim.schedule': 'constant',
  'optim.weight_decay': 0.0,
  'train.epochs': 200,
}

# Every field configs/add_fast.py changes from config.base(), and to what:
# how the model is trained, how wide it is, when it stops, what it writes.
FAST_CHANGES = {
  'data.batch_size': 128,
  'model.hidden_size': 32,
  'optim.learning_rate': 0.02,
  'optim.schedule': 'warmup_cosine',
  'optim.warmup_epochs': 1,
  'train.epochs': 22,
  'train.stop_exact': 0.999,  # The post's result: exact-match 0.999.
  'train.best_by': 'last',
  'train.checkpoint_every': 1000,
  'train.examples_before': 0,
  'train.examples_after': 0,
  'eval.grid': False,
}

# Of the post's task, sample and model, only these may differ: the batch the
# sample is fed in and the width (the layers, decoder and all else stay).
SAME_POST_BUT = frozenset({'data.batch_size', 'model.hidden_size'})


def _config(name):
  spec = importlib.util.spec_from_file_location(
    name, os.path.join(ROOT, 'configs', f'{name}.py')
  )
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config()


def _changed(config, base):
  return {k: v for k, v in config.items() if base.get(k, object()) != v}


def test_add_fast_keeps_the_posts_task_sample_and_model():
  fast = config_lib.flatten(_config('add_fast'))
  base = config_lib.flatten(config_lib.base())
  assert sorted(fast) == sorted(base), 'add_fast.py adds or drops fields'
  post_fields = [
    k for k in base if k == 'seed' or k.startswith(('task.', 'data.', 'model.'))
  ]
  assert len(post_fields) > 20, post_fields  # The sections were found.
  differ = {
    k: (base[k], fast[k])
    for k in post_fields
    if k not in SAME_POST_BUT and fast[k] != base[k]
  }
  assert not differ, (
    f"configs/add_fast.py changes the post's task, sample or model"
    f' (base -> fast): {differ}'
  )


def test_add_fast_changes_exactly_the_listed_fields():
  fast = config_lib.flatten(_config('add_fast'))
  base = config_lib.flatten(config_lib.base())
  changed = _changed(fast, base)
  unlisted = {k: v for k, v in changed.items() if k not in FAST_CHANGES}
  assert not unlisted, f'add_fast.py changes fields not listed: {unlisted}'
  off = {
    k: (v, changed.get(k, base[k]))
    for k, v in FAST_CHANGES.items()
    if changed.get(k, base[k]) != v
  }
  assert not off, f'add_fast.py sets other values (listed, got): {off}'
  config_lib.validate(_config('add_fast'))


def test_base_and_add_py_are_the_post():
  # base() against the post's values written out, not against itself.
  for name, config in (
    ('config.base()', config_lib.base()),
    ('configs/add.py', _config('add')),
  ):
    fields = config_lib.flatten(config)
    got = {k: fields.get(k, '(missing)') for k in POST}
    wrong = {k: (POST[k], got[k]) for k in POST if got[k] != POST[k]}
    assert not wrong, f'{name} is not the post (post, got): {wrong}'
  assert _config('add') == config_lib.base(), (
    "configs/add.py must stay the post's recipe, config.base()"
  )

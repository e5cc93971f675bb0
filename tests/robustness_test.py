"""Bad input, interruption and repetition: nothing lost, every mistake named."""

import json
import os
import signal
import subprocess
import sys
import time

from conftest import Processes
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
import jax
import jax.numpy as jnp
import pytest
import runs
from runs import tiny_config

from lstm_math import checkpoint as checkpoint_lib
from lstm_math import config as config_lib
from lstm_math import data
from lstm_math import errors
from lstm_math import model as model_lib
from lstm_math import predict
from lstm_math import train

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TASK = data.Task(operators='+-*/', n_terms=3, max_number=99)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_parser_answers_any_text_with_a_result_or_a_value_error(text):
  try:
    operands, ops = predict.parse_expression(text, TASK)
  except ValueError as e:
    assert '\n' not in str(e) and str(e), repr(e)
    return
  assert len(operands) == 3 and len(ops) == 2
  assert all(0 <= x <= 99 for x in operands)
  # The canonical text reads back as the same equation.
  assert predict.parse_expression(TASK.text(operands, ops), TASK) == (
    operands,
    ops,
  )


@settings(max_examples=300, deadline=None)
@given(
  st.lists(st.integers(0, 99), min_size=3, max_size=3),
  st.lists(st.sampled_from('+-*/'), min_size=2, max_size=2),
  st.sampled_from(['', ' ', '  ']),
)
def test_parser_reads_every_well_formed_expression(operands, ops, gap):
  ops = [op if op != '/' or x else '+' for op, x in zip(ops, operands[1:])]
  text = gap.join(
    [str(operands[0])] + [f'{op}{gap}{x}' for op, x in zip(ops, operands[1:])]
  )
  got_operands, got_ops = predict.parse_expression(text, TASK)
  assert got_operands == operands
  assert [TASK.operators[o] for o in got_ops] == ops


@pytest.fixture(scope='module')
def predictor():
  model = model_lib.Seq2Seq(
    n_symbols=TASK.vocab.size, tgt_len=TASK.tgt_len, hidden=8
  )
  variables = model.init(
    jax.random.key(0), jnp.zeros((1, TASK.src_len), jnp.int32)
  )
  return predict.Predictor(model, TASK, variables)


@settings(max_examples=40, deadline=None)
@given(
  st.lists(
    st.one_of(
      st.text(max_size=30),
      st.from_regex(
        r'\A[0-9]{1,3} ?[-+*/] ?[0-9]{1,3} ?'
        r'[-+*/] ?[0-9]{1,3}\Z'
      ),
    ),
    min_size=1,
    max_size=6,
  )
)
def test_predict_answers_every_line_without_crashing(predictor, lines):
  results = predictor(lines)
  assert len(results) == len(lines)
  for ok, text in results:
    assert '\n' not in text
    if ok:
      assert ' = ' in text, text
    else:
      assert 'error: ' in text, text


def test_predict_survives_a_megabyte_of_digits(predictor):
  [(ok, text)] = predictor(['9' * 1_000_000])
  assert not ok and 'at most 200' in text and len(text) < 200


def test_unwritable_workdir_fails_fast(tmp_path):
  blocker = tmp_path / 'file'
  blocker.write_text('not a directory')
  with pytest.raises(errors.ConfigError, match='is not writable'):
    train.check_workdir(str(blocker / 'run'))


@pytest.mark.parametrize('damaged', ['metadata', 'data'])
def test_damaged_checkpoint_falls_back_to_the_previous_one(tmp_path, damaged):
  ckpt = checkpoint_lib.Checkpointer(str(tmp_path))
  for epoch in (1, 2):
    ckpt.save(epoch, {'w': jnp.full((64,), float(epoch))}, 1.0 / epoch, 0.5)
  ckpt.close()
  # Damage epoch 2 as a crash mid-write or a bad disk might: its metadata
  # (Orbax reads it on opening the folder) or only its arrays.
  top = tmp_path / '2' / ('default' if damaged == 'data' else '')
  for folder, _, files in os.walk(top):
    for name in files:
      if name not in ('_CHECKPOINT_METADATA', 'commit_success.txt'):
        with open(os.path.join(folder, name), 'wb') as f:
          f.write(b'\x00garbage')
  messages = []
  ckpt = checkpoint_lib.Checkpointer(str(tmp_path), say=messages.append)
  state, epoch = ckpt.restore_latest({'w': jnp.zeros((64,))})
  assert epoch == 1 and float(state['w'][0]) == 1.0
  assert 'epoch 2' in messages[0], messages
  assert 'unreadable' in messages[0] and '\n' not in messages[0]
  # Set aside, so that epoch 2 can be trained and saved again.
  assert ckpt.epochs() == [1], messages
  assert (tmp_path.parent / f'{tmp_path.name}_unreadable' / '2').is_dir()


@pytest.mark.parametrize(
  'best_by, best',
  [('val_loss', 2), ('val_exact_match', 4), ('last', 5)],
)
def test_best_checkpoint_by_loss_exact_match_or_last(tmp_path, best_by, best):
  # (val_loss, val_exact_match) by epoch: the loss is lowest at epoch 2,
  # exact-match highest at epochs 3 and 4, where the lower loss breaks the
  # tie; epoch 5, the newest, is worse by both.
  history = {
    1: (0.9, 0.2),
    2: (0.1, 0.6),
    3: (0.5, 0.8),
    4: (0.4, 0.8),
    5: (0.6, 0.7),
  }
  for _ in range(2):  # Once as the run saves, once as --mode=eval reopens.
    ckpt = checkpoint_lib.Checkpointer(
      str(tmp_path), keep_latest=1, best_by=best_by
    )
    if not ckpt.epochs():
      for epoch, (loss, exact) in history.items():
        ckpt.save(epoch, {'w': jnp.full((4,), float(epoch))}, loss, exact)
    assert ckpt.best_epoch() == best
    assert ckpt.metrics(best)['val_loss'] == history[best][0]
    restored = ckpt.restore(best, {'w': jnp.zeros((4,))})
    assert float(restored['w'][0]) == best
    # Kept: the newest (keep_latest=1) and the best, nothing else.
    assert ckpt.epochs() == sorted({best, 5})
    ckpt.close()


def test_no_readable_checkpoint_returns_none(tmp_path):
  ckpt = checkpoint_lib.Checkpointer(str(tmp_path))
  assert ckpt.restore_latest({'w': jnp.zeros(3)}) is None


def launch(processes, workdir, *extra, env=None):
  env = dict(
    os.environ,
    XLA_FLAGS=runs.XLA_FLAGS,
    PYTHONWARNINGS='ignore',
    **(env or {}),
  )
  return processes.start(
    [
      sys.executable,
      os.path.join(ROOT, 'launch.py'),
      '--config=configs/tiny.py',
      f'--workdir={workdir}',
      '--config.data.n_examples=9000',
      '--config.train.epochs=4',
      '--config.eval.grid=False',
      '--config.devices.parallel=jit',
      '--config.train.examples_before=0',
      '--config.train.examples_after=0',
      *extra,
    ],
    cwd=ROOT,
    env=env,
    stdout=subprocess.PIPE,
    stderr=subprocess.STDOUT,
    text=True,
  )


def metric_rows(workdir):
  path = os.path.join(workdir, 'metrics.jsonl')
  if not os.path.exists(path):
    return []

  return [json.loads(line) for line in open(path) if line.endswith('\n')]


def wait_for_checkpoint(run, workdir, epoch=1):
  """Until `epoch` has its row and its checkpoint (written in that order)."""
  deadline = time.time() + 240
  saved = os.path.join(workdir, 'checkpoints', str(epoch))
  while not (len(metric_rows(workdir)) >= epoch and os.path.isdir(saved)):
    assert time.time() < deadline, f'no epoch {epoch} within 240 s'
    assert run.poll() is None, run.communicate()[0][-2000:]
    time.sleep(0.01)


@pytest.fixture(scope='module')
def whole_rows(tmp_path_factory):
  """The uninterrupted run's rows (less elapsed_s); it runs beside the tests."""
  workdir = str(tmp_path_factory.mktemp('whole'))
  procs = Processes()
  run = launch(procs, workdir)
  done = []

  def rows():
    if not done:
      out = run.communicate(timeout=240)[0]
      assert run.returncode == 0, out[-2000:]
      done.extend(metric_rows(workdir))
      for row in done:
        row.pop('elapsed_s')
    return done

  yield rows
  procs.close()


def assert_same_rows(workdir, whole_rows):
  rows = metric_rows(workdir)
  assert [r['epoch'] for r in rows] == [1, 2, 3, 4]
  for row in rows:
    row.pop('elapsed_s')
  assert rows == whole_rows()


def test_ctrl_c_stops_after_the_epoch_and_still_reports(tmp_path, processes):
  workdir = str(tmp_path)
  run = launch(
    processes,
    workdir,
    '--config.train.epochs=50',
    '--config.train.examples_after=3',
  )
  wait_for_checkpoint(run, workdir)
  before = len(metric_rows(workdir))
  run.send_signal(signal.SIGINT)
  after = len(metric_rows(workdir))  # The epoch may have ended meanwhile.
  out = run.communicate(timeout=240)[0]
  assert run.returncode == 0, out[-2000:]
  assert 'caught SIGINT: stopping after this epoch' in out, out[-2000:]
  assert 'examples after training:' in out
  rows = metric_rows(workdir)
  # It finished the epoch in progress, and no other.
  assert before + 1 <= len(rows) <= after + 1, (before, after, len(rows))
  assert [r['epoch'] for r in rows] == list(range(1, len(rows) + 1))
  last = os.path.join(workdir, 'checkpoints', str(len(rows)))
  assert os.path.isdir(last), 'the last epoch must have its checkpoint'
  assert os.path.exists(os.path.join(workdir, 'accuracy.png'))


def _tiny(**sections):
  c = tiny_config(train=dict(epochs=1), eval=dict(grid=False))
  c.update(sections)
  return c


def test_resume_with_another_config_fails_fast_and_keeps_the_run(tmp_path):
  workdir = str(tmp_path)
  train.train_and_evaluate(_tiny(), workdir)
  saved = open(os.path.join(workdir, 'config.json')).read()
  with pytest.raises(errors.ConfigError) as e:
    train.train_and_evaluate(
      _tiny(optim=dict(weight_decay=0.1), model=dict(hidden_size=8)), workdir
    )
  message = str(e.value)
  assert (
    'model.hidden_size 16 -> 8, optim.weight_decay 0.0 -> 0.1' in message
  ), message
  assert '\n' not in message and 'another --workdir' in message
  assert open(os.path.join(workdir, 'config.json')).read() == saved
  # How long it runs and what it reports may change: this resumes.
  summary = train.train_and_evaluate(
    _tiny(train=dict(epochs=2, best_by='val_exact_match')), workdir
  )
  assert summary['last_epoch']['epoch'] == 2


def test_config_json_from_before_a_field_existed_still_resumes(tmp_path):
  config = _tiny()
  os.makedirs(tmp_path / 'checkpoints' / '1')
  # A flat config.json, written before the config had sections,
  older = {k.split('.')[-1]: v for k, v in config_lib.flatten(config).items()}
  for new, old in (('chunk', 'eval_chunk'), ('n_random', 'eval_random')):
    older[old] = older.pop(new)
  older['eval_grid'] = older.pop('grid')
  del older['weight_decay']  # before the field existed,
  older['dataset'] = 'seed'  # and before 'fixed' was so called.
  (tmp_path / 'config.json').write_text(json.dumps(older))
  train.check_same_run(config, str(tmp_path))  # Its default: the same run.
  with pytest.raises(
    errors.ConfigError, match=r'optim.weight_decay 0.0 -> 0.2'
  ):
    train.check_same_run(_tiny(optim=dict(weight_decay=0.2)), str(tmp_path))
  # Without checkpoints there is no run to continue.
  os.rmdir(tmp_path / 'checkpoints' / '1')
  train.check_same_run(_tiny(optim=dict(weight_decay=0.2)), str(tmp_path))


@pytest.mark.parametrize('schedule', ['warmup_cosine'])
def test_lengthening_a_decaying_schedule_is_refused(tmp_path, schedule):
  config = _tiny(optim=dict(schedule=schedule, warmup_epochs=0))
  os.makedirs(tmp_path / 'checkpoints' / '1')
  (tmp_path / 'config.json').write_text(config.to_json_best_effort())
  with pytest.raises(errors.ConfigError) as e:
    train.check_same_run(
      _tiny(optim=dict(schedule=schedule), train=dict(epochs=3)), str(tmp_path)
    )
  message = str(e.value)
  assert 'train.epochs 1 -> 3' in message, message
  assert f"optim.schedule='{schedule}'" in message, message
  # A constant learning rate has nothing to stretch: it may run longer.
  constant = str(tmp_path / 'constant')
  os.makedirs(os.path.join(constant, 'checkpoints', '1'))
  with open(os.path.join(constant, 'config.json'), 'w') as f:
    f.write(_tiny().to_json_best_effort())
  train.check_same_run(_tiny(train=dict(epochs=3)), constant)


def test_no_readable_checkpoint_starts_fresh_and_saves_over_them(tmp_path):
  workdir = str(tmp_path)
  config = _tiny(train=dict(epochs=2))
  train.train_and_evaluate(config, workdir)
  folder = os.path.join(workdir, 'checkpoints')
  for epoch in os.listdir(folder):  # The arrays of every checkpoint.
    for root, _, files in os.walk(os.path.join(folder, epoch, 'default')):
      for name in files:
        if name != 'commit_success.txt':
          with open(os.path.join(root, name), 'wb') as f:
            f.write(b'\x00garbage')
  with open(os.path.join(workdir, 'metrics.jsonl'), 'a') as f:
    f.write(json.dumps({'epoch': 7, 'train_loss': 1.0}) + '\n')
  summary = train.train_and_evaluate(config, workdir)
  assert summary['last_epoch']['epoch'] == 2
  rows = [
    json.loads(line) for line in open(os.path.join(workdir, 'metrics.jsonl'))
  ]
  assert [r['epoch'] for r in rows] == [1, 2], 'old rows must be dropped'
  ckpt = checkpoint_lib.Checkpointer(folder)
  assert ckpt.epochs() == [1, 2]
  assert int(ckpt.restore(2, None)['step']) > 0
  ckpt.close()
  assert sorted(os.listdir(folder + '_unreadable')) == ['1', '2']


def test_killed_twice_then_resumed_equals_an_uninterrupted_run(
  tmp_path, whole_rows, processes
):
  broken = str(tmp_path / 'broken')
  # SIGKILL at the worst moment: epoch 2's row is on disk, its checkpoint
  # is not.
  run = launch(processes, broken, env={train.FAULT_ENV: 'after_row:2'})
  out = run.communicate(timeout=240)[0]
  assert run.returncode == -signal.SIGKILL, out[-2000:]
  assert [r['epoch'] for r in metric_rows(broken)] == [1, 2]
  assert not os.path.exists(os.path.join(broken, 'checkpoints', '2'))
  # Resumed, then SIGKILL again at whatever it does once epoch 2 is saved.
  resumed = launch(processes, broken)
  wait_for_checkpoint(resumed, broken, epoch=2)
  resumed.send_signal(signal.SIGKILL)
  out_resumed = resumed.communicate(timeout=240)[0]
  assert 'resumed from the checkpoint of epoch 1' in out_resumed, out_resumed
  epochs_done = len(metric_rows(broken))
  assert 2 <= epochs_done < 4, f'the kill came too late ({epochs_done})'
  last = launch(processes, broken)
  out_last = last.communicate(timeout=240)[0]
  assert last.returncode == 0, out_last[-2000:]
  assert 'resumed from the checkpoint of epoch' in out_last, out_last
  assert_same_rows(broken, whole_rows)

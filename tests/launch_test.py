"""The command line, as a user types it: train, eval, predict, mistakes."""

import json
import os
import shutil
import subprocess
import sys

import jax
import pytest
import runs

from configs import tiny
from lstm_math import errors
from lstm_math import train

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def launch(*args, stdin=None, xla_flags='', env=None):
  env = dict(
    os.environ,
    XLA_FLAGS=f'{runs.XLA_FLAGS} {xla_flags}',
    PYTHONWARNINGS='ignore',
    **(env or {}),
  )
  return subprocess.run(
    [sys.executable, os.path.join(ROOT, 'launch.py'), *args],
    input=stdin,
    capture_output=True,
    text=True,
    cwd=ROOT,
    env=env,
    timeout=300,
  )


def train_tiny(workdir):
  """tiny.py for 2 epochs in `workdir`: the finished run's output."""
  run = launch(
    '--config=configs/tiny.py',
    f'--workdir={workdir}',
    '--config.train.epochs=2',
  )
  assert run.returncode == 0, run.stderr[-3000:]
  return run


@pytest.fixture(scope='module')
def workdir(tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp('cli'))
  run = train_tiny(workdir)
  assert 'trainable parameters' in run.stdout
  assert 'epoch 2/2' in run.stdout
  assert 'examples after training:' in run.stdout
  assert 'Evaluated every equation of the grid' in run.stdout
  return workdir


def test_eval_mode_rewrites_the_evaluation(workdir):
  path = os.path.join(workdir, 'eval.json')
  with open(path) as f:
    trained = json.load(f)
  os.remove(path)
  run = launch(
    '--config=configs/tiny.py', f'--workdir={workdir}', '--mode=eval'
  )
  assert run.returncode == 0, run.stderr[-3000:]
  with open(path) as f:
    again = json.load(f)
  # The best checkpoint, reloaded, answers as it did at the end of training.
  assert again['equations'] == 10_000
  trained.pop('seconds'), again.pop('seconds')
  assert again == trained


def test_a_finished_run_started_again_trains_nothing(workdir):
  with open(os.path.join(workdir, 'metrics.jsonl')) as f:
    before = f.read()
  steps = sorted(os.listdir(os.path.join(workdir, 'checkpoints')))
  run = train_tiny(workdir)  # Again: it has trained its 2 epochs.
  assert 'finished at epoch 2 (train.epochs=2): nothing to train' in run.stdout
  assert 'epoch 3' not in run.stdout and 'Evaluated every' in run.stdout
  with open(os.path.join(workdir, 'metrics.jsonl')) as f:
    assert f.read() == before, 'a row was added or changed'
  assert sorted(os.listdir(os.path.join(workdir, 'checkpoints'))) == steps


def test_another_training_set_is_refused_or_flagged(workdir, tmp_path):
  moved = str(tmp_path / 'run')
  shutil.copytree(workdir, moved)
  with open(os.path.join(moved, 'run.json')) as f:
    prov = json.load(f)
  assert prov['data']['kind'] == 'fixed' and prov['data']['equations'] == 1_800
  assert prov['versions']['jax'] == jax.__version__ and prov['commit']
  # As if the sampling code had changed since the checkpoints were trained.
  prov['data']['train'] = '0' * 16
  with open(os.path.join(moved, 'run.json'), 'w') as f:
    json.dump(prov, f)
  tiny_args = ('--config=configs/tiny.py', f'--workdir={moved}')
  for args in (('--config.train.epochs=3',), ('--mode=eval',)):
    run = launch(*tiny_args, *args)
    assert run.returncode == 2, run.stderr[-3000:]
    assert 'draws another training set' in run.stderr, run.stderr[-3000:]
  run = launch(*tiny_args, '--mode=eval', '--allow_other_train_set')
  assert run.returncode == 0, run.stderr[-3000:]
  assert 'not known' in run.stdout
  with open(os.path.join(moved, 'eval.json')) as f:
    assert json.load(f)['provenance']['train_set_differs'] is True


def test_predict_answers_and_reports(workdir):
  run = launch(
    '--config=configs/tiny.py',
    f'--workdir={workdir}',
    '--mode=predict',
    stdin='31 + 17\n2 ** 3\n\n4+5\n',
  )
  assert run.returncode == 1, 'a bad line must make the exit status non-zero'
  out = run.stdout.splitlines()
  assert out[0].startswith('31 + 17 = ') and out[1].startswith('4 + 5 = ')
  errors = run.stderr.strip().splitlines()[-2:]
  assert "'2 ** 3': error: operator '*'" in errors[0], run.stderr
  assert "'': error: empty expression" in errors[1], run.stderr
  ok = launch(
    '--config=configs/tiny.py',
    f'--workdir={workdir}',
    '--mode=predict',
    '--expr=1 + 1',
  )
  assert ok.returncode == 0 and ok.stdout.startswith('1 + 1 = ')


def test_mistakes_get_one_line_answers(tmp_path):
  typo = launch('--config=configs/tiny.py', '--config.batch_sise=3')
  assert typo.returncode == 2, typo.stderr[-2000:]
  assert typo.stderr.strip().splitlines() == [
    "error: --config.batch_sise: no config field 'batch_sise'; did you"
    ' mean data.batch_size or model.batch_norm?'
  ], typo.stderr[-2000:]
  section = launch('--config=configs/tiny.py', '--config.model.hiden_size=3')
  assert section.returncode == 2, section.stderr[-2000:]
  assert section.stderr.strip().splitlines() == [
    "error: --config.model.hiden_size: no config field 'model.hiden_size';"
    ' did you mean model.hidden_size or data.batch_size?'
  ], section.stderr[-2000:]
  bad = launch(
    '--config=configs/tiny.py',
    '--config.task.max_number=-5',
    f'--workdir={tmp_path}',
  )
  assert bad.returncode == 2
  assert 'task.max_number=-5: must be an integer >= 0' in bad.stderr
  assert 'Traceback' not in bad.stderr
  empty = launch(
    '--config=configs/tiny.py', '--mode=eval', f'--workdir={tmp_path}/none'
  )
  assert empty.returncode == 2 and 'has no checkpoint' in empty.stderr


def test_cpu_isa_caps_the_instruction_set_xla_compiles_for(tmp_path):
  short = (
    '--config=configs/tiny.py',
    '--config.train.epochs=2',
    '--config.eval.grid=False',
    '--config.train.examples_before=0',
    '--config.train.examples_after=0',
  )
  capped = launch(
    *short, f'--workdir={tmp_path}/a', '--config.devices.cpu_isa=AVX2'
  )
  assert capped.returncode == 0, capped.stderr[-3000:]
  assert 'XLA:CPU compiles for at most AVX2' in capped.stdout
  by_hand = launch(
    *short, f'--workdir={tmp_path}/b', xla_flags='--xla_cpu_max_isa=AVX2'
  )
  assert by_hand.returncode == 0, by_hand.stderr[-3000:]
  rows = []
  for name in 'ab':
    with open(tmp_path / name / 'metrics.jsonl') as f:
      rows.append([json.loads(line) for line in f])
      for row in rows[-1]:
        row.pop('elapsed_s')
  assert rows[0] == rows[1]


def test_cpu_isa_cannot_change_once_jax_has_started(tmp_path):
  config = tiny.get_config()
  config.devices.cpu_isa = 'AVX2'
  jax.devices()  # This process's backend starts without the cap.
  with pytest.raises(errors.ConfigError, match='XLA_FLAGS=--xla_cpu_max_isa'):
    train.start(config, str(tmp_path))
  config.devices.cpu_isa = 'AVX3'
  with pytest.raises(
    errors.ConfigError,
    match="devices.cpu_isa='AVX3': must be 'native', 'SSE4_2'",
  ):
    train.start(config, str(tmp_path))


def test_a_half_named_cluster_is_one_line(tmp_path):
  run = launch(
    '--config=configs/tiny.py',
    f'--workdir={tmp_path}',
    env={'JAX_NUM_PROCESSES': '2', 'JAX_PROCESS_ID': '0'},
  )
  assert run.returncode == 2, run.stderr[-2000:]
  assert run.stderr.strip().splitlines() == [
    'error: JAX_NUM_PROCESSES and JAX_PROCESS_ID need JAX_COORDINATOR_ADDRESS'
    ' (host:port of process 0) beside them'
  ], run.stderr[-2000:]

"""The command line, as a user types it: train, eval, predict, mistakes."""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def launch(*args, stdin=None):
  env = dict(os.environ, XLA_FLAGS='', PYTHONWARNINGS='ignore')
  return subprocess.run(
    [sys.executable, os.path.join(ROOT, 'launch.py'), *args],
    input=stdin,
    capture_output=True,
    text=True,
    cwd=ROOT,
    env=env,
    timeout=300,
  )


@pytest.fixture(scope='module')
def workdir(tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp('cli'))
  run = launch(
    '--config=configs/tiny.py', f'--workdir={workdir}', '--config.epochs=2'
  )
  assert run.returncode == 0, run.stderr[-3000:]
  assert 'trainable parameters' in run.stdout
  assert 'epoch 2/2' in run.stdout
  assert 'examples after training:' in run.stdout
  assert 'Evaluated every equation of the grid' in run.stdout
  return workdir


def test_eval_mode_rewrites_the_evaluation(workdir):
  os.remove(os.path.join(workdir, 'eval.json'))
  run = launch(
    '--config=configs/tiny.py', f'--workdir={workdir}', '--mode=eval'
  )
  assert run.returncode == 0, run.stderr[-3000:]
  result = json.load(open(os.path.join(workdir, 'eval.json')))
  assert result['equations'] == 10_000


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
    ' mean batch_size or batch_norm?'
  ], typo.stderr[-2000:]
  bad = launch(
    '--config=configs/tiny.py',
    '--config.max_number=-5',
    f'--workdir={tmp_path}',
  )
  assert bad.returncode == 2
  assert 'max_number=-5: must be an integer >= 0' in bad.stderr
  assert 'Traceback' not in bad.stderr
  empty = launch(
    '--config=configs/tiny.py', '--mode=eval', f'--workdir={tmp_path}/none'
  )
  assert empty.returncode == 2 and 'has no checkpoint' in empty.stderr

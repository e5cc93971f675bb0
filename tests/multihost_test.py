"""Two real processes on this machine, joined by `jax.distributed`, as one run.

Each process has 2 fake CPU devices and the collectives between them go over
gloo, as on a GPU cluster or a TPU pod: devices another process owns, two
writers on one folder. The reference is one process with 4 devices.
"""

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

from conftest import Processes
import numpy as np
import pytest
from runs import XLA_FLAGS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Small enough for seconds an epoch over gloo; batch norm stays on, so its
# statistics are averaged across the processes too.
TINY = (
  '--config=configs/tiny.py',
  '--config.data.n_examples=2000',
  '--config.data.batch_size=128',
  '--config.train.examples_before=0',
  '--config.train.examples_after=0',
)
TIMEOUT_S = 240
# Under pytest-xdist these tests share one worker (their fixture runs once).
pytestmark = pytest.mark.xdist_group('multihost')


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    return s.getsockname()[1]


@contextlib.contextmanager
def started(workdir, *args, processes=2, env=None, env_of=None):
  """`launch.py` in `processes` processes of 4 // processes devices each;
  `env_of`: {process: its own environment variables}.

  Yields the Popen objects; any still running at the end are killed, so a
  failing test leaves no process behind.
  """
  port = _free_port()
  with contextlib.closing(Processes()) as procs:
    for i in range(processes):
      run_env = dict(
        os.environ,
        XLA_FLAGS=f'{XLA_FLAGS} --xla_force_host_platform_device_count='
        f'{4 // processes}',
        PYTHONWARNINGS='ignore',
        **(env or {}),
        **(env_of or {}).get(i, {}),
      )
      if processes > 1:
        run_env.update(
          JAX_COORDINATOR_ADDRESS=f'127.0.0.1:{port}',
          JAX_NUM_PROCESSES=str(processes),
          JAX_PROCESS_ID=str(i),
        )
      procs.start(
        [
          sys.executable,
          os.path.join(ROOT, 'launch.py'),
          *TINY,
          f'--workdir={workdir}',
          *args,
        ],
        cwd=ROOT,
        env=run_env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
      )
    yield procs.started


def outputs(runs, timeout=TIMEOUT_S):
  """[(stdout, stderr)] of every run, each checked to have succeeded."""
  got = [run.communicate(timeout=timeout) for run in runs]
  for i, (run, (out, err)) in enumerate(zip(runs, got)):
    assert run.returncode == 0, f'process {i}:\n{out[-2000:]}\n{err[-3000:]}'
  return got


def run(workdir, *args, processes=2):
  with started(workdir, *args, processes=processes) as runs:
    return outputs(runs)


# Gloo's own connection messages. Its threads write each message in pieces
# (the text, then each number), so one message may be cut by another anywhere
# between pieces, even leaving a rank number at the start of the next line:
# '[Gloo] Rank [Gloo] Rank 2 is connected to 3 peer ranks. ...\n3 is ...'.
_GLOO = re.compile(
  r'\[Gloo\] Rank ?'
  r'|\d* ?is connected to ?'
  r'|\d* ?peer ranks\. ?'
  r'|Expected number of connected peer ranks is : ?\d*'
)


def own_lines(out):
  """What the project printed, without gloo's messages or stray numbers."""
  lines = _GLOO.sub('', out).splitlines()
  return [line for line in lines if line.strip() and not line.strip().isdigit()]


def test_gloo_messages_cut_into_one_another_are_not_taken_for_output():
  # As CI once caught them from process 1, plus a line of the project's own.
  out = (
    '[Gloo] Rank 1 is connected to 1 peer ranks. Expected number of connected'
    ' peer ranks is : 1\n'
    '[Gloo] Rank [Gloo] Rank 2 is connected to 3 peer ranks. Expected number'
    ' of connected peer ranks is : 3\n'
    '3 is connected to 3 peer ranks. Expected number of connected peer ranks'
    ' is : 3\n'
    '[Gloo] Rank 0 is connected to [Gloo] Rank 0 is connected to 1 peer'
    ' ranks.\n1 peer ranks. Expected number of connected peer ranks is : 1\n'
    '31 + 17 = 48\n'
  )
  assert own_lines(out) == ['31 + 17 = 48']


def rows(workdir):
  with open(os.path.join(workdir, 'metrics.jsonl')) as f:
    return [json.loads(line) for line in f]


def read(workdir, name):
  with open(os.path.join(workdir, name)) as f:
    return f.read()


def assert_same_run(got, want):
  """Same epochs and steps; metrics equal up to the order of float sums."""
  got_rows, want_rows = rows(got), rows(want)
  assert [r['epoch'] for r in got_rows] == [r['epoch'] for r in want_rows]
  for a, b in zip(got_rows, want_rows):
    assert a['step'] == b['step'] and a['val_wrong'] == b['val_wrong']
    for key in ('train_loss', 'val_loss', 'val_char_accuracy'):
      np.testing.assert_allclose(a[key], b[key], rtol=1e-5, err_msg=key)
  got_eval = json.loads(read(got, 'eval.json'))
  want_eval = json.loads(read(want, 'eval.json'))
  assert got_eval['errors'] == want_eval['errors']
  # Every wrong answer, as written: the same predictions over the grid.
  assert read(got, 'grid_errors.txt') == read(want, 'grid_errors.txt')


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
  """One process, 2 epochs; two processes, 1 epoch resumed to 2."""
  top = tmp_path_factory.mktemp('hosts')
  one, two, handed = (str(top / name) for name in ('one', 'two', 'handed'))
  with started(one, '--config.train.epochs=2', processes=1) as reference:
    first = run(two, '--config.train.epochs=1', '--config.eval.grid=False')
    shutil.copytree(two, handed)
    resumed = run(two, '--config.train.epochs=2')
    outputs(reference)
  return dict(one=one, two=two, handed=handed, first=first, resumed=resumed)


def test_two_processes_train_and_evaluate_as_one_with_four_devices(runs):
  assert_same_run(runs['two'], runs['one'])
  (out0, _), (out1, _) = runs['first']
  assert 'in 2 processes' in out0 and 'running shard_map on 4' in out0
  assert 'epoch 1/1' in out0
  (out0, _), _ = runs['resumed']
  assert 'Evaluated every equation' in out0
  assert own_lines(out1) == [], f'process 1 printed:\n{out1[:2000]}'
  names = sorted(os.listdir(runs['two']))
  assert names == sorted(
    [
      'accuracy.png',
      'checkpoints',
      'config.json',
      'eval.json',
      'grid.png',
      'grid_errors.txt',
      'metrics.jsonl',
      'run.json',
    ]
  ), names


def test_two_processes_resume_where_they_stopped(runs):
  (out0, _), _ = runs['resumed']
  assert 'resumed from the checkpoint of epoch 1' in out0, out0[-2000:]
  assert 'epoch 2/2' in out0 and 'epoch 1/2' not in out0


def test_either_process_count_resumes_the_other_ones_checkpoints(runs):
  handed = runs['handed']  # Two processes trained its first epoch.
  (out,) = [o for o, _ in run(handed, '--config.train.epochs=2', processes=1)]
  assert 'resumed from the checkpoint of epoch 1' in out, out[-2000:]
  assert_same_run(handed, runs['one'])
  # One process trained this one; two processes evaluate it again.
  one = runs['one']
  before = read(one, 'eval.json')
  os.remove(os.path.join(one, 'eval.json'))
  run(one, '--config.train.epochs=2', '--mode=eval')
  after = json.loads(read(one, 'eval.json'))
  assert after['errors'] == json.loads(before)['errors']
  assert after['char_accuracy'] == json.loads(before)['char_accuracy']


def test_a_stop_seen_by_one_process_stops_both_together(runs, tmp_path):
  # Process 1 alone sees test exact-match reach train.stop_exact at epoch 3
  # (as floats that part between hosts could make it): both stop there.
  workdir = str(tmp_path / 'run')
  shutil.copytree(runs['two'], workdir)  # Epochs 1 and 2 trained.
  fault = {1: {'LSTM_MATH_FAULT': 'reached:3'}}
  with started(
    workdir, '--config.train.epochs=5', '--config.eval.grid=False', env_of=fault
  ) as procs:
    (out0, _), _ = outputs(procs)
  assert [r['epoch'] for r in rows(workdir)] == [1, 2, 3], out0[-3000:]
  assert 'epoch 4/5' not in out0 and 'stopping' in out0, out0[-2000:]


def test_a_checkpoint_one_process_cannot_read_is_skipped_by_both(
  runs, tmp_path
):
  # Epochs 1 and 2 saved; process 1 cannot read epoch 2's: both go back to 1.
  workdir = str(tmp_path / 'run')
  shutil.copytree(runs['two'], workdir)
  fault = {1: {'LSTM_MATH_FAULT': 'unreadable:2'}}
  with started(
    workdir, '--config.train.epochs=3', '--config.eval.grid=False', env_of=fault
  ) as procs:
    (out0, _), _ = outputs(procs)
  assert 'epoch 2 in' in out0 and 'on another process' in out0, out0[-2000:]
  assert 'resumed from the checkpoint of epoch 1' in out0, out0[-2000:]
  assert [r['epoch'] for r in rows(workdir)] == [1, 2, 3]
  # Epoch 2 again from epoch 1's state: the same as the first time.
  np.testing.assert_allclose(
    rows(workdir)[1]['train_loss'], rows(runs['two'])[1]['train_loss'], 1e-5
  )


def test_predict_in_two_processes_answers_once(runs):
  (out0, _), (out1, _) = run(
    runs['two'], '--config.train.epochs=2', '--mode=predict', '--expr=31 + 17'
  )
  assert own_lines(out1) == []
  lines = own_lines(out0)
  assert len(lines) == 1 and lines[0].startswith('31 + 17 = '), out0
  # The answer the grid evaluation gave for the same equation.
  wrong = [
    line
    for line in read(runs['two'], 'grid_errors.txt').splitlines()
    if line.startswith('31 + 17 = ')
  ]
  want = wrong[0].split(' = ')[1].split(' (expected')[0] if wrong else '48'
  got = lines[0].split(' = ')[1].split('   (wrong')[0]
  assert got == want, (lines, wrong)


@pytest.mark.parametrize('dies', [0, 1])
def test_when_one_process_dies_the_other_stops_with_an_error(tmp_path, dies):
  workdir = str(tmp_path)
  heartbeat_s = 5
  with started(
    workdir,
    '--config.train.epochs=500',
    f'--config.devices.heartbeat_timeout_s={heartbeat_s}',
  ) as procs:
    # Process 0 writes config.json once both have joined: kill then.
    deadline = time.time() + TIMEOUT_S
    while not os.path.exists(os.path.join(workdir, 'config.json')):
      assert time.time() < deadline, 'the processes did not join in time'
      assert all(p.poll() is None for p in procs)
      time.sleep(0.05)
    procs[dies].send_signal(signal.SIGKILL)
    survivor = procs[1 - dies]
    # A hang raises TimeoutExpired here (and the survivor is killed).
    _, err = survivor.communicate(timeout=heartbeat_s * 6)
  assert survivor.returncode != 0
  assert 'another task died' in err or 'unhealthy' in err, err[-3000:]

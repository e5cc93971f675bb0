"""Orbax checkpoints: the newest two (one survives a kill mid-save) and the
best by `best_by`; every process calls every method."""

import json
import os
import shutil
from typing import Any

import jax
from jax.experimental import multihost_utils
import numpy as np
import orbax.checkpoint as ocp
from orbax.checkpoint import checkpoint_managers

# Test faults, in one process: LSTM_MATH_FAULT=after_row:N kills it after
# epoch N's row, before its checkpoint; reached:N and nan:N make it alone see
# train.stop_exact reached or a NaN (train.py); unreadable:N fails N's restore.
FAULT_ENV = 'LSTM_MATH_FAULT'


def every_process(*flags: bool) -> np.ndarray:
  """[processes, flags]: every process's `flags`, by one all-gather."""
  mine = np.asarray(flags, np.int32)
  if jax.process_count() == 1:
    return mine[None]
  return multihost_utils.process_allgather(mine)


def _score(best_by: str):
  """The metrics of an epoch -> a number, higher is better (config.BEST_BY)."""
  if best_by == 'val_loss':
    return lambda m: -m['val_loss']
  if best_by == 'last':
    return lambda m: m.get('epoch', 0.0)
  # Exact-match moves in steps of 1 / test equations (>= 1e-7): the loss,
  # scaled far below a step, breaks ties. Older checkpoints lack it: 0.
  exact = lambda m: m.get('val_exact_match', 0.0)
  return lambda m: exact(m) - 1e-9 * min(m['val_loss'], 100.0)


class Checkpointer:
  """Saves and restores a train-state pytree by epoch number."""

  def __init__(self, directory, keep_latest=2, say=print, best_by='val_loss'):
    self.directory = os.path.abspath(directory)
    self._keep_latest = keep_latest
    self._score = _score(best_by)
    self._newest = best_by == 'last'
    self._say = say
    try:
      self._manager = self._open()
    except Exception:  # pylint: disable=broad-except
      # Orbax reads all metadata on opening: set aside what does not read.
      self._set_aside(self._unreadable_metadata(), 'has unreadable metadata')
      self._manager = self._open()

  def _step_folders(self) -> list[str]:
    if not os.path.isdir(self.directory):
      return []
    return sorted(
      name
      for name in os.listdir(self.directory)
      if name.isdigit() and os.path.isdir(os.path.join(self.directory, name))
    )

  def _unreadable_metadata(self) -> list[str]:
    bad = []
    for name in self._step_folders():
      try:
        for meta in ('_CHECKPOINT_METADATA', 'metrics/metrics'):
          path = os.path.join(self.directory, name, meta)
          if os.path.exists(path):
            with open(path) as f:
              json.load(f)
      except (OSError, ValueError):
        bad.append(name)
    return bad

  def _set_aside(self, names: list[str], why: str) -> None:
    """Moves step folders to `<directory>_unreadable/`; process 0 moves."""
    aside = self.directory + '_unreadable'
    if jax.process_index() == 0:
      for name in names:
        os.makedirs(aside, exist_ok=True)
        target = os.path.join(aside, name)
        if os.path.exists(target):  # Set aside before: keep the newest.
          shutil.rmtree(target)
        os.replace(os.path.join(self.directory, name), target)
        self._say(
          f'checkpoint of epoch {int(name)} in {self.directory} {why};'
          f' moved to {target}'
        )
    if jax.process_count() > 1:
      multihost_utils.sync_global_devices(f'set aside {self.directory}')

  def set_aside(self, epochs=None) -> None:
    """Moves the checkpoints of `epochs` (default: all) out of the way."""
    self._manager.close()
    names = self._step_folders()
    if epochs is not None:
      names = [n for n in names if int(n) in epochs]
    self._set_aside(names, 'does not restore')
    self._manager = self._open()

  def _open(self) -> ocp.CheckpointManager:
    keep = [
      checkpoint_managers.LatestN(self._keep_latest),
      checkpoint_managers.BestN(
        get_metric_fn=self._score, n=1, keep_checkpoints_without_metrics=False
      ),
    ]
    options = ocp.CheckpointManagerOptions(
      preservation_policy=checkpoint_managers.AnyPreservationPolicy(keep),
      best_fn=self._score,
      best_mode='max',
      enable_async_checkpointing=False,  # A kill loses one epoch at most.
      cleanup_tmp_directories=True,
    )
    return ocp.CheckpointManager(self.directory, options=options)

  def save(self, epoch: int, state: Any, val_loss, val_exact_match) -> None:
    m = dict(val_loss=val_loss, val_exact_match=val_exact_match, epoch=epoch)
    metrics = {k: float(v) for k, v in m.items()}
    args = ocp.args.StandardSave(state)
    self._manager.save(epoch, args=args, metrics=metrics, force=True)

  def epochs(self) -> list[int]:
    return sorted(self._manager.all_steps())

  def best_epoch(self) -> int | None:
    if self._newest:  # Also for checkpoints saved without their epoch.
      return self._manager.latest_step()
    return self._manager.best_step()

  def metrics(self, epoch: int) -> dict[str, float] | None:
    return self._manager.metrics(epoch)

  def restore(self, epoch: int, template: Any) -> Any:
    return self._manager.restore(epoch, args=ocp.args.StandardRestore(template))

  def restore_latest(self, template: Any):
    """(state, epoch) of the newest checkpoint that reads back, or None;
    one that does not (cut short, corrupted) is reported in one line."""
    skipped = []
    for epoch in reversed(self.epochs()):
      try:
        state, why = self.restore(epoch, template), ''
        if os.environ.get(FAULT_ENV) == f'unreadable:{epoch}':
          # After Orbax's own collectives, as a read that fails late would.
          raise OSError('unreadable (LSTM_MATH_FAULT)')
      except Exception as e:  # pylint: disable=broad-except
        first_line = (str(e).strip().splitlines() or [type(e).__name__])[0]
        state, why = None, f'{type(e).__name__}: {first_line[:160]}'
      # Every process restores the same epoch: the newest all could read.
      if not every_process(bool(why)).any():
        if skipped:  # Out of the way of the epochs that train again.
          self.set_aside(skipped)
        return state, epoch
      skipped.append(epoch)
      self._say(
        f'checkpoint of epoch {epoch} in {self.directory} is unreadable'
        f' ({why or "on another process"}); trying an older one'
      )
    return None

  def close(self) -> None:
    self._manager.wait_until_finished()
    self._manager.close()

"""Orbax checkpoints in `workdir/checkpoints`: the latest and the best.

One `CheckpointManager` keeps the two newest epochs (so a checkpoint left
partial by a kill still leaves a good one behind it) and the best epoch: by
default the one with the lowest validation loss (the post's
`ModelCheckpoint(save_best_only=True)`), with `best_by='val_exact_match'`
the one with the most test equations exactly right (ties: the lower loss),
or with `best_by='last'` simply the newest (a schedule that decays to zero
ends where it should, and no test set has to be large enough to choose).
Every process calls every method; Orbax coordinates the hosts.
"""

import json
import os
import shutil
from typing import Any

import jax
from jax.experimental import multihost_utils
import numpy as np
import orbax.checkpoint as ocp
from orbax.checkpoint import checkpoint_managers

from lstm_math import config as config_lib

FAULT_ENV = 'LSTM_MATH_FAULT'  # For the tests: unreadable:N fails epoch N.


def _on_any_process(flag: bool) -> bool:
  if jax.process_count() == 1:
    return flag
  return bool(multihost_utils.process_allgather(np.int32(flag)).any())


def _score(best_by: str):
  """The metrics of an epoch -> a number, higher is better."""
  if best_by == 'val_loss':
    return lambda m: -m['val_loss']
  if best_by == 'last':
    return lambda m: m.get('epoch', 0.0)
  # Exact-match moves in steps of 1 / test equations (>= 1e-7 for any test
  # set that fits in memory); the loss, scaled far below a step, breaks ties.
  # Checkpoints written before this metric was saved score 0.
  return lambda m: (
    m.get('val_exact_match', 0.0) - 1e-9 * min(m['val_loss'], 100.0)
  )


class Checkpointer:
  """Saves and restores a train-state pytree by epoch number."""

  def __init__(
    self, directory: str, keep_latest: int = 2, say=print, best_by='val_loss'
  ):
    if best_by not in config_lib.BEST_BY:
      raise ValueError(f'best_by={best_by!r}: one of {config_lib.BEST_BY}')
    self.directory = os.path.abspath(directory)
    self._keep_latest = keep_latest
    self._score = _score(best_by)
    self._newest = best_by == 'last'
    self._say = say
    try:
      self._manager = self._open()
    except Exception:  # pylint: disable=broad-except
      # Orbax reads every checkpoint's metadata when it opens the folder;
      # set aside the ones that do not read, then open it again.
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

  def set_aside_all(self) -> None:
    """Moves every checkpoint out of the way: a fresh start saves anew."""
    self._manager.close()
    self._set_aside(self._step_folders(), 'does not restore')
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

  def save(
    self, epoch: int, state: Any, val_loss: float, val_exact_match: float
  ) -> None:
    self._manager.save(
      epoch,
      args=ocp.args.StandardSave(state),
      metrics={
        'val_loss': float(val_loss),
        'val_exact_match': float(val_exact_match),
        'epoch': float(epoch),
      },
      force=True,
    )

  def epochs(self) -> list[int]:
    return sorted(self._manager.all_steps())

  def best_epoch(self) -> int | None:
    if self._newest:  # Also for checkpoints saved without their epoch.
      return self._manager.latest_step()
    return self._manager.best_step()

  def metrics(self, epoch: int) -> dict[str, float] | None:
    return self._manager.metrics(epoch)

  def best_metrics(self) -> dict[str, float] | None:
    best = self.best_epoch()
    return None if best is None else self.metrics(best)

  def restore(self, epoch: int, template: Any) -> Any:
    return self._manager.restore(epoch, args=ocp.args.StandardRestore(template))

  def restore_latest(self, template: Any):
    """(state, epoch) of the newest checkpoint that reads back, or None.

    A checkpoint that fails to read (cut short, corrupted) is reported in
    one line and the one before it is tried.
    """
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
      failed = _on_any_process(bool(why))
      if not failed:
        if skipped:  # Out of the way of the epochs that train again.
          self._manager.close()
          names = [n for n in self._step_folders() if int(n) in skipped]
          self._set_aside(names, 'does not restore')
          self._manager = self._open()
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

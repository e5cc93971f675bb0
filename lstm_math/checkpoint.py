"""Orbax checkpoints in `workdir/checkpoints`: the latest and the best.

One `CheckpointManager` keeps the two newest epochs (so a checkpoint left
partial by a kill still leaves a good one behind it) and the epoch with the
lowest validation loss (the post's `ModelCheckpoint(save_best_only=True)`).
Every process calls every method; Orbax coordinates the hosts.
"""

import json
import os
from typing import Any

import orbax.checkpoint as ocp
from orbax.checkpoint import checkpoint_managers


class Checkpointer:
  """Saves and restores a train-state pytree by epoch number."""

  def __init__(self, directory: str, keep_latest: int = 2, say=print):
    self.directory = os.path.abspath(directory)
    self._keep_latest = keep_latest
    try:
      self._manager = self._open()
    except Exception:  # pylint: disable=broad-except
      # Orbax reads every checkpoint's metadata when it opens the folder;
      # set aside the ones that do not read, then open it again.
      for epoch in self._set_aside_unreadable():
        say(
          f'checkpoint of epoch {epoch} in {self.directory} has unreadable'
          f' metadata; moved to {self.directory}_unreadable/{epoch}'
        )
      self._manager = self._open()

  def _set_aside_unreadable(self) -> list[int]:
    moved = []
    for name in sorted(os.listdir(self.directory)):
      path = os.path.join(self.directory, name)
      if not (name.isdigit() and os.path.isdir(path)):
        continue
      try:
        for meta in ('_CHECKPOINT_METADATA', 'metrics/metrics'):
          if os.path.exists(os.path.join(path, meta)):
            with open(os.path.join(path, meta)) as f:
              json.load(f)
      except (OSError, ValueError):
        os.makedirs(self.directory + '_unreadable', exist_ok=True)
        os.replace(path, os.path.join(self.directory + '_unreadable', name))
        moved.append(int(name))
    return moved

  def _open(self) -> ocp.CheckpointManager:
    policy = checkpoint_managers.AnyPreservationPolicy(
      [
        checkpoint_managers.LatestN(self._keep_latest),
        checkpoint_managers.BestN(
          get_metric_fn=lambda m: m['val_loss'],
          reverse=True,
          n=1,
          keep_checkpoints_without_metrics=False,
        ),
      ]
    )
    return ocp.CheckpointManager(
      self.directory,
      options=ocp.CheckpointManagerOptions(
        preservation_policy=policy,
        best_fn=lambda m: m['val_loss'],
        best_mode='min',
        enable_async_checkpointing=False,
        cleanup_tmp_directories=True,
      ),
    )

  def save(self, epoch: int, state: Any, val_loss: float) -> None:
    self._manager.save(
      epoch,
      args=ocp.args.StandardSave(state),
      metrics={'val_loss': float(val_loss)},
      force=True,
    )

  def epochs(self) -> list[int]:
    return sorted(self._manager.all_steps())

  def best_epoch(self) -> int | None:
    return self._manager.best_step()

  def best_val_loss(self) -> float | None:
    best = self.best_epoch()
    if best is None:
      return None
    return self._manager.metrics(best)['val_loss']

  def restore(self, epoch: int, template: Any) -> Any:
    return self._manager.restore(epoch, args=ocp.args.StandardRestore(template))

  def restore_latest(self, template: Any, say=print):
    """(state, epoch) of the newest checkpoint that reads back, or None.

    A checkpoint that fails to read (cut short, corrupted) is reported in
    one line and the one before it is tried.
    """
    for epoch in reversed(self.epochs()):
      try:
        return self.restore(epoch, template), epoch
      except Exception as e:  # pylint: disable=broad-except
        first_line = (str(e).strip().splitlines() or [type(e).__name__])[0]
        say(
          f'checkpoint of epoch {epoch} in {self.directory} is unreadable'
          f' ({type(e).__name__}: {first_line[:160]}); trying an older one'
        )
    return None

  def close(self) -> None:
    self._manager.wait_until_finished()
    self._manager.close()

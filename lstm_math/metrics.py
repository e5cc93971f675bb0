"""Metrics to the console and `metrics.jsonl` (process 0 only); progress bar."""

import json
import os
import sys
import time

import jax


def is_main_process() -> bool:
  return jax.process_index() == 0


def say(*args, **kwargs) -> None:
  """print() on process 0 only, flushed, so logs interleave sensibly."""
  if is_main_process():
    print(*args, **kwargs, flush=True)


class MetricWriter:
  """Appends one JSON object per line; can drop lines after a resumed epoch."""

  def __init__(self, path: str):
    self.path = path

  def truncate_after(self, epoch: int) -> None:
    """Keeps the lines of epochs <= `epoch`: a resumed run restarts there."""
    if not is_main_process() or not os.path.exists(self.path):
      return
    kept = [r for r in self.read() if r.get('epoch', 0) <= epoch]
    with open(self.path, 'w') as f:
      f.writelines(json.dumps(r) + '\n' for r in kept)

  def read(self) -> list[dict]:
    if not os.path.exists(self.path):
      return []
    rows = []
    with open(self.path) as f:
      for line in f:
        try:
          rows.append(json.loads(line))
        except json.JSONDecodeError:
          break  # A line cut short by a kill: the rest is not trusted.
    return rows

  def write(self, row: dict) -> None:
    if is_main_process():
      with open(self.path, 'a') as f:
        f.write(json.dumps(row) + '\n')
        f.flush()
        os.fsync(f.fileno())


def format_epoch(row: dict, epochs: int) -> str:
  width, trace = len(str(epochs)), row.get('val_trace_exact')
  return (
    f'epoch {row["epoch"]:{width}d}/{epochs}  {row["elapsed_s"]:7.1f}s'
    f'  loss {row["train_loss"]:.4f}  val_loss {row["val_loss"]:.4f}'
    f'  char_acc {row["val_char_accuracy"]:.4f}'
    f'  exact {row["val_exact_match"]:.4f}'
    f' ({row["val_wrong"]} wrong of {row["val_count"]})'
    + ('' if trace is None else f'  trace {trace:.4f}')
  )


class Progress:
  """A one-line progress bar on a terminal, a few plain lines elsewhere."""

  def __init__(self, total: int, label: str):
    self.total, self.label, self.stream = total, label, sys.stderr
    self.tty = getattr(self.stream, 'isatty', lambda: False)()
    self.start = time.perf_counter()
    self._quarters = -1  # Quarters of the work reported, off a terminal.

  def update(self, done: int) -> None:
    if not is_main_process():
      return
    frac = done / max(self.total, 1)
    elapsed, out = time.perf_counter() - self.start, self.stream
    if self.tty:
      bar = '#' * int(30 * frac)
      out.write(
        f'\r{self.label} [{bar:<30}] {done:,}/{self.total:,} {elapsed:5.1f}s'
        + ('\n' if done >= self.total else '')
      )
    elif int(frac * 4) > self._quarters:
      self._quarters = int(frac * 4)
      out.write(f'{self.label}: {done:,}/{self.total:,} ({elapsed:.1f}s)\n')
    out.flush()

"""Pictures of a run: training curves, the grid, results by operators."""

import numpy as np


def _pyplot():
  """matplotlib, imported when a picture is drawn: it costs half a second."""
  import matplotlib  # pylint: disable=g-import-not-at-top

  matplotlib.use('Agg')  # Files only; no screen needed.
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top

  return plt


def accuracy_plot(rows: list[dict], path: str, title: str = '') -> None:
  """Loss and both accuracies per epoch, train and test, like the post's."""
  plt = _pyplot()
  column = lambda name: [r[name] for r in rows]
  epochs = column('epoch')
  signs = 'train_grad_norm_max' in rows[0]  # Runs before session 21: none.
  fig, axes = plt.subplots(1, 2 + signs, figsize=(11 + 5.5 * signs, 4))
  ax_loss, ax_acc = axes[:2]
  ax_loss.plot(epochs, column('train_loss'), label='train')
  ax_loss.plot(epochs, column('val_loss'), label='test')
  ax_loss.set_yscale('log')
  ax_loss.set(xlabel='epoch', ylabel='cross-entropy loss', title='loss')
  styles = ('char_accuracy', '-'), ('exact_match', '--'), ('trace_exact', ':')
  for key, style in styles:
    for split, name in (('train', 'train'), ('val', 'test')):
      if (field := f'{split}_{key}') in rows[0]:
        ax_acc.plot(epochs, column(field), style, label=f'{name} {key}')
  title_acc = 'accuracy (exact_match: the answer; trace_exact: every step)'
  ax_acc.set(xlabel='epoch', ylabel='accuracy', ylim=(0, 1.01), title=title_acc)
  if signs:  # Largest of a step, per epoch: where loss spikes start.
    ax = axes[2]
    names = 'gradient norm', 'update norm', 'g² / Adam v'
    for key, name in zip(('grad_norm', 'update_norm', 'adam_ratio'), names):
      ax.plot(epochs, column(f'train_{key}_max'), label=name)
    ax.set_yscale('log')
    ax.set(xlabel='epoch', title='spike signs (largest of a step)')
  for ax in axes:
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
  if title:
    fig.suptitle(title)
  fig.tight_layout()
  fig.savefig(path, dpi=100)
  plt.close(fig)


def grid_plot(correct_OxAxB: np.ndarray, task, path: str) -> None:
  """The post's green/red picture of a task's grid, a pixel an equation, a
  panel an operator; errors also ringed, so one in a million shows."""
  plt = _pyplot()
  hi, b_min = task.max_number, task.grid_b_min
  n_ops, n_a, n_b = correct_OxAxB.shape
  scale = max(1.0, 1000 / max(n_a, n_b))
  size = (n_b * scale / 100 + 1.5, n_ops * (n_a * scale / 100 + 1.2))
  fig, axes = plt.subplots(n_ops, 1, figsize=size, dpi=100, squeeze=False)
  extent = (b_min - 0.5, hi + 0.5, hi + 0.5, -0.5)
  for op, correct_AxB, ax in zip(task.operators, correct_OxAxB, axes[:, 0]):
    rgb = np.empty((n_a, n_b, 3), np.uint8)
    rgb[correct_AxB] = (46, 160, 67)
    rgb[~correct_AxB] = (220, 20, 20)
    ax.imshow(rgb, extent=extent, interpolation='nearest', aspect='equal')
    wrong_a, wrong_b = np.nonzero(~correct_AxB)
    if 0 < len(wrong_a) <= 5000:
      ring = dict(s=60, facecolors='none', edgecolors='red', linewidths=0.8)
      ax.scatter(wrong_b + b_min, wrong_a, **ring)
    title = f'{len(wrong_a):,} wrong of {correct_AxB.size:,}: a {op} b'
    ax.set(xlabel='b', ylabel='a', title=f'{title}, green right, red wrong')
    ax.invert_yaxis()
  fig.tight_layout()
  fig.savefig(path, dpi=100)
  plt.close(fig)


def operators_plot(by_pattern: dict[str, dict], path: str, title: str) -> None:
  """Exact-match per operator pattern (`'a + b * c'`), one bar each; of
  more than 30, the 30 with the most errors."""
  plt = _pyplot()
  items = list(by_pattern.items())
  if len(items) > 30:
    items = sorted(items, key=lambda kv: -kv[1]['errors'])[:30]
  names = [name for name, _ in items]
  wrong = lambda c: c['errors'] / c['equations'] if c['equations'] else np.nan
  right = 1 - np.array([wrong(c) for _, c in items])
  fig, ax = plt.subplots(figsize=(8, 1.0 + 0.35 * len(items)))
  y = np.arange(len(items))
  ax.barh(y, right, color=(0.18, 0.63, 0.26))  # Right: green, as the grid.
  ax.barh(y, 1 - right, left=right, color=(0.86, 0.08, 0.08))  # Wrong: red.
  for k, (_, c) in enumerate(items):
    label = f'{c["errors"]:,} wrong of {c["equations"]:,}'
    ax.text(1.01, k, label, va='center', fontsize=8)
  ax.set_yticks(y, names, fontfamily='monospace')
  ax.invert_yaxis()
  ax.set(xlim=(0, 1.35), xticks=np.linspace(0, 1, 6), title=title)
  ax.set_xlabel('exact-match (whole answer right)')
  ax.grid(axis='x', alpha=0.3)
  fig.tight_layout()
  fig.savefig(path, dpi=100)
  plt.close(fig)


def length_plot(curves: dict, trained: int, title: str, path: str) -> None:
  """Exact-match against digits, a line a curve; the trained lengths shaded."""
  plt = _pyplot()
  fig, ax = plt.subplots(figsize=(6.5, 4))
  ax.axvspan(0.5, trained + 0.5, color='0.9', label=f'trained: 1-{trained}')
  for label, (digits, exact) in curves.items():
    ax.plot(digits, exact, 'o-', label=label)
  ax.set(
    xlabel='digits of the operand(s)',
    ylabel='exact-match',
    ylim=(-0.02, 1.02),
    title=title,
  )
  ax.set_xticks(range(1, max(max(d) for d, _ in curves.values()) + 1))
  ax.grid(alpha=0.3)
  ax.legend(fontsize=8)
  fig.tight_layout()
  fig.savefig(path, dpi=100)
  plt.close(fig)

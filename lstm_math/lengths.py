"""Exact-match on operands longer than trained (`eval.lengths`), by digits."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from lstm_math import data
from lstm_math import metrics as metrics_lib
from lstm_math import model as model_lib
from lstm_math import plots
from lstm_math import scoring

SETS = {'both': 'both operands of d digits', 'one': 'one operand of d digits'}


def task_of_digits(task: data.Task, digits: int) -> data.Task:
  """`task` with operands of up to `digits` digits, never fewer than its own
  (a short equation is written as in training)."""
  digits = max(digits, task.operand_width)
  return dataclasses.replace(task, max_number=10**digits - 1)


def _with_digits(key, digits_B):
  """A uniform number of exactly `digits_B` digits each (0 counts as 1)."""
  hi = 10**digits_B - 1
  lo = jnp.where(digits_B == 1, 0, 10 ** (digits_B - 1))
  return jax.random.randint(key, digits_B.shape, lo, hi + 1, jnp.int32)


def equations(key, task: data.Task, digits: int, n: int, which: str):
  """`n` random equations of `task`'s operator, as `which` (`SETS`) says."""
  k_long, k_len, k_short, k_swap = jax.random.split(key, 4)
  long_N = _with_digits(k_long, jnp.full((n,), digits, jnp.int32))
  other = jnp.full((n,), digits, jnp.int32)
  if which == 'one' and digits > 1:
    other = jax.random.randint(k_len, (n,), 1, digits, jnp.int32)
  short_N = _with_digits(k_short, other)
  swap = jax.random.bernoulli(k_swap, 0.5, (n,))
  a, b = jnp.where(swap, short_N, long_N), jnp.where(swap, long_N, short_N)
  ops = jnp.zeros((n, 1), jnp.int32)
  return data.Equations(jnp.stack([a, b], axis=1), ops)


def evaluate(evaluation, model_config, task, variables, devices, held_out):
  """{'both': {d: figures}, 'one': ...} for d in 1..`eval.lengths`; figures
  for d up to the trained width count what training may have seen."""
  n, out = evaluation.length_equations, {which: {} for which in SETS}
  key = jax.random.key(held_out.sampling.salt + 2)
  for d in range(1, evaluation.lengths + 1):
    task_d = task_of_digits(task, d)
    model_d = model_lib.from_config(model_config, task_d)
    keys = [jax.random.fold_in(key, 16 * d + i) for i in range(len(SETS))]
    sets = [equations(k, task, d, n, which) for k, which in zip(keys, SETS)]
    both = data.Equations(*(jnp.concatenate(x) for x in zip(*sets)))
    chunk = min(evaluation.chunk, 2 * n)
    scorer = scoring.Scorer(model_d, task_d, devices, chunk, both)
    scores = scorer(variables, progress=False)
    for i, (which, eqs) in enumerate(zip(SETS, sets)):
      part = slice(i * n, (i + 1) * n)
      exact, first_wrong = scores.exact_N[part], scores.first_wrong_N[part]
      n_right = np.sum(scores.n_right_N[part], dtype=np.int64)
      figures = dict(
        equations=n,
        errors=int((~exact).sum()),
        exact_match=float(exact.mean()),
        trace_exact=float((first_wrong < 0).mean()),
        char_accuracy=float(n_right / (n * task_d.tgt_len)),
      )
      if d <= task.operand_width:
        figures['seen_in_training'] = int(held_out.seen(eqs, task).sum())
      out[which][str(d)] = figures
    metrics_lib.say(
      f'  {d} digits: '
      + ', '.join(
        f'{w} exact {out[w][str(d)]["exact_match"]:.4f}'
        f' (trace {out[w][str(d)]["trace_exact"]:.4f})'
        for w in SETS
      )
    )
  return out


def plot(lengths: dict, trained: int, title: str, path: str) -> None:
  """length.png: exact-match against digit count, one line per set."""
  curves = {
    SETS[w]: ([int(d) for d in f], [f[d]['exact_match'] for d in f])
    for w, f in lengths.items()
  }
  plots.length_plot(curves, trained, title, path)

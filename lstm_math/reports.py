"""What the scores mean: analysis, the run's evaluation files, the summary."""

import collections
import itertools
import json
import string
import time

import jax
import jax.numpy as jnp
import numpy as np

from lstm_math import data
from lstm_math import errors
from lstm_math import lengths
from lstm_math import metrics as metrics_lib
from lstm_math import plots
from lstm_math import predict
from lstm_math import scoring
from lstm_math import steps


def analyse(
  operands_NxK,
  n_right_N,
  seen_N,
  task: data.Task,
  ops_NxK1=None,
  mirror=None,
  exact_N=None,
  first_wrong_N=None,
) -> dict:
  """The headline figures and the post's two analyses, as counts; also by
  operator pattern and by whether an unseen equation's `mirror` was seen."""
  tgt_len = task.tgt_len
  if exact_N is None:
    exact_N = n_right_N == tgt_len
  wrong, everything = ~exact_N, np.ones_like(exact_N)
  count = lambda m: dict(equations=int(m.sum()), errors=int((m & wrong).sum()))
  ratio = lambda part, n: part / n if n else float('nan')
  traces = first_wrong_N is not None and task.target == 'steps'

  def summary(m):
    counts = count(m)
    n = counts['equations']
    right_chars = float(np.sum(n_right_N[m], dtype=np.int64))
    result = dict(
      **counts,
      exact_match=ratio(n - counts['errors'], n),
      char_accuracy=ratio(right_chars, n * tgt_len),
    )
    if traces:  # The whole written trace right, beside the answer.
      n_wrong = int(np.sum(m & (first_wrong_N >= 0)))
      result.update(trace_errors=n_wrong, trace_exact=ratio(n - n_wrong, n))
    return result

  smallest = operands_NxK.min(axis=1)
  sizes = {
    'an operand below 10': smallest < 10,
    'smallest operand 10..99': (smallest >= 10) & (smallest < 100),
    'all operands 100 or more': smallest >= 100,
  }
  n_wrong_chars = tgt_len - n_right_N[wrong]
  result = dict(
    **summary(everything),
    never_trained_on=summary(~seen_N),
    all_equations=summary(everything),
    errors_by_operand_size={name: count(m) for name, m in sizes.items()},
    errors_by_characters_wrong=dict(
      one=int(np.sum(n_wrong_chars == 1)), more=int(np.sum(n_wrong_chars > 1))
    ),
  )
  if ops_NxK1 is not None and len(task.operators) > 1:
    n_ops, n_k1 = len(task.operators), ops_NxK1.shape[1]
    result['errors_by_operators'] = {
      task.text(string.ascii_lowercase, ops): count(np.all(ops_NxK1 == ops, 1))
      for ops in itertools.product(range(n_ops), repeat=n_k1)
    }
  if mirror is not None:
    has_mirror, mirror_seen = mirror
    unseen = ~seen_N & has_mirror
    groups = {
      'mirror trained on': unseen & mirror_seen,
      'neither order trained on': unseen & ~mirror_seen,
    }
    by_mirror = {name: summary(m) for name, m in groups.items() if m.any()}
    if by_mirror:
      result['never_trained_on_by_mirror'] = by_mirror
  if traces:
    kinds = collections.Counter(first_wrong_N[first_wrong_N >= 0].tolist())
    firsts = {steps.KINDS[k]: n for k, n in kinds.most_common()}
    result['first_wrong_step'] = firsts
  return result


def write_errors(path, task, operands_NxK, ops_NxK1, pred_NxT, exact_N, seen_N):
  """One line per wrong equation: `a + b = predicted (expected E)`."""
  wrong = np.nonzero(~exact_N)[0]
  pick = lambda x_N: jnp.asarray(x_N[wrong])
  wrong_eqs = data.Equations(pick(operands_NxK), pick(ops_NxK1))
  expected = np.asarray(data.compute_results(wrong_eqs, task))
  with open(path, 'w') as f:
    f.write(
      f'# {len(wrong)} wrong equations: equation = prediction'
      ' (expected), * marks equations seen in training\n'
    )
    shown = predict.answer_texts(pred_NxT[wrong], task)
    for j, i in enumerate(wrong):
      text = task.text(operands_NxK[i], ops_NxK1[i])
      mark = ' *' if seen_N[i] else ''
      f.write(f'{text} = {shown[j]} (expected {expected[j]}){mark}\n')


def mirror_mask(eqs, task, held_out) -> tuple[np.ndarray, np.ndarray] | None:
  """(has a mirror, mirror seen) of each equation, or None without mirrors:
  `b * a` for `a * b` (two operands, `+` or `*`, `b * a` on the grid)."""
  ops = [i for i, o in enumerate(task.operators) if o in '+*']
  if task.n_terms != 2 or not ops:
    return None
  operands = np.asarray(eqs.operands_BxK)
  has_mirror = np.isin(np.asarray(eqs.ops_BxK1)[:, 0], ops)
  has_mirror &= operands[:, 0] >= task.grid_b_min
  swapped = np.where(has_mirror[:, None], operands[:, ::-1], operands)
  flipped = data.Equations(swapped, np.asarray(eqs.ops_BxK1))
  trained = held_out._replace(chosen_by=None)
  return has_mirror, has_mirror & trained.seen(flipped, task)


def run_evaluation(
  evaluation, workdir, model, task, variables, devices, held_out, about=None
) -> dict:
  """Scores the grid (or random unseen ones); writes eval.json and errors."""
  start = time.perf_counter()
  given, mode, drawn_from = None, 'grid', {}
  if not task.has_grid:
    count, exact = scoring.unseen_population(task, held_out)
    if evaluation.n_random > count:
      raise errors.ConfigError(
        f'eval.n_random={evaluation.n_random}: the run never saw only'
        f' {"" if exact else "about "}{count:,} equations; lower it'
      )
    key = jax.random.key(held_out.sampling.salt + 1)
    given = scoring.random_held_out(key, task, evaluation.n_random, held_out)
    mode = 'random'
    drawn_from = dict(drawn_from=dict(equations=count, exact=exact))
  scorer = scoring.Scorer(model, task, devices, evaluation.chunk, given)
  main = metrics_lib.is_main_process()
  pred, n_right, exact, first_wrong = scorer(variables, progress=main)
  seconds = time.perf_counter() - start
  eqs = given or data.grid_equations(jnp.arange(task.grid_size), task)
  operands, ops = np.asarray(eqs.operands_BxK), np.asarray(eqs.ops_BxK1)
  seen = held_out.seen(eqs, task)
  mirror = mirror_mask(eqs, task, held_out)
  result = dict(
    mode=mode,
    task=task_description(task),
    seconds=round(seconds, 3),
    **drawn_from,
    **analyse(operands, n_right, seen, task, ops, mirror, exact, first_wrong),
    **(about or {}),
  )
  if not main:
    return result
  errors_txt = 'grid_errors.txt' if mode == 'grid' else 'errors.txt'
  path = f'{workdir}/{errors_txt}'
  write_errors(path, task, operands, ops, pred, exact, seen)
  with open(f'{workdir}/eval.json', 'w') as f:
    json.dump(result, f, indent=2)
  written = ['eval.json', errors_txt]
  if mode == 'grid':
    plots.grid_plot(exact.reshape(task.grid_shape), task, f'{workdir}/grid.png')
    written.append('grid.png')
  if by_length := result.get('lengths'):
    n = by_length['both']['1']['equations']
    title = f'{result["task"]}: {n:,} equations a point'
    lengths.plot(by_length, task.operand_width, title, f'{workdir}/length.png')
    written.append('length.png')
  if by_operators := result.get('errors_by_operators'):
    title = f'{result["task"]}: green right, red wrong'
    plots.operators_plot(by_operators, f'{workdir}/operators.png', title)
    written.append('operators.png')
  metrics_lib.say(summary_text(result, workdir, written))
  return result


def task_description(task: data.Task) -> str:
  return (
    f'{task.n_terms} terms in 0..{task.max_number},'
    f' operators {" ".join(task.operators)}'
  )


def summary_text(result: dict, workdir: str, written: list[str]) -> str:
  what = (
    'every equation of the grid'
    if result['mode'] == 'grid'
    else f'{result["equations"]:,} distinct random equations never seen,'
    f' of {"" if result["drawn_from"]["exact"] else "about "}'
    f'{result["drawn_from"]["equations"]:,} (no 2-D grid for more than two'
    ' operands)'
  )
  exact_of = lambda c: (
    f'exact-match {c["exact_match"]:.6f}'
    f' ({c["errors"]:,} wrong of {c["equations"]:,})'
  )
  full_text = lambda c: f'{exact_of(c)}, per-character {c["char_accuracy"]:.6f}'
  lines = [
    f'Evaluated {what} in {result["seconds"]:.2f}s: {result["task"]}',
    f'  {full_text(result)}',
  ]
  unseen = result['never_trained_on']
  if unseen['equations']:
    lines.append(f'  never trained on: {full_text(unseen)}')
  for name, c in result.get('never_trained_on_by_mirror', {}).items():
    lines.append(f'    {name + ":":<26} {exact_of(c)}')
  most = 12
  for what in ('operand_size', 'operators'):  # Operators: when several.
    counts = list(result.get(f'errors_by_{what}', {}).items())
    if not counts:
      continue
    lines.append(f'  errors by {what.replace("_", " ")}:')
    if len(counts) > most:  # Up to 4**5 operator patterns: the worst first.
      counts.sort(key=lambda kv: -kv[1]['errors'])
    for name, c in counts[:most]:
      lines.append(f'    {name:<26} {c["errors"]:>9,} of {c["equations"]:,}')
    if len(counts) > most:
      lines.append(f'    ... {len(counts) - most} more in eval.json')
  if 'trace_exact' in result:
    firsts = ', '.join(
      f'{k} {n:,}' for k, n in result['first_wrong_step'].items()
    )
    lines.append(
      f'  trace_exact (every written step right): {result["trace_exact"]:.6f}'
      f' (never trained on: {unseen["trace_exact"]:.6f});'
      f' first wrong step: {firsts or "none"}'
    )
  chars = result['errors_by_characters_wrong']
  lines.append(
    f'  wrong answers with one character wrong: {chars["one"]:,},'
    f' more: {chars["more"]:,}'
  )
  lines.append('  wrote ' + ', '.join(f'{workdir}/{name}' for name in written))
  return '\n'.join(lines)

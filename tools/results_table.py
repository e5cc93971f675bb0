"""The README's results table, made from the run outputs in `results/`.

    python -m tools.results_table                    # print the table
    python -m tools.results_table --write README.md  # replace it there
    python -m tools.results_table --check README.md  # exit 1 if it differs

A folder `results/<config>_seed<N>/` is the run of `configs/<config>.py
--config.seed=N`, with its `config.json` and `eval.json` (which holds the
run's provenance); folders of the same config make one row. A folder whose
config is not today's `configs/<config>.py` with that seed, or that lacks
its provenance, is refused (`check_today`). Exact-match is recomputed from
the integer counts, so a hand-edited figure in `eval.json` is an error.
"""

import argparse
import collections
import json
import pathlib
import re
import sys

BEGIN = '<!-- results:begin -->'
END = '<!-- results:end -->'
SPEED_BEGIN = '<!-- speed:begin -->'
SPEED_END = '<!-- speed:end -->'
SPEED_FILE = 'bench/speed.json'
LENGTHS_BEGIN = '<!-- lengths:begin -->'
LENGTHS_END = '<!-- lengths:end -->'
_FOLDER = re.compile(r'(?P<config>[a-z0-9_]+?)_seed(?P<seed>\d+)')
# The README's order: the post, then by task; other configs follow by name.
_ORDER = (
  'add add_exact add_steps add_long sub sub_steps sub_long div'.split()
  + 'mul mul_repeat mixed mixed_repeat'.split()
)
_HEADER = (
  '| config | task | seeds | evaluated on | exact-match | never seen'
  ' | per character, never seen | whole trace right, never seen'
  ' | wrong, by seed | spikes, by seed | time to train, start-up included |\n'
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n'
)


def check_today(folder: pathlib.Path) -> None:
  """Fails unless `folder` is today's run of its config: the same config as
  `configs/<config>.py` gives with that seed, with provenance in eval.json,
  and the training set that today's code draws."""
  import importlib  # pylint: disable=g-import-not-at-top

  from lstm_math import config as config_lib  # pylint: disable=g-import-not-at-top
  from lstm_math import provenance  # pylint: disable=g-import-not-at-top
  from lstm_math import train  # pylint: disable=g-import-not-at-top

  match = _FOLDER.fullmatch(folder.name)
  if not match:
    raise ValueError(f'{folder}: name it <config>_seed<N>')
  name, seed = match['config'], int(match['seed'])
  config = importlib.import_module(f'configs.{name}').get_config()
  config.seed = seed
  today = config_lib.from_saved(config.to_dict())
  saved = config_lib.from_saved(
    json.loads((folder / 'config.json').read_text())
  )
  differ = sorted(k for k in today.keys() | saved.keys()
                  if today.get(k) != saved.get(k))  # fmt: skip
  if differ:
    fields = ', '.join(
      f'{k}: {saved.get(k)!r} there, {today.get(k)!r} today' for k in differ
    )
    raise ValueError(
      f"{folder}: not the run of today's configs/{name}.py with seed"
      f' {seed} ({fields}); run it again'
    )
  prov = json.loads((folder / 'eval.json').read_text()).get('provenance')
  if not prov or not prov.get('commit') or 'data' not in prov:
    raise ValueError(
      f'{folder}/eval.json: no provenance (commit, training set); run it'
      " again with today's code"
    )
  run = train.prepare(config)
  drawn = provenance.train_set_fingerprint(run, run.datasets())
  if drawn != prov['data']:
    raise ValueError(
      f"{folder}: today's code draws another training set ({drawn}) than"
      f' the run trained on ({prov["data"]}); run it again'
    )


def _field(config: dict, name: str):
  """A config field, at the top level or in a section of a nested config."""
  if name in config:
    return config[name]
  for section in config.values():
    if isinstance(section, dict) and name in section:
      return section[name]
  return None


def _thousandths(right: int, total: int) -> int:
  """right / total in thousandths of a percent, never rounded up to 100%."""
  if right == total:
    return 100_000
  return min((200_000 * right + total) // (2 * total), 99_999)


def _percent(t: int) -> str:  # t: thousandths of a percent.
  return '100%' if t == 100_000 else f'{t // 1000}.{t % 1000:03d}%'


def _span(values: list[int], show=_percent) -> str:
  """The lowest and highest value of a row's seeds, or the one value."""
  low, high = min(values), max(values)
  return show(low) if low == high else f'{show(low)}–{show(high)}'


def _task(config: dict, evaluation: dict) -> str:
  ops = _field(config, 'operators')
  n_terms = _field(config, 'n_terms')
  hi = _field(config, 'max_number')
  if None in (ops, n_terms, hi):
    return evaluation['task']
  if n_terms == 2 and ops == '/':
    return f'a / b, 0..{hi}, b from 1'
  if n_terms == 2 and len(ops) == 1:
    return f'a {ops} b, 0..{hi}'
  return f'{n_terms} terms with {" ".join(ops)}, 0..{hi}'


def read_run(folder: pathlib.Path) -> dict:
  """One run's figures, checked against each other."""
  match = _FOLDER.fullmatch(folder.name)
  if not match:
    raise ValueError(f'{folder}: name it <config>_seed<N>')
  config = json.loads((folder / 'config.json').read_text())
  evaluation = json.loads((folder / 'eval.json').read_text())
  seed = int(match['seed'])
  if _field(config, 'seed') != seed:
    raise ValueError(
      f'{folder}: config.json has seed {_field(config, "seed")}, the folder'
      f' name says {seed}'
    )
  prov = evaluation.get('provenance') or {}
  if evaluation.get('train_seconds') is None or 'machine' not in prov:
    raise ValueError(
      f'{folder}/eval.json: no training time or provenance; run it again'
      " with today's code"
    )
  sets = {'all': evaluation, 'held': evaluation['never_trained_on']}
  for name, counts in sets.items():
    right = counts['equations'] - counts['errors']
    if abs(counts['exact_match'] * counts['equations'] - right) > 1e-6:
      raise ValueError(
        f'{folder}/eval.json: exact_match {counts["exact_match"]} is not'
        f' {right} right of {counts["equations"]} ({name})'
      )
  return {
    'config': match['config'],
    'seed': seed,
    'task': _task(config, evaluation),
    'mode': evaluation['mode'],
    'equations': evaluation['equations'],
    'drawn_from': evaluation.get('drawn_from'),
    'errors': evaluation['errors'],
    'held': sets['held'],  # Never trained on, nor chose the checkpoint.
    'seconds': evaluation['train_seconds'],
    'cores': prov['machine']['cpu_cores'],
    'spikes': evaluation.get('spikes', {}).get('count'),
  }


def _row(runs: list[dict]) -> str:
  first = runs[0]
  if len({(r['task'], r['mode'], r['equations']) for r in runs}) > 1:
    raise ValueError(f'configs/{first["config"]}.py: its runs differ in task')
  if first['mode'] == 'grid':
    evaluated = f'grid, {first["equations"]:,}'
  else:
    pool = first['drawn_from']
    about = '' if pool['exact'] else 'about '
    evaluated = (
      f'{first["equations"]:,} distinct, never seen, of'
      f' {about}{pool["equations"]:,}'
    )
  right = lambda c: _thousandths(c['equations'] - c['errors'], c['equations'])
  exact, held = [right(r) for r in runs], [right(r['held']) for r in runs]
  held_sizes = [r['held']['equations'] for r in runs]  # Seeds may differ.
  # Per-character accuracy has no integer count in eval.json.
  chars = [
    _thousandths(round(r['held']['char_accuracy'] * 10**9), 10**9) for r in runs
  ]
  traces = '—'
  if 'trace_errors' in first['held']:
    traces = _span(
      [
        _thousandths(c['equations'] - c['trace_errors'], c['equations'])
        for c in (r['held'] for r in runs)
      ]
    )
  cores = _span([r['cores'] for r in runs], str)
  cells = [
    f'`{first["config"]}.py`',
    first['task'],
    ', '.join(str(r['seed']) for r in runs),
    evaluated,
    _span(exact),
    f'{_span(held)} of {_span(held_sizes, "{:,}".format)}',
    _span(chars),
    traces,
    ', '.join(f'{r["errors"]:,}' for r in runs),
    ', '.join('—' if r['spikes'] is None else str(r['spikes']) for r in runs),
    f'{_span([round(r["seconds"]) for r in runs], "{:,}".format)} s,'
    f' {cores} core{"" if cores == "1" else "s"}',
  ]
  return '| ' + ' | '.join(cells) + ' |\n'


def table(results: pathlib.Path) -> str:
  """The markdown table: one row per config, its seeds in one row."""
  by_config = collections.defaultdict(list)
  for folder in sorted(p for p in results.iterdir() if p.is_dir()):
    run = read_run(folder)
    by_config[run['config']].append(run)
  if not by_config:
    raise ValueError(f'{results}: no run folders')
  rank = {name: i for i, name in enumerate(_ORDER)}
  order = sorted(by_config, key=lambda c: (rank.get(c, len(rank)), c))
  rows = [_row(sorted(by_config[c], key=lambda r: r['seed'])) for c in order]
  return _HEADER + ''.join(rows)


def length_table(results: pathlib.Path) -> str:
  """The longer-than-trained table: a row per config whose runs evaluated
  `eval.lengths`, exact-match by digit count (both operands of d digits;
  one of them), lowest and highest over the seeds, recomputed from counts."""
  by_config = collections.defaultdict(list)
  for folder in sorted(p for p in results.iterdir() if p.is_dir()):
    evaluation = json.loads((folder / 'eval.json').read_text())
    if 'lengths' in evaluation:
      seed = int(_FOLDER.fullmatch(folder.name)['seed'])
      config = _FOLDER.fullmatch(folder.name)['config']
      by_config[config].append((seed, evaluation['lengths']))
  if not by_config:
    return ''
  shown = (4, 6, 9)
  header = (
    '| config | seeds | ' + ' | '.join(f'{d} digits' for d in shown)
    + ' | most digits at >= 99%, by seed |\n'
    + '| --- ' * (len(shown) + 3) + '|\n'
  )  # fmt: skip
  rows = []
  for config, runs in sorted(by_config.items()):
    runs.sort()
    right = lambda f: _thousandths(f['equations'] - f['errors'], f['equations'])
    cells = [f'`{config}.py`', ', '.join(str(seed) for seed, _ in runs)]
    for d in shown:
      both = _span([right(r['both'][str(d)]) for _, r in runs])
      one = _span([right(r['one'][str(d)]) for _, r in runs])
      cells.append(f'{both}; {one}')
    cells.append(', '.join(str(_longest(r['both'])) for _, r in runs))
    rows.append('| ' + ' | '.join(cells) + ' |\n')
  return header + ''.join(rows)


def _longest(figures: dict) -> int:
  """The most digits up to which every count has >= 99% exact-match."""
  best = 0
  for d in sorted(figures, key=int):
    f = figures[d]
    if 100 * (f['equations'] - f['errors']) < 99 * f['equations']:
      break
    best = int(d)
  return best


def speed_table(path: pathlib.Path) -> str:
  """The README's speed figures, from `bench/run.py --write`'s file."""
  b = json.loads(path.read_text())
  step, epoch = b['train_step_ms'], b['epoch_s']
  grid, first = b['grid_eval_s'], b['grid_eval_first_call_s']
  rows = [
    ("a training step of the post's model, batch 256", f'{step:.1f} ms'),
    (f'an epoch of the post ({b["steps_per_epoch"]} steps)', f'{epoch:.2f} s'),
    ('the whole grid, 1,000,000 equations', f'{grid:.2f} s'),
    ('the same, compilation included (first call)', f'{first:.2f} s'),
  ]
  lines = [
    f'`{b["command"]}`, {b["date"]}: {b["machine"]}, JAX {b["jax"]}\n',
    '\n| what | time |\n| --- | --- |\n',
    *(f'| {what} | {value} |\n' for what, value in rows),
  ]
  return ''.join(lines)


def _replace(text: str, begin: str, end: str, new: str, path) -> str:
  start, stop = text.find(begin), text.find(end)
  if start < 0 or stop < start:
    raise ValueError(f'{path}: no {begin} ... {end} markers')
  start += len(begin) + 1
  return text[:start] + new + text[stop:]


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--results', default='results', type=pathlib.Path)
  parser.add_argument('--speed', default=SPEED_FILE, type=pathlib.Path)
  mode = parser.add_mutually_exclusive_group()
  mode.add_argument('--check', type=pathlib.Path, metavar='README')
  mode.add_argument('--write', type=pathlib.Path, metavar='README')
  parser.add_argument(
    '--no-check-today',
    dest='check_today',
    action='store_false',
    help="skip checking that each folder is today's run of its config",
  )
  args = parser.parse_args(argv)
  if args.check_today:
    for folder in sorted(p for p in args.results.iterdir() if p.is_dir()):
      check_today(folder)
  new = table(args.results)
  by_length = length_table(args.results)
  speed = args.speed.exists() and speed_table(args.speed)
  path = args.check or args.write
  if path is None:
    print(new + by_length + (speed or ''), end='')
    return 0
  text = path.read_text()
  made = _replace(text, BEGIN, END, new, path)
  if by_length:
    made = _replace(made, LENGTHS_BEGIN, LENGTHS_END, by_length, path)
  if speed:
    made = _replace(made, SPEED_BEGIN, SPEED_END, speed, path)
  if args.write:
    path.write_text(made)
    return 0
  if made != text:
    print(
      f'{path}: its tables differ from {args.results}/ and {args.speed};'
      f' run python -m tools.results_table --write {path}\n'
      f'--- in {path}:\n{text}\n--- made:\n{made}',
      file=sys.stderr,
    )
    return 1
  return 0


if __name__ == '__main__':
  sys.exit(main())

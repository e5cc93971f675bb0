"""The README's results table, made from the run outputs in `results/`.

    python -m lstm_math.results_table                    # print the table
    python -m lstm_math.results_table --write README.md  # replace it there
    python -m lstm_math.results_table --check README.md  # exit 1 if it differs

A folder `results/<config>_seed<N>/` is the run of `configs/<config>.py
--config.seed=N`, with its `config.json`, `eval.json` and `metrics.jsonl`;
folders of the same config make one row. Exact-match is recomputed from the
integer counts, so a hand-edited figure in `eval.json` is an error.
"""

import argparse
import collections
import json
import pathlib
import re
import sys

BEGIN = '<!-- results:begin -->'
END = '<!-- results:end -->'
_FOLDER = re.compile(r'(?P<config>[a-z0-9_]+?)_seed(?P<seed>\d+)')
# The README's order: the post, then by task; other configs follow by name.
_ORDER = (
  'add add_exact add_steps sub sub_steps div'.split()
  + 'mul mul_repeat mixed mixed_repeat'.split()
)
_HEADER = (
  '| config | task | seeds | evaluated on | exact-match | never trained on'
  ' | per character, never trained on | wrong, by seed | time to train |\n'
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n'
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
  lo, hi = _field(config, 'min_number'), _field(config, 'max_number')
  if None in (ops, n_terms, lo, hi):
    return evaluation['task']
  if n_terms == 2 and ops == '/' and lo == 0:
    return f'a / b, {lo}..{hi}, b from 1'
  if n_terms == 2 and len(ops) == 1:
    return f'a {ops} b, {lo}..{hi}'
  return f'{n_terms} terms with {" ".join(ops)}, {lo}..{hi}'


def read_run(folder: pathlib.Path) -> dict:
  """One run's figures, checked against each other."""
  match = _FOLDER.fullmatch(folder.name)
  if not match:
    raise ValueError(f'{folder}: name it <config>_seed<N>')
  config = json.loads((folder / 'config.json').read_text())
  evaluation = json.loads((folder / 'eval.json').read_text())
  lines = (folder / 'metrics.jsonl').read_text().splitlines()
  last_epoch = json.loads([line for line in lines if line.strip()][-1])
  seed = int(match['seed'])
  if _field(config, 'seed') != seed:
    raise ValueError(
      f'{folder}: config.json has seed {_field(config, "seed")}, the folder'
      f' name says {seed}'
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
    'errors': evaluation['errors'],
    'held': sets['held'],  # Never trained on.
    'seconds': last_epoch['elapsed_s'],
  }


def _row(runs: list[dict]) -> str:
  first = runs[0]
  if len({(r['task'], r['mode'], r['equations']) for r in runs}) > 1:
    raise ValueError(f'configs/{first["config"]}.py: its runs differ in task')
  if first['mode'] == 'grid':
    evaluated = f'grid, {first["equations"]:,}'
  else:
    evaluated = f'{first["equations"]:,} random, held out'
  right = lambda c: _thousandths(c['equations'] - c['errors'], c['equations'])
  exact, held = [right(r) for r in runs], [right(r['held']) for r in runs]
  held_sizes = [r['held']['equations'] for r in runs]  # Seeds may differ.
  # Per-character accuracy has no integer count in eval.json.
  chars = [
    _thousandths(round(r['held']['char_accuracy'] * 10**9), 10**9) for r in runs
  ]
  cells = [
    f'`{first["config"]}.py`',
    first['task'],
    ', '.join(str(r['seed']) for r in runs),
    evaluated,
    _span(exact),
    f'{_span(held)} of {_span(held_sizes, "{:,}".format)}',
    _span(chars),
    ', '.join(f'{r["errors"]:,}' for r in runs),
    f'{_span([round(r["seconds"]) for r in runs], str)} s',
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


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--results', default='results', type=pathlib.Path)
  mode = parser.add_mutually_exclusive_group()
  mode.add_argument('--check', type=pathlib.Path, metavar='README')
  mode.add_argument('--write', type=pathlib.Path, metavar='README')
  args = parser.parse_args(argv)
  new = table(args.results)
  path = args.check or args.write
  if path is None:
    print(new, end='')
    return 0
  text = path.read_text()
  start, end = text.find(BEGIN), text.find(END)
  if start < 0 or end < start:
    raise ValueError(f'{path}: no {BEGIN} ... {END} markers')
  start += len(BEGIN) + 1
  if args.write:
    path.write_text(text[:start] + new + text[end:])
    return 0
  old = text[start:end]
  if old != new:
    print(
      f'{path}: the results table differs from {args.results}/; run'
      f' python -m lstm_math.results_table --write {path}\n'
      f'--- in {path}:\n{old}--- from {args.results}/:\n{new}',
      file=sys.stderr,
    )
    return 1
  return 0


if __name__ == '__main__':
  sys.exit(main())

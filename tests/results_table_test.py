"""Tests of the results table: its figures, the README's copy of it, and
that every folder in results/ is today's run of its config."""

import json
import pathlib

import pytest

from configs import tiny
from lstm_math import provenance
from lstm_math import train
from tools import results_table

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _run(
  results,
  name,
  *,
  seed,
  errors,
  held_errors,
  seconds,
  mode='grid',
  held=1_000,
  cores=2,
):
  """A results folder of a two-operand addition run on 0..99."""
  folder = results / name
  folder.mkdir(parents=True)
  config = {'operators': '+', 'n_terms': 2, 'seed': seed}
  config['max_number'] = 99
  (folder / 'config.json').write_text(json.dumps(config))
  evaluation = {
    'mode': mode,
    'task': '2 terms in 0..99, operators +',
    'equations': 10_000,
    'errors': errors,
    'exact_match': (10_000 - errors) / 10_000,
    'never_trained_on': {
      'equations': held,
      'errors': held_errors,
      'exact_match': (held - held_errors) / held,
      'char_accuracy': 0.995,
    },
    'train_seconds': seconds,
    'provenance': {'machine': {'cpu_cores': cores}},
  }
  (folder / 'eval.json').write_text(json.dumps(evaluation))
  return folder


def _rows(text):
  return text.splitlines()[2:]


def test_seeds_of_a_config_make_one_row(tmp_path):
  _run(tmp_path, 'add_seed0', seed=0, errors=3, held_errors=2, seconds=10.4)
  _run(tmp_path, 'add_seed1', seed=1, errors=0, held_errors=0, seconds=12.6)
  _run(
    tmp_path,
    'add_seed2',
    seed=2,
    errors=0,
    held_errors=0,
    seconds=11,
    held=1_012,
  )
  folder = _run(
    tmp_path,
    'sub_seed0',
    seed=0,
    errors=1,
    held_errors=1,
    seconds=1030,
    cores=1,
  )
  evaluation = json.loads((folder / 'eval.json').read_text())
  evaluation['spikes'] = {'count': 2, 'epochs': [5, 9]}
  (folder / 'eval.json').write_text(json.dumps(evaluation))
  rows = _rows(results_table.table(tmp_path))
  assert rows == [
    '| `add.py` | a + b, 0..99 | 0, 1, 2 | grid, 10,000 | 99.970%–100%'
    ' | 99.800%–100% of 1,000–1,012 | 99.500% | — | 3, 0, 0 | —, —, —'
    ' | 10–13 s, 2 cores |',
    '| `sub.py` | a + b, 0..99 | 0 | grid, 10,000 | 99.990%'
    ' | 99.900% of 1,000 | 99.500% | — | 1 | 2 | 1,030 s, 1 core |',
  ], 'one row per config, seeds in order, figures from the counts'


def test_one_wrong_of_many_is_not_rounded_to_100(tmp_path):
  folder = _run(
    tmp_path, 'add_seed0', seed=0, errors=0, held_errors=0, seconds=1
  )
  evaluation = json.loads((folder / 'eval.json').read_text())
  evaluation.update(equations=1_000_000, errors=1, exact_match=0.999999)
  (folder / 'eval.json').write_text(json.dumps(evaluation))
  row = _rows(results_table.table(tmp_path))[0]
  assert '| 99.999% |' in row, f'1 wrong of 1,000,000 must not read 100%: {row}'


def test_a_hand_edited_exact_match_is_refused(tmp_path):
  folder = _run(
    tmp_path, 'add_seed0', seed=0, errors=3, held_errors=2, seconds=1
  )
  evaluation = json.loads((folder / 'eval.json').read_text())
  evaluation['never_trained_on']['exact_match'] = 0.999
  (folder / 'eval.json').write_text(json.dumps(evaluation))
  with pytest.raises(ValueError, match='998 right of 1000'):
    results_table.table(tmp_path)


def test_a_seed_unlike_the_folder_name_is_refused(tmp_path):
  _run(tmp_path, 'add_seed1', seed=0, errors=0, held_errors=0, seconds=1)
  with pytest.raises(ValueError, match='seed 0, the folder name says 1'):
    results_table.table(tmp_path)


def test_check_fails_on_a_stale_readme_and_write_mends_it(tmp_path, capsys):
  results = tmp_path / 'results'
  _run(results, 'add_seed0', seed=0, errors=3, held_errors=2, seconds=1)
  readme = tmp_path / 'README.md'
  stale = results_table.table(results).replace('99.970%', '99.990%')
  readme.write_text(f'# x\n{results_table.BEGIN}\n{stale}{results_table.END}\n')
  args = ['--results', str(results), '--no-check-today']
  args += ['--speed', str(tmp_path / 'no_bench.json')]
  assert results_table.main([*args, '--check', str(readme)]) == 1
  assert '99.990%' in capsys.readouterr().err
  assert results_table.main([*args, '--write', str(readme)]) == 0
  assert results_table.main([*args, '--check', str(readme)]) == 0
  assert readme.read_text().startswith('# x\n'), 'text outside the markers'


def test_length_table_spans_seeds_and_finds_the_longest_at_99(tmp_path):
  def figures(errors_by_digits):
    return {
      str(d): {'equations': 10_000, 'errors': e}
      for d, e in enumerate(errors_by_digits, start=1)
    }

  for seed, errors in ((0, [0] * 5 + [99, 100, 101, 5000]), (1, [0] * 9)):
    folder = _run(
      tmp_path, f'add_long_seed{seed}', seed=seed, errors=0, held_errors=0,
      seconds=1,
    )  # fmt: skip
    evaluation = json.loads((folder / 'eval.json').read_text())
    evaluation['lengths'] = {'both': figures(errors), 'one': figures([0] * 9)}
    (folder / 'eval.json').write_text(json.dumps(evaluation))
  _run(tmp_path, 'add_seed0', seed=0, errors=3, held_errors=2, seconds=1)
  rows = _rows(results_table.length_table(tmp_path))
  assert rows == [
    '| `add_long.py` | 0, 1 | 100%; 100% | 99.010%–100%; 100%'
    ' | 50.000%–100%; 100% | 7, 9 |'
  ], rows


def test_speed_table_comes_from_the_bench_file(tmp_path, capsys):
  bench = {
    'train_step_ms': 2.54,
    'epoch_s': 0.291,
    'steps_per_epoch': 106,
    'grid_eval_s': 1.534,
    'grid_eval_first_call_s': 3.21,
    'command': 'python bench/run.py --quick --write bench/speed.json',
    'date': '2026-12-07',
    'machine': 'x86_64, 2 cores, cpu',
    'jax': '0.10.2',
  }
  speed = tmp_path / 'speed.json'
  speed.write_text(json.dumps(bench))
  text = results_table.speed_table(speed)
  assert text.startswith('`python bench/run.py --quick --write'), text
  for figure in ('| 2.5 ms |', '| 0.29 s |', '(106 steps)', '| 1.53 s |'):
    assert figure in text, (figure, text)
  results = tmp_path / 'results'
  _run(results, 'add_seed0', seed=0, errors=3, held_errors=2, seconds=1)
  readme = tmp_path / 'README.md'
  readme.write_text(
    f'{results_table.BEGIN}\n{results_table.END}\n'
    f'{results_table.SPEED_BEGIN}\nold\n{results_table.SPEED_END}\n'
  )
  args = ['--results', str(results), '--no-check-today', '--speed', str(speed)]
  assert results_table.main([*args, '--check', str(readme)]) == 1
  assert results_table.main([*args, '--write', str(readme)]) == 0
  assert text in readme.read_text() and 'old' not in readme.read_text()


def test_a_run_without_provenance_is_refused(tmp_path):
  folder = _run(
    tmp_path, 'add_seed0', seed=0, errors=0, held_errors=0, seconds=1
  )
  evaluation = json.loads((folder / 'eval.json').read_text())
  del evaluation['provenance']
  (folder / 'eval.json').write_text(json.dumps(evaluation))
  with pytest.raises(ValueError, match='no training time or provenance'):
    results_table.table(tmp_path)


def test_the_trace_column_counts_whole_traces(tmp_path):
  folder = _run(
    tmp_path, 'add_seed0', seed=0, errors=0, held_errors=0, seconds=1
  )
  evaluation = json.loads((folder / 'eval.json').read_text())
  evaluation['never_trained_on'].update(trace_errors=10, trace_exact=0.99)
  (folder / 'eval.json').write_text(json.dumps(evaluation))
  row = _rows(results_table.table(tmp_path))[0]
  assert '| 100% of 1,000 | 99.500% | 99.000% |' in row, row


def _tiny_folder(tmp_path, seed=0, **changes):
  """results/tiny_seed<seed>/ as a run of today's configs/tiny.py writes it."""
  config = tiny.get_config()
  config.seed = seed
  folder = tmp_path / f'tiny_seed{seed}'
  folder.mkdir()
  (folder / 'config.json').write_text(config.to_json_best_effort())
  run = train.prepare(config)
  prov = provenance.record(run, run.datasets())
  prov.update(changes)
  (folder / 'eval.json').write_text(json.dumps({'provenance': prov}))
  return folder, config


def test_check_today_takes_todays_run(tmp_path):
  folder, _ = _tiny_folder(tmp_path)
  results_table.check_today(folder)


def test_check_today_refuses_another_config(tmp_path):
  folder, config = _tiny_folder(tmp_path)
  config.data.batch_size = 32
  (folder / 'config.json').write_text(config.to_json_best_effort())
  with pytest.raises(ValueError, match='data.batch_size: 32 there, 64 today'):
    results_table.check_today(folder)


def test_check_today_refuses_another_training_set(tmp_path):
  folder, _ = _tiny_folder(tmp_path, data={'kind': 'fixed', 'train': 'x'})
  with pytest.raises(ValueError, match='draws another training set'):
    results_table.check_today(folder)


def test_check_today_refuses_a_run_without_provenance(tmp_path):
  folder, _ = _tiny_folder(tmp_path)
  (folder / 'eval.json').write_text('{}')
  with pytest.raises(ValueError, match='no provenance'):
    results_table.check_today(folder)


@pytest.mark.parametrize(
  'name', sorted(p.name for p in (ROOT / 'results').iterdir() if p.is_dir())
)
def test_every_results_folder_is_todays_run_of_its_config(name):
  results_table.check_today(ROOT / 'results' / name)


def test_readme_table_is_the_one_results_gives():
  readme = ROOT / 'README.md'
  code = results_table.main(
    [
      '--results',
      str(ROOT / 'results'),
      '--check',
      str(readme),
      '--no-check-today',  # The test above checks each folder.
    ]
  )
  assert code == 0, (
    "README.md's results table differs from results/ (printed above); run"
    ' python -m tools.results_table --write README.md'
  )

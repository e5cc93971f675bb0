"""The README's layout section names every module, bench script and tool."""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _layout() -> str:
  readme = (ROOT / 'README.md').read_text()
  section = readme.split('## Layout', 1)[1]
  return re.search(r'```\n(.*?)```', section, re.S).group(1)


def _named(layout: str, folder: str) -> set[str]:
  """The file names the layout gives under `folder/`, in either form: one a
  line (`  name.py  what`) or listed after the folder (`a.py, b.py`)."""
  lines = layout.split(f'{folder}/', 1)[1].splitlines()
  block = [lines[0]]
  for line in lines[1:]:
    if not line.startswith(' '):  # The next top-level entry.
      break
    block.append(line)
  return set(re.findall(r'[\w.]+\.(?:py|sh|json|md)', '\n'.join(block)))


def test_layout_names_every_file():
  layout = _layout()
  for folder, pattern in [
    ('lstm_math', '*.py'),
    ('bench', '*.py'),
    ('tools', '*.*'),
  ]:
    files = {
      p.name for p in (ROOT / folder).glob(pattern) if p.name != '__init__.py'
    }
    missing = files - _named(layout, folder)
    assert not missing, f'README layout lacks {folder}/{sorted(missing)}'
    gone = {n for n in _named(layout, folder) if n.endswith('.py')} - files
    assert not gone, f'README layout names missing {folder}/{sorted(gone)}'


def test_named_reads_both_forms():
  layout = 'a/\n  x.py   what\n  y.py   more\nb/  p.py, q.sh\n  r.json\n'
  layout += 'c/ z.py\n'
  assert _named(layout, 'a') == {'x.py', 'y.py'}
  assert _named(layout, 'b') == {'p.py', 'q.sh', 'r.json'}

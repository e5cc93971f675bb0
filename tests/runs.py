"""Small configs the tests train: configs/tiny.py, quiet and on one device."""

from configs import tiny


def tiny_config(**sections):
  """tiny.py for 3 epochs without examples, updated by section:

  `tiny_config(model=dict(hidden_size=8), train=dict(epochs=1))`.
  """
  c = tiny.get_config()
  c.update(
    train=dict(epochs=3, examples_before=0, examples_after=0),
    devices=dict(parallel='jit'),
  )
  c.update(sections)
  return c

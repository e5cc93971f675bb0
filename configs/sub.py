"""Subtraction of 0..999, negative results allowed, on the whole grid.

    python launch.py --config=configs/sub.py

Results run from -999 to 999 and are written with a leading '-'. The recipe
of configs/add_exact.py with the answer at a fixed width, its sign first
('-007'), a wider model, and more data: 200,000 distinct equations of the
grid (180,000 to train on, 20,000 held out) for 30 epochs. add_exact's
carry_boost weights the sample towards columns that make or pass on a
borrow here.

Expect (2-core CPU, 2026-11-29): 0 wrong of 1,000,000 (820,000 of them never
trained on), in about 6 minutes (367 s). With the post's 30,000 equations
(120 epochs) 1,190 wrong, most where the lower digits of a and b are equal
(`58 - 358 = -200`, expected -300); with 100,000 (40 epochs, 258 s), 3.
"""

from configs import add_exact


def get_config():
  c = add_exact.get_config()
  c.operators = '-'
  c.pad_result = True  # The sign and every digit at a fixed place.
  c.hidden_size = 96
  c.n_examples = 200_000  # The sample's size is the lever: see above.
  c.epochs = 30
  return c

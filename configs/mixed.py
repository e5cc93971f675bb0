"""Three operands with + - * and precedence, like '13 + 83 * 44'.

    python launch.py --config=configs/mixed.py          # operands 0..99
    python launch.py --config=configs/mixed.py:999      # operands 0..999

There is no 2-D grid for three operands: the evaluation draws 100,000
random held-out equations (a fixed hash of each equation holds out 10%;
training never draws one of them).

Expect (2-core CPU, 2026-11-29), 0..99: exact-match 0.417 on the 100,000
held-out equations (per character 0.874) after 40 epochs, about 4 minutes
(249 s); far from the 99.9% aimed at. Three times as long (120 epochs,
770 s, 2026-11-30): 0.553 (per character 0.914), so on this CPU the target
is hours away at best, if this model size reaches it at all. The errors
are multiplication's (`operators.png`, 120 epochs): with only + and -,
99.7% right; with one product, 22 to 23%; a * b * c, 5.6%. Operands drawn
uniformly (`--config.weighting=uniform`) or half and half (`mixed`): 0.181
and 0.190 after 40 epochs, against 0.417 with the short operands that
'digits' draws half the time. Two layers a side (as `mul.py`), pinned to
one core: 0.160 after 29 epochs against 0.287 for one layer, at 3.4 times
the time an epoch; stopped. Twice as long again (240 epochs, pinned to
one core, 2,309 s): 0.598; with only + and -, 99.96% right (16 wrong of
44,586), one product 32 to 34%, a * b * c 6.9%.

0..999 is sized for an accelerator and not run: on this CPU a step takes
5.5 s (`python bench/step_time.py configs/mixed.py:999`), so its 100,000
steps about 150 hours.
"""

from lstm_math import config as config_lib


def get_config(max_number: str = '99'):
  c = config_lib.base()
  c.operators = '+-*'
  c.n_terms = 3
  c.max_number = int(max_number)
  c.dataset = 'stream'
  c.weighting = 'digits'
  c.n_examples = 30_000  # 3,000 test equations for the epoch lines.
  c.steps_per_epoch = 200
  c.pad_operands = True
  c.reverse_target = True
  c.hidden_size = 128
  c.batch_size = 256
  c.learning_rate = 0.005
  c.schedule = 'warmup_cosine'
  c.warmup_epochs = 2
  c.epochs = 40
  if c.max_number > 99:
    # Sized for one accelerator and not run (no device was lent): 100,000
    # steps of 1,024 equations, about 100 million against the 2 million
    # above, through a deeper and wider model.
    c.n_examples = 300_000  # 30,000 test equations.
    c.steps_per_epoch = 500
    c.hidden_size = 512
    c.enc_layers = 2
    c.dec_layers = 2
    c.batch_size = 1024
    c.learning_rate = 0.002
    c.epochs = 200
  return c

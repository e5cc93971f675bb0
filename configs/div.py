"""Integer division of 0..999 by 1..999, rounding towards zero.

    python launch.py --config=configs/div.py

The rule (README, "Equations"): a / b is the integer quotient rounded
towards zero, which is floor division for these non-negative operands; the
divisor is never 0, so the grid is 1,000 x 999. Fresh equations every step
from the 90% of the grid that is not held out.

Expect (2-core CPU, 2026-11-30): 115 wrong of 999,000 (exact-match
0.99988 over the grid; **0.99914 on the held-out tenth**, 86 of 99,644
wrong), every one a single character, a quotient one off, most at divisors
below 60 where quotients are long; 9 to 9.5 minutes (569 s and 542 s, each
alone on the machine).

What got it there: drawing operands by length half the time
(`weighting='mixed'`): 50 epochs from 8,891 wrong (many at divisors below
10) to 3,432; more epochs: 80: 1,718, 120: 877 (held out: 0.99789), every
error at a = q * b or just below it. Half the dividends drawn near a
multiple of b (`near_multiples=0.5`, within 3 + b // 20): 196 wrong (held
out 0.99898; seed 1: 242 and 0.99891); near_multiples 0.35: 626, 0.75:
786; with the window [-3, 2] the errors moved just outside it (400).
Dropout 0.1: 965. 135 epochs: 148 wrong (0.99919 held out).
Which checkpoint: the 3,000 test equations chose the one of lowest loss at
epoch 103 (196 wrong); 30,000 chose a later one, 111 to 123 wrong (0.99915
held out; the runs differ in the last digits of their floats on one core
or two), but evaluating them every epoch took 80 s and the run 11 minutes.
The schedule decays to zero, so the last epoch is the one to keep
(`best_by='last'`, kept): 3,000 test equations, 115 wrong, 9.5 minutes.
"""

from lstm_math import config as config_lib


def get_config():
  c = config_lib.base()
  c.operators = '/'
  c.dataset = 'stream'
  c.weighting = 'mixed'  # Small divisors, where the quotients are long.
  c.near_multiples = 0.5  # Half the dividends where the quotient steps.
  c.n_examples = 30_000  # 3,000 test equations for the epoch lines.
  c.steps_per_epoch = 200
  c.pad_operands = True
  c.hidden_size = 128
  c.batch_size = 256
  c.learning_rate = 0.005
  c.schedule = 'warmup_cosine'
  c.warmup_epochs = 2
  c.epochs = 120
  # The learning rate decays to zero: keep the last epoch. By the test
  # loss, 3,000 equations chose epoch 103, with 70% more errors.
  c.best_by = 'last'
  return c

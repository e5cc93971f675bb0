"""Multiplication 0..99, the work shown: long multiplication, then the answer.

    python launch.py --config=configs/mul.py
    python launch.py --config=configs/mul.py:3   # 0..999, for an accelerator

Expect (2-core CPU): 0 wrong of 10,000 for seeds 0, 1 and 2, the 497 to 506
held-out equations included, every written trace right, 0 held-out errors
from epoch 12 to 23 on; 20 minutes of training alone (bench/step_time.py),
24 on one core beside another run. `:3`: 6.5 hours here, not run.

An autoregressive LSTM decoder writes every step of long multiplication
(`steps.py`: each single-digit product copies its digits and carry first,
then the column sums), then the answer; exact-match counts the answer. A
twentieth of the unordered pairs is held out in both orders, so no held-out
product's mirror was trained on. Each step reads its place in the trace,
and attends over the source's symbols and its own earlier tokens with a
query learnt for its place (the trace's layout is fixed), so a copy reads
the same place for every pair (docs/experiments.md).
"""

from lstm_math import config as config_lib


def get_config(digits: str = '2'):
  if digits not in ('2', '3'):
    raise ValueError(f"configs/mul.py:{digits}: digits must be '2' or '3'")
  c = config_lib.base()
  c.task.update(operators='*', max_number=99, pad_operands=True)
  c.task.target = 'steps'
  c.data.update(n_examples=10_000, distinct_operands=False, batch_size=128)
  c.data.update(split=0.05, hold_out='pairs')
  c.model.update(decoder='autoregressive', hidden_size=128, batch_norm=False)
  c.model.dec_positions = True  # Each step reads its place in the trace.
  c.model.dec_source_tokens = True  # A copy's key: its place, not b's.
  c.model.dec_own_attention = True  # The answer re-reads the column sums.
  c.model.dec_place_queries = True  # Where to look depends on the place.
  config_lib.warmup_cosine(c, learning_rate=0.003, epochs=40)
  c.train.update(best_by='last', examples_before=2)
  if digits == '3':  # 0..999, 106 tokens: fresh pairs every step.
    c.task.max_number = 999
    c.data.update(dataset='stream', n_examples=100_000, steps_per_epoch=500)
  return c

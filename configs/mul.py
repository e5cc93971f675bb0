"""Multiplication 0..99, the work shown: long multiplication, then the answer.

    python launch.py --config=configs/mul.py    # 17-21 min on one core
    python launch.py --config=configs/mul.py:3  # 0..999: 6.5 hours, not run

Expect: 0/10,000 wrong, no spike (seeds 0-4; one core, 17-21 min)

Every step of long multiplication (`steps.py`), then the answer; a twentieth
of the pairs held out in both orders. Queries by place: the trace's layout is
fixed, so a copy reads one place, and every written trace comes out right.
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
  # The average's horizon (1 / (1 - decay) steps) about 4 epochs, as in
  # add_steps.py: 0.999 over 3,000 steps leaves 5% of the initial weights
  # in it (0.999**3000), 0.997 leaves 0.01%.
  config_lib.spike_remedy(c, average=0.997)
  c.train.update(best_by='last', examples_before=2)
  if digits == '3':  # 0..999, 106 tokens: fresh pairs every step.
    c.task.max_number = 999
    c.data.update(dataset='stream', n_examples=100_000, steps_per_epoch=500)
  return c

"""Addition of 0..999, the work shown: column by column with carries.

    python launch.py --config=configs/add_steps.py  # one core: 8 min, grid 2

Expect: 0 wrong of 1M and no loss spike on the test set (seeds 0-4)

The decoder writes each column's digits, carry in, sum and carry out, then
the answer, which exact-match counts; `mul.py`'s decoder, from add_exact's
27,000 training equations.
"""

from lstm_math import config as config_lib


def get_config():
  c = config_lib.base()
  c.task.update(operators='+', pad_operands=True, target='steps')
  c.data.update(distinct_operands=False, batch_size=128)
  # add_exact's draw: short operands and carry chains more often.
  c.data.update(weighting='half_digits', digits_share=3 / 7, carry_boost=1.0)
  c.model.update(decoder='autoregressive', hidden_size=64, batch_norm=False)
  c.model.dec_positions = True
  c.model.dec_own_attention = True  # The answer looks its digits up again.
  c.model.dec_source_tokens = True  # A copy's key: its place, not b's.
  c.model.dec_place_queries = True  # Where to look depends on the place.
  config_lib.warmup_cosine(c, learning_rate=0.003, epochs=30)
  # Without: 0, 27 and 47 wrong (seeds 0, 1, 2), moving with rounding.
  c.optim.weight_decay = 0.1
  config_lib.spike_remedy(c)  # Without: 1 to 4 spikes a seed.
  c.train.update(best_by='last', examples_before=2)
  return c

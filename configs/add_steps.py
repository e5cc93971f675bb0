"""Addition of 0..999, the work shown: column by column with carries.

    python launch.py --config=configs/add_steps.py

The autoregressive decoder writes each column's digits, carry in, sum and
carry out, then the answer; exact-match counts the answer. The post's data
budget: 27,000 training equations, 3,000 test. Each decoder step also reads
its place in the trace (`dec_positions`), so a copy knows which digit it
copies.
Expect (2-core CPU): figures in docs/experiments.md (in progress).
"""

from lstm_math import config as config_lib


def get_config():
  c = config_lib.base()
  c.task.update(operators='+', pad_operands=True, target='steps')
  c.data.update(distinct_operands=False, batch_size=128)
  c.model.update(decoder='autoregressive', hidden_size=64, batch_norm=False)
  c.model.dec_positions = True
  c.optim.update(learning_rate=0.003, schedule='warmup_cosine')
  c.optim.warmup_epochs = 2
  c.train.update(epochs=30, best_by='last', examples_before=2)
  return c

"""Three operands with + - * and precedence, like '13 + 83 * 44', steps shown.

    python launch.py --config=configs/mixed.py      # 0..99: 55-75 min
    python launch.py --config=configs/mixed.py:999  # 31 h here, sized for a GPU

Expect: 0 of 100,000 wrong, no spike (seed 0; one core, 72 min beside a run)

The trace copies the operators, multiplies first, adds the '+' terms and the
'-' terms apart, subtracts once (`steps.py`). Queries by place and by decoder
state, and a 256-wide output layer for the products' table.
"""

from lstm_math import config as config_lib


def get_config(max_number: str = '99'):
  if max_number not in ('99', '999'):
    raise ValueError(
      f"configs/mixed.py:{max_number}: max_number must be '99' or '999'"
    )
  c = config_lib.base()
  c.task.update(operators='+-*', n_terms=3, max_number=99, pad_operands=True)
  c.task.target = 'steps'
  c.data.update(dataset='stream', n_examples=30_000, steps_per_epoch=200)
  c.data.update(weighting='uniform', batch_size=128)
  c.model.update(decoder='autoregressive', hidden_size=64, batch_norm=False)
  c.model.dec_positions = True  # Each step reads its place in the trace.
  c.model.dec_source_tokens = True  # A copy's key: its place.
  c.model.dec_own_attention = True  # Sums re-read the products written.
  c.model.dec_place_queries = True  # Where to look depends on the place.
  c.model.dec_state_queries = True  # ... and on what was written so far.
  c.model.dec_head = 256  # Room for the single-digit products' table.
  config_lib.warmup_cosine(c, learning_rate=0.003, epochs=30)
  c.optim.weight_decay = 0.1
  config_lib.spike_remedy(c)
  c.train.update(best_by='last', examples_before=2)
  if max_number == '999':  # 296 tokens; not run (no accelerator lent).
    c.task.max_number = 999
    c.data.update(n_examples=100_000, steps_per_epoch=500, batch_size=512)
    c.model.update(hidden_size=128, dec_head=512)
  return c

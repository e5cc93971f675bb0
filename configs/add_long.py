"""Addition learnt on operands of up to 3 digits, asked of up to 9 digits.

    python launch.py --config=configs/add_long.py  # one core: 8 min

Expect: 0 wrong of 1M; every equation right of 4 to 9 digits (seeds 0-2)

`add_steps.py`'s data, its 27,000 training equations of 0..999, and its
written columns, by a decoder without a row per position (model.dec_places):
each step knows its role in the trace and the place (power of ten) it is
about, and reads the source's digits and its own earlier tokens by attention
in which equal places match. Operands are written as people write them (no
padding). After the grid, 10,000 random equations of each digit count 1..9:
both operands of d digits, and one of d digits (eval.json, length.png).
"""

from configs import add_steps


def get_config(operators: str = '+'):
  c = add_steps.get_config()
  c.task.update(operators=operators, pad_operands=False)
  c.model.update(
    dec_positions=False,
    dec_own_attention=False,
    dec_source_tokens=False,
    dec_place_queries=False,
    dec_places=True,
  )
  c.eval.lengths = 9
  return c

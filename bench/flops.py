"""FLOP counts of the model's shapes, for the benchmarks' limits.

A multiply-add is 2 FLOPs; element-wise work (gates, softmax) is left out.
`m` is a `lstm_math.model.Seq2Seq`.
"""


def encoder_flops(m, src_len: int) -> int:
  """FLOPs (a multiply-add is 2) of the encoder over one source: each step's
  recurrent products, and from the second layer on its input products (the
  first layer's input is a gather)."""
  h = m.hidden
  recurrent = 2 * h * 4 * h
  deeper = (m.enc_layers - 1) * (2 * 2 * h * 4 * h)
  return src_len * 2 * (m.enc_layers * recurrent + deeper)


def decoder_flops_per_token(m, src_len: int) -> int:
  """FLOPs of one autoregressive decoder step, for a source of `src_len`.

  The token's input is a gather, every other input a product. Attention
  costs its query, scores, context and share of the output layer; over
  symbols at places (`_attend_symbols`: the T tokens read, the S source
  symbols) its query (none asked by place alone: one row serves every
  equation), scores by symbol and by place, the weights summed by symbol
  and the context from both tables. `dec_head`: its layer, and the output's.
  """
  h, e, v = 2 * m.hidden, 2 * m.hidden, m.n_symbols  # Decoder units h = e.
  lstm = 2 * (e * 4 * h + h * 4 * h) + (m.dec_layers - 1) * 2 * (2 * h * 4 * h)
  asked = not m.dec_place_queries or m.dec_state_queries
  rows = v + 1  # The symbols and padding.

  def by_symbol(n: int) -> int:  # Keys and values of width h.
    tables = 2 * h * (rows + n)
    return asked * (2 * h * h + tables) + 2 * n * rows + tables + 2 * h * v

  flops = lstm + 2 * h * v + 2 * h * e + 4 * src_len * e + 2 * e * v
  if m.dec_own_attention:
    flops += by_symbol(m.tgt_len)
  if m.dec_source_tokens:
    flops += by_symbol(src_len)
  if m.dec_head:  # The features go to the head, the head to the output.
    features = h + e + h * (m.dec_own_attention + m.dec_source_tokens)
    flops += 2 * features * m.dec_head + 2 * m.dec_head * v - 2 * features * v
  return flops

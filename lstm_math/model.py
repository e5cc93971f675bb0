"""The post's BiLSTM encoder-decoder in Flax, and its other decoders."""

import flax.linen as nn
import jax
from jax import lax
import jax.numpy as jnp
import numpy as np

from lstm_math import steps


def _stacked(init):
  """Applies `init` to each slice of a leading direction axis."""
  return lambda key, shape, dtype=jnp.float32: jnp.stack(
    [init(k, shape[1:], dtype) for k in jax.random.split(key, shape[0])]
  )


# The post's (Keras') initialisers.
_KERNEL_INIT = nn.initializers.glorot_uniform()
_RECURRENT_INIT = nn.initializers.orthogonal()
_STACKED_KERNEL = _stacked(_KERNEL_INIT)
_STACKED_RECURRENT = _stacked(_RECURRENT_INIT)


def _scan(step, **kwargs):
  """`nn.scan` of a step module whose parameters every step shares."""
  return nn.scan(
    step, variable_broadcast='params', split_rngs={'params': False}, **kwargs
  )


def _lstm_bias(hidden: int):
  """Zeros, but 1 for the forget gate (Keras' `unit_forget_bias`)."""
  return lambda _, shape, dtype=jnp.float32: (
    jnp.zeros(shape, dtype).at[..., hidden : 2 * hidden].set(1.0)
  )


def _gates(z, hidden):
  """Gates (i, f, g, o) of z [..., 4H] by one tanh: 2.5x faster on a CPU."""
  scale = np.full(4 * hidden, 0.5, np.float32)
  scale[2 * hidden : 3 * hidden] = 1.0
  i, f, g, o = jnp.split(jnp.tanh(z * scale), 4, axis=-1)
  return 0.5 * i + 0.5, 0.5 * f + 0.5, g, 0.5 * o + 0.5


class _BiStep(nn.Module):
  """One step of both directions. `xs = (x, mask [2, B])`: x is the step's
  input projection [2, B, 4H]; with `gather`, ids [2, B] into the table `const`
  [2, V + 1, 4H]; None: `const` [2, B, 4H] serves every step."""

  hidden: int
  gather: bool = False

  @nn.compact
  def __call__(self, carry, xs, const):
    shape = (2, self.hidden, 4 * self.hidden)
    kernel_2xHx4H = self.param('recurrent_kernel', _STACKED_RECURRENT, shape)
    h_2xBxH, c_2xBxH = carry
    x, mask_2xB = xs
    if self.gather:  # Each direction's rows of its table.
      x = jnp.stack([const[0][x[0]], const[1][x[1]]])
    xp_2xBx4H = const if x is None else x
    z = xp_2xBx4H + jnp.einsum('dbh,dhg->dbg', h_2xBxH, kernel_2xHx4H)
    i, f, g, o = _gates(z, self.hidden)
    c_new = f * c_2xBxH + i * g
    h_new = o * jnp.tanh(c_new)
    if mask_2xB is not None:
      keep = mask_2xB[..., None]
      h_new = jnp.where(keep, h_new, h_2xBxH)
      c_new = jnp.where(keep, c_new, c_2xBxH)
    return (h_new, c_new), h_new


class BiLSTM(nn.Module):
  """A bidirectional LSTM layer over one input: `ids_BxS` (rows of the input
  kernel; id `n_symbols`, padding, a zero row), `x_BxTxF`, or `x_BxF` repeated
  `length` times. Returns [h_fw, h_bw] [B, 2H], or the outputs [B, T, 2H]."""

  hidden: int
  return_sequences: bool = False

  @nn.compact
  def __call__(
    self,
    *,
    ids_BxS=None,
    x_BxTxF=None,
    x_BxF=None,
    length=None,
    mask_BxT=None,
    n_symbols=None,
  ):
    h4 = 4 * self.hidden
    kernel = lambda n_in: self.param('kernel', _STACKED_KERNEL, (2, n_in, h4))
    bias_2x4H = self.param('bias', _lstm_bias(self.hidden), (2, h4))
    # Step s of the scan: time s forward, time T - 1 - s backward.
    both_ways = lambda x_TxB: jnp.stack([x_TxB, x_TxB[::-1]], axis=1)
    xp_const = xp_Sx2xBx4H = None
    if ids_BxS is not None:
      # Each step gathers its rows of this table: no [S, B, 4H] in memory.
      k_2xVx4H = jnp.pad(kernel(n_symbols), ((0, 0), (0, 1), (0, 0)))
      xp_const = k_2xVx4H + bias_2x4H[:, None, :]
      xp_Sx2xBx4H = both_ways(ids_BxS.T)
      batch, length = ids_BxS.shape
    elif x_BxTxF is not None:
      k_2xFx4H = kernel(x_BxTxF.shape[-1])
      xp_2xTxBx4H = jnp.einsum('btf,dfg->dtbg', x_BxTxF, k_2xFx4H)
      xp_Sx2xBx4H = (
        jnp.stack([xp_2xTxBx4H[0], xp_2xTxBx4H[1, ::-1]], axis=1)
        + bias_2x4H[:, None, :]
      )
      batch, length = x_BxTxF.shape[:2]
    else:
      k_2xFx4H = kernel(x_BxF.shape[-1])
      xp_const = jnp.einsum('bf,dfg->dbg', x_BxF, k_2xFx4H) + bias_2x4H[:, None]
      batch = x_BxF.shape[0]
    mask_Sx2xB = None if mask_BxT is None else both_ways(mask_BxT.T)
    scan = _scan(_BiStep, in_axes=(0, nn.broadcast), length=length)
    zeros = jnp.zeros((2, batch, self.hidden), jnp.float32)
    (h_2xBxH, _), out_Tx2xBxH = scan(
      self.hidden, ids_BxS is not None, name='recurrence'
    )((zeros, zeros), (xp_Sx2xBx4H, mask_Sx2xB), xp_const)
    if not self.return_sequences:
      return jnp.concatenate([h_2xBxH[0], h_2xBxH[1]], axis=-1)
    out_TxBx2H = jnp.concatenate([out_Tx2xBxH[:, 0], out_Tx2xBxH[::-1, 1]], -1)
    return out_TxBx2H.transpose(1, 0, 2)


class BatchNorm(nn.Module):
  """Keras' BatchNorm (momentum 0.99, epsilon 1e-3) whose statistics count
  the rows where `weight_B` != 0, on all devices of `axis_name`."""

  momentum: float = 0.99
  epsilon: float = 1e-3

  @nn.compact
  def __call__(
    self, x, *, train: bool, axis_name=None, weight_B=None, momentum=None
  ):
    """`momentum` 0 keeps this batch's statistics alone."""
    features = x.shape[-1]
    scale = self.param('scale', nn.initializers.ones, (features,))
    bias = self.param('bias', nn.initializers.zeros, (features,))
    mean = self.variable('batch_stats', 'mean', jnp.zeros, (features,))
    var = self.variable('batch_stats', 'var', jnp.ones, (features,))
    if train:
      axes = tuple(range(x.ndim - 1))
      if weight_B is None:
        weight_B = jnp.ones(x.shape[:1], x.dtype)
      weight = (weight_B != 0).astype(x.dtype)
      weight = jnp.broadcast_to(
        weight.reshape(weight.shape + (1,) * (x.ndim - 1)), x.shape[:-1] + (1,)
      )
      sums = jnp.stack(
        [jnp.sum(weight * x, axes), jnp.sum(weight * x * x, axes)]
      )
      count = jnp.sum(weight)
      if axis_name is not None:
        sums, count = lax.psum((sums, count), axis_name)
      batch_mean = sums[0] / count
      batch_var = jnp.maximum(sums[1] / count - batch_mean**2, 0.0)
      if not self.is_initializing():
        m = self.momentum if momentum is None else momentum
        mean.value = m * mean.value + (1 - m) * batch_mean
        var.value = m * var.value + (1 - m) * batch_var
    else:
      batch_mean, batch_var = mean.value, var.value
    inv = scale * lax.rsqrt(batch_var + self.epsilon)
    return (x - batch_mean) * inv + bias


class _DecoderStep(nn.Module):
  """One autoregressive step, greedy (`feed_own`) or teacher-forced alike.
  `own`, `src`: (symbol rows, place rows, the ids attended) or None."""

  FLAGS = (  # Seq2Seq's fields, passed on by name.
    'dec_layers dec_positions dec_own_attention dec_place_queries'
    ' dec_state_queries dec_head'
  ).split()
  hidden: int
  n_symbols: int
  tgt_len: int
  feed_own: bool
  dec_layers: int
  dec_positions: bool
  dec_own_attention: bool
  dec_place_queries: bool
  dec_state_queries: bool
  dec_head: int

  @nn.compact
  def __call__(self, carry, tok_t, enc_BxSxE, mask_BxS, own, src):
    h = self.hidden
    kernel = lambda name, *shape: self.param(name, _KERNEL_INIT, shape)
    dense = lambda n, name: nn.Dense(n, kernel_init=_KERNEL_INIT, name=name)
    h_LxBxH, c_LxBxH, ctx_BxE, prev_B, read_BxT = carry
    tok_B, t = tok_t
    if self.feed_own:
      tok_B = prev_B
    e = enc_BxSxE.shape[-1]
    tokens_Vx4H = kernel('token_kernel', self.n_symbols, 4 * h)
    x_Bx4H = jnp.pad(tokens_Vx4H, ((0, 1), (0, 0)))[tok_B]
    if self.dec_positions:
      x_Bx4H += kernel('position_kernel', self.tgt_len, 4 * h)[t]
    x_Bx4H += ctx_BxE @ kernel('context_kernel', e, 4 * h)
    hs, cs = _lstm_layers(self, x_Bx4H, h_LxBxH, c_LxBxH)

    def query(name, k, by_place=False):
      # By place: a learned row [1, k]. Flax's default init: as trained.
      asked = lambda n: nn.Dense(k, use_bias=False, name=n)(hs[-1])
      if not by_place:
        return asked(name)
      q = kernel(name, self.tgt_len, k)[t][None]
      return q + asked(f'{name}_state') if self.dec_state_queries else q

    ctx_BxE = _attend(query('query', e), enc_BxSxE, mask_BxS)
    features = [hs[-1], ctx_BxE]
    if self.dec_own_attention:  # The tokens of steps 0..t, each at its place.
      rows, places, ids_BxT = own
      if self.feed_own:
        read_BxT = ids_BxT = read_BxT.at[:, t].set(tok_B)
      q_BxK = query('own_query', rows.shape[1], self.dec_place_queries)
      so_far_T = jnp.arange(self.tgt_len) <= t
      features.append(_attend_symbols(q_BxK, ids_BxT, rows, places, so_far_T))
    if src is not None:  # A copy that depends on one place only.
      rows, places, src_BxS = src
      q_BxK = query('source_query', rows.shape[1], self.dec_place_queries)
      features.append(_attend_symbols(q_BxK, src_BxS, rows, places, mask_BxS))
    x_BxF = jnp.concatenate(features, axis=-1)
    if self.dec_head:  # What the step computes from what it read: a table.
      x_BxF = jnp.tanh(dense(self.dec_head, 'head')(x_BxF))
    logits_BxV = dense(self.n_symbols, 'output')(x_BxF)
    if self.feed_own:  # Teacher forcing reads the target instead.
      prev_B = jnp.argmax(logits_BxV, -1).astype(jnp.int32)
    carry = (jnp.stack(hs), jnp.stack(cs), ctx_BxE, prev_B, read_BxT)
    return carry, logits_BxV


def _lstm_layers(module, x_Bx4H, h_LxBxH, c_LxBxH):
  """(states, cells) of stacked LSTM layers, one step, from `x_Bx4H`."""
  h, hs, cs = h_LxBxH.shape[-1], [], []
  for layer in range(h_LxBxH.shape[0]):
    if layer:
      kernel = module.param(f'kernel_{layer}', _KERNEL_INIT, (h, 4 * h))
      x_Bx4H = hs[-1] @ kernel
    recurrent = module.param(
      f'recurrent_kernel_{layer}', _RECURRENT_INIT, (h, 4 * h)
    )
    bias = module.param(f'bias_{layer}', _lstm_bias(h), (4 * h,))
    i, f, g, o = _gates(x_Bx4H + h_LxBxH[layer] @ recurrent + bias, h)
    cs.append(f * c_LxBxH[layer] + i * g)
    hs.append(o * jnp.tanh(cs[-1]))
  return hs, cs


class _PlaceStep(nn.Module):
  """One step of the place-coupled decoder (`dec_places`): by role and place,
  never position, it reads keys of its own place (docs/experiments.md,
  'Longer than trained'). `src`: (ids [B, N], kinds, places, mask) of the
  keys; `own`: (ids, kinds, places)."""

  hidden: int
  n_symbols: int
  feed_own: bool
  dec_head: int

  @nn.compact
  def __call__(self, carry, xs, src, own):
    h, n_roles = self.hidden, len(steps.ROLES)
    kernel = lambda name, *shape: self.param(name, _KERNEL_INIT, shape)
    dense = lambda n, name: nn.Dense(n, kernel_init=_KERNEL_INIT, name=name)
    h_LxBxH, c_LxBxH, prev_B, read_BxT = carry
    tok_B, t, role, place, fresh = xs
    if self.feed_own:
      tok_B = prev_B
      read_BxT = read_BxT.at[:, t].set(tok_B)
      own = (read_BxT, *own[1:])
    # A step of the trace starts from zero states: alike at any length.
    h_LxBxH, c_LxBxH = (jnp.where(fresh, 0.0, x) for x in (h_LxBxH, c_LxBxH))
    tokens_Vx4H = kernel('token_kernel', self.n_symbols, 4 * h)
    x_Bx4H = jnp.pad(tokens_Vx4H, ((0, 1), (0, 0)))[tok_B]
    x_Bx4H += kernel('role_kernel', n_roles, 4 * h)[role]
    hs, cs = _lstm_layers(self, x_Bx4H, h_LxBxH, c_LxBxH)
    so_far = jnp.arange(read_BxT.shape[1]) <= t  # The tokens read so far.
    features = [hs[-1], self._read('own', (*own, so_far), role, place)]
    features.append(self._read('source', src, role, place))
    x_BxF = jnp.concatenate(features, axis=-1)
    if self.dec_head:
      x_BxF = jnp.tanh(dense(self.dec_head, 'head')(x_BxF))
    logits_BxV = dense(self.n_symbols, 'output')(x_BxF)
    if self.feed_own:
      prev_B = jnp.argmax(logits_BxV, -1).astype(jnp.int32)
    return (jnp.stack(hs), jnp.stack(cs), prev_B, read_BxT), logits_BxV

  def _read(self, name, keys, role, place):
    """Attention over `keys` by the role's query, in the step's place if any."""
    h, n_roles = self.hidden, len(steps.ROLES)
    rows = lambda what, n: self.param(f'{name}_{what}', _KERNEL_INIT, (n, h))
    ids_BxN, kinds, places, mask = keys
    none = self.param(f'{name}_none', nn.initializers.zeros, (n_roles,))
    return _attend_places(
      rows('query', n_roles)[role],
      none[role],
      (rows('tokens', self.n_symbols + 1), ids_BxN),
      (rows('kinds', n_roles), kinds),
      mask & ((places == place) | (place < 0)),
    )


def _attend_places(q_K, none, tokens, kinds, mask):
  """`_attend_symbols` over keys `tokens` + `kinds` (each (rows, ids)) where
  `mask`, beside a key 'nothing here' scored `none` whose value is 0."""
  (rows_VxK, ids_BxN), (kind_rows_MxK, kinds_N) = tokens, kinds
  batch, n = ids_BxN.shape
  kinds_BxN = jnp.broadcast_to(kinds_N, (batch, n))
  score_BxN = (rows_VxK @ q_K)[ids_BxN] + (kind_rows_MxK @ q_K)[kinds_BxN]
  score_BxN = jnp.where(mask, score_BxN, -1e9)
  none_Bx1 = jnp.full((batch, 1), none)
  weight_BxN = jax.nn.softmax(jnp.concatenate([score_BxN, none_Bx1], 1))
  weight_BxN = weight_BxN[:, :n]
  value = lambda ids_BxN, rows: (
    jnp.einsum('bn,bnv->bv', weight_BxN, jax.nn.one_hot(ids_BxN, rows.shape[0]))
    @ rows
  )
  return value(ids_BxN, rows_VxK) + value(kinds_BxN, kind_rows_MxK)


def source_places(src_BxS, n_symbols: int):
  """(place [B, S], operand [B, S]) of each source token: a digit's power of
  ten in its number (-1 for other symbols), the operators before it."""
  is_digit = src_BxS < 10  # A digit's id is its value (vocab.py).
  n_ops = n_symbols - 12  # The other symbols: operators, space, end.
  is_op = (src_BxS >= 10) & (src_BxS < 10 + n_ops)
  run_B, places = jnp.zeros(src_BxS.shape[:1], jnp.int32), []
  for s in reversed(range(src_BxS.shape[1])):  # Digits after it, right to left.
    run_B = jnp.where(is_digit[:, s], run_B + 1, 0)
    places.append(run_B - 1)
  operand = jnp.cumsum(is_op, axis=1).astype(jnp.int32)
  return jnp.stack(places[::-1], axis=1), operand


def _attend(query_BxE, keys_BxSxE, mask_BxS):
  """Dot-product attention: the keys' mean weighted by softmax(scores)."""
  score_BxS = jnp.einsum('bse,be->bs', keys_BxSxE, query_BxE)
  weight_BxS = jax.nn.softmax(jnp.where(mask_BxS, score_BxS, -1e9), axis=-1)
  return jnp.einsum('bs,bse->be', weight_BxS, keys_BxSxE)


def _attend_symbols(query_BxK, ids_BxN, rows_VxK, places_NxK, mask_BxN):
  """`_attend` over the keys `rows[ids] + places` without making them: work
  of B x N x V, not B x N x K (the query may be one row for all: [1, K])."""
  by_symbol_BxV = query_BxK @ rows_VxK.T
  shape = (ids_BxN.shape[0], rows_VxK.shape[0])
  score_BxN = jnp.take_along_axis(
    jnp.broadcast_to(by_symbol_BxV, shape), ids_BxN, axis=1
  ) + (query_BxK @ places_NxK.T)
  weight_BxN = jax.nn.softmax(jnp.where(mask_BxN, score_BxN, -1e9), axis=-1)
  one_hot_BxNxV = jax.nn.one_hot(ids_BxN, rows_VxK.shape[0])
  per_symbol_BxV = jnp.einsum('bn,bnv->bv', weight_BxN, one_hot_BxNxV)
  return per_symbol_BxV @ rows_VxK + weight_BxN @ places_NxK


class Seq2Seq(nn.Module):
  """Source ids [B, S] to target logits [B, T, V]; the post's model."""

  n_symbols: int  # V (13 for the post's addition); id V is padding.
  tgt_len: int  # T (5 for the post).
  hidden: int = 20  # H, LSTM units per direction.
  enc_layers: int = 1
  dec_layers: int = 1  # Autoregressive: LSTM layers of 2H units.
  batch_norm: bool = True  # After the encoder and after the decoder.
  dropout: float = 0.0  # On the encoder's summary and the decoder's output.
  decoder: str = 'repeat'  # 'repeat' (the post's) | 'autoregressive'
  # The autoregressive decoder's options (config.py says what each does).
  dec_positions: bool = False
  dec_own_attention: bool = False
  dec_source_tokens: bool = False
  dec_place_queries: bool = False
  dec_state_queries: bool = False
  dec_head: int = 0
  # The place-coupled decoder: no encoder; `layout`: steps.place_layout.
  dec_places: bool = False
  layout: tuple = ()

  @nn.compact
  def __call__(
    self,
    src_BxS,
    *,
    tgt_BxT=None,
    train: bool = False,
    axis_name=None,
    weight_B=None,
    rows_B=None,
    bn_momentum=None,
  ):
    """Logits [B, T, V]. `rows_B`: the rows' places in the global batch (for
    dropout); decoders read `tgt_BxT` shifted right, or their own output;
    `bn_momentum` replaces the batch norms' own (0: this batch's statistics)."""
    mask_BxS = src_BxS != self.n_symbols
    if self.dec_places:
      return self._place_coupled(src_BxS, mask_BxS, tgt_BxT)
    attend = self.decoder == 'autoregressive'
    first = dict(ids_BxS=src_BxS, n_symbols=self.n_symbols)
    # The encoder's final states [B, 2H], or its outputs [B, S, 2H] to attend.
    x = self._bilstms('encoder', self.enc_layers, first, mask_BxS, attend)
    if attend:  # No batch norm; dropout (when set) on the encoder's outputs.
      enc_BxSx2H = self._dropout(x, train, rows_B)
      return self._autoregressive(src_BxS, mask_BxS, enc_BxSx2H, tgt_BxT)

    def norm_and_dropout(x, side):  # Each when the model has it.
      if self.batch_norm:
        norm = BatchNorm(name=f'{side}_norm')
        x = norm(
          x,
          train=train,
          axis_name=axis_name,
          weight_B=weight_B,
          momentum=bn_momentum,
        )
      return self._dropout(x, train, rows_B)

    summary_Bx2H = norm_and_dropout(x, 'encoder')
    first = dict(x_BxF=summary_Bx2H, length=self.tgt_len)
    y_BxTx2H = self._bilstms('decoder', self.dec_layers, first)
    y_BxTx2H = norm_and_dropout(y_BxTx2H, 'decoder')
    output = nn.Dense(self.n_symbols, kernel_init=_KERNEL_INIT, name='output')
    return output(y_BxTx2H)

  def _bilstms(self, name, n_layers, first, mask_BxT=None, sequences=True):
    """Stacked BiLSTMs: the last one's outputs with `sequences`, else states."""
    x = None
    for layer in range(n_layers):
      sequences_here = sequences or layer < n_layers - 1
      lstm = BiLSTM(self.hidden, sequences_here, name=f'{name}_{layer}')
      x = lstm(**(first if layer == 0 else dict(x_BxTxF=x)), mask_BxT=mask_BxT)
    return x

  def _autoregressive(self, src_BxS, mask_BxS, enc_BxSx2H, tgt_BxT):
    """An LSTM decoder attending the encoder's outputs, from zero states."""
    batch, h = src_BxS.shape[0], 2 * self.hidden
    zeros = jnp.zeros((self.dec_layers, batch, h), jnp.float32)
    start_B = jnp.full((batch,), self.n_symbols, jnp.int32)
    feed_own = tgt_BxT is None
    read_BxT = None  # Greedy decoding's tokens so far, for own attention.
    if self.dec_own_attention and feed_own:
      read_BxT = jnp.full((batch, self.tgt_len), self.n_symbols, jnp.int32)
    carry = (zeros, zeros, jnp.zeros_like(enc_BxSx2H[:, 0]), start_B, read_BxT)
    flags = {name: getattr(self, name) for name in _DecoderStep.FLAGS}
    step = _scan(_DecoderStep, in_axes=(0,) + (nn.broadcast,) * 4, out_axes=1)(
      h, self.n_symbols, self.tgt_len, feed_own, name='decoder', **flags
    )
    prev_TxB = jnp.zeros((self.tgt_len, batch), jnp.int32)  # Greedy: unread.
    if not feed_own:
      prev_TxB = jnp.concatenate([start_B[None], tgt_BxT[:, :-1].T])
    own = src = None
    if self.dec_own_attention:  # Keys of the tokens read: symbol + place.
      rows = self._symbol_place_rows('own', self.tgt_len, h)
      own = (*rows, None if feed_own else prev_TxB.T)
    if self.dec_source_tokens:  # Keys and values: symbol + place.
      rows = self._symbol_place_rows('source', src_BxS.shape[1], h)
      src = (*rows, src_BxS)
    xs = (prev_TxB, jnp.arange(self.tgt_len))  # Each step's token and place.
    _, logits_BxTxV = step(carry, xs, enc_BxSx2H, mask_BxS, own, src)
    return logits_BxTxV

  def _place_coupled(self, src_BxS, mask_BxS, tgt_BxT):
    """The `_PlaceStep` decoder over the target's layout, from zero states."""
    batch, h, t_len = src_BxS.shape[0], 2 * self.hidden, self.tgt_len
    roles_T, places_T = (np.asarray(x, np.int32) for x in self.layout)
    zeros = jnp.zeros((self.dec_layers, batch, h), jnp.float32)
    start_B = jnp.full((batch,), self.n_symbols, jnp.int32)
    feed_own = tgt_BxT is None
    read_BxT = jnp.full((batch, t_len), self.n_symbols, jnp.int32)
    prev_TxB = jnp.zeros((t_len, batch), jnp.int32)  # Greedy: unread.
    if not feed_own:
      prev_TxB = jnp.concatenate([start_B[None], tgt_BxT[:, :-1].T])
    # The token read at step t is the one written at t - 1: its role, place.
    start = steps.ROLES.index('start')
    own = (
      prev_TxB.T,
      np.concatenate([[start], roles_T[:-1]]),
      np.concatenate([[-1], places_T[:-1]]),
    )
    places_BxS, operand_BxS = source_places(src_BxS, self.n_symbols)
    src = (src_BxS, operand_BxS, places_BxS, mask_BxS)
    step = _scan(
      _PlaceStep, in_axes=(0, nn.broadcast, nn.broadcast), out_axes=1
    )(h, self.n_symbols, feed_own, self.dec_head, name='decoder')
    # A step starts after a separator (or the start), and at each answer digit.
    index = lambda names: [steps.ROLES.index(n) for n in names.split()]
    starts = np.isin(own[1], index('start separator'))
    starts |= np.isin(roles_T, index('answer answer_sign end'))
    xs = (prev_TxB, jnp.arange(t_len), roles_T, places_T, starts)
    carry = (zeros, zeros, start_B, read_BxT)
    return step(carry, xs, src, own)[1]

  def _symbol_place_rows(self, name, n_places, h):
    """A learned row for each symbol (padding: a zero row) and each place."""
    rows = self.param(f'{name}_tokens', _KERNEL_INIT, (self.n_symbols, h))
    places = self.param(f'{name}_positions', _KERNEL_INIT, (n_places, h))
    return jnp.pad(rows, ((0, 1), (0, 0))), places

  def _dropout(self, x_BxF, train, rows_B):
    """Inverted dropout with one key a row: the row's global place."""
    if not train or self.dropout == 0:
      return x_BxF
    if rows_B is None:
      rows_B = jnp.arange(x_BxF.shape[0])
    key = self.make_rng('dropout')
    keep_rate = 1.0 - self.dropout
    bits = lambda k: jax.random.bernoulli(k, keep_rate, x_BxF.shape[1:])
    keep_BxF = jax.vmap(lambda row: bits(jax.random.fold_in(key, row)))(rows_B)
    return jnp.where(keep_BxF, x_BxF / keep_rate, 0.0).astype(x_BxF.dtype)


def from_config(m, task) -> Seq2Seq:
  """The `Seq2Seq` of a config's `model` section, for `task`."""
  fields = {k: v for k, v in m.items() if k != 'hidden_size'}
  layout = steps.place_layout(task) if m.get('dec_places') else ()
  return Seq2Seq(
    task.vocab.size, task.tgt_len, hidden=m.hidden_size, layout=layout, **fields
  )


def count_parameters(variables) -> tuple[int, int]:
  """(trainable parameters, batch-norm statistics), as Keras counts them."""
  leaves = lambda key: jax.tree.leaves(variables.get(key, {}))
  size = lambda key: sum(int(np.prod(x.shape)) for x in leaves(key))
  return size('params'), size('batch_stats')


def from_keras(weights) -> dict:
  """Flax variables of the post's Keras weights (keras_seed_parity.npz)."""
  f32 = lambda name: jnp.asarray(weights[name], jnp.float32)
  both = lambda s, n: jnp.stack([f32(f'{s}_fw_{n}'), f32(f'{s}_bw_{n}')])
  lstm = lambda s: {
    'kernel': both(s, 'kernel'),
    'bias': both(s, 'bias'),
    'recurrence': {'recurrent_kernel': both(s, 'recurrent_kernel')},
  }
  bn = lambda i, n: f32(f'bn{i}_{n}')
  norm = lambda i: dict(scale=bn(i, 'gamma'), bias=bn(i, 'beta'))
  stats = lambda i: dict(
    mean=bn(i, 'moving_mean'), var=bn(i, 'moving_variance')
  )
  return {
    'params': {
      'encoder_0': lstm('enc'),
      'encoder_norm': norm(1),
      'decoder_0': lstm('dec'),
      'decoder_norm': norm(2),
      'output': {'kernel': f32('dense_kernel'), 'bias': f32('dense_bias')},
    },
    'batch_stats': {'encoder_norm': stats(1), 'decoder_norm': stats(2)},
  }

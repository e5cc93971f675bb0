"""The post's bidirectional-LSTM encoder-decoder, in Flax linen with nn.scan.

    src ids [B, S] -> BiLSTM encoder -> summary [B, 2H] -> (BatchNorm)
        -> repeated T times -> BiLSTM decoder -> (BatchNorm) -> Dense
        -> logits [B, T, V]

Shaped for speed as cuDNN shapes an LSTM: all time steps' input projections
are computed before the scan, so a scanned step carries only the recurrent
product, and both directions of a layer advance in the same step. The source
enters as a gather of input kernel rows (a one-hot product without the
product); the repeated summary's projection is computed once.

Gates are in the Keras order (input, forget, cell, output), each direction's
kernels are stacked on a leading axis of 2 (forward, backward), and padding
is a zero input row and is masked out of the recurrence, so the post's Keras
weights load unchanged (`from_keras`).
"""

from collections.abc import Callable
from collections.abc import Mapping
from typing import Any

import flax.linen as nn
import jax
from jax import lax
import jax.numpy as jnp
import ml_collections
import numpy as np

Initializer = Callable[..., jax.Array]


def _stacked(init: Initializer) -> Initializer:
  """Applies `init` to each slice of a leading direction axis."""
  return lambda key, shape, dtype=jnp.float32: jnp.stack(
    [init(k, shape[1:], dtype) for k in jax.random.split(key, shape[0])]
  )


def _lstm_bias(hidden: int, forget_bias: float) -> Initializer:
  """Zeros, but `forget_bias` for the forget gate."""
  return lambda _, shape, dtype=jnp.float32: (
    jnp.zeros(shape, dtype).at[..., hidden : 2 * hidden].set(forget_bias)
  )


def initializers(scheme: str) -> dict[str, Initializer]:
  """Kernel, recurrent kernel and forget-gate bias initialisers: 'keras' the
  post's, 'flax' `nn.OptimizedLSTMCell`'s. Other biases start at 0."""
  if scheme not in ('keras', 'flax'):
    raise ValueError(f"init={scheme!r}: must be 'keras' or 'flax'")
  init, keras = nn.initializers, scheme == 'keras'
  return dict(
    kernel=init.glorot_uniform() if keras else init.lecun_normal(),
    recurrent=init.orthogonal(),
    forget_bias=1.0 if keras else 0.0,
  )


def _gates(z, hidden):
  """Input, forget, cell and output gate values from pre-activations z.

  sigmoid(x) = (tanh(x / 2) + 1) / 2, so one tanh of the whole [..., 4H]
  array, the sigmoid gates' inputs halved, makes all four: on a CPU about
  2.5 times faster than a sigmoid and a tanh of each (too narrow) slice.
  """
  scale = np.full(4 * hidden, 0.5, np.float32)
  scale[2 * hidden : 3 * hidden] = 1.0
  t = jnp.tanh(z * scale)
  i, f, g, o = jnp.split(t, 4, axis=-1)
  return 0.5 * i + 0.5, 0.5 * f + 0.5, g, 0.5 * o + 0.5


class _BiStep(nn.Module):
  """One time step of both directions: the recurrent half of two LSTMs.

  The input projection is precomputed: `xs = (x, mask)` where `x` is either
  the projection [2, B, 4H] of this step or, with `gather`, the token ids
  [2, B] of this step, whose projection is a row of the table `const`
  [2, V + 1, 4H]; with `x` None, `const` [2, B, 4H] is the projection of
  every step. `mask` [2, B] says where a step is real input.
  """

  hidden: int
  recurrent_init: Initializer
  gather: bool = False

  @nn.compact
  def __call__(self, carry, xs, const):
    kernel_2xHx4H = self.param(
      'recurrent_kernel',
      _stacked(self.recurrent_init),
      (2, self.hidden, 4 * self.hidden),
    )
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
  """A bidirectional LSTM layer over hoisted input projections.

  Call with exactly one input:
    ids_BxS: token ids, gathered from the input kernel (`pad_id` = a zero row);
    x_BxTxF: a sequence of feature vectors;
    x_BxF with `length`: one vector repeated `length` times (RepeatVector).
  Returns the final states `[h_fw, h_bw]` [B, 2H], or with `return_sequences`
  the outputs [B, T, 2H] with the backward ones back in time order.
  """

  hidden: int
  return_sequences: bool = False
  init_scheme: str = 'keras'

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
    inits = initializers(self.init_scheme)

    def kernel(n_in):
      return self.param('kernel', _stacked(inits['kernel']), (2, n_in, h4))

    bias_2x4H = self.param(
      'bias', _lstm_bias(self.hidden, inits['forget_bias']), (2, h4)
    )
    # Step s of the scan: time s forward, time T - 1 - s backward.
    both_ways = lambda x_TxB: jnp.stack([x_TxB, x_TxB[::-1]], axis=1)
    xp_const = None
    if ids_BxS is not None:
      # The table of all symbols' projections (bias included; padding's is
      # a zero input row) is computed once and each step gathers its rows:
      # no [S, B, 4H] array goes through memory.
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
      xp_Sx2xBx4H = None
      batch = x_BxF.shape[0]

    mask_Sx2xB = None if mask_BxT is None else both_ways(mask_BxT.T)

    scan = nn.scan(
      _BiStep,
      variable_broadcast='params',
      split_rngs={'params': False},
      in_axes=(0, nn.broadcast),
      out_axes=0,
      length=length,
    )
    zeros = jnp.zeros((2, batch, self.hidden), jnp.float32)
    (h_2xBxH, _), out_Tx2xBxH = scan(
      self.hidden, inits['recurrent'], ids_BxS is not None, name='recurrence'
    )((zeros, zeros), (xp_Sx2xBx4H, mask_Sx2xB), xp_const)
    if not self.return_sequences:
      return jnp.concatenate([h_2xBxH[0], h_2xBxH[1]], axis=-1)
    out_TxBx2H = jnp.concatenate(
      [out_Tx2xBxH[:, 0], out_Tx2xBxH[::-1, 1]], axis=-1
    )
    return out_TxBx2H.transpose(1, 0, 2)


class BatchNorm(nn.Module):
  """Batch normalisation over all axes but the last, with Keras' defaults.

  What `nn.BatchNorm(momentum=0.99, epsilon=1e-3)` computes, with the same
  variables (the post's statistics carry over), except that training's
  statistics count only rows where `weight_B` is nonzero, summed over
  `axis_name` before dividing: `nn.BatchNorm` averages per-device means,
  wrong when devices hold different numbers of real rows (an epoch's last
  batch) and NaN on one with none.
  """

  momentum: float = 0.99
  epsilon: float = 1e-3

  @nn.compact
  def __call__(self, x, *, train: bool, axis_name=None, weight_B=None):
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
        m = self.momentum
        mean.value = m * mean.value + (1 - m) * batch_mean
        var.value = m * var.value + (1 - m) * batch_var
    else:
      batch_mean, batch_var = mean.value, var.value
    inv = scale * lax.rsqrt(batch_var + self.epsilon)
    return (x - batch_mean) * inv + bias


class _DecoderStep(nn.Module):
  """One step of the autoregressive decoder: read a token, attend, predict.

  The previous token (padding, a zero row, is the start symbol) and context
  are the input; the top state queries the encoder's outputs. With `feed_own`
  the previous token is the carry's (greedy decoding), else scanned in
  (teacher forcing): one module, so that both share the parameters.
  """

  hidden: int
  n_symbols: int
  tgt_len: int
  n_layers: int = 1
  init_scheme: str = 'keras'
  feed_own: bool = False
  positions: bool = False  # A learned input row for each target position.
  own_attention: bool = False  # Attend over the tokens read so far.
  place_queries: bool = False  # Own and source attentions asked by place.
  state_queries: bool = False  # Those place queries plus the state's.
  head: int = 0  # Units of a tanh layer before the logits; 0: none.

  @nn.compact
  def __call__(self, carry, tok_t, enc_BxSxE, mask_BxS, own, src):
    """`own`: with `own_attention`, (token rows, position rows, every
    step's input token: teacher forcing; greedy decoding keeps the tokens
    in the carry as it reads them). `src`: (symbol rows, place rows, the
    source), attended beside the encoder's outputs (None: not)."""
    h, inits = self.hidden, initializers(self.init_scheme)
    kernel = lambda name, *shape: self.param(name, inits['kernel'], shape)
    dense = lambda n, name: nn.Dense(n, kernel_init=inits['kernel'], name=name)
    h_LxBxH, c_LxBxH, ctx_BxE, prev_B, read_BxT = carry
    tok_B, t = tok_t
    if self.feed_own:
      tok_B = prev_B
    e = enc_BxSxE.shape[-1]
    tokens_Vx4H = kernel('token_kernel', self.n_symbols, 4 * h)
    x_Bx4H = jnp.pad(tokens_Vx4H, ((0, 1), (0, 0)))[tok_B]
    if self.positions:
      x_Bx4H += kernel('position_kernel', self.tgt_len, 4 * h)[t]
    x_Bx4H += ctx_BxE @ kernel('context_kernel', e, 4 * h)
    hs, cs = [], []
    for layer in range(self.n_layers):
      if layer:
        x_Bx4H = hs[-1] @ kernel(f'kernel_{layer}', h, 4 * h)
      recurrent = self.param(
        f'recurrent_kernel_{layer}', inits['recurrent'], (h, 4 * h)
      )
      bias = self.param(
        f'bias_{layer}', _lstm_bias(h, inits['forget_bias']), (4 * h,)
      )
      i, f, g, o = _gates(x_Bx4H + h_LxBxH[layer] @ recurrent + bias, h)
      cs.append(f * c_LxBxH[layer] + i * g)
      hs.append(o * jnp.tanh(cs[-1]))

    def query(name, k, by_place=False):
      # The top state's projection, or a learned query [1, k] for each place
      # in the target, with `state_queries` plus the state's projection.
      asked = lambda n: nn.Dense(k, use_bias=False, name=n)(hs[-1])
      if not by_place:
        return asked(name)
      q = kernel(name, self.tgt_len, k)[t][None]
      return q + asked(f'{name}_state') if self.state_queries else q

    ctx_BxE = _attend(query('query', e), enc_BxSxE, mask_BxS)
    features = [hs[-1], ctx_BxE]
    if self.own_attention:  # The tokens of steps 0..t, each at its place.
      rows, places, ids_BxT = own
      if self.feed_own:
        read_BxT = ids_BxT = read_BxT.at[:, t].set(tok_B)
      q_BxK = query('own_query', rows.shape[1], self.place_queries)
      so_far_T = jnp.arange(self.tgt_len) <= t
      features.append(_attend_symbols(q_BxK, ids_BxT, rows, places, so_far_T))
    if src is not None:  # A copy that depends on one place only.
      rows, places, src_BxS = src
      q_BxK = query('source_query', rows.shape[1], self.place_queries)
      features.append(_attend_symbols(q_BxK, src_BxS, rows, places, mask_BxS))
    x_BxF = jnp.concatenate(features, axis=-1)
    if self.head:  # What the step computes from what it read: a table.
      x_BxF = jnp.tanh(dense(self.head, 'head')(x_BxF))
    logits_BxV = dense(self.n_symbols, 'output')(x_BxF)
    if self.feed_own:  # Teacher forcing reads the target instead.
      prev_B = jnp.argmax(logits_BxV, -1).astype(jnp.int32)
    carry = (jnp.stack(hs), jnp.stack(cs), ctx_BxE, prev_B, read_BxT)
    return carry, logits_BxV


def _attend(query_BxE, keys_BxSxE, mask_BxS):
  """Dot-product attention: the keys' mean weighted by softmax(scores)."""
  score_BxS = jnp.einsum('bse,be->bs', keys_BxSxE, query_BxE)
  weight_BxS = jax.nn.softmax(jnp.where(mask_BxS, score_BxS, -1e9), axis=-1)
  return jnp.einsum('bs,bse->be', weight_BxS, keys_BxSxE)


def _attend_symbols(query_BxK, ids_BxN, rows_VxK, places_NxK, mask_BxN):
  """`_attend` over the keys `rows[ids] + places` without making them.

  A score is a symbol's score plus a place's, and the context the weights
  summed by symbol times the rows plus the weights times the places: work
  of B x N x V, not B x N x K (the query may be one row for all: [1, K]).
  """
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
  enc_layers: int = 1  # Bidirectional layers of the encoder.
  dec_layers: int = 1  # And of the decoder (autoregressive: LSTM layers).
  batch_norm: bool = True  # After the encoder and after the decoder.
  dropout: float = 0.0  # On the encoder's summary and the decoder's output.
  init_scheme: str = 'keras'  # The post's initialisers, or 'flax'.
  decoder: str = 'repeat'  # 'repeat' (the post's) | 'autoregressive'
  dec_hidden: int = 0  # Autoregressive: the decoder LSTM's units; 0: 2H.
  dec_positions: bool = False  # Autoregressive: a row for each step's place.
  dec_own_attention: bool = False  # Autoregressive: attend its own tokens.
  dec_source_tokens: bool = False  # Autoregressive: attend source symbols.
  dec_place_queries: bool = False  # Those two attentions asked by place.
  dec_state_queries: bool = False  # And by the state: the layout varies.
  dec_head: int = 0  # Autoregressive: a tanh layer of this width before logits.

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
  ):
    """Logits [B, T, V]; in training, batch norm counts rows where weight_B.

    `rows_B`, each row's place in the global batch (default 0..B-1), chooses
    its dropout mask, so a row is dropped alike on any number of devices.
    The autoregressive decoder reads `tgt_BxT` shifted right (teacher
    forcing), or without it its own greedy output; the post's ignores it.
    """
    mask_BxS = src_BxS != self.n_symbols
    attend = self.decoder == 'autoregressive'
    first = dict(ids_BxS=src_BxS, n_symbols=self.n_symbols)
    # The encoder's final states [B, 2H], or its outputs [B, S, 2H] to attend.
    x = self._bilstms('encoder', self.enc_layers, first, mask_BxS, attend)
    if attend:  # No batch norm; dropout (when set) on the encoder's outputs.
      enc_BxSx2H = self._dropout(x, train, rows_B)
      return self._autoregressive(src_BxS, mask_BxS, enc_BxSx2H, tgt_BxT)

    def norm_and_dropout(x, side):  # Each when the model has it.
      if self.batch_norm:
        x = BatchNorm(name=f'{side}_norm')(
          x, train=train, axis_name=axis_name, weight_B=weight_B
        )
      return self._dropout(x, train, rows_B)

    summary_Bx2H = norm_and_dropout(x, 'encoder')
    first = dict(x_BxF=summary_Bx2H, length=self.tgt_len)
    y_BxTx2H = self._bilstms('decoder', self.dec_layers, first)
    y_BxTx2H = norm_and_dropout(y_BxTx2H, 'decoder')
    init = initializers(self.init_scheme)['kernel']
    return nn.Dense(self.n_symbols, kernel_init=init, name='output')(y_BxTx2H)

  def _bilstms(self, name, n_layers, first, mask_BxT=None, sequences=True):
    """Stacked BiLSTMs: the first reads `first` (its keyword inputs), each
    other the outputs of the one below; the last returns its outputs with
    `sequences`, else its final states."""
    x = None
    for layer in range(n_layers):
      lstm = BiLSTM(
        self.hidden,
        return_sequences=sequences or layer < n_layers - 1,
        init_scheme=self.init_scheme,
        name=f'{name}_{layer}',
      )
      x = lstm(**(first if layer == 0 else dict(x_BxTxF=x)), mask_BxT=mask_BxT)
    return x

  def _autoregressive(self, src_BxS, mask_BxS, enc_BxSx2H, tgt_BxT):
    """An LSTM decoder attending the encoder's outputs.

    It starts from zeros: the first step already reads the source through
    attention, so it needs no summary of it.
    """
    batch, h = src_BxS.shape[0], self.dec_hidden or 2 * self.hidden
    zeros = jnp.zeros((self.dec_layers, batch, h), jnp.float32)
    start_B = jnp.full((batch,), self.n_symbols, jnp.int32)
    feed_own = tgt_BxT is None
    read_BxT = None  # Greedy decoding's tokens so far, for own attention.
    if self.dec_own_attention and feed_own:
      read_BxT = jnp.full((batch, self.tgt_len), self.n_symbols, jnp.int32)
    carry = (zeros, zeros, jnp.zeros_like(enc_BxSx2H[:, 0]), start_B, read_BxT)
    step = nn.scan(
      _DecoderStep,
      variable_broadcast='params',
      split_rngs={'params': False},
      in_axes=(0, nn.broadcast, nn.broadcast, nn.broadcast, nn.broadcast),
      out_axes=1,
    )(
      h,
      self.n_symbols,
      self.tgt_len,
      self.dec_layers,
      self.init_scheme,
      feed_own,
      self.dec_positions,
      self.dec_own_attention,
      self.dec_place_queries,
      self.dec_state_queries,
      self.dec_head,
      name='decoder',
    )
    if feed_own:
      prev_TxB = jnp.zeros((self.tgt_len, batch), jnp.int32)  # Unread.
    else:
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

  def _symbol_place_rows(self, name, n_places, h):
    """A learned row for each symbol (padding: a zero row) and each place."""
    init = initializers(self.init_scheme)['kernel']
    rows = self.param(f'{name}_tokens', init, (self.n_symbols, h))
    places = self.param(f'{name}_positions', init, (n_places, h))
    return jnp.pad(rows, ((0, 1), (0, 0))), places

  def _dropout(self, x_BxF, train, rows_B):
    """Inverted dropout with one key a row: the row's global place."""
    if not train or self.dropout == 0:
      return x_BxF
    if rows_B is None:
      rows_B = jnp.arange(x_BxF.shape[0])
    key = self.make_rng('dropout')
    keep_rate = 1.0 - self.dropout
    keep_BxF = jax.vmap(
      lambda row: jax.random.bernoulli(
        jax.random.fold_in(key, row), keep_rate, x_BxF.shape[1:]
      )
    )(rows_B)
    return jnp.where(keep_BxF, x_BxF / keep_rate, 0.0).astype(x_BxF.dtype)


def from_config(
  m: ml_collections.ConfigDict, n_symbols: int, tgt_len: int
) -> Seq2Seq:
  """The model of a config's `model` section: its fields are `Seq2Seq`'s."""
  fields = {k: v for k, v in m.items() if k != 'hidden_size'}
  return Seq2Seq(n_symbols, tgt_len, hidden=m.hidden_size, **fields)


def count_parameters(variables: Mapping[str, Any]) -> tuple[int, int]:
  """(trainable parameters, batch-norm statistics), as Keras counts them."""
  leaves = lambda key: jax.tree.leaves(variables.get(key, {}))
  size = lambda key: sum(int(np.prod(x.shape)) for x in leaves(key))
  return size('params'), size('batch_stats')


def from_keras(weights: Mapping[str, np.ndarray]) -> dict[str, Any]:
  """Flax variables of the seed model from the post's Keras weights.

  `weights` has the names (`{enc,dec}_{fw,bw}_*`, `bn{1,2}_*`, `dense_*`)
  and Keras layout of `tests/testdata/keras_seed_parity.npz`, whose gate and
  one-hot column orders are ours: each LSTM tensor stacks the directions.
  """
  f32 = lambda name: jnp.asarray(weights[name], jnp.float32)

  def lstm(side):
    both = lambda n: jnp.stack([f32(f'{side}_fw_{n}'), f32(f'{side}_bw_{n}')])
    return {
      'kernel': both('kernel'),
      'bias': both('bias'),
      'recurrence': {'recurrent_kernel': both('recurrent_kernel')},
    }

  norm = lambda i: {'scale': f32(f'bn{i}_gamma'), 'bias': f32(f'bn{i}_beta')}
  stats = lambda i: {
    'mean': f32(f'bn{i}_moving_mean'),
    'var': f32(f'bn{i}_moving_variance'),
  }
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

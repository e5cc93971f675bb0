"""Tests of lstm_math.model: the post's BiLSTM encoder-decoder in Flax.

The reference for "is the post's model" is the Keras fixture in
`tests/testdata/keras_seed_parity.npz` (see `tests/testdata/README.md`); the
reference for the LSTM arithmetic is Flax's own `nn.OptimizedLSTMCell`.
"""

import functools
import os

from absl.testing import absltest
from absl.testing import parameterized
import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import runs

from lstm_math import model
from lstm_math import vocab as vocab_lib

_FIXTURE = os.path.join(
  os.path.dirname(os.path.abspath(__file__)),
  'testdata',
  'keras_seed_parity.npz',
)
_N_SYMBOLS = 13  # The post's addition: 0-9, '+', ' ', '\0'.
_TGT_LEN = 5
_VARIANT_ROWS = 32  # Fixture rows used where the full 256 add only time.


@functools.cache
def _keras():
  """The fixture's arrays, loaded once."""
  with np.load(_FIXTURE) as npz:
    return {key: npz[key] for key in npz.files}


@functools.cache
def _keras_variables():
  return model.from_keras(_keras())


def _keras_ids():
  """The fixture's inputs as our token ids [256, 10]."""
  return jnp.asarray(_keras()['x_onehot'].argmax(-1), jnp.int32)


def _seed_model(**overrides):
  return model.Seq2Seq(n_symbols=_N_SYMBOLS, tgt_len=_TGT_LEN, **overrides)


def _init(net, ids, seed=0):
  """`net.init` in eval mode, jitted: one compilation instead of many ops."""
  init = jax.jit(lambda key, ids: net.init(key, ids, train=False))
  return init(jax.random.key(seed), ids)


def _apply(net, variables, ids):
  """`net.apply` in eval mode, jitted."""
  return jax.jit(lambda v, ids: net.apply(v, ids, train=False))(variables, ids)


@functools.cache
def _seed_variables():
  """The seed model's own initial variables (Keras initialisers)."""
  return _init(_seed_model(), jnp.zeros((2, 10), jnp.int32))


def _max_abs_diff(a, b):
  return float(np.max(np.abs(np.asarray(a) - np.asarray(b))))


def _equations(length):
  """Equations of different lengths, padded to `length` with the pad id."""
  vocab = vocab_lib.Vocab('+')
  assert vocab.pad_id == _N_SYMBOLS, vocab.pad_id
  # The longest is 10 characters with its end: no padding at length 10.
  texts = ['1 + 2', '12 + 345', '999 + 999', '7 + 80']
  return jnp.asarray(
    np.stack([runs.encode(vocab, t + vocab_lib.EOS, length) for t in texts])
  )


class KerasParityTest(absltest.TestCase):
  """The Flax model with the post's weights computes the post's outputs."""

  def test_fixture_columns_are_our_ids(self):
    # The one-hot columns of the Keras model must be our token ids, or the
    # argmax below would feed the model different symbols than Keras saw.
    keras = _keras()
    chars = ''.join(chr(c) for c in keras['chars'])
    self.assertEqual(
      chars,
      vocab_lib.Vocab('+').symbols,
      msg='the fixture character table differs from Vocab("+").symbols',
    )
    x_onehot = keras['x_onehot']
    np.testing.assert_array_equal(
      x_onehot.sum(-1),
      np.ones(x_onehot.shape[:2]),
      err_msg='each input step of the fixture should be exactly one-hot',
    )
    vocab = vocab_lib.Vocab('+')
    want = np.stack(
      [runs.encode(vocab, str(e) + vocab_lib.EOS) for e in keras['equations']]
    )
    np.testing.assert_array_equal(
      np.asarray(_keras_ids()),
      want,
      err_msg='argmax of x_onehot should be the ids of equation + EOS',
    )

  def test_reproduces_keras_probabilities(self):
    keras = _keras()
    logits = _apply(_seed_model(), _keras_variables(), _keras_ids())
    chex.assert_shape(logits, keras['probs'].shape)
    probs = jax.nn.softmax(logits, axis=-1)
    chex.assert_trees_all_close(
      probs,
      keras['probs'],
      atol=1e-5,
      rtol=0,
      custom_message=(
        'softmax(Seq2Seq(from_keras(weights))) should equal the Keras '
        f'model.predict probabilities; max |diff| = '
        f'{_max_abs_diff(probs, keras["probs"]):.3g}'
      ),
    )
    np.testing.assert_array_equal(
      np.asarray(probs.argmax(-1)),
      keras['probs'].argmax(-1),
      err_msg='predicted characters differ from the Keras predictions',
    )

  def test_converted_variables_match_init(self):
    converted = _keras_variables()
    initialised = _seed_variables()
    chex.assert_trees_all_equal_structs(
      converted,
      initialised,
      custom_message='from_keras and Seq2Seq.init give different trees',
    )
    chex.assert_trees_all_equal_shapes_and_dtypes(
      converted,
      initialised,
      custom_message='from_keras and Seq2Seq.init give different shapes',
    )


class ParameterCountTest(absltest.TestCase):
  """The seed model has exactly the post's parameters."""

  def test_seed_model_has_the_posts_parameter_count(self):
    # Keras' summary of the post's model: 15,893 trainable parameters and
    # 160 non-trainable ones (the two batch norms' moving mean and variance).
    self.assertEqual(
      model.count_parameters(_seed_variables()),
      (15_893, 160),
      msg='(trainable, batch-norm statistics) of the seed Seq2Seq',
    )
    self.assertEqual(
      model.count_parameters(_keras_variables()),
      (15_893, 160),
      msg='(trainable, batch-norm statistics) of from_keras(fixture)',
    )


class OutputShapeTest(parameterized.TestCase):
  """Every configuration maps [B, S] ids to finite logits [B, T, V]."""

  @parameterized.named_parameters(
    dict(testcase_name='deep', overrides=dict(enc_layers=2, dec_layers=2)),
    dict(testcase_name='no_batch_norm', overrides=dict(batch_norm=False)),
    dict(
      testcase_name='dropout_train', overrides=dict(dropout=0.2), train=True
    ),
    dict(testcase_name='hidden_8', overrides=dict(hidden=8)),
    dict(testcase_name='all_operators', overrides=dict(n_symbols=16)),
    dict(testcase_name='long_target', overrides=dict(tgt_len=11)),
  )
  def test_logits_shape_and_finite(self, overrides, train=False):
    kwargs = dict(n_symbols=_N_SYMBOLS, tgt_len=_TGT_LEN) | overrides
    net = model.Seq2Seq(**kwargs)
    n_symbols, tgt_len = kwargs['n_symbols'], kwargs['tgt_len']
    batch, src_len = 4, 7
    # Random symbols with a run of trailing padding in some rows.
    # (numpy, not jax.random, for test inputs: nothing to compile.)
    ids = np.random.default_rng(1).integers(0, n_symbols, (batch, src_len))
    lengths = np.array([src_len, 5, 3, 1])[:, None]
    ids = jnp.asarray(
      np.where(np.arange(src_len) < lengths, ids, n_symbols), jnp.int32
    )

    @jax.jit  # Init and two applies in one compilation, to save time.
    def init_and_apply(ids):
      variables = net.init(jax.random.key(0), ids, train=False)
      if not train:
        return net.apply(variables, ids, train=False), {}, None
      logits = []
      for seed in (2, 3):
        out, updates = net.apply(
          variables,
          ids,
          train=True,
          rngs={'dropout': jax.random.key(seed)},
          mutable=['batch_stats'],
        )
        logits.append(out)
      return logits[0], updates, logits[1]

    logits, updates, other = init_and_apply(ids)
    chex.assert_shape(
      logits,
      (batch, tgt_len, n_symbols),
      custom_message=f'logits of Seq2Seq({overrides})',
    )
    chex.assert_tree_all_finite(logits)
    chex.assert_tree_all_finite(updates)
    if train:
      self.assertGreater(
        _max_abs_diff(logits, other),
        1e-4,
        msg='train-mode dropout should make the logits depend on the key',
      )


def _randomise(params, seed, scale=0.5):
  """Normal values shaped like `params`, so that no bias is trivially zero."""
  rng = np.random.default_rng(seed)
  return jax.tree.map(
    lambda x: jnp.asarray(scale * rng.standard_normal(x.shape), x.dtype),
    params,
  )


def _to_optimized_cell(params, direction):
  """Our BiLSTM params of one direction as `nn.OptimizedLSTMCell` params."""
  kernels = jnp.split(params['kernel'][direction], 4, axis=-1)
  recurrent = jnp.split(
    params['recurrence']['recurrent_kernel'][direction], 4, axis=-1
  )
  biases = jnp.split(params['bias'][direction], 4, axis=-1)
  cell = {}
  for gate, k, r, b in zip('ifgo', kernels, recurrent, biases):
    cell[f'i{gate}'] = {'kernel': k}
    cell[f'h{gate}'] = {'kernel': r, 'bias': b}
  return {'params': {'cell': cell}}


class BiLSTMReferenceTest(absltest.TestCase):
  """Our hoisted-projection BiLSTM computes what Flax's own LSTM computes."""

  hidden = 6

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    batch, steps, features = 3, 7, 5
    rng = np.random.default_rng(0)
    cls.x = jnp.asarray(
      rng.standard_normal((batch, steps, features)), jnp.float32
    )
    layer = model.BiLSTM(cls.hidden, return_sequences=True)
    # Only the shapes of init: every value is replaced by _randomise.
    shapes = jax.eval_shape(
      lambda key: layer.init(key, x_BxTxF=cls.x), jax.random.key(1)
    )['params']
    cls.params = _randomise(shapes, seed=2)

  def _reference(self, x):
    """(outputs [B, T, H] per direction, final h [B, H] per direction)."""
    cell = nn.OptimizedLSTMCell(self.hidden)
    fw = nn.RNN(cell, return_carry=True)
    bw = nn.RNN(cell, return_carry=True, reverse=True, keep_order=True)

    @jax.jit
    def run(params, x):
      (_, h_fw), out_fw = fw.apply(_to_optimized_cell(params, 0), x)
      (_, h_bw), out_bw = bw.apply(_to_optimized_cell(params, 1), x)
      return (out_fw, out_bw), (h_fw, h_bw)

    return run(self.params, x)

  def test_mapped_params_fit_optimized_cell(self):
    # Guards the mapping itself: it must be exactly the cell's own tree.
    want = jax.eval_shape(
      nn.RNN(nn.OptimizedLSTMCell(self.hidden)).init,
      jax.random.key(0),
      self.x,
    )
    chex.assert_trees_all_equal_shapes(
      _to_optimized_cell(self.params, 0),
      want,
      custom_message='mapped params do not fit nn.OptimizedLSTMCell',
    )

  def test_sequences_equal_optimized_lstm_cell(self):
    out = model.BiLSTM(self.hidden, return_sequences=True).apply(
      {'params': self.params}, x_BxTxF=self.x
    )
    chex.assert_shape(out, self.x.shape[:2] + (2 * self.hidden,))
    (want_fw, want_bw), _ = self._reference(self.x)
    chex.assert_trees_all_close(
      out[..., : self.hidden],
      want_fw,
      atol=1e-5,
      custom_message='forward half vs nn.RNN(OptimizedLSTMCell)',
    )
    chex.assert_trees_all_close(
      out[..., self.hidden :],
      want_bw,
      atol=1e-5,
      custom_message=(
        'backward half vs nn.RNN(OptimizedLSTMCell, reverse=True,'
        ' keep_order=True)'
      ),
    )

  def test_final_states_equal_optimized_lstm_cell(self):
    out = model.BiLSTM(self.hidden, return_sequences=False).apply(
      {'params': self.params}, x_BxTxF=self.x
    )
    _, (h_fw, h_bw) = self._reference(self.x)
    chex.assert_trees_all_close(
      out,
      jnp.concatenate([h_fw, h_bw], axis=-1),
      atol=1e-5,
      custom_message='return_sequences=False should be [h_fw, h_bw]',
    )

  def test_token_ids_equal_one_hot_sequence(self):
    # The gather path must compute the one-hot product; padding (id V) is a
    # zero input row, as in the post.
    n_symbols = 5  # = the feature count of self.x, so the params fit.
    ids = jnp.array(
      [[0, 4, 2, 1, 3, 5, 5], [3, 3, 0, 5, 5, 5, 5], [1, 2, 3, 4, 0, 1, 2]],
      jnp.int32,
    )
    layer = model.BiLSTM(self.hidden, return_sequences=True)
    got = layer.apply({'params': self.params}, ids_BxS=ids, n_symbols=n_symbols)
    x = jax.nn.one_hot(ids, n_symbols)
    self.assertEqual(float(x[0, -1].sum()), 0.0, msg='pad is not a zero row')
    (want_fw, want_bw), _ = self._reference(x)
    chex.assert_trees_all_close(
      got,
      jnp.concatenate([want_fw, want_bw], axis=-1),
      atol=1e-5,
      custom_message='BiLSTM(ids_BxS) vs OptimizedLSTMCell on one-hots',
    )

  def test_repeated_vector_equals_repeated_sequence(self):
    # The decoder's RepeatVector path: one vector, projected once.
    vector = self.x[:, 0]
    length = 4
    layer = model.BiLSTM(self.hidden, return_sequences=True)
    got = layer.apply({'params': self.params}, x_BxF=vector, length=length)
    x = jnp.repeat(vector[:, None], length, axis=1)
    (want_fw, want_bw), _ = self._reference(x)
    chex.assert_trees_all_close(
      got,
      jnp.concatenate([want_fw, want_bw], axis=-1),
      atol=1e-5,
      custom_message='BiLSTM(x_BxF, length) vs OptimizedLSTMCell',
    )


class PaddingTest(absltest.TestCase):
  """Trailing padding is invisible: the summary and logits ignore it."""

  short, long = 10, 16

  def test_encoder_summary_ignores_trailing_padding(self):
    ids_short, ids_long = _equations(self.short), _equations(self.long)
    layer = model.BiLSTM(20, return_sequences=False)

    @jax.jit  # One compilation for the init and all four summaries.
    def summaries(ids_short, ids_long):
      # Initialised once, at the short length; the variables fit any length.
      variables = layer.init(
        jax.random.key(0),
        ids_BxS=ids_short,
        mask_BxT=ids_short != _N_SYMBOLS,
        n_symbols=_N_SYMBOLS,
      )

      def summary(ids, masked):
        mask = ids != _N_SYMBOLS if masked else None
        return layer.apply(
          variables, ids_BxS=ids, mask_BxT=mask, n_symbols=_N_SYMBOLS
        )

      return {
        masked: (summary(ids_short, masked), summary(ids_long, masked))
        for masked in (True, False)
      }

    out = summaries(ids_short, ids_long)
    chex.assert_trees_all_close(
      *out[True],
      atol=1e-6,
      custom_message=(
        f'masked summary differs between padding to {self.short} and'
        f' {self.long}'
      ),
    )
    # Without the mask, padding steps are zero inputs that still move the
    # state, so the comparison above would fail: it tests the mask.
    unmasked = _max_abs_diff(*out[False])
    self.assertGreater(
      unmasked,
      1e-3,
      msg='without a mask the summary should depend on the padding',
    )

  def test_model_logits_ignore_trailing_padding(self):
    # The post's trained weights: variables do not depend on the length.
    net = _seed_model()
    ids_short, ids_long = _equations(self.short), _equations(self.long)
    both = jax.jit(
      lambda v, a, b: (
        net.apply(v, a, train=False),
        net.apply(v, b, train=False),
      )
    )
    chex.assert_trees_all_close(
      *both(_keras_variables(), ids_short, ids_long),
      atol=1e-5,
      custom_message=(
        f'Seq2Seq logits differ between padding to {self.short} and {self.long}'
      ),
    )


class ApplyModesTest(chex.TestCase):
  """jit or not, eval or train: the same function, the right statistics."""

  @chex.variants(with_jit=True, without_jit=True)
  def test_apply_reproduces_keras_with_and_without_jit(self):
    net = _seed_model()
    apply = self.variant(functools.partial(net.apply, train=False))
    logits = apply(_keras_variables(), _keras_ids()[:_VARIANT_ROWS])
    chex.assert_trees_all_close(
      jax.nn.softmax(logits, axis=-1),
      _keras()['probs'][:_VARIANT_ROWS],
      atol=1e-5,
      rtol=0,
      custom_message='apply under this jit variant vs Keras probabilities',
    )

  def test_eval_is_deterministic_and_keeps_batch_stats(self):
    # With dropout on, eval mode must still be deterministic (and need no
    # dropout key) and must not touch the moving statistics.
    net = _seed_model(dropout=0.2)
    variables = _keras_variables()
    ids = _keras_ids()[:_VARIANT_ROWS]
    apply = jax.jit(
      lambda v, ids: net.apply(v, ids, train=False, mutable=['batch_stats'])
    )
    first, updates = apply(variables, ids)
    second, _ = apply(variables, ids)
    chex.assert_trees_all_equal(
      first, second, custom_message='two eval-mode calls differ'
    )
    chex.assert_trees_all_equal(
      updates['batch_stats'],
      variables['batch_stats'],
      custom_message='eval mode changed batch_stats',
    )

  def test_train_updates_batch_stats_with_keras_momentum(self):
    net = _seed_model()
    variables = _keras_variables()
    ids = _keras_ids()[:_VARIANT_ROWS]
    apply = jax.jit(
      lambda v, ids: net.apply(
        v,
        ids,
        train=True,
        mutable=['batch_stats', 'intermediates'],
        capture_intermediates=lambda mdl, _: isinstance(mdl, model.BiLSTM),
      )
    )
    _, updates = apply(variables, ids)
    new_stats = updates['batch_stats']
    old_stats = variables['batch_stats']
    for name in ('encoder_norm', 'decoder_norm'):
      for stat in ('mean', 'var'):
        self.assertGreater(
          _max_abs_diff(new_stats[name][stat], old_stats[name][stat]),
          0,
          msg=f'train mode left batch_stats[{name!r}][{stat!r}] unchanged',
        )
    # The moving averages follow Keras' BatchNormalization (momentum 0.99).
    inputs = {
      'encoder_norm': updates['intermediates']['encoder_0']['__call__'][0],
      'decoder_norm': updates['intermediates']['decoder_0']['__call__'][0],
    }
    for name, x in inputs.items():
      axes = tuple(range(x.ndim - 1))
      want = {
        'mean': 0.99 * old_stats[name]['mean'] + 0.01 * x.mean(axes),
        'var': 0.99 * old_stats[name]['var'] + 0.01 * x.var(axes),
      }
      chex.assert_trees_all_close(
        new_stats[name],
        want,
        atol=1e-5,
        custom_message=f'{name} moving statistics are not momentum 0.99',
      )


class BatchNormTest(parameterized.TestCase):
  """`model.BatchNorm`: Flax's batch norm, plus padding rows across devices."""

  def _x(self, shape=(24, 5, 6)):
    rng = np.random.default_rng(0)
    return jnp.asarray(2.0 + 3.0 * rng.standard_normal(shape), jnp.float32)

  def test_equals_flax_batch_norm_with_keras_defaults(self):
    x = self._x()
    ours = model.BatchNorm()
    flax_bn = nn.BatchNorm(momentum=0.99, epsilon=1e-3)
    variables = ours.init(jax.random.key(0), x, train=False)
    chex.assert_trees_all_equal_structs(
      variables, flax_bn.init(jax.random.key(0), x, use_running_average=True)
    )
    variables = jax.tree.map(lambda v: v + 0.5, variables)  # Not the init.
    for train in (False, True):
      y, stats = ours.apply(variables, x, train=train, mutable=['batch_stats'])
      y_flax, stats_flax = flax_bn.apply(
        variables, x, use_running_average=not train, mutable=['batch_stats']
      )
      chex.assert_trees_all_close((y, stats), (y_flax, stats_flax), atol=1e-5)

  def test_weighted_rows_are_left_out_of_the_statistics(self):
    x = self._x()
    weight = jnp.arange(24) % 3 != 0  # 16 real rows of 24.
    bn = model.BatchNorm()
    variables = bn.init(jax.random.key(0), x, train=False)
    y, stats = bn.apply(
      variables, x, train=True, weight_B=weight, mutable=['batch_stats']
    )
    y_real, stats_real = bn.apply(
      variables, x[weight], train=True, mutable=['batch_stats']
    )
    chex.assert_trees_all_close(y[weight], y_real, atol=1e-5)
    chex.assert_trees_all_close(stats, stats_real, atol=1e-6)

  def test_devices_with_different_real_rows_give_the_single_device_result(
    self,
  ):
    # 4 "devices" (a named vmap axis) of 6 rows; the real rows sit unevenly:
    # 6, 5, 1 and 0 of them, like an epoch's last batch.
    x = self._x()
    weight = jnp.arange(24) < 12
    weight = weight.at[5].set(True).at[11].set(False).at[12].set(True)
    bn = model.BatchNorm()
    variables = bn.init(jax.random.key(0), x, train=False)

    def apply(x, w, axis_name=None):
      return bn.apply(
        variables,
        x,
        train=True,
        weight_B=w,
        axis_name=axis_name,
        mutable=['batch_stats'],
      )

    y, stats = apply(x, weight)
    y_dev, stats_dev = jax.vmap(
      functools.partial(apply, axis_name='d'), axis_name='d'
    )(x.reshape(4, 6, 5, 6), weight.reshape(4, 6))
    chex.assert_tree_all_finite((y_dev, stats_dev))
    chex.assert_trees_all_close(
      y_dev.reshape(y.shape)[weight], y[weight], atol=1e-5
    )
    chex.assert_trees_all_close(
      jax.tree.map(lambda s: s[0], stats_dev), stats, atol=1e-6
    )


class InitialisationTest(parameterized.TestCase):
  """The model starts from the post's Keras initialisers."""

  hidden = 20  # The seed model's.

  def setUp(self):
    super().setUp()
    self.params = _seed_variables()['params']

  @parameterized.parameters('encoder_0', 'decoder_0')
  def test_keras_biases(self, layer):
    bias = np.asarray(self.params[layer]['bias'])
    h = self.hidden
    want = np.zeros((2, 4 * h), np.float32)
    want[:, h : 2 * h] = 1.0
    np.testing.assert_array_equal(
      bias,
      want,
      err_msg=f'{layer} bias: forget gate (block 2 of i,f,g,o) should be 1,'
      ' all others 0',
    )

  @parameterized.parameters('encoder_0', 'decoder_0')
  def test_keras_recurrent_kernel_is_orthogonal(self, layer):
    kernel = self.params[layer]['recurrence']['recurrent_kernel']
    chex.assert_shape(kernel, (2, self.hidden, 4 * self.hidden))
    for direction in range(2):
      k = kernel[direction]
      chex.assert_trees_all_close(
        k @ k.T,
        jnp.eye(self.hidden),
        atol=1e-5,
        custom_message=f'{layer} recurrent kernel {direction}: K @ K.T != I',
      )
    self.assertGreater(
      _max_abs_diff(kernel[0], kernel[1]),
      0.1,
      msg=f'{layer}: both directions got the same recurrent kernel',
    )

  @parameterized.parameters(
    (('encoder_0', 'kernel'),),
    (('decoder_0', 'kernel'),),
    (('output', 'kernel'),),
  )
  def test_keras_input_kernels_are_glorot_uniform(self, path):
    kernel = np.asarray(self.params[path[0]][path[1]])
    fan_in, fan_out = kernel.shape[-2:]
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    self.assertLessEqual(
      np.abs(kernel).max(),
      limit,
      msg=f'{path} exceeds the Glorot-uniform limit {limit:.4f}',
    )
    # Uniform on [-limit, limit]: fills the range, std = limit / sqrt(3).
    self.assertGreater(
      np.abs(kernel).max(),
      0.9 * limit,
      msg=f'{path} does not reach the Glorot-uniform range',
    )
    np.testing.assert_allclose(
      kernel.std(),
      limit / np.sqrt(3),
      rtol=0.1,
      err_msg=f'{path} spread is not Glorot-uniform',
    )
    if kernel.ndim == 3:
      self.assertGreater(
        _max_abs_diff(kernel[0], kernel[1]),
        0.1,
        msg=f'{path}: both directions got the same kernel',
      )


if __name__ == '__main__':
  absltest.main()

"""The autoregressive decoder: one step for teacher forcing and greedy."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from bench import flops
from lstm_math import data
from lstm_math import model
from lstm_math import parallel
from lstm_math import scoring

# Short targets keep the scans (and their compilation) short.
TASK = data.Task(operators='+', max_number=99, target='reversed')
STEPS = data.Task(operators='*', max_number=9, target='steps')


def _net(task=TASK, **overrides):
  kwargs = dict(
    n_symbols=task.vocab.size,
    tgt_len=task.tgt_len,
    hidden=16,
    batch_norm=False,
    decoder='autoregressive',
  )
  return model.Seq2Seq(**(kwargs | overrides))


def _batch(n=24, seed=0, task=TASK):
  eqs = data.sample_equations(jax.random.key(seed), task, n)
  return eqs, data.make_batch(eqs, task)


def _variables(net, src):
  return jax.jit(net.init)(jax.random.key(1), src)


def test_teacher_forced_and_greedy_logits_have_the_target_shape():
  net, (_, batch) = _net(STEPS, dec_layers=2), _batch(task=STEPS)
  variables = _variables(net, batch.src_BxS)
  forced = jax.jit(lambda v, s, t: net.apply(v, s, tgt_BxT=t))(
    variables, batch.src_BxS, batch.tgt_BxT
  )
  greedy = jax.jit(net.apply)(variables, batch.src_BxS)
  for logits in (forced, greedy):
    chex.assert_shape(logits, (24, STEPS.tgt_len, STEPS.vocab.size))
    chex.assert_type(logits, jnp.float32)
    chex.assert_tree_all_finite(logits)
  assert not np.allclose(forced, greedy), 'teacher forcing must be read'


@pytest.mark.parametrize(
  'positions, own, source, place',
  [(False, False, False, False), (False, True, False, False)]
  + [(False, False, True, False), (True, True, True, True)],
)
def test_greedy_is_teacher_forcing_on_its_own_output(
  positions, own, source, place
):
  # The same step runs both ways: fed its own greedy tokens as the target,
  # teacher forcing gives back the greedy logits, step for step.
  net = _net(
    dec_positions=positions,
    dec_own_attention=own,
    dec_source_tokens=source,
    dec_place_queries=place,
  )
  batch = _batch()[1]
  variables = _variables(net, batch.src_BxS)
  rows = variables['params'].get('source_tokens')
  assert (rows is not None) == source
  if source:  # A symbol's row moves only the rows whose source holds it.
    moved = jax.tree.map(lambda x: x, variables)
    seven = TASK.vocab.symbols.index('7')
    moved['params']['source_tokens'] = rows.at[seven].add(1.0)
    has_7 = np.asarray((batch.src_BxS == seven).any(-1))
    got, want = (net.apply(v, batch.src_BxS) for v in (moved, variables))
    chex.assert_trees_all_close(got[~has_7], want[~has_7])
    assert has_7.any() and not np.allclose(got[has_7], want[has_7])
  rows = variables['params']['decoder'].get('position_kernel')
  assert (rows is not None) == positions
  if positions:  # A row of inputs for each step; each step reads its own.
    chex.assert_shape(rows, (TASK.tgt_len, 4 * 32))
    moved = jax.tree.map(lambda x: x, variables)
    moved['params']['decoder']['position_kernel'] = rows.at[-1].add(1.0)
    first = lambda v: net.apply(v, batch.src_BxS)[:, :-1]
    chex.assert_trees_all_close(first(moved), first(variables))
    assert not np.allclose(
      net.apply(moved, batch.src_BxS), net.apply(variables, batch.src_BxS)
    )
  if place:  # A query row for each place; step t reads row t only.
    table = variables['params']['decoder']['source_query']
    chex.assert_shape(table, (TASK.tgt_len, 32))
    moved = jax.tree.map(lambda x: x, variables)
    moved['params']['decoder']['source_query'] = table.at[2].add(1.0)
    got, want = (net.apply(v, batch.src_BxS) for v in (moved, variables))
    chex.assert_trees_all_close(got[:, :2], want[:, :2])
    assert not np.allclose(got[:, 2], want[:, 2])
  elif own:  # Step 0 reads only the start symbol; later steps read more.
    moved = jax.tree.map(lambda x: x, variables)
    kernel = moved['params']['decoder']['own_query']['kernel']
    moved['params']['decoder']['own_query']['kernel'] = kernel + 0.5
    got, want = (
      net.apply(moved, batch.src_BxS),
      net.apply(variables, batch.src_BxS),
    )
    chex.assert_trees_all_close(got[:, 0], want[:, 0])
    assert not np.allclose(got[:, 2], want[:, 2])
  greedy = jax.jit(net.apply)(variables, batch.src_BxS)
  tokens = jnp.argmax(greedy, -1)
  forced = jax.jit(lambda v, s, t: net.apply(v, s, tgt_BxT=t))(
    variables, batch.src_BxS, tokens
  )
  chex.assert_trees_all_close(forced, greedy, atol=1e-5)


def test_state_queries_and_head():
  # Queries by place plus by the state, and a tanh layer before the logits:
  # greedy decoding is still teacher forcing on its own output, and both
  # parts of a query move the logits.
  net = _net(
    dec_own_attention=True,
    dec_source_tokens=True,
    dec_place_queries=True,
    dec_state_queries=True,
    dec_head=24,
  )
  batch = _batch()[1]
  variables = _variables(net, batch.src_BxS)
  params = variables['params']['decoder']
  chex.assert_shape(params['head']['kernel'], (4 * 32, 24))
  chex.assert_shape(params['output']['kernel'], (24, TASK.vocab.size))
  chex.assert_shape(params['source_query'], (TASK.tgt_len, 32))
  chex.assert_shape(params['source_query_state']['kernel'], (32, 32))
  want = net.apply(variables, batch.src_BxS)
  for name in ('source_query', 'own_query'):
    moved = jax.tree.map(lambda x: x, variables)
    state = moved['params']['decoder'][f'{name}_state']
    state['kernel'] = state['kernel'] + 0.5
    assert not np.allclose(net.apply(moved, batch.src_BxS), want), name
  forced = jax.jit(lambda v, s, t: net.apply(v, s, tgt_BxT=t))(
    variables, batch.src_BxS, jnp.argmax(want, -1)
  )
  chex.assert_trees_all_close(forced, want, atol=1e-5)


def test_trailing_source_padding_changes_nothing():
  net, (_, batch) = _net(), _batch()
  variables = _variables(net, batch.src_BxS)
  pad = jnp.full((24, 3), TASK.vocab.pad_id, jnp.int32)
  longer = jnp.concatenate([batch.src_BxS, pad], axis=1)
  chex.assert_trees_all_close(
    net.apply(variables, longer), net.apply(variables, batch.src_BxS), atol=1e-5
  )


def test_one_and_eight_devices_decode_alike():
  net, (eqs, batch) = _net(), _batch(n=40)
  variables = _variables(net, batch.src_BxS)
  given = data.Equations(*(np.asarray(x) for x in eqs))
  runs = [
    scoring.Scorer(
      net, TASK, parallel.make_devices(mode, n), chunk=8, given=given
    )(variables, progress=False)
    for mode, n in (('jit', 1), ('shard_map', 8))
  ]
  for got, want in zip(*runs):
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize('one_query', [False, True])
def test_attending_symbols_at_places_equals_attending_the_keys(one_query):
  k_q, k_ids, k_rows, k_places, k_mask = jax.random.split(jax.random.key(0), 5)
  b, n, v, k = 6, 7, 5, 8
  query = jax.random.normal(k_q, (1 if one_query else b, k))
  ids = jax.random.randint(k_ids, (b, n), 0, v + 1)  # Id v: a zero row.
  rows = jnp.pad(jax.random.normal(k_rows, (v, k)), ((0, 1), (0, 0)))
  places = jax.random.normal(k_places, (n, k))
  mask = jax.random.bernoulli(k_mask, 0.7, (b, n)).at[:, 0].set(True)
  keys = rows[ids] + places
  want = model._attend(jnp.broadcast_to(query, (b, k)), keys, mask)
  got = model._attend_symbols(query, ids, rows, places, mask)
  np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
  # A masked key, whatever its symbol, changes nothing.
  other = jnp.where(mask, ids, (ids + 1) % (v + 1))
  np.testing.assert_allclose(
    model._attend_symbols(query, other, rows, places, mask), got, atol=1e-6
  )


def test_flop_count_grows_with_the_source_and_the_decoder():
  small, wide = _net(), _net(hidden=32)
  assert flops.decoder_flops_per_token(
    wide, 10
  ) > flops.decoder_flops_per_token(small, 10)
  assert flops.decoder_flops_per_token(
    small, 20
  ) > flops.decoder_flops_per_token(small, 10)
  h, e, v = 32, 32, TASK.vocab.size  # The decoder's units: 2 * hidden.
  lstm = 2 * (e * 4 * h + h * 4 * h)  # The token's input is a gather.
  attention = 2 * h * e + 2 * 2 * 10 * e
  assert flops.decoder_flops_per_token(small, 10) == (
    lstm + attention + 2 * (h + e) * v
  )
  # The source's symbols, by symbol and place: weights summed by symbol,
  # context from both tables, output; asked by the state, also its query
  # and scores; asked by place, one row serves every equation.
  asked = _net(dec_source_tokens=True)
  by_place = _net(dec_source_tokens=True, dec_place_queries=True)
  rows = v + 1
  source = 2 * 10 * rows + 2 * h * (rows + 10) + 2 * h * v
  assert flops.decoder_flops_per_token(asked, 10) == (
    flops.decoder_flops_per_token(small, 10)
    + source
    + 2 * h * h
    + 2 * h * (rows + 10)
  )
  assert flops.decoder_flops_per_token(by_place, 10) == (
    flops.decoder_flops_per_token(small, 10) + source
  )
  # State queries add the state's query back; a head of width u moves the
  # output's input from the features F to the head.
  both = _net(
    dec_source_tokens=True, dec_place_queries=True, dec_state_queries=True
  )
  assert flops.decoder_flops_per_token(both, 10) == (
    flops.decoder_flops_per_token(asked, 10)
  )
  headed = _net(dec_source_tokens=True, dec_head=40)
  f = h + e + h
  assert flops.decoder_flops_per_token(headed, 10) == (
    flops.decoder_flops_per_token(asked, 10)
    + 2 * f * 40
    + 2 * 40 * v
    - 2 * f * v
  )

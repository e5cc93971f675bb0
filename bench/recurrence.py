"""The LSTM recurrence alone, in the shapes tried for it: which one is fastest.

    python bench/recurrence.py

A bidirectional layer's recurrence as the seed model runs it (15 steps:
10 encoder and 5 decoder ones; batch 256; H = 20; both directions in one
scan step), with the input projections given, timed forward and with its
gradient (of the sum of squared outputs, for the recurrent kernel and the
projections). Every variant computes the same function; the script checks
that their gradients agree before it times them. The variants:

  slices       a sigmoid and a tanh of each [2, B, H] gate slice
  one_tanh     one tanh of the whole [2, B, 4H] array (what model.py does)
  batch_minor  one_tanh on a [2, 4H, B] layout: each gate a run of B floats
  block_diag   one [B, 2H] x [2H, 8H] product for both directions
  custom_vjp   one_tanh with a hand-written backward pass: the reverse scan
               keeps only the gate derivatives, and the recurrent kernel's
               gradient is one product after it

Figures and the decisions taken from them are in bench/RESULTS.md.
"""

import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np

S, B, H = 15, 256, 20


def _sigmoid(x):
  return 0.5 * jnp.tanh(0.5 * x) + 0.5


_SCALE = np.full(4 * H, 0.5, np.float32)
_SCALE[2 * H : 3 * H] = 1.0
_DSCALE = np.full(4 * H, 0.25, np.float32)  # d/dx of 0.5 tanh(x / 2) + 0.5
_DSCALE[2 * H : 3 * H] = 1.0


def _cell(z, c, how):
  """New (h, c) from pre-activations z [..., 4H] and the cell state c."""
  if how == 'slices':
    i, f, g, o = jnp.split(z, 4, axis=-1)
    c = _sigmoid(f) * c + _sigmoid(i) * jnp.tanh(g)
    return _sigmoid(o) * jnp.tanh(c), c
  t = jnp.tanh(z * _SCALE)
  i, f, g, o = jnp.split(t, 4, axis=-1)
  c = (0.5 * f + 0.5) * c + (0.5 * i + 0.5) * g
  return (0.5 * o + 0.5) * jnp.tanh(c), c


def scan_rowmajor(w_2xHx4H, xp_Sx2xBx4H, how='one_tanh'):
  def step(carry, x):
    h, c = carry
    z = x + jnp.einsum('dbh,dhg->dbg', h, w_2xHx4H)
    h, c = _cell(z, c, how)
    return (h, c), h

  zeros = jnp.zeros((2, B, H))
  return jax.lax.scan(step, (zeros, zeros), xp_Sx2xBx4H)[1]


def scan_batch_minor(w_2xHx4H, xp_Sx2xBx4H):
  w_2x4HxH = jnp.swapaxes(w_2xHx4H, 1, 2)
  scale = _SCALE[:, None]

  def step(carry, x):
    h, c = carry  # [2, H, B]
    z = x + jnp.einsum('dgh,dhb->dgb', w_2x4HxH, h)
    t = jnp.tanh(z * scale)
    i, f, g, o = jnp.split(t, 4, axis=1)
    c = (0.5 * f + 0.5) * c + (0.5 * i + 0.5) * g
    h = (0.5 * o + 0.5) * jnp.tanh(c)
    return (h, c), h

  zeros = jnp.zeros((2, H, B))
  xp = jnp.swapaxes(xp_Sx2xBx4H, 2, 3)
  return jnp.swapaxes(jax.lax.scan(step, (zeros, zeros), xp)[1], 2, 3)


def scan_block_diag(w_2xHx4H, xp_Sx2xBx4H):
  w = jnp.zeros((2 * H, 8 * H))
  w = w.at[:H, : 4 * H].set(w_2xHx4H[0]).at[H:, 4 * H :].set(w_2xHx4H[1])

  def step(carry, x):
    h, c = carry  # [B, 2H]
    z = (x + h @ w).reshape(B, 2, 4 * H)
    h, c = _cell(z, c.reshape(B, 2, H), 'one_tanh')
    h, c = h.reshape(B, 2 * H), c.reshape(B, 2 * H)
    return (h, c), h

  zeros = jnp.zeros((B, 2 * H))
  xp = jnp.swapaxes(xp_Sx2xBx4H, 1, 2).reshape(S, B, 8 * H)
  hs = jax.lax.scan(step, (zeros, zeros), xp)[1]
  return jnp.swapaxes(hs.reshape(S, B, 2, H), 1, 2)


def _forward_with_residuals(w_2xHx4H, xp_Sx2xBx4H):
  def step(carry, x):
    h, c = carry
    t = jnp.tanh((x + jnp.einsum('dbh,dhg->dbg', h, w_2xHx4H)) * _SCALE)
    i, f, g, o = jnp.split(t, 4, axis=-1)
    c = (0.5 * f + 0.5) * c + (0.5 * i + 0.5) * g
    tc = jnp.tanh(c)
    h = (0.5 * o + 0.5) * tc
    return (h, c), (h, c, t, tc)

  zeros = jnp.zeros((2, B, H))
  return jax.lax.scan(step, (zeros, zeros), xp_Sx2xBx4H)[1]


@jax.custom_vjp
def scan_custom_vjp(w_2xHx4H, xp_Sx2xBx4H):
  return _forward_with_residuals(w_2xHx4H, xp_Sx2xBx4H)[0]


def _custom_fwd(w_2xHx4H, xp_Sx2xBx4H):
  hs, cs, ts, tcs = _forward_with_residuals(w_2xHx4H, xp_Sx2xBx4H)
  return hs, (w_2xHx4H, hs, cs, ts, tcs)


def _custom_bwd(residuals, dhs):
  w, hs, cs, ts, tcs = residuals
  zero = jnp.zeros((1, 2, B, H))
  h_prev = jnp.concatenate([zero, hs[:-1]])
  c_prev = jnp.concatenate([zero, cs[:-1]])

  def step(carry, xs):
    dh, dc = carry
    dh_out, c_before, t, tc = xs
    dh = dh + dh_out
    i, f, g, o = jnp.split(t, 4, axis=-1)
    i, f, o = 0.5 * i + 0.5, 0.5 * f + 0.5, 0.5 * o + 0.5
    dc = dc + dh * o * (1 - tc * tc)
    d_act = jnp.concatenate([dc * g, dc * c_before, dc * i, dh * tc], -1)
    dz = d_act * (1 - t * t) * _DSCALE
    return (jnp.einsum('dbg,dhg->dbh', dz, w), dc * f), dz

  zeros = jnp.zeros((2, B, H))
  _, dzs = jax.lax.scan(
    step, (zeros, zeros), (dhs, c_prev, ts, tcs), reverse=True
  )
  return jnp.einsum('sdbh,sdbg->dhg', h_prev, dzs), dzs


scan_custom_vjp.defvjp(_custom_fwd, _custom_bwd)

VARIANTS = {
  'slices': lambda w, xp: scan_rowmajor(w, xp, 'slices'),
  'one_tanh': scan_rowmajor,
  'batch_minor': scan_batch_minor,
  'block_diag': scan_block_diag,
  'custom_vjp': scan_custom_vjp,
}


def _timed_ms(fn, *args, repeats=200):
  fn = jax.jit(fn)
  jax.block_until_ready(fn(*args))
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    jax.block_until_ready(fn(*args))
    times.append(time.perf_counter() - start)
  return statistics.median(times) * 1e3


def main():
  w = 0.3 * jax.random.normal(jax.random.key(0), (2, H, 4 * H))
  xp = jax.random.normal(jax.random.key(1), (S, 2, B, 4 * H))
  losses = {
    name: (lambda w, xp, f=f: jnp.sum(f(w, xp) ** 2))
    for name, f in VARIANTS.items()
  }
  grads = {
    name: jax.jit(jax.grad(loss, argnums=(0, 1)))
    for name, loss in losses.items()
  }
  want = grads['slices'](w, xp)
  for name, grad in grads.items():
    got = grad(w, xp)
    for g, r in zip(got, want):
      error = float(jnp.max(jnp.abs(g - r)) / jnp.max(jnp.abs(r)))
      if error > 1e-4:
        raise AssertionError(f'{name}: gradient off by {error:.2g}')
  rows = {name: ([], []) for name in VARIANTS}
  for _ in range(2):  # Two rounds, the variants in turn: noise shows.
    for name in VARIANTS:
      rows[name][0].append(_timed_ms(losses[name], w, xp))
      rows[name][1].append(_timed_ms(grads[name], w, xp))
  print('best of two rounds, each the median of 200 calls')
  print(f'{"variant":<12} {"forward ms":>12} {"gradient ms":>12}')
  for name, (fwd, grad) in rows.items():
    print(f'{name:<12} {min(fwd):>12.3f} {min(grad):>12.3f}')


if __name__ == '__main__':
  main()

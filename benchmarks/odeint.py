"""A small neural ODE, forward + adjoint gradient: fg.ode.odeint vs jax.experimental.ode.

dy/dt = tanh(y^3 W1) W2 (2-50-2, float64, the spiral demo's field), a batch of 20 states
over 10 output times in [0, 0.25], loss = mean |y - target|, value_and_grad in the
weights, jitted, rtol = 1e-6, atol = 1e-7. JAX runs in a process of its own.

Run: python benchmarks/odeint.py [--seconds 2]
(with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset, as the README's figures are)
"""

import sys

if "--peer" in sys.argv:  # load the peer's own thread pools before funcgrad's
    __import__(sys.argv[sys.argv.index("--peer") + 1])

import numpy as np
from train_steps import side_by_side

import funcgrad as fg
import funcgrad.numpy as fnp

TOL = {"rtol": 1e-6, "atol": 1e-7}


def data():
    rng = np.random.default_rng(0)
    w1, w2 = rng.normal(size=(2, 50)) * 0.5, rng.normal(size=(50, 2)) * 0.5
    y0 = rng.normal(size=(20, 2))
    t = np.linspace(0.0, 0.25, 10)
    target = rng.normal(size=(10, 20, 2))
    return (w1, w2), y0, t, target


def funcgrad_call(params, y0, t, target):
    def loss(params, y0, t, target):
        w1, w2 = params
        ys = fg.ode.odeint(lambda y, t, w1, w2: fnp.tanh(y**3 @ w1) @ w2, y0, t, w1, w2, **TOL)
        return fnp.mean(fnp.abs(ys - target))

    step = fg.jit(fg.value_and_grad(loss))
    return lambda: step(params, y0, t, target)


def jax_call(params, y0, t, target):
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    from jax.experimental.ode import odeint

    def loss(params, y0, t, target):
        w1, w2 = params
        ys = odeint(lambda y, t, w1, w2: jnp.tanh(y**3 @ w1) @ w2, y0, t, w1, w2, **TOL)
        return jnp.mean(jnp.abs(ys - target))

    step = jax.jit(jax.value_and_grad(loss))
    args = jax.tree_util.tree_map(jnp.asarray, (params, y0, t, target))
    return lambda: jax.block_until_ready(step(*args))


PEERS = {"jax": jax_call}


def main():
    title = "neural ODE 2-50-2, batch 20, 10 times, float64"
    side_by_side(__file__, __doc__, PEERS, data, funcgrad_call, title)


if __name__ == "__main__":
    main()

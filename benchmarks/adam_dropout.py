"""A regularized training step: funcgrad vs JAX (jax.jit) vs PyTorch, side by side.

MLP 784-256-10 relu with dropout (rate 0.5) after the hidden layer, batch 128, softmax
cross-entropy, Adam (lr 1e-3), float32: one jitted step draws the dropout mask from a key
folded with the step number, differentiates and applies Adam (whose step counter is an
int32). The other training-step benchmark uses plain SGD; this one times the random bits,
the integer counter and the optimizer's elementwise work along with the GEMMs. JAX writes
Adam by hand (as optax does) and draws with jax.random.bernoulli; PyTorch uses F.dropout and
torch.optim.Adam. Each peer runs in a process of its own (see train_steps.py).

Run: python benchmarks/adam_dropout.py [--seconds 2]
"""

import sys

if "--peer" in sys.argv:  # load the peer's own thread pools before funcgrad's
    __import__(sys.argv[sys.argv.index("--peer") + 1])

import numpy as np
from train_steps import cross_entropy, dense_init, side_by_side

import funcgrad as fg
from funcgrad import optim

LR, RATE, SIZES, BATCH = 1e-3, 0.5, [784, 256, 10], 128


def data():
    rng = np.random.default_rng(0)
    params = dense_init(rng, SIZES)
    x = rng.standard_normal((BATCH, SIZES[0])).astype(np.float32)
    return params, x, rng.integers(0, SIZES[-1], BATCH)


def loss(params, x, y, key):
    (l1, l2) = params
    h = fg.nn.dropout(fg.nn.relu(x @ l1["w"] + l1["b"]), RATE, key)
    return cross_entropy(h @ l2["w"] + l2["b"], y)


def funcgrad_call(params, x, y):
    opt = optim.adam(LR)

    @fg.jit
    def step(params, state, x, y, key, i):
        grads = fg.grad(loss)(params, x, y, fg.random.fold_in(key, i))
        updates, state = opt.update(grads, state, params)
        return optim.apply_updates(params, updates), state

    state, key, i = opt.init(params), fg.random.key(0), np.int32(0)
    return lambda: step(params, state, x, y, key, i)


def jax_call(params, x, y):
    import jax
    import jax.numpy as jnp

    def jloss(p, x, y, key):
        (l1, l2) = p
        h = jax.nn.relu(x @ l1["w"] + l1["b"])
        keep = jax.random.bernoulli(key, 1.0 - RATE, h.shape)
        h = jnp.where(keep, h / (1.0 - RATE), 0.0)
        logits = h @ l2["w"] + l2["b"]
        return -jnp.mean(jax.nn.log_softmax(logits)[jnp.arange(x.shape[0]), y])

    @jax.jit
    def step(p, state, x, y, key, i):
        count, mu, nu = state
        grads = jax.grad(jloss)(p, x, y, jax.random.fold_in(key, i))
        count = count + 1
        mu = jax.tree_util.tree_map(lambda m, g: 0.9 * m + 0.1 * g, mu, grads)
        nu = jax.tree_util.tree_map(lambda v, g: 0.999 * v + 0.001 * g * g, nu, grads)
        c1, c2 = 1 - 0.9**count, 1 - 0.999**count

        def update(a, m, v):
            return a - LR * (m / c1) / (jnp.sqrt(v / c2) + 1e-8)

        return jax.tree_util.tree_map(update, p, mu, nu), (count, mu, nu)

    zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
    state = (jnp.int32(0), zeros, zeros)
    p, xs, ys = jax.device_put((params, x, y))
    key = jax.random.PRNGKey(0)
    return lambda: jax.block_until_ready(step(p, state, xs, ys, key, 0))


def torch_call(params, x, y):
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(fg.get_num_threads())
    tensors = [torch.tensor(a, requires_grad=True) for a in fg.tree.leaves(params)]
    b1, w1, b2, w2 = tensors  # (leaves in key order: b before w)
    opt = torch.optim.Adam(tensors, lr=LR)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def step():
        opt.zero_grad()
        h = F.dropout(torch.relu(xt @ w1 + b1), RATE, training=True)
        F.cross_entropy(h @ w2 + b2, yt).backward()
        opt.step()

    return step


PEERS = {"jax": jax_call, "torch": torch_call}


def main():
    title = f"MLP 784-256-10 + dropout + Adam, batch {BATCH}"
    side_by_side(__file__, __doc__, PEERS, data, funcgrad_call, title)


if __name__ == "__main__":
    main()

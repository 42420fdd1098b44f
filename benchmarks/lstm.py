"""LSTM forward + backward over T steps: fg.lax.scan vs the unrolled loop, JAX, PyTorch.

One LSTM layer (input 64, hidden 256, batch 64, float32), loss = mean of the hidden states
squared over all steps; `value_and_grad` in the weights, jitted. funcgrad runs it two ways:
`fg.lax.scan` (one body, one program per step) and a Python loop unrolled into the graph
(up to --unrolled-max steps). JAX runs `jax.lax.scan` under `jit`; PyTorch `nn.LSTM` with
autograd, same weights. Each peer runs in a process of its own. The first-call lines time
trace + compile + one run: a scan's grows with T only by the run itself, the unrolled
graph's by its size too.

Run: python benchmarks/lstm.py [--lengths 100,1000] [--seconds 2]
(with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset, as the README's figures are)
"""

import sys

if "--peer" in sys.argv:  # load the peer's own thread pools before funcgrad's
    __import__(sys.argv[sys.argv.index("--peer") + 1])

import time

import numpy as np
from train_steps import benchmark_parser, fmt, median_seconds, peer_seconds, ratio_line

import funcgrad as fg
import funcgrad.numpy as fnp

N_IN, HIDDEN, BATCH = 64, 256, 64


def data(length):
    rng = np.random.default_rng(0)
    params = {
        "wx": (rng.normal(size=(N_IN, 4 * HIDDEN)) / np.sqrt(N_IN)).astype(np.float32),
        "wh": (rng.normal(size=(HIDDEN, 4 * HIDDEN)) / np.sqrt(HIDDEN)).astype(np.float32),
        "b": np.zeros(4 * HIDDEN, np.float32),
    }
    xs = rng.normal(size=(length, BATCH, N_IN)).astype(np.float32)
    return params, xs


def cell(lib, sigmoid, params, carry, x):
    h, c = carry
    gates = x @ params["wx"] + h @ params["wh"] + params["b"]
    i, f, g, o = (gates[:, k * HIDDEN : (k + 1) * HIDDEN] for k in range(4))
    c = sigmoid(f) * c + sigmoid(i) * lib.tanh(g)
    h = sigmoid(o) * lib.tanh(c)
    return (h, c), h


def funcgrad_loss(unrolled):
    def loss(params, xs):
        zeros = fnp.zeros((BATCH, HIDDEN), np.float32)
        step = lambda carry, x: cell(fnp, fg.nn.sigmoid, params, carry, x)  # noqa: E731
        if unrolled:
            carry, hs = (zeros, zeros), []
            for x in xs:
                carry, h = step(carry, x)
                hs.append(h)
            hs = fnp.stack(hs)
        else:
            _, hs = fg.lax.scan(step, (zeros, zeros), xs)
        return fnp.mean(hs * hs)

    return loss


def funcgrad_call(params, xs, unrolled=False):
    step = fg.jit(fg.value_and_grad(funcgrad_loss(unrolled)))
    return lambda: step(params, xs)


def jax_call(params, xs):
    import jax
    import jax.numpy as jnp

    def loss(p, xs):
        zeros = jnp.zeros((BATCH, HIDDEN), jnp.float32)
        _, hs = jax.lax.scan(
            lambda carry, x: cell(jnp, jax.nn.sigmoid, p, carry, x), (zeros, zeros), xs
        )
        return jnp.mean(hs * hs)

    step = jax.jit(jax.value_and_grad(loss))
    p, xs = jax.tree_util.tree_map(jnp.asarray, params), jnp.asarray(xs)
    return lambda: jax.block_until_ready(step(p, xs))


def torch_call(params, xs):
    import torch

    lstm = torch.nn.LSTM(N_IN, HIDDEN)
    with torch.no_grad():  # (PyTorch's gate order is ours: i, f, g, o)
        lstm.weight_ih_l0.copy_(torch.tensor(params["wx"].T))
        lstm.weight_hh_l0.copy_(torch.tensor(params["wh"].T))
        lstm.bias_ih_l0.copy_(torch.tensor(params["b"]))
        lstm.bias_hh_l0.zero_()
    xs = torch.tensor(xs)
    weights = list(lstm.parameters())

    def step():
        hs, _ = lstm(xs)
        loss = torch.mean(hs * hs)
        return loss, torch.autograd.grad(loss, weights)

    return step


def jax_first_call(params, xs):
    start = time.perf_counter()
    jax_call(params, xs)()
    return time.perf_counter() - start


PEERS = {"jax": jax_call, "torch": torch_call}


def main():
    parser = benchmark_parser(__doc__, PEERS)
    parser.add_argument("--lengths", default="100,1000")
    parser.add_argument("--unrolled-max", type=int, default=100)
    parser.add_argument("--first-call", action="store_true", help=argparse_hidden())
    args = parser.parse_args()
    lengths = [int(t) for t in args.lengths.split(",")]
    if args.peer:  # a child process: time one peer, print seconds
        params, xs = data(lengths[0])
        if args.first_call:
            print(jax_first_call(params, xs))
        else:
            print(median_seconds(PEERS[args.peer](params, xs), args.seconds))
        return
    print(f"LSTM {N_IN}-{HIDDEN}, batch {BATCH}, float32, {fg.get_num_threads()} threads")
    for length in lengths:
        params, xs = data(length)
        ways = [("scan", False)] + ([("unrolled", True)] if length <= args.unrolled_max else [])
        for name, unrolled in ways:
            fg.runtime.clear()
            start = time.perf_counter()
            funcgrad_call(params, xs, unrolled)()
            print(f"T={length:<5d} {'first call, ' + name:24s} {fmt(time.perf_counter() - start)}")
        jax_first = peer_seconds(__file__, "jax", 0.0, "--lengths", str(length), "--first-call")
        if jax_first is not None:
            print(f"T={length:<5d} {'first call, JAX scan':24s} {fmt(jax_first)}")
        ours = median_seconds(funcgrad_call(params, xs), args.seconds)
        print(f"T={length:<5d} {'funcgrad scan':24s} {fmt(ours)}")
        if length <= args.unrolled_max:
            unrolled = median_seconds(funcgrad_call(params, xs, True), args.seconds)
            ratio = f"scan/unrolled = {ours / unrolled:5.2f}x"
            print(f"T={length:<5d} {'funcgrad unrolled':24s} {fmt(unrolled)}   {ratio}")
        for peer in sorted(PEERS):
            theirs = peer_seconds(__file__, peer, args.seconds, "--lengths", str(length))
            print(f"T={length:<5d} " + ratio_line(peer, ours, theirs))


def argparse_hidden():
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    main()

"""einsum benchmark: contractions against the same product written with fnp.matmul.

float32, under ``fg.jit``, forward and forward + gradient (of the sum of squares, with
respect to every operand): attention scores 'bhqd,bhkd->bhqk' (vs q @ k^T), attention
output 'bhqk,bhkd->bhqd' (vs p @ v), a bilinear form 'bi,ij,bj->b' (vs sum((x @ w) * y))
and a plain 'ij,jk->ik' (vs a @ b). einsum lowers to the same batched GEMMs, so the target
is a ratio near 1 to fnp.matmul. JAX (jit) and PyTorch run the same einsum when
importable, each in a process of its own (as in train_steps.py).

Run: python benchmarks/einsum.py [--seconds 2]
"""

import argparse

import numpy as np
from train_steps import benchmark_parser, fmt, median_seconds, peer_seconds, ratio_line

import funcgrad as fg
import funcgrad.numpy as fnp

# name -> (subscripts, operand shapes, the same product with fnp.matmul)
CASES = {
    "scores": (
        "bhqd,bhkd->bhqk",
        [(8, 8, 128, 64), (8, 8, 128, 64)],
        lambda q, k: fnp.matmul(q, fnp.swapaxes(k, -1, -2)),
    ),
    "attend": (
        "bhqk,bhkd->bhqd",
        [(8, 8, 128, 128), (8, 8, 128, 64)],
        fnp.matmul,
    ),
    "bilinear": (
        "bi,ij,bj->b",
        [(1024, 256), (256, 256), (1024, 256)],
        lambda x, w, y: fnp.sum(fnp.matmul(x, w) * y, axis=-1),
    ),
    "matmul": ("ij,jk->ik", [(512, 512), (512, 512)], fnp.matmul),
}


def data(name):
    rng = np.random.default_rng(0)
    return [rng.standard_normal(s).astype(np.float32) for s in CASES[name][1]]


def loss(product):
    def f(*xs):
        out = product(*xs)
        return fnp.sum(out * out)

    return f


def funcgrad_call(product, mode, operands):
    if mode == "forward":
        fn = fg.jit(product)
    else:
        fn = fg.jit(fg.value_and_grad(loss(product), argnums=tuple(range(len(operands)))))
    return lambda: fn(*operands)


def jax_call(name, mode, operands):
    import jax
    import jax.numpy as jnp

    subscripts = CASES[name][0]

    def product(*xs):
        return jnp.einsum(subscripts, *xs)

    if mode == "forward":
        fn = jax.jit(product)
    else:
        argnums = tuple(range(len(operands)))
        fn = jax.jit(jax.value_and_grad(lambda *xs: jnp.sum(product(*xs) ** 2), argnums))
    xs = jax.device_put(operands)
    return lambda: jax.block_until_ready(fn(*xs))


def torch_call(name, mode, operands):
    import torch

    torch.set_num_threads(fg.get_num_threads())
    subscripts = CASES[name][0]
    xs = [torch.from_numpy(x).requires_grad_(mode != "forward") for x in operands]
    if mode == "forward":

        def step():
            with torch.no_grad():
                return torch.einsum(subscripts, *xs)

        return step

    def step():
        for x in xs:
            x.grad = None
        value = torch.einsum(subscripts, *xs).square().sum()
        value.backward()
        return value, [x.grad for x in xs]

    return step


PEERS = {"jax": jax_call, "torch": torch_call}


def main():
    parser = benchmark_parser(__doc__, PEERS)
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--mode", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peer:  # a child process: time one peer on one case, print seconds
        call = PEERS[args.peer](args.case, args.mode, data(args.case))
        print(median_seconds(call, args.seconds))
        return
    print(f"einsum vs fnp.matmul, float32, fg.jit, {fg.get_num_threads()} threads")
    for name, (subscripts, _, product) in CASES.items():
        operands = data(name)
        ours = lambda *xs, s=subscripts: fnp.einsum(s, *xs)  # noqa: E731
        np.testing.assert_allclose(ours(*operands), product(*operands), rtol=2e-3, atol=2e-3)
        for mode in ("forward", "forward+grad"):
            base = median_seconds(funcgrad_call(ours, mode, operands), args.seconds)
            print(f"{name:9s} {mode:13s} {subscripts:16s} einsum {fmt(base)}")
            others = [
                ("fnp.matmul", median_seconds(funcgrad_call(product, mode, operands), args.seconds))
            ]
            others += [
                (peer, peer_seconds(__file__, peer, args.seconds, "--case", name, "--mode", mode))
                for peer in sorted(PEERS)
            ]
            for peer, t in others:
                print(f"{'':40s} {ratio_line(peer, base, t)}")


if __name__ == "__main__":
    main()

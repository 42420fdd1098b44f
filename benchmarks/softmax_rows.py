"""Softmax-family row kernels benchmark: softmax cross-entropy, forward + gradient.

``jit(value_and_grad(loss))`` over float32 logits of a few shapes (the cnn/mlp steps' 256x10,
an ImageNet-like 1024x1000, a language model's 128x32000), with integer labels. funcgrad
runs log_softmax as one row kernel; the "composed" row is the same loss written with
max/exp/sum/log (what funcgrad ran before the row kernels: three fused passes). JAX and
PyTorch run when importable, each in a process of its own (as in train_steps.py).

Run: python benchmarks/softmax_rows.py [--seconds 2]
"""

import argparse

import numpy as np
from train_steps import benchmark_parser, fmt, median_seconds, peer_seconds, ratio_line

import funcgrad as fg
import funcgrad.numpy as fnp

SHAPES = [(256, 10), (1024, 1000), (128, 32000)]


def data(shape):
    rng = np.random.default_rng(0)
    logits = (rng.standard_normal(shape) * 3).astype(np.float32)
    return logits, rng.integers(0, shape[1], shape[0])


def row_kernel_loss(logits, labels):
    return -fnp.mean(fg.nn.log_softmax(logits)[fnp.arange(logits.shape[0]), labels])


def composed_loss(logits, labels):
    shifted = logits - fg.stop_gradient(fnp.max(logits, axis=-1, keepdims=True))
    logp = shifted - fnp.log(fnp.sum(fnp.exp(shifted), axis=-1, keepdims=True))
    return -fnp.mean(logp[fnp.arange(logits.shape[0]), labels])


def jax_call(logits, labels):
    import jax
    import jax.numpy as jnp

    def loss(z, y):
        return -jnp.mean(jax.nn.log_softmax(z)[jnp.arange(z.shape[0]), y])

    fn = jax.jit(jax.value_and_grad(loss))
    z, y = jax.device_put((logits, labels))
    return lambda: jax.block_until_ready(fn(z, y))


def torch_call(logits, labels):
    import torch

    torch.set_num_threads(fg.get_num_threads())
    y = torch.from_numpy(labels)
    z = torch.from_numpy(logits).requires_grad_()

    def step():
        z.grad = None
        loss = torch.nn.functional.cross_entropy(z, y)
        loss.backward()
        return loss, z.grad

    return step


PEERS = {"jax": jax_call, "torch": torch_call}


def main():
    parser = benchmark_parser(__doc__, PEERS)
    parser.add_argument("--shape", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peer:  # a child process: time one peer on one shape, print seconds
        shape = tuple(int(d) for d in args.shape.split("x"))
        print(median_seconds(PEERS[args.peer](*data(shape)), args.seconds))
        return
    print(f"softmax cross-entropy, value and gradient, float32, {fg.get_num_threads()} threads")
    for shape in SHAPES:
        logits, labels = data(shape)
        ours = fg.jit(fg.value_and_grad(row_kernel_loss))
        composed = fg.jit(fg.value_and_grad(composed_loss))
        (a, ga), (b, gb) = ours(logits, labels), composed(logits, labels)
        np.testing.assert_allclose(a, b, rtol=1e-5)
        np.testing.assert_allclose(ga, gb, rtol=1e-4, atol=1e-8)
        base = median_seconds(lambda: ours(logits, labels), args.seconds)
        print(f"{shape[0]}x{shape[1]:<6d} funcgrad   {fmt(base)}")
        others = [("composed", median_seconds(lambda: composed(logits, labels), args.seconds))]
        size = "x".join(map(str, shape))
        others += [
            (peer, peer_seconds(__file__, peer, args.seconds, "--shape", size))
            for peer in sorted(PEERS)
        ]
        for name, t in others:
            print(f"{'':12s} {ratio_line(name, base, t)}")


if __name__ == "__main__":
    main()

"""Per-example gradients benchmark: ``jit(vmap(grad(loss)))`` vs Python loops vs JAX.

Workload ``mlp`` of train_steps.py: MLP 784-128-64-32-10 relu, softmax cross-entropy,
float32, batch 128; the result is the 128 per-example gradients of every parameter.
Each variant is timed as the median of many calls after warm-up; JAX runs when importable.

Run: python benchmarks/per_example_grads.py [--seconds 2]
"""

import argparse

import numpy as np
from train_steps import dense_init, fmt, median_seconds, mlp_loss

import funcgrad as fg

BATCH = 128


def example_loss(params, x, y):
    """The loss of one example: x of shape (784,), y a scalar label."""
    return mlp_loss(params, x[None], y[None])


def jax_per_example(params, x, y):
    import jax
    import jax.numpy as jnp

    def loss(p, x, y):
        h = x[None]
        for layer in p[:-1]:
            h = jax.nn.relu(h @ layer["w"] + layer["b"])
        logits = h @ p[-1]["w"] + p[-1]["b"]
        return -jnp.mean(jax.nn.log_softmax(logits)[0, y])

    fn = jax.jit(jax.vmap(jax.grad(loss), in_axes=(None, 0, 0)))
    p, xs, ys = jax.device_put((params, x, y))
    return lambda: jax.block_until_ready(fn(p, xs, ys)), lambda: fn(p, xs, ys)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    params = dense_init(rng, [784, 128, 64, 32, 10])
    x = rng.standard_normal((BATCH, 784)).astype(np.float32)
    y = rng.integers(0, 10, BATCH)

    vmapped = fg.jit(fg.vmap(fg.grad(example_loss), in_axes=(None, 0, 0)))
    grad_fn, jit_grad_fn = fg.grad(example_loss), fg.jit(fg.grad(example_loss))
    want = [grad_fn(params, x[i], y[i]) for i in range(BATCH)]
    got = vmapped(params, x, y)
    for k, layer in enumerate(got):
        for name in ("w", "b"):
            loop = np.stack([w[k][name] for w in want])
            np.testing.assert_allclose(layer[name], loop, rtol=1e-4, atol=1e-6)

    rows = [
        ("funcgrad jit(vmap(grad))", lambda: vmapped(params, x, y)),
        ("funcgrad loop of 128 grad", lambda: [grad_fn(params, x[i], y[i]) for i in range(BATCH)]),
        (
            "funcgrad loop of 128 jit(grad)",
            lambda: [jit_grad_fn(params, x[i], y[i]) for i in range(BATCH)],
        ),
    ]
    try:
        timed, call = jax_per_example(params, x, y)
        jax_out = call()
        np.testing.assert_allclose(np.asarray(jax_out[0]["w"]), got[0]["w"], rtol=1e-3, atol=1e-5)
        rows.append(("jax jit(vmap(grad))", timed))
    except ImportError:
        print("jax not importable: skipping its row")

    print(f"per-example gradients, mlp 784-128-64-32-10, batch {BATCH}, float32")
    times = [(name, median_seconds(fn, args.seconds)) for name, fn in rows]
    base = times[0][1]
    jax_time = dict(times).get("jax jit(vmap(grad))")
    for name, t in times:
        vs_jax = f"   {t / jax_time:6.2f}x jax" if jax_time else ""
        print(f"  {name:32s} {fmt(t)}   {t / base:7.2f}x vmap{vs_jax}")


if __name__ == "__main__":
    main()

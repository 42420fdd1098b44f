"""Gradient of a long scalar chain: trace + backward graph + run, first call and cached.

The workload of the classic scalar engines' RecursionError: x_{k+1} = x_k + 1e-4 sin(x_k),
20,000 primitive applications, then d x_n / d x_0. Anchors measured on this project's
machine (see shared/PERF_NOTES.md): autograd 0.84 s, JAX (eager) 6.9 s, micrograd raises
RecursionError at 5,000. Times autograd and JAX side by side when they are importable.

Run: python benchmarks/chain.py [--ops 20000] [--repeats 5]
"""

import argparse
import statistics
import time

import numpy as np

import funcgrad as fg
import funcgrad.numpy as fnp


def chain(x, ops, lib):
    # Each step is three primitive applications: sin, mul, add.
    for _ in range(ops // 3):
        x = x + lib.sin(x) * 1e-4
    return x


def median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    rows = []
    grad = fg.grad(lambda x: chain(x, args.ops, fnp))
    median, first = median_time(lambda: grad(0.5), args.repeats)
    rows.append(("funcgrad grad (first call)", first))
    rows.append(("funcgrad grad (re-trace, cached graph)", median))
    try:
        import autograd
        import autograd.numpy as anp

        agrad = autograd.grad(lambda x: chain(x, args.ops, anp))
        rows.append(("autograd grad", median_time(lambda: agrad(0.5), args.repeats)[0]))
    except ImportError:
        pass
    try:
        import jax
        import jax.numpy as jnp

        jgrad = jax.grad(lambda x: chain(x, args.ops, jnp))
        rows.append(("jax grad (eager)", median_time(lambda: jgrad(0.5), 1)[0]))
    except ImportError:
        pass

    print(f"gradient of a {args.ops:,}-op chain, median of {args.repeats} runs")
    base = rows[0][1]
    for name, seconds in rows:
        print(f"  {name:42s} {seconds:8.3f} s   {seconds / base:6.2f}x funcgrad first call")
    expected = np.prod(1 + 1e-4 * np.cos(_trajectory(0.5, args.ops)))
    print(f"  check: funcgrad {float(grad(0.5)):.12f} vs NumPy forward-mode {expected:.12f}")


def _trajectory(x, ops):
    xs = []
    for _ in range(ops // 3):
        xs.append(x)
        x = x + np.sin(x) * 1e-4
    return np.array(xs)


if __name__ == "__main__":
    main()

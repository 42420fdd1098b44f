"""Linear-algebra benchmark: a Cholesky factorization and two triangular solves (the
Gaussian log-density's core) and their gradient, funcgrad vs JAX (jit) vs PyTorch.

float64 (as Gaussian processes run), n = 64, 256, 1024, one right-hand side of width 8:
forward ``L = cholesky(K); x = L^-T (L^-1 b)`` returning ``sum(x * b) + sum(log diag L)``,
and forward + gradient in K and b. Every library calls LAPACK, so the target is a ratio
near 1 (within 1.2x). Peers run in processes of their own, as in train_steps.py.

Run: python benchmarks/linalg.py [--seconds 2]
"""

import numpy as np
from train_steps import benchmark_parser, fmt, median_seconds, peer_seconds, ratio_line

import funcgrad as fg
import funcgrad.numpy as fnp
import funcgrad.scipy.linalg as fsl

SIZES = (64, 256, 1024)


def data(n):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n))
    return a @ a.T / n + np.eye(n), rng.standard_normal((n, 8))


def objective(cholesky, solve_triangular, log, sum_, diagonal):
    def f(k, b):
        low = cholesky(k)
        x = solve_triangular(low, solve_triangular(low, b, lower=True), trans=1, lower=True)
        return sum_(x * b) + sum_(log(diagonal(low)))

    return f


FUNCGRAD = objective(
    lambda k: fnp.linalg.cholesky(k), fsl.solve_triangular, fnp.log, fnp.sum, fnp.diagonal
)


def funcgrad_call(n, mode):
    k, b = data(n)
    fn = fg.jit(FUNCGRAD if mode == "forward" else fg.value_and_grad(FUNCGRAD, argnums=(0, 1)))
    return lambda: fn(k, b)


def jax_call(n, mode):
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    import jax.scipy.linalg as jsl

    f = objective(jnp.linalg.cholesky, jsl.solve_triangular, jnp.log, jnp.sum, jnp.diagonal)
    fn = jax.jit(f if mode == "forward" else jax.value_and_grad(f, argnums=(0, 1)))
    k, b = jax.device_put(data(n))
    return lambda: jax.block_until_ready(fn(k, b))


def torch_call(n, mode):
    import torch

    torch.set_num_threads(fg.get_num_threads())

    def solve_triangular(low, b, trans=0, lower=True):
        a = low.mT if trans else low
        return torch.linalg.solve_triangular(a, b, upper=bool(trans))

    f = objective(torch.linalg.cholesky, solve_triangular, torch.log, torch.sum, torch.diagonal)
    k, b = (torch.from_numpy(x).requires_grad_(mode != "forward") for x in data(n))
    if mode == "forward":

        def step():
            with torch.no_grad():
                return f(k, b)

        return step

    def step():
        k.grad = b.grad = None
        value = f(k, b)
        value.backward()
        return value, k.grad, b.grad

    return step


PEERS = {"jax": jax_call, "torch": torch_call}


def main():
    parser = benchmark_parser(__doc__, PEERS)
    parser.add_argument("--n", type=int, help="(for the peers' processes)")
    parser.add_argument("--mode")
    args = parser.parse_args()
    if args.peer:
        print(median_seconds(PEERS[args.peer](args.n, args.mode), args.seconds))
        return
    print(f"cholesky + triangular solves, float64, fg.jit, {fg.get_num_threads()} threads")
    for n in SIZES:
        k, b = data(n)
        low = np.linalg.cholesky(k)
        expected = np.sum(np.linalg.solve(k, b) * b) + np.sum(np.log(np.diag(low)))
        np.testing.assert_allclose(fg.jit(FUNCGRAD)(k, b), expected, rtol=1e-8)
        for mode in ("forward", "forward+grad"):
            ours = median_seconds(funcgrad_call(n, mode), args.seconds)
            print(f"n={n:<5d} {mode:13s} funcgrad {fmt(ours)}")
            for peer in sorted(PEERS):
                t = peer_seconds(__file__, peer, args.seconds, "--n", str(n), "--mode", mode)
                print(f"{'':28s} {ratio_line(peer, ours, t)}")


if __name__ == "__main__":
    main()

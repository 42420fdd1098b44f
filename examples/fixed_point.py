"""Implicit differentiation of a fixed point, with custom_vjp and while_loop.

``fixed_point(f, a, x0)`` iterates x = f(a, x) in a ``fg.lax.while_loop`` until it stops
moving. Differentiating through the iterations would cost memory per iteration and depend
on how they converged; at the fixed point x* = f(a, x*), the implicit function theorem gives
the gradient instead: the cotangent of a is (df/da)^T w, where w solves the adjoint fixed
point w = g + (df/dx)^T w, itself iterated in a ``while_loop``. Both loops are traced, so the
gradient is differentiable again (second derivatives below).

Two uses: Newton's iteration for sqrt(a) (checked against 1/(2 sqrt a) and its derivative),
and a small deep-equilibrium layer z = tanh(W z + x) (checked against finite differences).

Run: python examples/fixed_point.py   (--quick is the same run: it takes a second)
"""

import argparse

import numpy as np

import funcgrad as fg
import funcgrad.numpy as fnp


def _iterate(step, x0, tol):
    def moving(c):
        x, previous, n = c
        return (fnp.max(fnp.abs(x - previous)) > tol) & (n < 1000)

    def advance(c):
        x, _, n = c
        return step(x), x, n + 1

    return fg.lax.while_loop(moving, advance, (step(x0), x0, 0))[0]


def fixed_point(f, a, x0, tol=1e-12):
    """The x with x = f(a, x), found from x0; differentiable in a (implicitly)."""

    @fg.custom_vjp
    def solve(a, x0):
        return _iterate(lambda x: f(a, x), x0, tol)

    def forward(a, x0):
        x = solve(a, x0)
        return x, (a, x)

    def backward(saved, g):
        a, x = saved
        _, pullback_x = fg.vjp(lambda x: f(a, x), x)
        w = _iterate(lambda w: g + pullback_x(w)[0], g, tol)
        _, pullback_a = fg.vjp(lambda a: f(a, x), a)
        return pullback_a(w)[0], fnp.zeros_like(x0)

    solve.defvjp(forward, backward)
    return solve(a, x0)


def newton_sqrt(a):
    return fixed_point(lambda a, x: 0.5 * (x + a / x), a, a)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the same run (it is quick)")
    parser.parse_args()

    a = 2.0
    value = float(newton_sqrt(a))
    d1 = float(fg.grad(newton_sqrt)(a))
    d2 = float(fg.grad(fg.grad(newton_sqrt))(a))
    print(f"  sqrt(2) = {value:.15f}    (numpy {np.sqrt(2):.15f})")
    print(f"  d/da    = {d1:.15f}    (exact {0.5 / np.sqrt(a):.15f})")
    print(f"  d2/da2  = {d2:.15f}   (exact {-0.25 * a**-1.5:.15f})")
    errors = [abs(value - np.sqrt(a)), abs(d1 - 0.5 / np.sqrt(a)), abs(d2 + 0.25 * a**-1.5)]

    rng = np.random.default_rng(0)
    w = rng.normal(size=(5, 5)) * 0.3  # a contraction: the iteration converges
    x = rng.normal(size=5)

    def layer(w, x):
        z = fixed_point(lambda p, z: fnp.tanh(p[0] @ z + p[1]), (w, x), fnp.zeros(5))
        return fnp.sum(z**2)

    g_w = fg.jit(fg.grad(layer))(w, x)
    eps, e = 1e-6, np.zeros_like(w)
    e[2, 3] = eps
    fd = (layer(w + e, x) - layer(w - e, x)) / (2 * eps)
    print(f"  deep-equilibrium layer: dL/dW[2,3] = {g_w[2, 3]:.10f} (finite differences {fd:.10f})")
    errors.append(abs(g_w[2, 3] - fd))
    worst = max(errors)
    assert worst < 1e-7, errors
    print(f"RESULT fixed_point: largest error {worst:.1e} (sqrt, its first two derivatives, DEQ)")


if __name__ == "__main__":
    main()

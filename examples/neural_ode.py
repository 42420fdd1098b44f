"""A neural ODE learns a spiral's dynamics from samples of its trajectory.

The data: a 2-d trajectory of dy/dt = (y^3) A (a spiral, the classic neural-ODE demo),
sampled at 1,000 times in [0, 25]. The model: dy/dt = MLP(y^3), an MLP 2-50-2 (tanh), whose
trajectories ``fg.ode.odeint`` computes (Dormand-Prince with adaptive steps, in
``fg.lax.while_loop``) and differentiates by the adjoint method. Training fits random short
stretches of the trajectory (20 starting points, 10 samples each) with Adam, then the whole
trajectory is integrated from its first point; figures/neural_ode.png shows both.

Run: python examples/neural_ode.py            (add --quick for a few-second smoke run)
matplotlib is needed for the figure only.
"""

import argparse
import time

import numpy as np
from _plotting import pyplot, save

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import nn, optim

TRUE_A = np.array([[-0.1, 2.0], [-2.0, -0.1]])
TOL = {"rtol": 1e-6, "atol": 1e-7}
WINDOW = 10  # samples per stretch of trajectory fitted


def true_field(y, t):
    return (y**3) @ TRUE_A


def make_field():
    return nn.serial(nn.Dense(50), nn.Tanh, nn.Dense(2))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few steps, for smoke tests")
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    steps = args.steps or (15 if args.quick else 2000)

    t = np.linspace(0.0, 25.0, 1000)
    truth = np.asarray(fg.ode.odeint(true_field, np.array([2.0, 0.0]), t, **TOL))
    init_fn, apply_fn = make_field()
    key, data_key = fg.random.split(fg.random.key(args.seed))
    _, params = init_fn(key, (-1, 2))

    def field(y, t, params):
        return apply_fn(params, y**3)

    def loss(params, y0, ts, targets):
        pred = fg.ode.odeint(field, y0, ts, params, **TOL)  # (times, batch, 2)
        return fnp.mean(fnp.abs(pred - targets))

    opt = optim.adam(optim.cosine_decay_schedule(3e-3, steps))
    state = opt.init(params)

    @fg.jit
    def step(params, state, y0, ts, targets):
        value, grads = fg.value_and_grad(loss)(params, y0, ts, targets)
        updates, state = opt.update(grads, state, params)
        return optim.apply_updates(params, updates), state, value

    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()
    for i in range(1, steps + 1):
        s = rng.choice(len(t) - WINDOW, size=20, replace=False)
        ts = t[:WINDOW] - t[0]
        targets = np.stack([truth[s + k] for k in range(WINDOW)])  # (WINDOW, 20, 2)
        params, state, value = step(params, state, truth[s], ts, targets)
        if i % max(1, steps // 8) == 0 or i == steps:
            print(f"  step {i:4d}  batch L1 {float(value):.4f}")
    learned = np.asarray(fg.ode.odeint(field, truth[0], t, params, **TOL))
    error = float(np.mean(np.abs(learned - truth)))
    print(f"  {steps} steps in {time.perf_counter() - start:.1f} s")
    plot(t, truth, learned, "figures/neural_ode.png")
    print(f"RESULT neural_ode: whole-trajectory mean |error| {error:.4f} after {steps} steps")


def plot(t, truth, learned, path):
    plt = pyplot()
    if plt is None:
        return
    fig, (phase, series) = plt.subplots(1, 2, figsize=(9, 4))
    phase.plot(truth[:, 0], truth[:, 1], "k-", label="true")
    phase.plot(learned[:, 0], learned[:, 1], "C1--", label="learned")
    phase.set_xlabel("y0"), phase.set_ylabel("y1"), phase.legend()
    phase.set_title("phase portrait")
    for k in range(2):
        series.plot(t, truth[:, k], "k-", lw=1)
        series.plot(t, learned[:, k], f"C{k}--", lw=1.5, label=f"learned y{k}")
    series.set_xlabel("t"), series.legend(), series.set_title("trajectories (true: black)")
    fig.suptitle("a neural ODE fit to a spiral (fg.ode.odeint, adjoint gradients)")
    save(fig, path, dpi=110, bbox_inches="tight")


if __name__ == "__main__":
    main()

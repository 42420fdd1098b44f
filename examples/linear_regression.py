"""Linear regression by gradient descent: recover y = 3x + 4 from noisy samples.

The first exercise of every autodiff tutorial: a Dense(1) layer, the mean squared error,
plain SGD. The fitted slope and intercept are compared with the closed-form least-squares
solution of the same data, and the loss curve and the fitted line are saved to
``figures/linear_regression.png``.

Run: python examples/linear_regression.py [--quick]
"""

import argparse
import time

import numpy as np
from _plotting import pyplot, save

import funcgrad as fg

TRUE_SLOPE, TRUE_INTERCEPT = 3.0, 4.0


def save_figures(losses, x, y, slope, intercept):
    plt = pyplot()
    if plt is None:
        return
    fig, (ax_loss, ax_fit) = plt.subplots(1, 2, figsize=(10, 4))
    ax_loss.semilogy(losses)
    ax_loss.set(title="training loss (MSE)", xlabel="step", ylabel="loss")
    grid = np.linspace(-1, 1, 2)
    ax_fit.scatter(x[:, 0], y[:, 0], s=8, alpha=0.5, label="samples")
    ax_fit.plot(grid, TRUE_SLOPE * grid + TRUE_INTERCEPT, "k--", label="y = 3x + 4")
    ax_fit.plot(grid, slope * grid + intercept, "r", label=f"fit: {slope:.3f}x + {intercept:.3f}")
    ax_fit.set(title="the fitted line", xlabel="x", ylabel="y")
    ax_fit.legend()
    fig.tight_layout()
    save(fig, "figures/linear_regression.png", dpi=100)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples and steps")
    args = parser.parse_args()
    n, steps = (100, 100) if args.quick else (1000, 300)
    start = time.perf_counter()

    k_data, k_init = fg.random.split(fg.random.key(0))
    x, y = fg.datasets.linear(n, TRUE_SLOPE, TRUE_INTERCEPT, noise=0.5, key=k_data)
    init_fn, predict = fg.nn.Dense(1)
    _, params = init_fn(k_init, (-1, 1))
    opt = fg.optim.sgd(learning_rate=0.1)
    opt_state = opt.init(params)

    def loss_fn(params, x, y):
        return fg.nn.losses.mse(predict(params, x), y)

    @fg.jit
    def step(params, opt_state, x, y):
        loss, grads = fg.value_and_grad(loss_fn)(params, x, y)
        updates, opt_state = opt.update(grads, opt_state, params)
        return fg.optim.apply_updates(params, updates), opt_state, loss

    losses = []
    for i in range(steps):
        params, opt_state, loss = step(params, opt_state, x, y)
        losses.append(float(loss))
        if i % (steps // 5) == 0 or i == steps - 1:
            print(f"step {i:4d}  loss {losses[-1]:.4f}")

    slope, intercept = float(params["w"][0, 0]), float(params["b"][0])
    design = np.concatenate([x, np.ones_like(x)], axis=1).astype(np.float64)
    exact_slope, exact_intercept = np.linalg.lstsq(design, y[:, 0], rcond=None)[0]
    print(f"true:           y = {TRUE_SLOPE:.4f} x + {TRUE_INTERCEPT:.4f}")
    print(f"least squares:  y = {exact_slope:.4f} x + {exact_intercept:.4f}")
    print(f"funcgrad (SGD): y = {slope:.4f} x + {intercept:.4f}")
    save_figures(losses, x, y, slope, intercept)
    seconds = time.perf_counter() - start
    print(
        f"RESULT linear_regression: slope={slope:.4f} intercept={intercept:.4f} "
        f"mse={losses[-1]:.4f} seconds={seconds:.1f}"
    )


if __name__ == "__main__":
    main()

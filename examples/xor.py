"""XOR with a 2-4-4-1 multilayer perceptron, the problem a single neuron cannot solve.

The MLP(2, [4, 4, 1]) of the micrograd-style exercise: two tanh hidden layers of 4 units
and one logit, trained full-batch on the four XOR points with the logistic loss
(``sigmoid_binary_cross_entropy``) and Adam. Prints the four predictions and the accuracy
(100%), and saves the decision surface to ``figures/xor.png``.

Run: python examples/xor.py [--quick]
"""

import argparse
import time

import numpy as np
from _plotting import pyplot, save

import funcgrad as fg
from funcgrad import nn


def save_figure(predict, params, x, y):
    plt = pyplot()
    if plt is None:
        return
    u = np.linspace(-0.5, 1.5, 200, dtype=np.float32)
    grid = np.stack(np.meshgrid(u, u), axis=-1).reshape(-1, 2)
    probs = np.asarray(nn.sigmoid(predict(params, grid)))[:, 0].reshape(len(u), len(u))
    fig, ax = plt.subplots(figsize=(5, 4.5))
    surface = ax.contourf(u, u, probs, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.8)
    fig.colorbar(surface, label="P(y = 1)")
    ax.scatter(x[:, 0], x[:, 1], c=y, cmap="RdBu_r", edgecolors="k", s=200)
    ax.set(title="XOR: MLP 2-4-4-1", xlabel="$x_1$", ylabel="$x_2$")
    fig.tight_layout()
    save(fig, "figures/xor.png", dpi=100)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps")
    args = parser.parse_args()
    steps = 200 if args.quick else 500
    start = time.perf_counter()

    x, y = fg.datasets.xor()
    targets = y[:, None].astype(np.float32)
    init_fn, predict = nn.serial(nn.Dense(4), nn.Tanh, nn.Dense(4), nn.Tanh, nn.Dense(1))
    _, params = init_fn(fg.random.key(0), (-1, 2))
    opt = fg.optim.adam(learning_rate=0.05)
    opt_state = opt.init(params)

    def loss_fn(params, x, targets):
        return nn.losses.sigmoid_binary_cross_entropy(predict(params, x), targets)

    @fg.jit
    def step(params, opt_state, x, targets):
        loss, grads = fg.value_and_grad(loss_fn)(params, x, targets)
        updates, opt_state = opt.update(grads, opt_state, params)
        return fg.optim.apply_updates(params, updates), opt_state, loss

    for i in range(steps):
        params, opt_state, loss = step(params, opt_state, x, targets)
        if i % (steps // 5) == 0 or i == steps - 1:
            print(f"step {i:4d}  loss {float(loss):.5f}")

    probs = np.asarray(nn.sigmoid(predict(params, x)))[:, 0]
    predicted = (probs > 0.5).astype(np.int64)
    for xi, yi, p in zip(x, y, probs):
        print(f"  {xi[0]:.0f} XOR {xi[1]:.0f} = {yi}   predicted P(1) = {p:.4f}")
    acc = float(fg.metrics.accuracy(predicted, y))
    print(f"accuracy {acc:.0%}")
    save_figure(predict, params, x, y)
    seconds = time.perf_counter() - start
    print(f"RESULT xor: accuracy={acc:.4f} loss={float(loss):.5f} seconds={seconds:.1f}")


if __name__ == "__main__":
    main()

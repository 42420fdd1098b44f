"""Depth against three Gaussian problems: two blobs, four blobs (XOR), a 4 x 4 checkerboard.

Three models, each trained with the logistic loss and Adam on each problem of
``fg.datasets.gaussians``: a linear classifier, one hidden layer of 4 tanh units, and a
deeper network (three ReLU layers of 32 units). The linear model separates two blobs and
fails XOR; the small hidden layer solves XOR but not the checkerboard; the deep network
solves all three. Prints the test accuracy of every pair and draws all nine decision
boundaries side by side in ``figures/checkerboard.png``.

Run: python examples/checkerboard.py [--quick]
"""

import argparse
import time

import numpy as np
from _plotting import pyplot, save

import funcgrad as fg
from funcgrad import nn

PROBLEMS = {"two gaussians": "two", "four gaussians (XOR)": "four", "checkerboard": "checkerboard"}
MODELS = {
    "linear": lambda: nn.Dense(1),
    "1 hidden layer (4 tanh)": lambda: nn.serial(nn.Dense(4), nn.Tanh, nn.Dense(1)),
    "deep (3 x 32 ReLU)": lambda: nn.serial(
        *[layer for _ in range(3) for layer in (nn.Dense(32), nn.Relu)], nn.Dense(1)
    ),
}


def train(model, key, x, y, steps, batch_size):
    """Trains ``model`` with Adam on minibatches; returns its apply function and params."""
    init_fn, predict = model
    k_init, k_data = fg.random.split(key)
    _, params = init_fn(k_init, (-1, 2))
    opt = fg.optim.adam(0.01)
    opt_state = opt.init(params)

    @fg.jit
    def step(params, opt_state, x, targets):
        def loss_fn(params):
            return nn.losses.sigmoid_binary_cross_entropy(predict(params, x), targets)

        loss, grads = fg.value_and_grad(loss_fn)(params)
        updates, opt_state = opt.update(grads, opt_state, params)
        return fg.optim.apply_updates(params, updates), opt_state, loss

    targets = y[:, None].astype(np.float32)
    done = 0
    while done < steps:
        k_data, k_epoch = fg.random.split(k_data)
        for xb, tb in fg.data.batches((x, targets), batch_size, key=k_epoch, drop_last=True):
            params, opt_state, _ = step(params, opt_state, xb, tb)
            done += 1
            if done == steps:
                break
    return predict, params


def accuracy(predict, params, x, y):
    return float(fg.metrics.accuracy((predict(params, x)[:, 0] > 0).astype(np.int64), y))


def save_figure(results, data, resolution):
    plt = pyplot()
    if plt is None:
        return
    u = np.linspace(-2.6, 2.6, resolution, dtype=np.float32)
    grid = np.stack(np.meshgrid(u, u), axis=-1).reshape(-1, 2)
    fig, axes = plt.subplots(len(PROBLEMS), len(MODELS), figsize=(12, 12), squeeze=False)
    for row, problem in zip(axes, PROBLEMS):
        x_test, y_test = data[problem][1]
        for ax, name in zip(row, MODELS):
            predict, params, acc = results[problem, name]
            scores = np.asarray(predict(params, grid)).reshape(len(u), len(u))
            ax.contourf(u, u, scores > 0, cmap="coolwarm", alpha=0.6)
            ax.scatter(x_test[:, 0], x_test[:, 1], c=y_test, cmap="coolwarm", s=6)
            ax.set(title=f"{problem} / {name}\ntest accuracy {acc:.1%}", xticks=[], yticks=[])
    fig.tight_layout()
    save(fig, "figures/checkerboard.png", dpi=90)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer points and steps")
    args = parser.parse_args()
    n, steps = (800, 600) if args.quick else (4000, 3000)
    start = time.perf_counter()

    key = fg.random.key(0)
    data, results = {}, {}
    for problem, kind in PROBLEMS.items():
        key, k_data, k_split = fg.random.split(key, 3)
        x, y = fg.datasets.gaussians(n, kind, k_data)
        x_train, x_test, y_train, y_test = fg.data.train_test_split(
            x, y, test_size=0.25, key=k_split
        )
        data[problem] = (x_train, y_train), (x_test, y_test)
        for name, make_model in MODELS.items():
            key, k_train = fg.random.split(key)
            predict, params = train(make_model(), k_train, x_train, y_train, steps, 64)
            acc = accuracy(predict, params, x_test, y_test)
            results[problem, name] = predict, params, acc
            print(f"{problem:22s} {name:24s} test accuracy {acc:.1%}")
    save_figure(results, data, resolution=80 if args.quick else 300)

    seconds = time.perf_counter() - start
    linear, shallow, deep = MODELS
    print(
        f"RESULT checkerboard: deep_checkerboard_accuracy={results['checkerboard', deep][2]:.4f} "
        f"shallow_checkerboard_accuracy={results['checkerboard', shallow][2]:.4f} "
        f"linear_xor_accuracy={results['four gaussians (XOR)', linear][2]:.4f} "
        f"seconds={seconds:.1f}"
    )


if __name__ == "__main__":
    main()

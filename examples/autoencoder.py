"""An autoencoder on the 8x8 digits: 64 pixels squeezed through a 10-d bottleneck and back.

Reproduces the seed's "autoencoder, SGD vs Adam" experiment. The encoder (64-32-10) and
decoder (10-32-64) are stax MLPs composed with ``nn.serial``; the decoder outputs logits and
the loss is the binary cross-entropy of their sigmoid against the pixels (in [0, 1]),
computed stably by ``nn.losses.sigmoid_binary_cross_entropy``. The same network from the
same initialization is trained twice, with plain SGD and with Adam, with jitted
steps; both test losses are printed, and figures/autoencoder_reconstructions.png shows test
digits next to their two reconstructions.

Run: python examples/autoencoder.py            (add --quick for a few-second smoke run)
Needs scikit-learn (the digits ship with it); matplotlib for the figure.
"""

import argparse
import os
import time

import numpy as np
from _plotting import pyplot, save

import funcgrad as fg
from funcgrad import nn, optim

BOTTLENECK = 10


def make_autoencoder():
    encoder = nn.serial(nn.Dense(32), nn.Relu, nn.Dense(BOTTLENECK))
    decoder = nn.serial(nn.Dense(32), nn.Relu, nn.Dense(64))  # logits of the 64 pixels
    return nn.serial(encoder, decoder)


def train(name, opt, params, apply_fn, x_train, x_test, epochs, key, batch_size=32):
    def loss(params, x):
        return nn.losses.sigmoid_binary_cross_entropy(apply_fn(params, x), x)

    @fg.jit
    def step(params, state, x):
        value, grads = fg.value_and_grad(loss)(params, x)
        updates, state = opt.update(grads, state, params)
        return optim.apply_updates(params, updates), state, value

    test_loss = fg.jit(loss)
    state, start = opt.init(params), time.perf_counter()
    for epoch in range(1, epochs + 1):
        key, epoch_key = fg.random.split(key)
        for (xb,) in fg.data.batches((x_train,), batch_size, key=epoch_key, drop_last=True):
            params, state, value = step(params, state, xb)
        if epoch % max(1, epochs // 5) == 0 or epoch == epochs:
            print(f"  {name:4s} epoch {epoch:3d}  test BCE {float(test_loss(params, x_test)):.4f}")
    print(f"  {name}: {time.perf_counter() - start:.1f} s")
    return params, float(test_loss(params, x_test))


def plot_reconstructions(originals, rows, path):
    plt = pyplot()
    if plt is None:
        return
    rows = {"original": originals, **rows}
    n = len(originals)
    fig, axes = plt.subplots(len(rows), n, figsize=(n * 0.8, len(rows) * 0.9))
    for r, (label, images) in enumerate(rows.items()):
        for c in range(n):
            axes[r, c].imshow(images[c].reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
            axes[r, c].set_xticks([]), axes[r, c].set_yticks([])
        axes[r, 0].set_ylabel(label, rotation=0, ha="right", va="center")
    fig.suptitle(f"digits through a {BOTTLENECK}-d bottleneck (test set)")
    save(fig, path, dpi=120, bbox_inches="tight")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few epochs, for smoke tests")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    epochs = args.epochs or (3 if args.quick else 100)

    x, _ = fg.datasets.digits()
    x = x.reshape(len(x), -1)  # (1797, 64), pixels in [0, 1]: targets for the BCE
    k_split, k_init, k_train = fg.random.split(fg.random.key(args.seed), 3)
    x_train, x_test = fg.data.train_test_split(x, test_size=0.2, key=k_split)
    print(f"digits: {len(x_train)} train / {len(x_test)} test images, 64 -> {BOTTLENECK} -> 64")

    init_fn, apply_fn = make_autoencoder()
    _, params0 = init_fn(k_init, (-1, 64))
    results, recons = {}, {}
    for name, opt in [("sgd", optim.sgd(0.5)), ("adam", optim.adam(3e-3))]:
        params, results[name] = train(
            name, opt, params0, apply_fn, x_train, x_test, epochs, k_train
        )
        recons[name] = nn.sigmoid(fg.jit(apply_fn)(params, x_test[:10]))

    p = np.clip(x_test, 1e-7, 1 - 1e-7)  # the BCE of a perfect reconstruction is not 0 but
    floor = float(np.mean(-(p * np.log(p) + (1 - p) * np.log(1 - p))))  # the pixels' entropy
    print(f"test BCE: SGD {results['sgd']:.4f}, Adam {results['adam']:.4f} (perfect = {floor:.4f})")
    plot_reconstructions(
        x_test[:10], recons, os.path.join("figures", "autoencoder_reconstructions.png")
    )
    print(
        f"RESULT autoencoder: sgd_test_bce={results['sgd']:.4f} adam_test_bce={results['adam']:.4f}"
    )


if __name__ == "__main__":
    main()

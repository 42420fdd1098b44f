"""The main demo: a small CNN for handwritten digits, trained with Adam in a few minutes.

Reproduces the seed's MNIST CNN (a NumPy layer library took 28 min for 15 epochs to reach
~98%; Keras 1 min 15 s): conv3x3(16, SAME) - LeakyReLU - maxpool 2x2 - conv3x3(32, SAME) -
LeakyReLU - dense 128 - LeakyReLU - dense 10, on NCHW images, with softmax cross-entropy, Adam
and one jitted training step. Each epoch shows a progress bar (loss, accuracy, images/s);
the end prints the test accuracy and saves figures/mnist_cnn_curves.png (loss and accuracy
per epoch) and figures/mnist_cnn_feature_maps.png (the first conv layer's 16 feature maps
for one test image).

Data: full MNIST when its files are in $FUNCGRAD_DATA or ~/.cache/funcgrad (4 epochs; expect
>= 98.8% test accuracy); otherwise, with no download, scikit-learn's 8x8 digits upscaled to
28x28 (see examples/_data.py; 30 epochs with random shifts of up to 2 pixels, as the set is
small). The script says which one it used.

Run: python examples/mnist_cnn.py    (--quick for a smoke run; --data, --epochs, --download)
"""

import time

import _data  # examples/_data.py: MNIST, or the bundled fallback
import numpy as np
from _plotting import pyplot, save

import funcgrad as fg
from funcgrad import nn, optim

CONV1 = nn.Conv(16, (3, 3), padding="SAME")
MODEL = nn.serial(
    CONV1, nn.LeakyRelu, nn.MaxPool((2, 2)),
    nn.Conv(32, (3, 3), padding="SAME"), nn.LeakyRelu,
    nn.Flatten, nn.Dense(128), nn.LeakyRelu, nn.Dense(10),
)  # fmt: skip

# Per data set: the small fallback set trains longer and with random shifts of 2 pixels.
DEFAULTS = {
    "mnist": {"epochs": 4, "batch_size": 128, "lr": 1e-3, "shift": 0},
    "digits": {"epochs": 30, "batch_size": 64, "lr": 2e-3, "shift": 2},
}


def make_step(opt):
    def loss(params, x, y):
        logits = MODEL.apply(params, x)
        return nn.losses.softmax_cross_entropy(logits, y), logits

    @fg.jit
    def step(params, state, x, y):
        (value, logits), grads = fg.value_and_grad(loss, has_aux=True)(params, x, y)
        updates, state = opt.update(grads, state, params)
        return optim.apply_updates(params, updates), state, value, fg.metrics.accuracy(logits, y)

    return step


def evaluate(predict, params, x, y, batch_size=500):
    """Mean test loss and accuracy, in chunks (a whole MNIST test set at once is ~1 GB)."""
    logits = np.concatenate(
        [predict(params, x[i : i + batch_size]) for i in range(0, len(x), batch_size)]
    )
    return float(nn.losses.softmax_cross_entropy(logits, y)), float(fg.metrics.accuracy(logits, y))


def train_epoch(step, params, state, data, cfg, key, label):
    """One pass over the training images; returns params, state and the epoch's mean loss,
    accuracy and images/s."""
    key, batch_key = fg.random.split(key)
    train = (data.x_train, data.y_train)
    bar = fg.data.batches(train, cfg["batch_size"], key=batch_key, drop_last=True, progress=True)
    if hasattr(bar, "set_description"):  # a tqdm bar (tqdm is optional)
        bar.set_description(label)
    losses, accs, seen, start = [], [], 0, time.perf_counter()
    for xb, yb in bar:
        if cfg["shift"]:
            key, shift_key = fg.random.split(key)
            xb = _data.random_shift(xb, shift_key, cfg["shift"])
        params, state, value, acc = step(params, state, xb, yb)
        losses.append(float(value))
        accs.append(float(acc))
        seen += len(xb)
        if hasattr(bar, "set_postfix"):  # running means over the last 20 batches
            rate = f"{seen / (time.perf_counter() - start):.0f}"
            loss, acc = f"{np.mean(losses[-20:]):.4f}", f"{np.mean(accs[-20:]):.3f}"
            bar.set_postfix(loss=loss, acc=acc, img_s=rate, refresh=False)
    return params, state, np.mean(losses), np.mean(accs), seen / (time.perf_counter() - start)


def save_tight(fig, path):
    fig.tight_layout()
    save(fig, path, dpi=110)


def plot_curves(plt, history, data_name):
    epochs = np.arange(1, len(history["train_loss"]) + 1)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.5))
    ax1.plot(epochs, history["train_loss"], "o-", label="train")
    ax1.plot(epochs, history["test_loss"], "s--", label="test")
    ax1.set(xlabel="epoch", ylabel="cross-entropy", yscale="log", title="loss")
    ax2.plot(epochs, history["train_acc"], "o-", label="train")
    ax2.plot(epochs, history["test_acc"], "s--", label="test")
    ax2.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    for ax in (ax1, ax2):
        ax.legend()
        ax.grid(alpha=0.3)
    fig.suptitle(f"funcgrad CNN on {data_name}")
    save_tight(fig, "figures/mnist_cnn_curves.png")


def plot_feature_maps(plt, params, image, label):
    maps = np.asarray(nn.leaky_relu(CONV1.apply(params[0], image[None])))[0]  # (16, 28, 28)
    fig, axes = plt.subplots(3, 6, figsize=(9, 4.8))
    axes[0, 0].imshow(image[0], cmap="gray")
    axes[0, 0].set_title(f"input ({label})", fontsize=9)
    for i, ax in enumerate(axes.flat[1:-1]):
        ax.imshow(maps[i], cmap="viridis")
        ax.set_title(f"filter {i}", fontsize=8)
    for ax in axes.flat:
        ax.axis("off")
    fig.suptitle("first conv layer (after LeakyReLU): 16 feature maps of one test image")
    save_tight(fig, "figures/mnist_cnn_feature_maps.png")


def main():
    parser = _data.training_flags(__doc__.splitlines()[0], "default: 4 on MNIST, 30 on digits")
    args = parser.parse_args()
    data = _data.load(args.data, args.download)
    cfg = _data.settings(args, DEFAULTS[data.name])
    if args.quick:
        data = data._replace(x_train=data.x_train[:512], y_train=data.y_train[:512])
    epochs, batch_size = cfg["epochs"], cfg["batch_size"]
    print(f"data: {data.description}")
    print(
        f"training on {len(data.x_train)} images: epochs {epochs}, batch size {batch_size}, "
        f"Adam lr {cfg['lr']:g} (cosine decay), random shifts <= {cfg['shift']} px"
    )

    key, init_key = fg.random.split(fg.random.key(args.seed))
    _, params = MODEL.init(init_key, (-1, 1, 28, 28))
    print(f"model: {sum(p.size for p in fg.tree.leaves(params)):,} parameters")
    steps = epochs * (len(data.x_train) // batch_size)
    opt = optim.adam(optim.cosine_decay_schedule(cfg["lr"], max(steps, 1)))
    state, step, predict = opt.init(params), make_step(opt), fg.jit(MODEL.apply)

    history = {k: [] for k in ("train_loss", "train_acc", "test_loss", "test_acc", "img_s")}
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        key, epoch_key = fg.random.split(key)
        label = f"epoch {epoch}/{epochs}"
        params, state, loss, acc, rate = train_epoch(
            step, params, state, data, cfg, epoch_key, label
        )
        test_loss, test_acc = evaluate(predict, params, data.x_test, data.y_test)
        for k, v in zip(history, (loss, acc, test_loss, test_acc, rate)):
            history[k].append(v)
        print(
            f"epoch {epoch:2d}/{epochs}  loss {loss:.4f}  train acc {acc:.2%}  "
            f"test loss {test_loss:.4f}  test acc {test_acc:.2%}  {rate:,.0f} images/s"
        )
    elapsed = time.perf_counter() - start
    # Images/s of the steady state: the first epoch also traces and compiles the step.
    rate = np.mean(history["img_s"][1:] or history["img_s"])
    traces = step.cache_info().misses
    print(f"trained in {elapsed:.1f} s ({rate:,.0f} images/s); step traced {traces}x")
    print(f"test accuracy: {test_acc:.2%} on {data.description}")

    plt = pyplot()
    if plt is not None:
        plot_curves(plt, history, data.description.split(" (")[0])
        plot_feature_maps(plt, params, data.x_test[0], int(data.y_test[0]))
    print(
        f"RESULT mnist_cnn: test_acc={test_acc:.4f} data={data.name} epochs={epochs} "
        f"time_s={elapsed:.1f} images_per_s={rate:.0f}"
    )


if __name__ == "__main__":
    main()

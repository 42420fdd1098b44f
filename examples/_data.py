"""Digit images for the MNIST examples: full MNIST when it is on disk, else a bundled fallback.

``load(data)`` returns a ``Data`` tuple ``(x_train, y_train, x_test, y_test, name,
description)``: images as float32 in [0, 1] of shape (N, 1, 28, 28) (NCHW; flatten them for
an MLP), int64 labels, ``name`` "mnist" or "digits" and a one-line description to print.

- ``"mnist"``: the 70,000 MNIST images, read by ``fg.datasets.mnist`` from $FUNCGRAD_DATA or
  ~/.cache/funcgrad (the IDX files or a mnist.npz). Nothing is downloaded unless
  ``download=True`` (the scripts' ``--download`` flag).
- ``"digits"``: the 1,797 8x8 digits bundled with scikit-learn, upscaled to MNIST's geometry:
  bilinear interpolation 8x8 -> 24x24, then a 2-pixel border of zeros -> 28x28 (MNIST
  also centres its digits in a blank border). A fixed random 75/25 train/test split.
- ``"auto"``: MNIST if its files are there, otherwise the digits fallback.
"""

import argparse
from typing import NamedTuple

import numpy as np

import funcgrad as fg


def _bilinear_matrix(n_in, n_out):
    """An (n_out, n_in) matrix resampling a length-n_in signal to n_out samples linearly
    (pixel centres aligned, edges clamped), so ``A @ img @ A.T`` is a bilinear resize."""
    pos = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, n_in - 1)
    frac = pos - lo
    a = np.zeros((n_out, n_in))
    a[np.arange(n_out), lo] += 1 - frac
    a[np.arange(n_out), hi] += frac
    return a


def upscaled_digits(seed=0, test_size=0.25):
    """scikit-learn's 8x8 digits resized to 28x28 and split into train and test parts."""
    images, labels = fg.datasets.digits()  # (1797, 8, 8) in [0, 1]
    a = _bilinear_matrix(8, 24)
    big = np.einsum("ij,njk,lk->nil", a, images, a)  # each image: a @ img @ a.T
    big = np.pad(big, ((0, 0), (2, 2), (2, 2)))[:, None].astype(np.float32)
    x_train, x_test, y_train, y_test = fg.data.train_test_split(
        big, labels, test_size=test_size, key=fg.random.key(seed)
    )
    return x_train, y_train, x_test, y_test


class Data(NamedTuple):
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    name: str  # "mnist" or "digits"
    description: str


def mnist(download=False):
    (x_train, y_train), (x_test, y_test) = fg.datasets.mnist(download=download)
    scale = np.float32(1 / 255)
    return x_train[:, None] * scale, y_train, x_test[:, None] * scale, y_test


def load(data="auto", download=False):
    """The images named by ``data`` ("auto", "mnist" or "digits") as a :class:`Data`."""
    if data in ("auto", "mnist"):
        try:
            arrays = mnist(download=download)
            counts = f"{len(arrays[0])} train / {len(arrays[2])} test images"
            return Data(*arrays, "mnist", f"MNIST ({counts})")
        except fg.datasets.DatasetNotFoundError as e:
            if data == "mnist":
                raise SystemExit(f"{e}\n(or run with --data digits, or --download)") from None
            print("MNIST files not found (put them in $FUNCGRAD_DATA or ~/.cache/funcgrad, or")
            print("pass --download): using the bundled fallback, scikit-learn's 8x8 digits.")
    arrays = upscaled_digits()
    counts = f"{len(arrays[0])} train / {len(arrays[2])} test images"
    return Data(*arrays, "digits", f"scikit-learn digits upscaled 8x8 -> 28x28 ({counts})")


def random_shift(x, key, pixels=2):
    """Each NCHW image moved by a random offset of up to ``pixels`` in each direction (zeros
    fill in): data augmentation that makes the small fallback set go further."""
    padded = np.pad(x, ((0, 0), (0, 0), (pixels, pixels), (pixels, pixels)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, x.shape[2:], axis=(2, 3))
    dy, dx = fg.random.randint(key, (2, len(x)), 0, 2 * pixels + 1)
    return windows[np.arange(len(x)), :, dy, dx]


def training_flags(description, epochs_help):
    """An argument parser with the flags both MNIST examples share."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="3 epochs on 512 images (smoke test)")
    parser.add_argument("--epochs", type=int, help=epochs_help)
    parser.add_argument("--batch-size", type=int, help="default: 128 on MNIST, 64 on digits")
    parser.add_argument("--lr", type=float, help="Adam's initial learning rate (cosine decay)")
    parser.add_argument("--shift", type=int, help="random shifts of up to this many pixels")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--data",
        choices=["auto", "mnist", "digits"],
        default="auto",
        help="auto: MNIST if on disk, else the upscaled scikit-learn digits (default)",
    )
    parser.add_argument(
        "--download", action="store_true", help="download MNIST if it is not on disk"
    )
    return parser


def settings(args, defaults):
    """The dataset's defaults, overridden by flags given on the command line (--quick: 3 epochs
    unless --epochs says otherwise)."""
    cfg = dict(defaults)
    cfg.update((k, v) for k, v in vars(args).items() if k in cfg and v is not None)
    if args.quick:
        cfg["epochs"] = args.epochs or 3
    return cfg

"""Times the compiled conv/pool kernels on the reference CNN's shapes (batch 256, float32).

Compares funcgrad._kernels.conv (preallocated outputs and workspaces, as the executor calls
them) with funcgrad.conv_numpy and, when installed, torch.nn.functional / aten on the same
threads. Prints the median time of each kernel, the ratios, GFLOP/s for the GEMM-based
convolutions and the total of one training step's conv and pool work (the max pools as a step
runs them: the forward saves its argmax slots, the scatter reads them). funcgrad's kernels run
as in a compiled program: on ``funcgrad.get_num_threads()`` threads, BLAS held to one. The
"cpu" column is the process CPU time of a call summed over threads: on a busy machine, where
wall times of threaded code mean little, cpu / threads estimates the wall time on idle cores
(run with OMP_WAIT_POLICY=passive so that idle OpenMP threads do not spin into that figure).

    python benchmarks/conv_kernels.py [--runs 50] [--threads 2] [--no-numpy] [--no-torch]
"""

import argparse
import os
import time

import numpy as np

from funcgrad import conv_numpy as cn
from funcgrad import threads
from funcgrad._kernels import conv as ck

BATCH = 256
SAME3 = ((1, 1), (1, 1))
ONE = (1, 1)
CONVS = [  # name, x shape, w shape
    ("conv1 1x28x28->16", (BATCH, 1, 28, 28), (16, 1, 3, 3)),
    ("conv2 16x14x14->32", (BATCH, 16, 14, 14), (32, 16, 3, 3)),
]
POOLS = [("maxpool2 16x28x28", (BATCH, 16, 28, 28)), ("maxpool2 32x14x14", (BATCH, 32, 14, 14))]
WIN = STRIDE = (2, 2)
NOPAD = ((0, 0), (0, 0))


def median_time(fn, runs, warmup=3):
    """(median, min) wall time and median CPU time (all threads) of fn() in seconds."""
    for _ in range(warmup):
        fn()
    times, cpu = [], []
    for _ in range(runs):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return float(np.median(times)), float(np.min(times)), float(np.median(cpu))


def _torch(threads):
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    return torch


def conv_cases(x_shape, w_shape, rng):
    """(kernel name, flops, ours, numpy, torch-builder) for one conv layer."""
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = rng.standard_normal(w_shape).astype(np.float32)
    y = ck.conv2d(x, w, ONE, SAME3, ONE)
    g = rng.standard_normal(y.shape).astype(np.float32)
    flops = 2.0 * y.size * np.prod(w_shape[1:])
    out_y, out_dx, out_dw = np.empty_like(y), np.empty_like(x), np.empty_like(w)
    ws = {
        kind: np.empty(max(ck.workspace_size(kind, x_shape, w_shape, ONE, SAME3, ONE), 1), "f4")
        for kind in ("forward", "input_grad", "filter_grad")
    }

    def torch_fns(torch):
        tx, tw, tg = (torch.from_numpy(a) for a in (x, w, g))
        conv_bwd = torch.ops.aten.convolution_backward
        return (
            lambda: torch.nn.functional.conv2d(tx, tw, padding=1),
            lambda: conv_bwd(
                tg, tx, tw, None, [1, 1], [1, 1], [1, 1], False, [0, 0], 1, [True, False, False]
            ),
            lambda: conv_bwd(
                tg, tx, tw, None, [1, 1], [1, 1], [1, 1], False, [0, 0], 1, [False, True, False]
            ),
        )

    return (
        flops,
        [
            (
                "forward",
                lambda: ck.conv2d(x, w, ONE, SAME3, ONE, out=out_y, workspace=ws["forward"]),
                lambda: cn.conv2d(x, w, ONE, SAME3, ONE),
            ),
            (
                "input_grad",
                lambda: ck.conv2d_input_grad(
                    g, w, x_shape, ONE, SAME3, ONE, out=out_dx, workspace=ws["input_grad"]
                ),
                lambda: cn.conv2d_input_grad(g, w, x_shape, ONE, SAME3, ONE),
            ),
            (
                "filter_grad",
                lambda: ck.conv2d_filter_grad(
                    x, g, w_shape, ONE, SAME3, ONE, out=out_dw, workspace=ws["filter_grad"]
                ),
                lambda: cn.conv2d_filter_grad(x, g, w_shape, ONE, SAME3, ONE),
            ),
        ],
        torch_fns,
    )


def pool_cases(x_shape, rng):
    x = rng.standard_normal(x_shape).astype(np.float32)
    y, slots = ck.max_pool2d_index(x, WIN, STRIDE, NOPAD)
    g = rng.standard_normal(y.shape).astype(np.float32)
    out_y, out_dx, out_slots = np.empty_like(y), np.empty_like(x), np.empty_like(slots)

    def torch_fns(torch):
        tx, tg = torch.from_numpy(x), torch.from_numpy(g)
        _, idx = torch.nn.functional.max_pool2d(tx, 2, return_indices=True)
        aten = torch.ops.aten
        backward = lambda: aten.max_pool2d_with_indices_backward(  # noqa: E731
            tg, tx, [2, 2], [2, 2], [0, 0], [1, 1], False, idx
        )
        return (
            lambda: torch.nn.functional.max_pool2d(tx, 2),
            lambda: torch.nn.functional.max_pool2d(tx, 2, return_indices=True),
            backward,
            backward,
            lambda: torch.nn.functional.avg_pool2d(tx, 2),
            lambda: aten.avg_pool2d_backward(tg, tx, [2, 2], [2, 2], [0, 0], False, True, None),
        )

    return [
        (
            "max_pool2d",
            lambda: ck.max_pool2d(x, WIN, STRIDE, NOPAD, out=out_y),
            lambda: cn.max_pool2d(x, WIN, STRIDE, NOPAD),
        ),
        (
            "max_pool2d_index",
            lambda: ck.max_pool2d_index(x, WIN, STRIDE, NOPAD, out=out_y, index=out_slots),
            lambda: cn.max_pool2d(x, WIN, STRIDE, NOPAD),
        ),
        (
            "max_pool2d_scatter",
            lambda: ck.max_pool2d_scatter(x, g, WIN, STRIDE, NOPAD, out=out_dx),
            lambda: cn.max_pool2d_scatter(x, g, WIN, STRIDE, NOPAD),
        ),
        (
            "max_pool2d_scatter_index",
            lambda: ck.max_pool2d_scatter_index(slots, g, x_shape, WIN, STRIDE, NOPAD, out=out_dx),
            lambda: cn.max_pool2d_scatter(x, g, WIN, STRIDE, NOPAD),
        ),
        (
            "avg_pool2d",
            lambda: ck.avg_pool2d(x, WIN, STRIDE, NOPAD, out=out_y),
            lambda: cn.avg_pool2d(x, WIN, STRIDE, NOPAD),
        ),
        (
            "avg_pool2d_transpose",
            lambda: ck.avg_pool2d_transpose(g, x_shape, WIN, STRIDE, NOPAD, out=out_dx),
            lambda: cn.avg_pool2d_transpose(g, x_shape, WIN, STRIDE, NOPAD),
        ),
    ], torch_fns


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50, help="timed calls per kernel")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--no-numpy", action="store_true", help="skip conv_numpy timings")
    parser.add_argument("--no-torch", action="store_true", help="skip torch timings")
    args = parser.parse_args()
    torch = None if args.no_torch else _torch(args.threads)
    rng = np.random.default_rng(0)
    print(
        f"batch {BATCH}, float32, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '-')}, "
        f"torch {'-' if torch is None else torch.__version__}; median [min] of {args.runs} runs; "
        "x = their time / ours"
    )
    print(
        f"{'kernel':38s} {'funcgrad ms':>15s} {'cpu':>5s} {'GFLOP/s':>9s} {'numpy ms':>9s} "
        f"{'x':>6s} {'torch ms':>15s} {'x':>5s}"
    )
    step = [0.0, 0.0, 0.0]  # forward + both grads of both convs, max pool forward + scatter

    def row(label, ours_fn, numpy_fn, torch_fn, flops=None):
        threads.hold_blas()
        try:
            ours, best, cpu = median_time(ours_fn, args.runs)
        finally:
            threads.release_blas()
        line = f"{label:38s} {ours * 1e3:7.2f} [{best * 1e3:5.2f}] {cpu * 1e3:5.2f} "
        line += f"{flops / ours / 1e9:4.0f} [{flops / best / 1e9:3.0f}]" if flops else " " * 10
        if not args.no_numpy:
            ref, _, _ = median_time(numpy_fn, max(3, args.runs // 10))
            line += f" {ref * 1e3:8.2f} {ref / ours:6.1f}"
        if torch_fn is not None:
            tt, tbest, _ = median_time(torch_fn, args.runs)
            line += f" {tt * 1e3:7.2f} [{tbest * 1e3:5.2f}] {tt / ours:5.2f}"
        print(line)
        return ours, best, cpu

    for name, x_shape, w_shape in CONVS:
        flops, cases, torch_fns = conv_cases(x_shape, w_shape, rng)
        tfns = torch_fns(torch) if torch is not None else (None,) * 3
        for (kind, ours, ref), tfn in zip(cases, tfns):
            step = [a + b for a, b in zip(step, row(f"{name} {kind}", ours, ref, tfn, flops))]
    for name, x_shape in POOLS:
        cases, torch_fns = pool_cases(x_shape, rng)
        tfns = torch_fns(torch) if torch is not None else (None,) * len(cases)
        for (kind, ours, ref), tfn in zip(cases, tfns):
            t = row(f"{name} {kind}", ours, ref, tfn)
            if kind.endswith("index"):  # what a compiled step runs
                step = [a + b for a, b in zip(step, t)]
    print(
        f"one training step's conv+pool kernels (both convs fwd+grads, both max pools fwd+"
        f"scatter): {step[0] * 1e3:.2f} ms [sum of minima {step[1] * 1e3:.2f} ms; "
        f"CPU time of all threads {step[2] * 1e3:.2f} ms]"
    )
    print(
        "(a compiled step pools with max_pool2d_index and scatters from the argmax slots it "
        "saved, like torch with its indices; max_pool2d_scatter finds each argmax again)"
    )


if __name__ == "__main__":
    main()

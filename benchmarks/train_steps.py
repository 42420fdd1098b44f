"""Training-step benchmark: funcgrad vs JAX (jax.jit) vs PyTorch, side by side.

Three workloads (float32, forward + backward + SGD update, one jitted step each):
  moons  MLP 2-16-16-1 tanh, batch 100, MSE
  mlp    MLP 784-128-64-32-10 relu, batch 128, softmax cross-entropy
  cnn    conv3x3(16,SAME)-lrelu-maxpool2-conv3x3(32,SAME)-lrelu-dense128-lrelu-dense10,
         1x28x28, batch 256, softmax cross-entropy
Each step is timed as the median of many calls after warm-up; JAX and PyTorch run when
importable (``pip install ".[bench]"``), each in a process of its own: funcgrad tunes the
OpenMP runtime it loads (see funcgrad/_kernels/__init__.py), and PyTorch would share it.
Also reports funcgrad's first-call time (trace, compile and run) of each step.

Run: python benchmarks/train_steps.py [--only moons,mlp,cnn] [--seconds 2]
"""

import argparse
import statistics
import subprocess
import sys
import time

if "--peer" in sys.argv:  # load the peer's own thread pools before funcgrad's
    __import__(sys.argv[sys.argv.index("--peer") + 1])

import numpy as np

import funcgrad as fg
import funcgrad.numpy as fnp

LR = 0.01


# ---------------------------------------------------------------- the models, in funcgrad


def dense_init(rng, sizes):
    params = []
    for m, n in zip(sizes[:-1], sizes[1:]):
        w = (rng.standard_normal((m, n)) * np.sqrt(2.0 / m)).astype(np.float32)
        params.append({"w": w, "b": np.zeros(n, np.float32)})
    return params


def cnn_init(rng):
    def conv(o, i):
        return (rng.standard_normal((o, i, 3, 3)) * np.sqrt(2.0 / (9 * i))).astype(np.float32)

    return {
        "c1": {"w": conv(16, 1), "b": np.zeros(16, np.float32)},
        "c2": {"w": conv(32, 16), "b": np.zeros(32, np.float32)},
        "dense": dense_init(rng, [32 * 14 * 14, 128, 10]),
    }


def cross_entropy(logits, labels):
    logp = fg.nn.log_softmax(logits)
    return -fnp.mean(logp[fnp.arange(logits.shape[0]), labels])


def moons_loss(params, x, y):
    h = x
    for layer in params[:-1]:
        h = fnp.tanh(h @ layer["w"] + layer["b"])
    out = h @ params[-1]["w"] + params[-1]["b"]
    return fnp.mean((out[:, 0] - y) ** 2)


def mlp_loss(params, x, y):
    h = x
    for layer in params[:-1]:
        h = fg.nn.relu(h @ layer["w"] + layer["b"])
    return cross_entropy(h @ params[-1]["w"] + params[-1]["b"], y)


def cnn_loss(params, x, y):
    h = fg.nn.leaky_relu(fg.nn.conv2d(x, params["c1"]["w"], params["c1"]["b"], padding="SAME"))
    h = fg.nn.max_pool2d(h, 2)
    h = fg.nn.leaky_relu(fg.nn.conv2d(h, params["c2"]["w"], params["c2"]["b"], padding="SAME"))
    h = fnp.reshape(h, (h.shape[0], -1))
    d1, d2 = params["dense"]
    h = fg.nn.leaky_relu(h @ d1["w"] + d1["b"])
    return cross_entropy(h @ d2["w"] + d2["b"], y)


def make_step(loss):
    @fg.jit
    def step(params, x, y):
        value, grads = fg.value_and_grad(loss)(params, x, y)
        return fg.tree.map(lambda p, g: p - LR * g, params, grads), value

    return step


def workloads(rng):
    x_moons = rng.standard_normal((100, 2)).astype(np.float32)
    y_moons = rng.standard_normal(100).astype(np.float32)
    x_mlp = rng.standard_normal((128, 784)).astype(np.float32)
    y_mlp = rng.integers(0, 10, 128)
    x_cnn = rng.standard_normal((256, 1, 28, 28)).astype(np.float32)
    y_cnn = rng.integers(0, 10, 256)
    return {
        "moons": (moons_loss, dense_init(rng, [2, 16, 16, 1]), x_moons, y_moons),
        "mlp": (mlp_loss, dense_init(rng, [784, 128, 64, 32, 10]), x_mlp, y_mlp),
        "cnn": (cnn_loss, cnn_init(rng), x_cnn, y_cnn),
    }


# ---------------------------------------------------------------- the peers


def jax_step(name, params, x, y):
    import jax
    import jax.numpy as jnp

    def ce(logits, labels):
        return -jnp.mean(jax.nn.log_softmax(logits)[jnp.arange(logits.shape[0]), labels])

    def loss(p, x, y):
        if name == "moons":
            h = x
            for layer in p[:-1]:
                h = jnp.tanh(h @ layer["w"] + layer["b"])
            return jnp.mean(((h @ p[-1]["w"] + p[-1]["b"])[:, 0] - y) ** 2)
        if name == "mlp":
            h = x
            for layer in p[:-1]:
                h = jax.nn.relu(h @ layer["w"] + layer["b"])
            return ce(h @ p[-1]["w"] + p[-1]["b"], y)
        dn = ("NCHW", "OIHW", "NCHW")

        def conv(h, c):
            out = jax.lax.conv_general_dilated(h, c["w"], (1, 1), "SAME", dimension_numbers=dn)
            return jax.nn.leaky_relu(out + c["b"][None, :, None, None])

        h = conv(x, p["c1"])
        h = jax.lax.reduce_window(h, -jnp.inf, jax.lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")
        h = conv(h, p["c2"]).reshape(x.shape[0], -1)
        d1, d2 = p["dense"]
        h = jax.nn.leaky_relu(h @ d1["w"] + d1["b"])
        return ce(h @ d2["w"] + d2["b"], y)

    @jax.jit
    def step(p, x, y):
        value, grads = jax.value_and_grad(loss)(p, x, y)
        return jax.tree_util.tree_map(lambda a, g: a - LR * g, p, grads), value

    p, xs, ys = jax.device_put((params, x, y))
    return lambda: jax.block_until_ready(step(p, xs, ys))


def torch_step(name, params, x, y):
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(2)
    leaves, treedef = fg.tree.flatten(params)
    tensors = [torch.tensor(a, requires_grad=True) for a in leaves]
    p = treedef.unflatten(tensors)
    xt, yt = torch.tensor(x), torch.tensor(y)

    def loss():
        if name == "moons":
            h = xt
            for layer in p[:-1]:
                h = torch.tanh(h @ layer["w"] + layer["b"])
            return torch.mean(((h @ p[-1]["w"] + p[-1]["b"])[:, 0] - yt) ** 2)
        if name == "mlp":
            h = xt
            for layer in p[:-1]:
                h = torch.relu(h @ layer["w"] + layer["b"])
            return F.cross_entropy(h @ p[-1]["w"] + p[-1]["b"], yt)
        h = F.leaky_relu(F.conv2d(xt, p["c1"]["w"], p["c1"]["b"], padding=1))
        h = F.max_pool2d(h, 2)
        h = F.leaky_relu(F.conv2d(h, p["c2"]["w"], p["c2"]["b"], padding=1)).flatten(1)
        d1, d2 = p["dense"]
        return F.cross_entropy(F.leaky_relu(h @ d1["w"] + d1["b"]) @ d2["w"] + d2["b"], yt)

    def step():
        value = loss()
        grads = torch.autograd.grad(value, tensors)
        with torch.no_grad():
            for t, g in zip(tensors, grads):
                t -= LR * g

    return step


# ---------------------------------------------------------------- timing


def median_seconds(fn, budget):
    for _ in range(3):
        fn()
    times, start = [], time.perf_counter()
    while time.perf_counter() - start < budget or len(times) < 10:
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def fmt(seconds):
    return f"{seconds * 1e6:9.1f} us" if seconds < 1e-2 else f"{seconds * 1e3:9.2f} ms"


def print_profile(params, x, y):
    """Per-kind totals and the slowest instructions of the step just compiled."""
    program = next(reversed(fg.runtime._programs.values()))
    rows = program.profile(program.graph.consts, fg.tree.leaves((params, x, y)))
    totals = {}
    for seconds, kind, _ in rows:
        if "/" not in kind:  # (a loop's steps are part of its time)
            totals[kind] = totals.get(kind, 0.0) + seconds
    print(
        "         by kind: "
        + ", ".join(
            f"{k} {fmt(t).strip()}" for k, t in sorted(totals.items(), key=lambda kv: -kv[1])
        )
    )
    for seconds, kind, what in rows[:12]:
        print(f"         {fmt(seconds)}  {kind:8s} {what}")


PEERS = {"jax": jax_step, "torch": torch_step}


def ratio_line(name, ours, theirs):
    """One peer's time and funcgrad's ratio to it (theirs None: the peer is not installed)."""
    if theirs is None:
        return f"{name:10s} not installed"
    return f"{name:10s} {fmt(theirs)}   funcgrad/{name} = {ours / theirs:5.2f}x"


def benchmark_parser(doc, peers):
    """The arguments of a benchmark script: --seconds, and --peer for its child processes."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="timing budget per entry")
    parser.add_argument("--peer", choices=sorted(peers), help=argparse.SUPPRESS)
    return parser


def side_by_side(script, doc, peers, data, funcgrad_call, title):
    """A benchmark's main: funcgrad's median time (and its first call) on ``data()``, then
    each peer's in a process of its own (``script --peer``), with the ratios."""
    args = benchmark_parser(doc, peers).parse_args()
    if args.peer:  # a child process: time one peer, print seconds
        print(median_seconds(peers[args.peer](*data()), args.seconds))
        return
    print(f"{title}, {fg.get_num_threads()} threads")
    start = time.perf_counter()
    call = funcgrad_call(*data())
    call()
    print(f"{'first call':10s} {fmt(time.perf_counter() - start)}")
    ours = median_seconds(call, args.seconds)
    print(f"{'funcgrad':10s} {fmt(ours)}")
    for peer in sorted(peers):
        print(ratio_line(peer, ours, peer_seconds(script, peer, args.seconds)))


def peer_seconds(script, peer, budget, *flags):
    """The median time a peer takes in a fresh process (``script --peer peer *flags``, which
    prints seconds), or None if the peer is not installed."""
    run = subprocess.run(
        [sys.executable, script, "--peer", peer, "--seconds", str(budget), *flags],
        capture_output=True,
        text=True,
    )
    if run.returncode != 0:
        if "ModuleNotFoundError" in run.stderr:
            return None
        raise RuntimeError(f"the {peer} benchmark failed:\n{run.stderr}")
    return float(run.stdout.split()[-1])


def main():
    parser = benchmark_parser(__doc__, PEERS)
    parser.add_argument("--only", default="moons,mlp,cnn")
    parser.add_argument("--profile", action="store_true", help="where funcgrad's time goes")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    cases = {k: v for k, v in workloads(rng).items() if k in args.only.split(",")}
    if args.peer:  # a child process: time one peer on one workload, print seconds
        ((name, (_, params, x, y)),) = cases.items()
        print(median_seconds(PEERS[args.peer](name, params, x, y), args.seconds))
        return
    print(f"backend: {fg.runtime.backend()}, {fg.get_num_threads()} threads")
    for name, (loss, params, x, y) in cases.items():
        step = make_step(loss)
        start = time.perf_counter()
        step(params, x, y)
        first = time.perf_counter() - start
        ours = median_seconds(lambda: step(params, x, y), args.seconds)
        print(f"{name:6s} funcgrad {fmt(ours)}   (first call {fmt(first)})")
        if args.profile:
            print_profile(params, x, y)
        for peer in PEERS:
            theirs = peer_seconds(__file__, peer, args.seconds, "--only", name)
            print(f"{'':6s} {ratio_line(peer, ours, theirs)}")


if __name__ == "__main__":
    main()

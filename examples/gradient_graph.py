"""The micrograd lesson with funcgrad: a neuron, its graphs, one update by hand, a perceptron.

Reproduces the seed's first lesson. A single neuron ``sigmoid(w . x + b)`` is traced into a
graph, printed jaxpr-style; its gradient is itself a graph (the backward pass), printed too.
Both are written as Graphviz DOT files under figures/ and rendered to PNG when Graphviz's
``dot`` program is installed. Then one gradient-descent step is taken by hand (the loss goes
down), and finally the same neuron is trained as a perceptron on two separable Gaussian blobs
with a jitted SGD step.

Run: python examples/gradient_graph.py         (add --quick for a shorter training run)
"""

import argparse
import os
import shutil
import subprocess

import numpy as np

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import nn, optim
from funcgrad.compiler.passes import optimize


def neuron(w, b, x):
    return nn.sigmoid(fnp.dot(x, w) + b)


def squared_error(w, b, x, target):
    return (neuron(w, b, x) - target) ** 2


def write_graph(graph, name):
    """Writes figures/<name>.dot and, if Graphviz is installed, figures/<name>.png."""
    os.makedirs("figures", exist_ok=True)
    path = os.path.join("figures", f"{name}.dot")
    with open(path, "w") as f:
        f.write(graph.to_dot(name=name))
    if shutil.which("dot") is None:
        print(f"wrote {path} (Graphviz's `dot` not installed: no PNG; try `dot -Tpng {path}`)")
        return
    subprocess.run(["dot", "-Tpng", path, "-o", path[:-4] + ".png"], check=True)
    print(f"wrote {path} and {path[:-4]}.png")


def lesson_graphs(w, b, x):
    print("1. The neuron sigmoid(w . x + b) at w =", w, "b =", b, "x =", x)
    print("   value:", float(neuron(w, b, x)))
    dw, db = fg.grad(neuron, argnums=(0, 1))(w, b, x)
    print("   d/dw:", dw, " d/db:", float(db))
    forward = fg.make_graph(neuron)(w, b, x)
    print("\nIts forward graph (sigmoid is composed from tanh: no overflow for any input):")
    print(forward)
    backward = fg.make_graph(fg.grad(neuron, argnums=(0, 1)))(w, b, x)
    print("\nThe graph of its gradient: the forward pass, then the backward pass (chain rule)")
    print(backward)
    # i and j (the neuron's output) are dead here; fg.jit's compiler drops them and folds
    # constants (k = 1.0 * 0.5) before running the graph:
    compiled = optimize(backward)
    print("\nThe same graph after constant folding and dead-code elimination (what fg.jit runs):")
    print(compiled)
    write_graph(forward, "neuron_forward")
    write_graph(backward, "neuron_backward")
    return len(forward.eqns), len(backward.eqns), len(compiled.eqns)


def lesson_update(w, b, x, target=1.0, lr=0.5):
    print(f"\n2. One gradient-descent step by hand on (neuron - {target})^2, learning rate {lr}:")
    loss, (dw, db) = fg.value_and_grad(squared_error, argnums=(0, 1))(w, b, x, target)
    w_new, b_new = w - lr * dw, b - lr * db
    loss_new = squared_error(w_new, b_new, x, target)
    print(f"   w {w} -> {w_new}, b {b:.4f} -> {float(b_new):.4f}")
    print(f"   loss {float(loss):.6f} -> {float(loss_new):.6f}")
    return float(loss), float(loss_new)


def lesson_perceptron(n, steps, key):
    k_data, k_init = fg.random.split(key)
    x, y = fg.datasets.gaussians(n, "two", k_data, std=0.3)  # blobs at (-1, -1) and (1, 1)
    params = {"w": 0.1 * fg.random.normal(k_init, (2,)), "b": np.float32(0.0)}
    opt = optim.sgd(0.5)

    def loss(params, x, y):
        logits = fnp.dot(x, params["w"]) + params["b"]  # the neuron, before its sigmoid
        return nn.losses.sigmoid_binary_cross_entropy(logits, fnp.astype(y, fnp.float32))

    @fg.jit
    def step(params, state, x, y):
        value, grads = fg.value_and_grad(loss)(params, x, y)
        updates, state = opt.update(grads, state, params)
        return optim.apply_updates(params, updates), state, value

    print(f"\n3. The neuron as a perceptron on {n} points from two Gaussian blobs (full batch):")
    state = opt.init(params)
    for i in range(1, steps + 1):
        params, state, value = step(params, state, x, y)
        if i % max(1, steps // 5) == 0:
            print(f"   step {i:4d}  loss {float(value):.4f}")
    probs = neuron(params["w"], params["b"], x)
    acc = float(fg.metrics.accuracy(fnp.astype(probs > 0.5, np.int64), y))
    w1, w2 = params["w"]
    print(
        f"   boundary {w1:.3f} x1 + {w2:.3f} x2 + {float(params['b']):.3f} = 0, accuracy {acc:.1%}"
    )
    return acc


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a shorter training run")
    args = parser.parse_args()

    w, b, x = np.array([-3.0, 1.0]), 6.88, np.array([2.0, 0.0])  # micrograd's numbers
    n_fwd, n_bwd, n_opt = lesson_graphs(w, b, x)
    loss, loss_new = lesson_update(w, b, x)
    acc = lesson_perceptron(100 if args.quick else 400, 20 if args.quick else 200, fg.random.key(0))
    print(
        f"RESULT gradient_graph: forward_eqns={n_fwd} grad_eqns={n_bwd} compiled_eqns={n_opt} "
        f"loss_before={loss:.6f} loss_after={loss_new:.6f} perceptron_acc={acc:.4f}"
    )


if __name__ == "__main__":
    main()

"""The funcgrad tour: trace a function, print its graph, take gradients, train a tiny MLP.

Run: python examples/quickstart.py
"""

import numpy as np

import funcgrad as fg
import funcgrad.numpy as fnp


def neuron(w, b, x):
    return fg.nn.sigmoid(fnp.dot(x, w) + b)


def loss(params, x, y):
    h = fnp.tanh(x @ params["w1"] + params["b1"])
    pred = fnp.tanh(h @ params["w2"] + params["b2"])[:, 0]
    return fnp.mean((pred - y) ** 2)


def two_spirals(n, rng):
    t = rng.uniform(0.5, 3.0, n) * np.pi
    label = rng.integers(0, 2, n)
    r = t / np.pi
    x = np.stack([r * np.cos(t + label * np.pi), r * np.sin(t + label * np.pi)], axis=1)
    return (x + rng.normal(0, 0.05, x.shape)).astype(np.float32), (2.0 * label - 1.0).astype(
        np.float32
    )


def main():
    w, b, x = np.array([0.5, -1.0]), 0.1, np.array([2.0, 1.0])
    print("The graph of a sigmoid neuron:")
    print(fg.make_graph(neuron)(w, b, x))
    print("\nIts gradient with respect to w:", fg.grad(neuron)(w, b, x))
    print("\nThe backward graph, itself a graph:")
    print(fg.make_graph(fg.grad(neuron))(w, b, x))

    rng = np.random.default_rng(0)
    xs, ys = two_spirals(200, rng)
    sizes = [(2, 32), (32, 1)]
    params = {}
    for i, (m, n) in enumerate(sizes, 1):
        params[f"w{i}"] = (rng.standard_normal((m, n)) / np.sqrt(m)).astype(np.float32)
        params[f"b{i}"] = np.zeros(n, np.float32)

    @fg.jit
    def step(params, x, y):
        value, grads = fg.value_and_grad(loss)(params, x, y)
        return fg.tree.map(lambda p, g: p - 0.2 * g, params, grads), value

    print("\nTraining a 2-32-1 tanh network on two spirals (jitted step):")
    for epoch in range(1, 1501):
        params, value = step(params, xs, ys)
        if epoch % 300 == 0:
            h = np.tanh(xs @ params["w1"] + params["b1"])
            acc = np.mean(np.sign(np.tanh(h @ params["w2"] + params["b2"])[:, 0]) == ys)
            print(f"  step {epoch:5d}  loss {float(value):.4f}  accuracy {acc:.1%}")
    print(f"step() was traced {step.cache_info().misses} time(s)")


if __name__ == "__main__":
    main()

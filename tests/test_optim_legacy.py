"""fg.optim.legacy: jax.example_libraries.optimizers' triples, each against its update
equations written out in NumPy, pytrees of params, schedules, jit, and the classic script."""

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.optim import legacy

STEPS = 6


def _params(dtype=np.float64):
    rng = np.random.default_rng(0)
    return {
        "w": rng.standard_normal((3, 2)).astype(dtype),
        "b": [rng.standard_normal(4).astype(dtype)],
    }


def _grads(dtype=np.float64):
    rng = np.random.default_rng(1)
    return [
        {
            "w": rng.standard_normal((3, 2)).astype(dtype),
            "b": [rng.standard_normal(4).astype(dtype)],
        }
        for _ in range(STEPS)
    ]


def _lr(step_size, i):
    return float(step_size(i)) if callable(step_size) else step_size


# Per leaf: x after every step, from x0 and the gradients (the equations of
# jax.example_libraries.optimizers).
def ref_sgd(x, gs, lr):
    out = []
    for i, g in enumerate(gs):
        x = x - _lr(lr, i) * g
        out.append(x)
    return out


def ref_momentum(x, gs, lr, mass, nesterov=False):
    out, v = [], np.zeros_like(x)
    for i, g in enumerate(gs):
        v = mass * v + g
        x = x - _lr(lr, i) * (mass * v + g if nesterov else v)
        out.append(x)
    return out


def ref_adagrad(x, gs, lr, momentum=0.9):
    out, g_sq, m = [], np.zeros_like(x), np.zeros_like(x)
    for i, g in enumerate(gs):
        g_sq = g_sq + g**2
        inv = np.where(g_sq > 0, 1 / np.sqrt(np.where(g_sq > 0, g_sq, 1)), 0.0)
        m = (1 - momentum) * (g * inv) + momentum * m
        x = x - _lr(lr, i) * m
        out.append(x)
    return out


def ref_rmsprop(x, gs, lr, gamma=0.9, eps=1e-8, momentum=None):
    out, a, mom = [], np.zeros_like(x), np.zeros_like(x)
    for i, g in enumerate(gs):
        a = a * gamma + g**2 * (1 - gamma)
        if momentum is None:
            x = x - _lr(lr, i) * g / np.sqrt(a + eps)
        else:
            mom = momentum * mom + _lr(lr, i) * g / np.sqrt(a + eps)
            x = x - mom
        out.append(x)
    return out


def ref_adam(x, gs, lr, b1=0.9, b2=0.999, eps=1e-8):
    out, m, v = [], np.zeros_like(x), np.zeros_like(x)
    for i, g in enumerate(gs):
        m = (1 - b1) * g + b1 * m
        v = (1 - b2) * g**2 + b2 * v
        m_hat, v_hat = m / (1 - b1 ** (i + 1)), v / (1 - b2 ** (i + 1))
        x = x - _lr(lr, i) * m_hat / (np.sqrt(v_hat) + eps)
        out.append(x)
    return out


def ref_adamax(x, gs, lr, b1=0.9, b2=0.999, eps=1e-8):
    out, m, u = [], np.zeros_like(x), np.zeros_like(x)
    for i, g in enumerate(gs):
        m = (1 - b1) * g + b1 * m
        u = np.maximum(b2 * u, np.abs(g))
        x = x - (_lr(lr, i) / (1 - b1 ** (i + 1))) * m / (u + eps)
        out.append(x)
    return out


def ref_sm3(x, gs, lr, momentum=0.9):
    out, m = [], np.zeros_like(x)
    vs = [np.zeros(n) for n in x.shape]
    for i, g in enumerate(gs):
        shaped = [v.reshape([-1 if k == j else 1 for k in range(x.ndim)]) for j, v in enumerate(vs)]
        accum = np.minimum.reduce(np.broadcast_arrays(*shaped)) + g**2
        inv = np.where(accum > 0, 1 / np.sqrt(np.where(accum > 0, accum, 1)), 0.0)
        m = (1 - momentum) * (g * inv) + momentum * m
        x = x - _lr(lr, i) * m
        vs = [accum.max(axis=tuple(k for k in range(x.ndim) if k != j)) for j in range(x.ndim)]
        out.append(x)
    return out


DECAY = legacy.exponential_decay(0.1, decay_steps=2, decay_rate=0.5)
CASES = {
    "sgd": (legacy.sgd(0.1), lambda x, gs: ref_sgd(x, gs, 0.1)),
    "sgd_schedule": (legacy.sgd(DECAY), lambda x, gs: ref_sgd(x, gs, DECAY)),
    "momentum": (legacy.momentum(0.1, 0.9), lambda x, gs: ref_momentum(x, gs, 0.1, 0.9)),
    "nesterov": (legacy.nesterov(0.1, 0.8), lambda x, gs: ref_momentum(x, gs, 0.1, 0.8, True)),
    "adagrad": (legacy.adagrad(0.1), lambda x, gs: ref_adagrad(x, gs, 0.1)),
    "rmsprop": (legacy.rmsprop(0.01, 0.8), lambda x, gs: ref_rmsprop(x, gs, 0.01, 0.8)),
    "rmsprop_momentum": (
        legacy.rmsprop_momentum(0.01, momentum=0.5),
        lambda x, gs: ref_rmsprop(x, gs, 0.01, momentum=0.5),
    ),
    "adam": (legacy.adam(0.01, 0.8, 0.99), lambda x, gs: ref_adam(x, gs, 0.01, 0.8, 0.99)),
    "adam_schedule": (legacy.adam(DECAY), lambda x, gs: ref_adam(x, gs, DECAY)),
    "adamax": (legacy.adamax(0.01), lambda x, gs: ref_adamax(x, gs, 0.01)),
    "sm3": (legacy.sm3(0.1), lambda x, gs: ref_sm3(x, gs, 0.1)),
}


def _trajectory(triple, params, grads, update=None):
    init_fn, update_fn, get_params = triple
    update = update or update_fn
    state, out = init_fn(params), []
    for i, g in enumerate(grads):
        state = update(i, g, state)
        out.append(get_params(state))
    return out, state


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_the_published_equations(name, dtype):
    triple, ref = CASES[name]
    params, grads = _params(dtype), _grads(dtype)
    got, _ = _trajectory(triple, params, grads)
    leaves, treedef = fg.tree.flatten(params)
    per_leaf = [
        ref(np.float64(x), [np.float64(fg.tree.leaves(g)[k]) for g in grads])
        for k, x in enumerate(leaves)
    ]
    tol = dict(rtol=1e-11, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-5, atol=2e-6)
    for step, actual in enumerate(got):
        assert fg.tree.structure(actual) == treedef
        for k, a in enumerate(fg.tree.leaves(actual)):
            assert a.dtype == dtype
            np.testing.assert_allclose(a, per_leaf[k][step], **tol)


@pytest.mark.parametrize("name", ["momentum", "adam_schedule", "sm3", "rmsprop_momentum"])
def test_jitted_update_with_a_traced_step_matches_eager(name):
    triple, _ = CASES[name]
    params, grads = _params(np.float32), _grads(np.float32)
    jitted = fg.jit(triple.update_fn)
    eager, _ = _trajectory(triple, params, grads)
    traced, _ = _trajectory(triple, params, grads, jitted)
    for a, b in zip(traced, eager):
        for x, y in zip(fg.tree.leaves(a), fg.tree.leaves(b)):
            np.testing.assert_allclose(x, y, rtol=2e-6, atol=1e-7)
    assert jitted.cache_info().misses == 1


def test_the_classic_script_trains():
    # The usage of jax.example_libraries.optimizers' documentation, ported by renaming.
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 3)).astype(np.float32)
    y = x @ np.array([[1.0], [-2.0], [0.5]], np.float32) + np.float32(0.3)

    def loss(params, batch):
        inputs, targets = batch
        return fnp.mean((inputs @ params["w"] + params["b"] - targets) ** 2)

    opt_init, opt_update, get_params = legacy.adam(step_size=0.1)
    opt_state = opt_init({"w": np.zeros((3, 1), np.float32), "b": np.zeros(1, np.float32)})

    @fg.jit
    def update(i, opt_state, batch):
        params = get_params(opt_state)
        value, grads = fg.value_and_grad(loss)(params, batch)
        return opt_update(i, grads, opt_state), value

    values = []
    for i in range(150):
        opt_state, value = update(i, opt_state, (x, y))
        values.append(float(value))
    assert values[-1] < 1e-3 * values[0]
    assert update.cache_info().misses == 1
    trained = get_params(opt_state)
    np.testing.assert_allclose(trained["w"].ravel(), [1.0, -2.0, 0.5], atol=0.02)
    assert trained["w"].dtype == np.float32


def test_schedules():
    i = np.arange(12)
    np.testing.assert_allclose([legacy.constant(0.3)(k) for k in i], 0.3)
    np.testing.assert_allclose([float(DECAY(k)) for k in i], 0.1 * 0.5 ** (i / 2))
    inv = legacy.inverse_time_decay(1.0, 4, 0.5, staircase=True)
    np.testing.assert_allclose([float(inv(k)) for k in i], 1 / (1 + 0.5 * np.floor(i / 4)))
    inv = legacy.inverse_time_decay(1.0, 4, 0.5)
    np.testing.assert_allclose([float(inv(k)) for k in i], 1 / (1 + 0.5 * i / 4))
    poly = legacy.polynomial_decay(1.0, 8, 0.1, power=2.0)
    np.testing.assert_allclose(
        [float(poly(k)) for k in i], 0.9 * (1 - np.minimum(i, 8) / 8) ** 2 + 0.1
    )
    pc = legacy.piecewise_constant([2, 5], [1.0, 0.5, 0.1])
    assert [float(pc(k)) for k in range(7)] == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.1]
    assert float(fg.jit(pc)(np.int32(4))) == 0.5
    with pytest.raises(ValueError, match=r"len\(values\) == len\(boundaries\) \+ 1"):
        legacy.piecewise_constant([2, 5], [1.0, 0.5])
    with pytest.raises(TypeError, match="expected a number or a callable"):
        legacy.make_schedule(np.ones(3))


def test_clip_grads_and_l2_norm():
    g = {"a": np.array([3.0]), "b": [np.array([4.0])]}
    assert float(legacy.l2_norm(g)) == 5.0
    clipped = legacy.clip_grads(g, 1.0)
    np.testing.assert_allclose(clipped["a"], [0.6]) and np.testing.assert_allclose(
        clipped["b"][0], [0.8]
    )
    np.testing.assert_array_equal(legacy.clip_grads(g, 10.0)["a"], [3.0])


def test_state_round_trips_and_errors():
    init_fn, update_fn, get_params = legacy.adam(0.1)
    params = _params()
    state = update_fn(0, _grads()[0], init_fn(params))
    again = legacy.pack_optimizer_state(legacy.unpack_optimizer_state(state))
    assert fg.tree.structure(again) == fg.tree.structure(state)
    for a, b in zip(fg.tree.leaves(again), fg.tree.leaves(state)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(get_params(again)["w"], get_params(state)["w"])
    with pytest.raises(
        fg.tree.StructureError, match=r"update_fn: the gradients are .* at \S*test_optim_legacy"
    ):
        update_fn(1, {"w": np.ones((3, 2))}, state)
    with pytest.raises(TypeError, match="expected the OptimizerState of init_fn"):
        update_fn(1, _grads()[0], params)

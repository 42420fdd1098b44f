"""fg.optim: optimizers against hand-written NumPy update rules, schedules against their closed
forms, chain semantics, dtypes kept, and a jitted training step that traces once."""

import inspect
import math
import re
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import optim

STEPS = 6
TOL = {np.float64: dict(rtol=1e-11, atol=1e-12), np.float32: dict(rtol=2e-5, atol=2e-6)}


def make_params(dtype, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "w": rng.standard_normal((3, 2)).astype(dtype),
        "layers": [rng.standard_normal(4).astype(dtype), np.asarray(0.7, dtype)],
    }


def make_grads(dtype, steps=STEPS, seed=1):
    rng = np.random.default_rng(seed)
    shapes = {"w": (3, 2), "layers": [(4,), ()]}
    return [
        fg.tree.map(lambda s: np.asarray(rng.standard_normal(s), dtype), shapes, is_leaf=_is_shape)
        for _ in range(steps)
    ]


def _is_shape(x):
    return isinstance(x, tuple) and all(isinstance(n, int) for n in x)


def run(opt, params, grads):
    """Params after each step, and the final state."""
    state, trajectory = opt.init(params), []
    for g in grads:
        updates, state = opt.update(g, state, params)
        params = optim.apply_updates(params, updates)
        trajectory.append(params)
    return trajectory, state


def lr_at(learning_rate, k):
    return float(learning_rate(k)) if callable(learning_rate) else learning_rate


# ---------------------------------------------------------------- NumPy references, per leaf
# Each takes a leaf's initial value and its gradients (float64) and returns the leaf after
# every step.


def ref_sgd(p, gs, lr, momentum=0.0, nesterov=False):
    out, t = [], np.zeros_like(p)
    for k, g in enumerate(gs):
        t = g + momentum * t
        step = g + momentum * t if nesterov else (t if momentum else g)
        p = p - lr_at(lr, k) * step
        out.append(p)
    return out


def ref_adam(p, gs, lr, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.0):
    out, m, v = [], np.zeros_like(p), np.zeros_like(p)
    for k, g in enumerate(gs):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        m_hat, v_hat = m / (1 - b1 ** (k + 1)), v / (1 - b2 ** (k + 1))
        p = p - lr_at(lr, k) * (m_hat / (np.sqrt(v_hat) + eps) + weight_decay * p)
        out.append(p)
    return out


def ref_rmsprop(p, gs, lr, decay=0.9, eps=1e-8, momentum=0.0, nesterov=False, eps_in_sqrt=True):
    out, v, t = [], np.zeros_like(p), np.zeros_like(p)
    for k, g in enumerate(gs):
        v = decay * v + (1 - decay) * g**2
        scaled = g / np.sqrt(v + eps) if eps_in_sqrt else g / (np.sqrt(v) + eps)
        step = -lr_at(lr, k) * scaled
        t = step + momentum * t
        p = p + (step + momentum * t if nesterov else t)
        out.append(p)
    return out


def ref_adagrad(p, gs, lr, initial_accumulator_value=0.1, eps=1e-7):
    out, s = [], np.full_like(p, initial_accumulator_value)
    for k, g in enumerate(gs):
        s = s + g**2
        p = p - lr_at(lr, k) * g / np.sqrt(s + eps)
        out.append(p)
    return out


SCHEDULE = optim.exponential_decay(0.05, transition_steps=2, decay_rate=0.5)
CASES = {
    "sgd": (lambda: optim.sgd(0.1), lambda p, gs: ref_sgd(p, gs, 0.1)),
    "sgd_momentum": (
        lambda: optim.sgd(0.1, momentum=0.9),
        lambda p, gs: ref_sgd(p, gs, 0.1, 0.9),
    ),
    "sgd_nesterov": (
        lambda: optim.sgd(0.1, momentum=0.9, nesterov=True),
        lambda p, gs: ref_sgd(p, gs, 0.1, 0.9, nesterov=True),
    ),
    "sgd_schedule": (
        lambda: optim.sgd(SCHEDULE, momentum=0.5),
        lambda p, gs: ref_sgd(p, gs, SCHEDULE, 0.5),
    ),
    "adam": (
        lambda: optim.adam(0.01, b1=0.8, b2=0.99, eps=1e-6),
        lambda p, gs: ref_adam(p, gs, 0.01, 0.8, 0.99, 1e-6),
    ),
    "adam_schedule": (lambda: optim.adam(SCHEDULE), lambda p, gs: ref_adam(p, gs, SCHEDULE)),
    "adamw": (
        lambda: optim.adamw(0.01, weight_decay=0.1),
        lambda p, gs: ref_adam(p, gs, 0.01, weight_decay=0.1),
    ),
    "rmsprop": (lambda: optim.rmsprop(0.01), lambda p, gs: ref_rmsprop(p, gs, 0.01)),
    "rmsprop_momentum": (
        lambda: optim.rmsprop(0.01, decay=0.8, eps=1e-4, momentum=0.9),
        lambda p, gs: ref_rmsprop(p, gs, 0.01, 0.8, 1e-4, momentum=0.9),
    ),
    "rmsprop_nesterov_eps_outside": (
        lambda: optim.rmsprop(0.01, momentum=0.5, nesterov=True, eps_in_sqrt=False),
        lambda p, gs: ref_rmsprop(p, gs, 0.01, momentum=0.5, nesterov=True, eps_in_sqrt=False),
    ),
    "rmsprop_momentum_schedule": (
        lambda: optim.rmsprop(SCHEDULE, momentum=0.9),
        lambda p, gs: ref_rmsprop(p, gs, SCHEDULE, momentum=0.9),
    ),
    "adagrad": (lambda: optim.adagrad(0.1), lambda p, gs: ref_adagrad(p, gs, 0.1)),
    "adagrad_schedule": (
        lambda: optim.adagrad(SCHEDULE, initial_accumulator_value=0.5, eps=1e-3),
        lambda p, gs: ref_adagrad(p, gs, SCHEDULE, 0.5, 1e-3),
    ),
}


def expected_trajectory(ref, params, grads):
    leaves, treedef = fg.tree.flatten(params)
    per_leaf = [
        ref(np.float64(p), [np.float64(fg.tree.leaves(g)[i]) for g in grads])
        for i, p in enumerate(leaves)
    ]
    return [fg.tree.unflatten(treedef, [traj[k] for traj in per_leaf]) for k in range(len(grads))]


def assert_trees_close(actual, expected, dtype):
    assert fg.tree.structure(actual) == fg.tree.structure(expected)
    for a, e in zip(fg.tree.leaves(actual), fg.tree.leaves(expected)):
        assert a.dtype == dtype
        np.testing.assert_allclose(a, e, **TOL[dtype])


def float_leaves(state):
    return [x for x in fg.tree.leaves(state) if np.asarray(x).dtype.kind == "f"]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", sorted(CASES))
def test_optimizer_matches_numpy_reference(case, dtype):
    make_opt, ref = CASES[case]
    params, grads = make_params(dtype), make_grads(dtype)
    trajectory, state = run(make_opt(), params, grads)
    for actual, expected in zip(trajectory, expected_trajectory(ref, params, grads)):
        assert_trees_close(actual, expected, dtype)
    assert all(x.dtype == dtype for x in float_leaves(state))  # moments in the params' dtype
    for count in [x for x in fg.tree.leaves(state) if np.asarray(x).dtype.kind == "i"]:
        assert count.dtype == np.int32 and int(count) == STEPS


@pytest.mark.parametrize("case", ["sgd_nesterov", "adam_schedule", "adamw", "rmsprop_momentum"])
def test_jitted_update_matches_eager(case):
    opt = CASES[case][0]()
    params, grads = make_params(np.float32), make_grads(np.float32)

    @fg.jit
    def step(params, state, g):
        updates, state = opt.update(g, state, params)
        return optim.apply_updates(params, updates), state

    state, p = opt.init(params), params
    for g, expected in zip(grads, run(opt, params, grads)[0]):
        p, state = step(p, state, g)
        assert_trees_close(p, expected, np.float32)
    assert step.cache_info().misses == 1


def test_adamw_decay_is_decoupled_from_adam_scaling():
    # With zero gradients, Adam's direction is 0, so only the decay moves the params.
    params = {"w": np.array([2.0, -4.0])}
    zero = {"w": np.zeros(2)}
    updates, _ = optim.adamw(0.1, weight_decay=0.5).update(
        zero, optim.adamw(0.1).init(params), params
    )
    np.testing.assert_allclose(updates["w"], -0.1 * 0.5 * params["w"], rtol=1e-15)


def test_add_decayed_weights_needs_params():
    t = optim.add_decayed_weights(0.1)
    with pytest.raises(ValueError, match=r"params.*at \S*test_optim\.py:\d+"):
        t.update({"w": np.ones(2)}, t.init(None))


@pytest.mark.parametrize("jit", [False, True])
def test_adagrad_zero_accumulator_gives_zero_update_not_nan(jit):
    opt = optim.adagrad(1.0, initial_accumulator_value=0.0, eps=0.0)
    params = {"w": np.array([1.0, 1.0])}
    update = fg.jit(opt.update) if jit else opt.update
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no 0/0 even in the branch that where discards
        updates, _ = update({"w": np.array([0.0, 2.0])}, opt.init(params), params)
    np.testing.assert_array_equal(updates["w"], [0.0, -1.0])


def test_moments_keep_the_params_dtype_under_float64_grads():
    params = make_params(np.float32)
    grads = make_grads(np.float64)
    for opt in [
        optim.adam(0.1),
        optim.sgd(0.1, momentum=0.9),
        optim.rmsprop(0.1),
        optim.adagrad(0.1),
    ]:
        trajectory, state = run(opt, params, grads)
        assert all(x.dtype == np.float32 for x in float_leaves(state))
        assert all(x.dtype == np.float32 for x in fg.tree.leaves(trajectory[-1]))


# ---------------------------------------------------------------- clipping and chains


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_by_global_norm(max_norm, dtype):
    grads = make_grads(dtype, steps=1)[0]
    norm = math.sqrt(sum(float(np.sum(np.float64(g) ** 2)) for g in fg.tree.leaves(grads)))
    t = optim.clip_by_global_norm(max_norm)
    clipped, _ = t.update(grads, t.init(grads))
    np.testing.assert_allclose(float(optim.global_norm(grads)), norm, rtol=1e-6)
    for c, g in zip(fg.tree.leaves(clipped), fg.tree.leaves(grads)):
        assert c.dtype == dtype
        if norm <= max_norm:
            np.testing.assert_array_equal(c, g)  # untouched below the threshold
        else:
            np.testing.assert_allclose(c, np.float64(g) * max_norm / norm, **TOL[dtype])
    assert (norm > max_norm) == (max_norm == 0.5)  # both branches are exercised
    new_norm = float(optim.global_norm(clipped))
    assert new_norm == pytest.approx(min(norm, max_norm), rel=1e-6)


def test_chain_applies_transforms_in_order():
    g = {"a": np.array([3.0, 4.0])}  # norm 5
    clip_then_scale = optim.chain(optim.clip_by_global_norm(1.0), optim.scale(10.0))
    scale_then_clip = optim.chain(optim.scale(10.0), optim.clip_by_global_norm(1.0))
    np.testing.assert_allclose(clip_then_scale.update(g, clip_then_scale.init(g))[0]["a"], [6, 8])
    np.testing.assert_allclose(
        scale_then_clip.update(g, scale_then_clip.init(g))[0]["a"], [0.6, 0.8]
    )


def test_chain_state_is_the_tuple_of_component_states():
    params = make_params(np.float64)
    state = optim.adam(0.1).init(params)
    assert isinstance(state, tuple) and len(state) == 2
    assert isinstance(state[0], optim.ScaleByAdamState)
    assert isinstance(state[1], optim.EmptyState)
    scheduled = optim.adam(SCHEDULE).init(params)
    assert isinstance(scheduled[1], optim.ScaleByScheduleState)


def test_adam_is_scale_by_adam_then_learning_rate():
    params, grads = make_params(np.float64), make_grads(np.float64)
    by_hand = optim.chain(optim.scale_by_adam(0.8, 0.95, 1e-5), optim.scale_by_learning_rate(0.3))
    got = run(optim.adam(0.3, 0.8, 0.95, 1e-5), params, grads)[0]
    # The same two steps applied one after the other, outside chain.
    adam_part, lr_part = optim.scale_by_adam(0.8, 0.95, 1e-5), optim.scale(-0.3)
    s1, s2, p = adam_part.init(params), lr_part.init(params), params
    for g, expected, expected_chain in zip(grads, got, run(by_hand, params, grads)[0]):
        u, s1 = adam_part.update(g, s1, p)
        u, s2 = lr_part.update(u, s2, p)
        p = optim.apply_updates(p, u)
        assert_trees_close(p, expected, np.float64)
        assert_trees_close(expected_chain, expected, np.float64)


def test_apply_updates_keeps_param_dtype():
    params = {"a": np.ones(2, np.float32), "b": [np.ones((), np.float64)]}
    updates = {"a": np.full(2, 0.5), "b": [np.float32(0.25)]}
    out = optim.apply_updates(params, updates)
    assert out["a"].dtype == np.float32 and out["b"][0].dtype == np.float64
    np.testing.assert_array_equal(out["a"], [1.5, 1.5])
    assert float(out["b"][0]) == 1.25


def test_identity_passes_updates_through():
    g = {"a": np.array([1.0, -2.0])}
    t = optim.identity()
    out, state = t.update(g, t.init(g))
    assert out is g and state == optim.EmptyState()


# ---------------------------------------------------------------- schedules

counts = st.integers(0, 200)


@given(st.floats(-10, 10), counts)
def test_constant_schedule(value, count):
    assert float(optim.constant_schedule(value)(count)) == value
    assert optim.constant is optim.constant_schedule


@settings(deadline=None)
@given(
    init=st.floats(0.01, 10),
    steps=st.integers(1, 20),
    rate=st.floats(0.1, 2.0),
    staircase=st.booleans(),
    begin=st.integers(0, 10),
    end=st.none() | st.floats(0.01, 10),
    count=counts,
)
def test_exponential_decay(init, steps, rate, staircase, begin, end, count):
    schedule = optim.exponential_decay(init, steps, rate, staircase, begin, end)
    p = max(count - begin, 0) / steps
    expected = init * rate ** (math.floor(p) if staircase else p)
    if end is not None:
        expected = max(expected, end) if rate < 1 else min(expected, end)
    assert float(schedule(count)) == pytest.approx(expected, rel=1e-12)


@given(
    init=st.floats(0.01, 10),
    table=st.dictionaries(st.integers(0, 100), st.floats(0, 3), max_size=4),
    count=counts,
)
def test_piecewise_constant_schedule(init, table, count):
    expected = init * math.prod(scale for boundary, scale in table.items() if count >= boundary)
    got = float(optim.piecewise_constant_schedule(init, table)(count))
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-300)
    assert optim.piecewise_constant is optim.piecewise_constant_schedule


def test_piecewise_constant_scale_applies_from_its_boundary_on():
    schedule = optim.piecewise_constant_schedule(2.0, {3: 0.5, 5: 0.25})
    assert [float(schedule(k)) for k in range(7)] == [2.0, 2.0, 2.0, 1.0, 1.0, 0.25, 0.25]


@given(
    init=st.floats(0.01, 10), decay_steps=st.integers(1, 100), alpha=st.floats(0, 1), count=counts
)
def test_cosine_decay_schedule(init, decay_steps, alpha, count):
    cosine = 0.5 * (1 + math.cos(math.pi * min(count, decay_steps) / decay_steps))
    expected = init * ((1 - alpha) * cosine + alpha)
    got = float(optim.cosine_decay_schedule(init, decay_steps, alpha)(count))
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-12)
    assert optim.cosine_decay is optim.cosine_decay_schedule


@given(
    init=st.floats(0, 1),
    peak=st.floats(0.01, 10),
    warmup=st.integers(0, 20),
    length=st.integers(1, 50),
    end=st.floats(0, 0.01),
    count=counts,
)
def test_warmup_cosine_decay_schedule(init, peak, warmup, length, end, count):
    decay_steps = warmup + length
    if count < warmup:
        expected = init + (peak - init) * count / warmup
    else:
        t = min(count - warmup, length) / length
        expected = end + (peak - end) * 0.5 * (1 + math.cos(math.pi * t))
    got = float(optim.warmup_cosine_decay_schedule(init, peak, warmup, decay_steps, end)(count))
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-12)
    assert optim.warmup_cosine_decay is optim.warmup_cosine_decay_schedule


@given(init=st.floats(-5, 5), end=st.floats(-5, 5), steps=st.integers(1, 30), count=counts)
def test_linear_schedule(init, end, steps, count):
    expected = init + (end - init) * min(count, steps) / steps
    got = float(optim.linear_schedule(init, end, steps)(count))
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize(
    "schedule",
    [
        optim.exponential_decay(1.0, 3, 0.7, staircase=True, transition_begin=2, end_value=0.3),
        optim.piecewise_constant_schedule(1.0, {3: 0.5, 7: 0.1}),
        optim.cosine_decay_schedule(2.0, 8, alpha=0.1),
        optim.warmup_cosine_decay_schedule(0.1, 1.0, 3, 10, end_value=0.05),
    ],
)
def test_schedules_trace_and_jit_with_a_traced_count(schedule):
    jitted = fg.jit(schedule)
    for k in range(12):
        assert float(jitted(np.int32(k))) == pytest.approx(float(schedule(k)), rel=1e-12)
    assert jitted.cache_info().misses == 1


@pytest.mark.parametrize(
    "make",
    [
        lambda s: optim.sgd(s),
        lambda s: optim.chain(optim.identity(), optim.scale_by_learning_rate(s)),
    ],
)
def test_kth_update_uses_schedule_of_k(make):
    schedule = optim.warmup_cosine_decay_schedule(0.0, 1.0, 2, 8)
    opt = make(schedule)
    g = {"w": np.array([1.0, -2.0], np.float32)}
    state = opt.init(g)
    for k in range(10):
        updates, state = opt.update(g, state)
        assert updates["w"].dtype == np.float32
        np.testing.assert_allclose(updates["w"], -float(schedule(k)) * g["w"], rtol=1e-6)


def test_schedule_errors_name_the_user_line():
    with pytest.raises(ValueError, match=r"decay_steps must be > 0.*at \S*test_optim\.py:\d+"):
        optim.cosine_decay_schedule(1.0, 0)
    with pytest.raises(ValueError, match=re.escape("non-negative")):
        optim.piecewise_constant_schedule(1.0, {3: -1.0})
    with pytest.raises(ValueError, match="decay_steps > warmup_steps"):
        optim.warmup_cosine_decay_schedule(0.0, 1.0, 5, 5)


# ---------------------------------------------------------------- mismatched trees
# Each error names the transformation, the two arguments that differ, the first path where
# they differ and how, and the user's line.


def tree_params():
    return {"w": np.ones(2), "layers": [{"w": np.ones(3)}, {"w": np.ones(1)}]}


# (grads, the path, what is there in grads, what is there in params)
MISMATCHED_GRADS = [
    (
        {"w": np.ones(2), "b": np.ones(2), "layers": [{"w": np.ones(3)}, {"w": np.ones(1)}]},
        "<root>",
        "a dict with keys ['b', 'layers', 'w']",
        "a dict with keys ['layers', 'w']",
    ),
    (
        {"w": np.ones(2), "layers": [{"w": np.ones(3)}, {"b": np.ones(1), "w": np.ones(1)}]},
        "['layers'][1]",
        "a dict with keys ['b', 'w']",
        "a dict with keys ['w']",
    ),
    (
        {"w": np.ones(2), "layers": [{"w": np.ones(3)}, {"w": np.ones(1)}, {"w": np.ones(1)}]},
        "['layers']",
        "a list of 3",
        "a list of 2",
    ),
    (
        {"w": np.ones(2), "layers": [{"w": np.ones(3)}, np.ones(1)]},
        "['layers'][1]",
        "a leaf",
        "a dict with keys ['w']",
    ),
    (
        {"w": (np.ones(1), np.ones(1)), "layers": [{"w": np.ones(3)}, {"w": np.ones(1)}]},
        "['w']",
        "a tuple of 2",
        "a leaf",
    ),
]

# (optimizer, its transformation that meets the grads first, and that one's state)
STATEFUL = [
    (lambda: optim.sgd(0.1, momentum=0.9), "trace", "state[0].trace"),
    (lambda: optim.adam(0.1), "scale_by_adam", "state[0].mu"),
    (lambda: optim.rmsprop(0.1), "scale_by_rms", "state[0].nu"),
    (lambda: optim.adagrad(0.1), "scale_by_rss", "state[0].sum_of_squares"),
    (
        lambda: optim.chain(optim.clip_by_global_norm(1.0), optim.adam(0.1)),
        "scale_by_adam",
        "state[1][0].mu",
    ),
]

NAMES_THE_LINE = r" at \S*test_optim\.py:\d+$"


@pytest.mark.parametrize("grads, path, in_grads, in_params", MISMATCHED_GRADS)
@pytest.mark.parametrize("make, where, state_name", STATEFUL)
def test_update_with_mismatched_grads_names_state_path_and_line(
    make, where, state_name, grads, path, in_grads, in_params
):
    opt, params = make(), tree_params()
    with pytest.raises(fg.tree.StructureError) as e:
        opt.update(grads, opt.init(params), params)
    message = str(e.value)
    assert message.startswith(
        f"{where}.update: structure mismatch between updates and {state_name} "
        f"at {path}: {in_grads} vs {in_params} at "
    )
    assert re.search(NAMES_THE_LINE, message), message


@pytest.mark.parametrize("grads, path, in_grads, in_params", MISMATCHED_GRADS)
def test_sgd_grads_that_do_not_fit_params_fail_in_apply_updates(grads, path, in_grads, in_params):
    # Plain SGD keeps no state to check the grads against, so apply_updates names them.
    opt, params = optim.sgd(0.1), tree_params()
    updates, _ = opt.update(grads, opt.init(params), params)
    with pytest.raises(ValueError) as e:
        optim.apply_updates(params, updates)
    message = str(e.value)
    assert message.startswith(
        f"apply_updates: structure mismatch between params and updates "
        f"at {path}: {in_params} vs {in_grads} at "
    )
    assert re.search(NAMES_THE_LINE, message), message


@pytest.mark.parametrize("grads, path, in_grads, in_params", MISMATCHED_GRADS)
def test_adamw_names_updates_and_params(grads, path, in_grads, in_params):
    # The state fits the grads, so the first mismatch is with params, in the weight decay.
    opt, params = optim.adamw(0.1), tree_params()
    with pytest.raises(fg.tree.StructureError) as e:
        opt.update(grads, opt.init(grads), params)
    message = str(e.value)
    assert message.startswith(
        f"add_decayed_weights.update: structure mismatch between updates and params "
        f"at {path}: {in_grads} vs {in_params} at "
    )
    assert re.search(NAMES_THE_LINE, message), message


@pytest.mark.parametrize("make, where, state_name", STATEFUL)
def test_update_with_the_state_of_other_params_names_the_state_path(make, where, state_name):
    opt, params = make(), tree_params()
    state = opt.init({"w": np.ones(2), "layers": [{"w": np.ones(3)}]})
    with pytest.raises(fg.tree.StructureError) as e:
        opt.update(params, state, params)
    message = str(e.value)
    assert message.startswith(
        f"{where}.update: structure mismatch between updates and {state_name} "
        "at ['layers']: a list of 2 vs a list of 1 at "
    )
    assert re.search(NAMES_THE_LINE, message), message


def _clip_then(opt):
    return optim.chain(optim.clip_by_global_norm(1.0), opt)


@pytest.mark.parametrize(
    "opt, other, expected",
    [
        (
            optim.adam(0.1),
            optim.sgd(0.1, momentum=0.9),
            "scale_by_adam.update: state[0] is a TraceState, expected a ScaleByAdamState",
        ),
        (
            optim.sgd(0.1, momentum=0.9),
            optim.adam(0.1),
            "trace.update: state[0] is a ScaleByAdamState, expected a TraceState",
        ),
        (
            optim.sgd(0.1),
            optim.adam(0.1),
            "identity.update: state[0] is a ScaleByAdamState, expected an EmptyState",
        ),
        (
            optim.adamw(0.1),
            optim.adam(0.1),
            "chain.update: state is a tuple of 2, expected a tuple of 3",
        ),
        (
            optim.adam(0.1),
            optim.scale_by_adam(),
            "chain.update: state is a ScaleByAdamState, expected a tuple of 2",
        ),
        (
            _clip_then(optim.adam(0.1)),
            _clip_then(optim.sgd(0.1, momentum=0.9)),
            "scale_by_adam.update: state[1][0] is a TraceState, expected a ScaleByAdamState",
        ),
        (
            _clip_then(optim.adam(0.1)),
            optim.adam(0.1),
            "clip_by_global_norm.update: state[0] is a ScaleByAdamState, expected an EmptyState",
        ),
        (
            _clip_then(optim.adamw(0.1)),
            _clip_then(optim.adam(0.1)),
            "chain.update: state[1] is a tuple of 2, expected a tuple of 3",
        ),
    ],
)
def test_update_with_another_optimizers_state_names_the_state_path(opt, other, expected):
    params = tree_params()
    with pytest.raises(ValueError) as e:
        opt.update(params, other.init(params), params)
    assert isinstance(e.value, fg.tree.StructureError)
    message = str(e.value)
    assert message.startswith(expected), message
    assert re.search(NAMES_THE_LINE, message), message


def test_mismatch_in_a_jitted_step_names_the_line_of_the_update_call():
    opt, params = optim.adam(0.1), tree_params()
    grads = MISMATCHED_GRADS[1][0]
    update_line = inspect.currentframe().f_lineno + 4

    @fg.jit
    def step(params, state, grads):
        return opt.update(grads, state, params)

    with pytest.raises(fg.tree.StructureError) as e:
        step(params, opt.init(params), grads)
    message = str(e.value)
    assert "state[0].mu at ['layers'][1]: a dict with keys ['b', 'w'] vs" in message
    assert re.search(rf" at \S*test_optim\.py:{update_line}$", message), message


# ---------------------------------------------------------------- a jitted training step


def test_jitted_adam_train_step_decreases_loss_and_traces_once():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 3)).astype(np.float32)
    y = x @ np.array([[1.0], [-2.0], [0.5]], np.float32) + np.float32(0.3)
    params = {"w": np.zeros((3, 1), np.float32), "b": [np.zeros(1, np.float32)]}
    opt = optim.adam(optim.cosine_decay_schedule(0.1, 200, alpha=0.1))
    state = opt.init(params)

    def loss(params, x, y):
        return fnp.mean((x @ params["w"] + params["b"][0] - y) ** 2)

    @fg.jit
    def step(params, state, x, y):
        value, grads = fg.value_and_grad(loss)(params, x, y)
        updates, state = opt.update(grads, state, params)
        return optim.apply_updates(params, updates), state, value

    losses = []
    for _ in range(150):
        params, state, value = step(params, state, x, y)
        losses.append(float(value))
    assert step.cache_info().misses == 1 and step.cache_info().hits == 149
    assert losses[-1] < 1e-3 * losses[0]
    assert all(leaf.dtype == np.float32 for leaf in fg.tree.leaves(params))
    assert all(x.dtype == np.float32 for x in float_leaves(state))
    assert int(state[0].count) == 150


# ---------------------------------------------------------------- more optimizers (issue 21)
# optax's published update equations, per leaf, in NumPy.


def ref_adamax(p, gs, lr, b1=0.9, b2=0.999, eps=1e-8):
    out, m, v = [], np.zeros_like(p), np.zeros_like(p)
    for k, g in enumerate(gs):
        m = b1 * m + (1 - b1) * g
        v = np.maximum(b2 * v, np.abs(g) + eps)
        p = p - lr_at(lr, k) * m / (1 - b1 ** (k + 1)) / v
        out.append(p)
    return out


def ref_nadam(p, gs, lr, b1=0.9, b2=0.999, eps=1e-8, eps_root=0.0):
    out, m, v = [], np.zeros_like(p), np.zeros_like(p)
    for k, g in enumerate(gs):
        t = k + 1
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        m_hat = b1 * m / (1 - b1 ** (t + 1)) + (1 - b1) * g / (1 - b1**t)
        v_hat = v / (1 - b2**t)
        p = p - lr_at(lr, k) * m_hat / (np.sqrt(v_hat + eps_root) + eps)
        out.append(p)
    return out


def ref_adabelief(p, gs, lr, b1=0.9, b2=0.999, eps=1e-16, eps_root=1e-16):
    out, m, s = [], np.zeros_like(p), np.zeros_like(p)
    for k, g in enumerate(gs):
        t = k + 1
        m = b1 * m + (1 - b1) * g
        s = b2 * s + (1 - b2) * (g - m) ** 2 + eps_root
        m_hat, s_hat = m / (1 - b1**t), s / (1 - b2**t)
        p = p - lr_at(lr, k) * m_hat / (np.sqrt(s_hat) + eps)
        out.append(p)
    return out


def ref_lion(p, gs, lr, b1=0.9, b2=0.99, weight_decay=1e-3):
    out, m = [], np.zeros_like(p)
    for k, g in enumerate(gs):
        direction = np.sign((1 - b1) * g + b1 * m)
        m = b2 * m + (1 - b2) * g
        p = p - lr_at(lr, k) * (direction + weight_decay * p)
        out.append(p)
    return out


def ref_lamb(p, gs, lr, b1=0.9, b2=0.999, eps=1e-6, weight_decay=0.0):
    out, m, v = [], np.zeros_like(p), np.zeros_like(p)
    for k, g in enumerate(gs):
        t = k + 1
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        u = m / (1 - b1**t) / (np.sqrt(v / (1 - b2**t)) + eps) + weight_decay * p
        p_norm, u_norm = np.linalg.norm(p), np.linalg.norm(u)
        ratio = 1.0 if p_norm == 0 or u_norm == 0 else p_norm / u_norm
        p = p - lr_at(lr, k) * ratio * u
        out.append(p)
    return out


CASES.update(
    {
        "adamax": (
            lambda: optim.adamax(0.01, 0.8, 0.95),
            lambda p, gs: ref_adamax(p, gs, 0.01, 0.8, 0.95),
        ),
        "adamax_schedule": (
            lambda: optim.adamax(SCHEDULE),
            lambda p, gs: ref_adamax(p, gs, SCHEDULE),
        ),
        "nadam": (lambda: optim.nadam(0.01), lambda p, gs: ref_nadam(p, gs, 0.01)),
        "nadam_eps_root": (
            lambda: optim.nadam(0.02, b1=0.7, eps_root=1e-3),
            lambda p, gs: ref_nadam(p, gs, 0.02, b1=0.7, eps_root=1e-3),
        ),
        "adam_nesterov": (
            lambda: optim.adam(0.01, nesterov=True),
            lambda p, gs: ref_nadam(p, gs, 0.01),
        ),
        "adabelief": (lambda: optim.adabelief(0.01), lambda p, gs: ref_adabelief(p, gs, 0.01)),
        "adabelief_eps": (
            lambda: optim.adabelief(0.01, b1=0.5, eps=1e-4, eps_root=1e-6),
            lambda p, gs: ref_adabelief(p, gs, 0.01, b1=0.5, eps=1e-4, eps_root=1e-6),
        ),
        "lion": (lambda: optim.lion(0.003), lambda p, gs: ref_lion(p, gs, 0.003)),
        "lion_decay_schedule": (
            lambda: optim.lion(SCHEDULE, b1=0.5, b2=0.9, weight_decay=0.1),
            lambda p, gs: ref_lion(p, gs, SCHEDULE, 0.5, 0.9, 0.1),
        ),
        "lamb": (lambda: optim.lamb(0.01), lambda p, gs: ref_lamb(p, gs, 0.01)),
        "lamb_decay": (
            lambda: optim.lamb(0.01, weight_decay=0.1, eps=1e-3),
            lambda p, gs: ref_lamb(p, gs, 0.01, eps=1e-3, weight_decay=0.1),
        ),
        "sgd_nesterov_schedule": (
            lambda: optim.sgd(SCHEDULE, momentum=0.8, nesterov=True),
            lambda p, gs: ref_sgd(p, gs, SCHEDULE, 0.8, nesterov=True),
        ),
    }
)


@pytest.mark.parametrize("case", ["adamax", "nadam", "adabelief", "lion", "lamb_decay"])
def test_jitted_update_of_the_new_optimizers_matches_eager(case):
    test_jitted_update_matches_eager(case)


def test_sgd_nesterov_is_optax_trace_with_nesterov():
    # optax: t = g + m t; the update is g + m t (the new t), scaled by -lr.
    g1, g2 = np.array([1.0]), np.array([2.0])
    opt = optim.sgd(0.5, momentum=0.9, nesterov=True)
    u1, state = opt.update({"w": g1}, opt.init({"w": g1}))
    u2, state = opt.update({"w": g2}, state)
    t1 = g1
    t2 = g2 + 0.9 * t1
    np.testing.assert_allclose(u1["w"], -0.5 * (g1 + 0.9 * t1))
    np.testing.assert_allclose(u2["w"], -0.5 * (g2 + 0.9 * t2))
    # momentum=0.0 without nesterov is plain SGD; with nesterov, a trace of decay 0
    assert isinstance(optim.sgd(0.1, momentum=0.0).init(g1)[0], optim.EmptyState)
    assert isinstance(optim.sgd(0.1, nesterov=True).init(g1)[0], optim.TraceState)


def test_lamb_trust_ratio_is_one_where_a_norm_is_zero():
    t = optim.scale_by_trust_ratio()
    zero_params = {"a": np.zeros(2), "b": np.array([3.0, 4.0])}
    out, _ = t.update({"a": np.array([1.0, 2.0]), "b": np.zeros(2)}, t.init(None), zero_params)
    np.testing.assert_array_equal(out["a"], [1.0, 2.0])
    np.testing.assert_array_equal(out["b"], [0.0, 0.0])
    with pytest.raises(ValueError, match=r"needs update\(\.\.\., params\)"):
        t.update({"a": np.ones(1)}, t.init(None))


# ---------------------------------------------------------------- wrappers


def _leafwise(params, grads, refs):
    """The expected trajectory when leaf i follows ``refs[i]`` (None: untouched)."""
    leaves, treedef = fg.tree.flatten(params)
    per_leaf = []
    for i, (p, ref) in enumerate(zip(leaves, refs)):
        gs = [np.float64(fg.tree.leaves(g)[i]) for g in grads]
        per_leaf.append(ref(np.float64(p), gs) if ref else [np.float64(p)] * len(gs))
    return [fg.tree.unflatten(treedef, [t[k] for t in per_leaf]) for k in range(len(grads))]


def _adam_ref(p, gs):
    return ref_adam(p, gs, 0.1)


def _sgd_ref(p, gs):
    return ref_sgd(p, gs, 0.3, 0.5)


# make_params' leaves in order: layers[0], layers[1], w
@pytest.mark.parametrize("callable_mask", [False, True])
def test_masked_applies_inner_to_masked_leaves_only(callable_mask):
    params, grads = make_params(np.float64), make_grads(np.float64)
    mask = {"w": True, "layers": [False, True]}
    opt = optim.masked(optim.adam(0.1), (lambda tree: mask) if callable_mask else mask)
    trajectory, state = run(opt, params, grads)

    # Masked-out leaves: apply_updates adds the raw gradients, untouched by adam.
    def raw(p, gs):
        return list(p + np.cumsum(gs, axis=0))

    expected = _leafwise(params, grads, [raw, _adam_ref, _adam_ref])
    for actual, e in zip(trajectory, expected):
        assert_trees_close(actual, e, np.float64)
    # the inner state holds moments only for the masked leaves
    mu = state.inner_state[0].mu
    assert mu["layers"][0] is None and mu["w"].shape == (3, 2)


def test_masked_errors_name_the_mask():
    opt = optim.masked(optim.adam(0.1), {"w": True})
    with pytest.raises(fg.tree.StructureError, match=r"masked.init: the mask is a dict"):
        opt.init({"w": np.ones(1), "b": np.ones(1)})
    bad = optim.masked(optim.sgd(0.1), {"w": 1})
    with pytest.raises(TypeError, match="mask leaves must be bools"):
        bad.init({"w": np.ones(1)})


def test_multi_transform_gives_each_label_its_optimizer():
    params, grads = make_params(np.float64), make_grads(np.float64)
    labels = {"w": "adam", "layers": ["sgd", "adam"]}
    opt = optim.multi_transform(
        {"adam": optim.adam(0.1), "sgd": optim.sgd(0.3, momentum=0.5)}, labels
    )
    trajectory, state = run(opt, params, grads)
    for actual, e in zip(trajectory, _leafwise(params, grads, [_sgd_ref, _adam_ref, _adam_ref])):
        assert_trees_close(actual, e, np.float64)
    assert set(state.inner_states) == {"adam", "sgd"}
    by_shape = optim.multi_transform(
        {"adam": optim.adam(0.1), "sgd": optim.sgd(0.3, momentum=0.5)},
        lambda tree: fg.tree.map(lambda x: "sgd" if np.ndim(x) == 1 else "adam", tree),
    )
    for a, b in zip(run(by_shape, params, grads)[0], trajectory):
        assert_trees_close(a, b, np.float64)
    with pytest.raises(ValueError, match=r"labels \['other'\] have no transformation"):
        optim.multi_transform(
            {"adam": optim.adam(0.1)}, {"w": "other", "layers": ["adam", "adam"]}
        ).init(params)


def test_multi_transform_under_jit():
    params, grads = make_params(np.float32), make_grads(np.float32)
    opt = optim.multi_transform(
        {"a": optim.adam(0.1), "b": optim.lion(0.01)}, {"w": "a", "layers": ["b", "a"]}
    )

    @fg.jit
    def step(params, state, g):
        updates, state = opt.update(g, state, params)
        return optim.apply_updates(params, updates), state

    p, state = params, opt.init(params)
    for g, expected in zip(grads, run(opt, params, grads)[0]):
        p, state = step(p, state, g)
        assert_trees_close(p, expected, np.float32)
    assert step.cache_info().misses == 1


def ref_multisteps(p, gs, k, inner_ref, mean=True):
    """optax's MultiSteps: the inner optimizer sees the mean (or sum) of each k gradients."""
    groups = [gs[i : i + k] for i in range(0, len(gs) - len(gs) % k, k)]
    merged = [np.mean(g, axis=0) if mean else np.sum(g, axis=0) for g in groups]
    after = inner_ref(p, merged)
    out, current = [], p
    for i in range(len(gs)):
        if (i + 1) % k == 0:
            current = after[(i + 1) // k - 1]
        out.append(current)
    return out


@pytest.mark.parametrize("jit", [False, True])
@pytest.mark.parametrize("mean", [True, False])
def test_multisteps_accumulates_k_gradients(mean, jit):
    params, grads = make_params(np.float64), make_grads(np.float64, steps=7)
    ms = optim.MultiSteps(optim.adam(0.1), every_k_schedule=3, use_grad_mean=mean)
    update = fg.jit(ms.update) if jit else ms.update
    state, p, trajectory, applied = ms.init(params), params, [], []
    for g in grads:
        updates, state = update(g, state, p)
        p = optim.apply_updates(p, updates)
        trajectory.append(p)
        applied.append(bool(ms.has_updated(state)))
    assert applied == [False, False, True, False, False, True, False]
    expected = _leafwise(
        params, grads, [lambda p, gs: ref_multisteps(p, gs, 3, _adam_ref, mean)] * 3
    )
    for actual, e in zip(trajectory, expected):
        assert_trees_close(actual, e, np.float64)
    assert int(state.gradient_step) == 2 and int(state.mini_step) == 1
    gt = ms.gradient_transformation()
    assert isinstance(gt, optim.GradientTransformation)


def test_multisteps_schedule_of_k_and_errors():
    ms = optim.MultiSteps(optim.sgd(1.0), every_k_schedule=lambda step: fnp.where(step < 1, 1, 2))
    state = ms.init({"w": np.zeros(1)})
    got = []
    for g in [1.0, 2.0, 4.0, 8.0, 16.0]:
        u, state = ms.update({"w": np.array([g])}, state)
        got.append(float(u["w"][0]))
    assert got == [-1.0, 0.0, -3.0, 0.0, -12.0]  # k = 1, then means of pairs
    with pytest.raises(ValueError, match="every_k_schedule must be >= 1"):
        optim.MultiSteps(optim.sgd(1.0), 0)


def ref_apply_every(gs, k):
    """optax's apply_every, written out: accumulate, emit the sum every k steps."""
    out, acc = [], np.zeros_like(gs[0])
    for i, g in enumerate(gs):
        c = i % k
        acc = (acc if c != 0 else 0) + g
        out.append(acc if c == k - 1 else np.zeros_like(g))
    return out


@pytest.mark.parametrize("k", [1, 2, 3])
def test_apply_every(k):
    grads = make_grads(np.float64, steps=7)
    opt = optim.chain(optim.sgd(0.1), optim.apply_every(k))
    state = opt.init(grads[0])
    leaves = list(zip(*(fg.tree.leaves(g) for g in grads)))
    expected = [ref_apply_every([-0.1 * g for g in leaf], k) for leaf in leaves]
    for step, g in enumerate(grads):
        updates, state = opt.update(g, state)
        for j, u in enumerate(fg.tree.leaves(updates)):
            np.testing.assert_allclose(u, expected[j][step], rtol=1e-12)
    assert int(state[1].count) == 7 % k


def test_inject_hyperparams_matches_the_plain_optimizer_and_can_be_changed():
    params, grads = make_params(np.float64), make_grads(np.float64)
    injected = optim.inject_hyperparams(optim.adam)(learning_rate=SCHEDULE, b1=0.8)
    plain = optim.adam(SCHEDULE, b1=0.8)
    for a, b in zip(run(injected, params, grads)[0], run(plain, params, grads)[0]):
        assert_trees_close(a, b, np.float64)
    state = injected.init(params)
    assert float(state.hyperparams["learning_rate"]) == float(SCHEDULE(0))
    assert state.hyperparams["b1"].dtype == np.float64 and float(state.hyperparams["b1"]) == 0.8
    # A numeric hyperparameter in the state can be replaced between steps.
    opt = optim.inject_hyperparams(optim.sgd)(learning_rate=0.1)
    state = opt.init({"w": np.zeros(1)})
    state.hyperparams["learning_rate"] = np.asarray(0.5)
    updates, state = opt.update({"w": np.ones(1)}, state)
    np.testing.assert_allclose(updates["w"], [-0.5])


def test_inject_hyperparams_under_jit_with_momentum_and_float32():
    params, grads = make_params(np.float32), make_grads(np.float32)
    opt = optim.inject_hyperparams(optim.sgd)(learning_rate=SCHEDULE, momentum=0.9)
    state = opt.init(params)
    assert state.hyperparams["momentum"].dtype == np.float32

    @fg.jit
    def step(params, state, g):
        updates, state = opt.update(g, state, params)
        return optim.apply_updates(params, updates), state

    p = params
    expected = run(optim.sgd(SCHEDULE, momentum=0.9), params, grads)[0]
    for g, e in zip(grads, expected):
        p, state = step(p, state, g)
        assert_trees_close(p, e, np.float32)
    assert step.cache_info().misses == 1 and int(state.count) == STEPS
    with pytest.raises(ValueError, match="static_args"):
        optim.inject_hyperparams(optim.sgd, static_args=("nope",))


# ---------------------------------------------------------------- more schedules


@settings(deadline=None)
@given(
    init=st.floats(0.01, 10),
    end=st.floats(0, 5),
    power=st.floats(0.5, 3),
    steps=st.integers(1, 50),
    begin=st.integers(0, 10),
    count=counts,
)
def test_polynomial_schedule(init, end, power, steps, begin, count):
    done = min(max(count - begin, 0), steps) / steps
    expected = (init - end) * (1 - done) ** power + end
    got = float(optim.polynomial_schedule(init, end, power, steps, begin)(count))
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-12)
    assert optim.polynomial is optim.polynomial_schedule


def _optax_piecewise_interpolate(kind, init, table, count):
    """optax's piecewise_interpolate_schedule as published: indicator . interpolations."""
    bounds = np.array([0] + sorted(table), np.float64)
    values = np.cumprod([init] + [table[b] for b in sorted(table)])
    sizes = bounds[1:] - bounds[:-1]
    indicator = (bounds[:-1] <= count) & (count < bounds[1:])
    pct = (count - bounds[:-1]) / sizes  # all sizes > 0 here: the boundaries are distinct
    if kind == "linear":
        interp = values[:-1] + (values[1:] - values[:-1]) * pct
    else:
        interp = values[1:] + (values[:-1] - values[1:]) / 2 * (np.cos(np.pi * pct) + 1)
    return float(indicator @ interp + (bounds[-1] <= count) * values[-1])


@given(
    kind=st.sampled_from(["linear", "cosine"]),
    init=st.floats(0.01, 10),
    table=st.dictionaries(st.integers(1, 100), st.floats(0, 3), min_size=1, max_size=4),
    count=counts,
)
def test_piecewise_interpolate_schedule(kind, init, table, count):
    expected = _optax_piecewise_interpolate(kind, init, table, count)
    got = float(optim.piecewise_interpolate_schedule(kind, init, table)(count))
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-12)


@given(
    steps=st.integers(4, 200),
    peak=st.floats(0.01, 10),
    pct=st.floats(0.25, 0.9),  # a rising segment of at least one step
    div=st.floats(1.5, 100),
    final=st.floats(1.5, 1e4),
    count=counts,
)
def test_cosine_onecycle_schedule(steps, peak, pct, div, final, count):
    table = {int(pct * steps): div, steps: 1 / (div * final)}
    expected = _optax_piecewise_interpolate("cosine", peak / div, table, count)
    got = float(optim.cosine_onecycle_schedule(steps, peak, pct, div, final)(count))
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-12)
    assert optim.onecycle is optim.cosine_onecycle_schedule


def test_onecycle_peaks_and_ends_where_it_says():
    schedule = optim.cosine_onecycle_schedule(
        100, 2.0, pct_start=0.25, div_factor=10, final_div_factor=100
    )
    values = np.array([float(schedule(k)) for k in range(120)])
    assert (
        values[0] == pytest.approx(0.2)
        and values.argmax() == 25
        and values[25] == pytest.approx(2.0)
    )
    assert values[100] == pytest.approx(0.2 / 100) and np.all(values[100:] == values[100])
    linear = optim.linear_onecycle_schedule(100, 1.0, 0.3, 0.85, 25.0, 1e4)
    assert float(linear(30)) == pytest.approx(1.0) and float(linear(85)) == pytest.approx(0.04)
    with pytest.raises(ValueError, match="transition_steps must be > 0"):
        optim.cosine_onecycle_schedule(0, 1.0)


@given(
    init=st.floats(0, 1),
    peak=st.floats(0.1, 10),
    warmup=st.integers(0, 20),
    steps=st.integers(1, 20),
    rate=st.floats(0.1, 0.99),
    staircase=st.booleans(),
    begin=st.integers(0, 5),
    count=counts,
)
def test_warmup_exponential_decay_schedule(
    init, peak, warmup, steps, rate, staircase, begin, count
):
    if count < warmup:
        expected = init + (peak - init) * count / warmup
    else:
        p = max(count - warmup - begin, 0) / steps
        expected = peak * rate ** (math.floor(p) if staircase else p)
    schedule = optim.warmup_exponential_decay_schedule(
        init, peak, warmup, steps, rate, transition_begin=begin, staircase=staircase
    )
    assert float(schedule(count)) == pytest.approx(expected, rel=1e-12, abs=1e-12)
    assert optim.warmup_exponential_decay is optim.warmup_exponential_decay_schedule


def test_join_schedules():
    schedule = optim.join_schedules(
        [
            optim.constant_schedule(3.0),
            optim.linear_schedule(1.0, 0.0, 4),
            optim.constant_schedule(7.0),
        ],
        [2, 5],
    )
    assert [float(schedule(k)) for k in range(8)] == [3.0, 3.0, 1.0, 0.75, 0.5, 7.0, 7.0, 7.0]
    with pytest.raises(ValueError, match="one boundary fewer than schedules"):
        optim.join_schedules([optim.constant_schedule(1.0)], [3])


@pytest.mark.parametrize(
    "schedule",
    [
        optim.polynomial_schedule(1.0, 0.1, 2.0, 10, 2),
        optim.cosine_onecycle_schedule(10, 1.0),
        optim.linear_onecycle_schedule(10, 1.0),
        optim.warmup_exponential_decay_schedule(0.0, 1.0, 3, 2, 0.5, staircase=True),
        optim.join_schedules(
            [optim.constant_schedule(1.0), optim.cosine_decay_schedule(1.0, 5)], [4]
        ),
    ],
)
def test_new_schedules_jit_with_a_traced_count(schedule):
    test_schedules_trace_and_jit_with_a_traced_count(schedule)

"""The types of the values funcgrad hands back: an eager ``funcgrad.numpy`` call returns
the type NumPy's returns for the same call (a NumPy scalar where NumPy gives one, a 0-d
array where NumPy keeps one), and every transformation returns its 0-d outputs as NumPy
scalars, so ``round``, ``hash``, ``float``, format specs and ``json`` work on a loss."""

import json
import math
import warnings

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp

rng = np.random.default_rng(0)
A = rng.standard_normal((3, 3))
SPD = A @ A.T + 3 * np.eye(3)
V = np.array([0.25, 0.5, 0.75])
W = np.array([0.5, -1.0, 2.0])
I3 = np.array([3, 1, 2])


def _ufunc_cases():
    """Every NumPy ufunc funcgrad has, on 0-d arrays, NumPy scalars and Python numbers."""
    cases = []
    for name in sorted(n for n in dir(fnp) if isinstance(getattr(np, n, None), np.ufunc)):
        ufunc = getattr(np, name)
        if ufunc.signature:  # (matmul, vecdot...: with the products)
            continue
        floats = any(t.startswith(ufunc.nin * "d") for t in ufunc.types)
        kinds = (
            [np.asarray(0.5), np.float32(0.5), 0.5, np.asarray(3)] if floats else [np.asarray(3), 3]
        )
        second = [np.asarray(0.25) if floats else np.asarray(2), 2]
        for x in kinds:
            args = (x,) if ufunc.nin == 1 else (x, second[len(cases) % 2])
            cases.append((name, args, {}))
    return cases


def _reduction_cases():
    names = """sum prod mean std var max min amax amin argmax argmin all any ptp median average
    nansum nanmean nanstd nanvar nanmax nanmin nanprod nanargmax nanargmin nanmedian
    count_nonzero cumsum cumprod""".split()
    cases = []
    for name in names:
        cases += [(name, (V,), {}), (name, (SPD,), {}), (name, (np.asarray(2.0),), {})]
        cases += [(name, (np.float32(2.0),), {}), (name, (V,), {"axis": 0})]
        if name not in ("cumsum", "cumprod", "median", "nanmedian", "average"):
            cases.append((name, (V,), {"keepdims": True}))
    return cases


CASES = (
    _ufunc_cases()
    + _reduction_cases()
    + [
        # order statistics, searching, counting
        ("quantile", (V, 0.5), {}),
        ("percentile", (V, 50), {}),
        ("nanquantile", (V, 0.5), {}),
        ("nanpercentile", (V, [50]), {}),
        ("searchsorted", (V, 0.5), {}),
        ("searchsorted", (V, [0.5]), {}),
        ("digitize", (0.5, V), {}),
        ("interp", (0.5, V, W), {}),
        ("trapezoid", (V,), {}),
        ("take", (V, 1), {}),
        ("take", (V, [1]), {}),
        ("take", (SPD, 4), {}),
        ("trace", (SPD,), {}),
        ("unstack", (V,), {}),
        ("isclose", (0.5, 0.5), {}),
        ("allclose", (V, V), {}),
        ("array_equal", (V, V), {}),
        # elementwise functions that are not ufuncs in NumPy
        ("clip", (np.asarray(0.5), 0, 1), {}),
        ("clip", (0.5, 0, 1), {}),
        ("round", (np.asarray(1.25),), {"decimals": 1}),
        ("around", (1.25,), {}),
        ("fix", (np.asarray(-1.5),), {}),
        ("nan_to_num", (np.asarray(np.nan),), {}),
        ("sinc", (0.5,), {}),
        ("angle", (np.asarray(-1.0),), {}),
        ("real", (np.asarray(0.5),), {}),
        ("real", (np.float32(0.5),), {}),
        ("real", (0.5,), {}),
        ("real", (3,), {}),
        ("imag", (0.5,), {}),
        ("imag", (np.float64(0.5),), {}),
        ("imag", (np.asarray(0.5),), {}),
        ("isreal", (0.5,), {}),
        ("isreal", (np.asarray(0.5),), {}),
        ("iscomplex", (np.float64(0.5),), {}),
        ("flip", (np.asarray(0.5),), {}),
        ("modf", (np.asarray(2.5),), {}),
        ("frexp", (8.0,), {}),
        ("divmod", (np.asarray(7.0), 2), {}),
        # products
        ("dot", (V, W), {}),
        ("dot", (np.asarray(2.0), 3.0), {}),
        ("vdot", (V, W), {}),
        ("inner", (V, W), {}),
        ("matmul", (V, W), {}),
        ("vecdot", (V, W), {}),
        ("einsum", ("i,i", V, W), {}),
        ("einsum", ("ij->", SPD), {}),
        ("einsum", ("ii", SPD), {}),
        ("kron", (np.asarray(2.0), 3.0), {}),
        ("outer", (V, W), {}),
        ("tensordot", (V, W, 1), {}),
        ("cross", (V[:2], W[:2]), {}),
        # constructors, copies, broadcasts and views: NumPy keeps 0-d arrays
        ("asarray", (1.0,), {}),
        ("asarray", (np.float32(1.0),), {}),
        ("array", (2,), {}),
        ("asanyarray", (2.0,), {}),
        ("ascontiguousarray", (np.float64(2.0),), {}),
        ("copy", (np.float64(1.0),), {}),
        ("zeros", ((),), {}),
        ("ones", ((),), {}),
        ("full", ((), 3.0), {}),
        ("zeros_like", (np.float64(1.0),), {}),
        ("ones_like", (2.0,), {}),
        ("full_like", (np.asarray(1.0), 7), {}),
        ("broadcast_to", (1.0, ()), {}),
        ("broadcast_arrays", (np.asarray(1.0), 2.0), {}),
        ("where", (True, 1.0, 2.0), {}),
        ("where", (np.asarray(False), np.float32(1.0), np.float32(2.0)), {}),
        ("select", ([True], [1.0]), {}),
        ("roll", (np.asarray(1.0), 1), {}),
        ("tile", (np.float64(1.0), ()), {}),
        ("resize", (np.float64(1.0), ()), {}),
        ("cov", (V,), {}),
        ("corrcoef", (V,), {}),
        ("isin", (2, I3), {}),
        ("real_if_close", (np.asarray(0.5),), {}),
        # functions that call the argument's method in NumPy: as the argument
        ("reshape", (np.ones(1), ()), {}),
        ("reshape", (np.float64(1.0), ()), {}),
        ("reshape", (1.0, ()), {}),
        ("squeeze", (np.ones((1, 1)),), {}),
        ("squeeze", (np.float32(1.0),), {}),
        ("squeeze", (np.asarray(1.0),), {}),
        ("transpose", (np.float64(1.0),), {}),
        ("transpose", (np.asarray(1.0),), {}),
        ("moveaxis", (np.float64(1.0), [], []), {}),
        ("astype", (np.float64(1.0), np.float32), {}),
        ("astype", (np.asarray(1.0), np.float32), {}),
        ("permute_dims", (np.float64(1.0), ()), {}),
        # indexing: a NumPy scalar, but a 0-d array past an Ellipsis
        ("getitem", (V, 1), {}),
        ("getitem", (SPD, (0, 1)), {}),
        ("getitem", (V, np.asarray(2)), {}),
        ("getitem", (V, (Ellipsis, 0)), {}),
        ("getitem", (np.asarray(1.0), ()), {}),
        ("getitem", (np.asarray(1.0), Ellipsis), {}),
        ("getitem", (SPD, (np.array([0, 1]), 1)), {}),
        # functions of functions
        ("apply_along_axis", (np.sum, 0, V), {}),
        ("apply_over_axes", (np.sum, V, [0]), {}),
        # host-only functions: NumPy's own results
        ("unique", (np.asarray(2.0),), {"return_inverse": True}),
        # shapes and dtypes
        ("shape", (np.asarray(1.0),), {}),
        ("ndim", (V,), {}),
        ("size", (SPD,), {}),
        ("result_type", (V, 1.0), {}),
    ]
)

LINALG_CASES = [
    ("det", (SPD,), {}),
    ("slogdet", (SPD,), {}),
    ("norm", (V,), {}),
    ("norm", (SPD,), {"ord": "fro"}),
    ("norm", (SPD,), {"ord": 2}),
    ("vector_norm", (V,), {}),
    ("matrix_norm", (SPD,), {}),
    ("cond", (SPD,), {}),
    ("matrix_rank", (SPD,), {}),
    ("matrix_rank", (V,), {}),
    ("trace", (SPD,), {}),
    ("vecdot", (V, W), {}),
    ("matmul", (V, W), {}),
    ("multi_dot", ([V, SPD, W],), {}),
    ("lstsq", (SPD, V), {}),
    ("tensorsolve", (np.asarray(2.0), np.asarray(4.0)), {}),
    ("tensordot", (V, W), {"axes": 1}),
]


def _types(x):
    """The types of ``x``, and of its parts when it is a tuple or a list (by class name:
    funcgrad's SlogdetResult is its own class)."""
    if isinstance(x, (tuple, list)):
        return (type(x).__name__, tuple(_types(i) for i in x))
    return type(x)


def _same_values(actual, expected):
    if isinstance(expected, (tuple, list)):
        for a, e in zip(actual, expected):
            _same_values(a, e)
    elif isinstance(expected, (np.ndarray, np.generic, int, float, bool)):
        rtol = 1e-6 if np.asarray(expected).dtype == np.float32 else 1e-12
        np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), rtol=rtol)
    else:
        assert actual == expected


def _check(fnp_module, np_module, name, args, kwargs):
    with warnings.catch_warnings():  # (2-vector cross products: deprecated by NumPy 2)
        warnings.simplefilter("ignore", DeprecationWarning)
        if name == "getitem":  # (NumPy's is the operator)
            expected = args[0][args[1]]
        else:
            expected = getattr(np_module, name)(*args, **kwargs)
        actual = getattr(fnp_module, name)(*args, **kwargs)
    assert _types(actual) == _types(expected), (name, args)
    _same_values(actual, expected)


def _id(case):
    name, args, kwargs = case
    shown = ",".join(
        type(a).__name__ + ("0d" if isinstance(a, np.ndarray) and a.ndim == 0 else "") for a in args
    )
    return f"{name}({shown}{',' + ','.join(kwargs) if kwargs else ''})"


@pytest.mark.parametrize("name, args, kwargs", CASES, ids=[_id(c) for c in CASES])
def test_eager_result_has_numpys_type(name, args, kwargs):
    _check(fnp, np, name, args, kwargs)


@pytest.mark.parametrize("name, args, kwargs", LINALG_CASES, ids=[_id(c) for c in LINALG_CASES])
def test_eager_linalg_result_has_numpys_type(name, args, kwargs):
    _check(fnp.linalg, np.linalg, name, args, kwargs)


@pytest.mark.parametrize(
    "method, args",
    [
        ("reduce", (V,)),
        ("reduce", (SPD,)),
        ("outer", (np.asarray(2.0), 3.0)),
        ("accumulate", (V,)),
    ],
)
@pytest.mark.parametrize("ufunc", ["add", "multiply", "maximum", "subtract", "logaddexp"])
def test_ufunc_methods_have_numpys_type(ufunc, method, args):
    expected = getattr(getattr(np, ufunc), method)(*args)
    actual = getattr(getattr(fnp, ufunc), method)(*args)
    assert type(actual) is type(expected)
    _same_values(actual, expected)


def test_an_argument_passed_by_keyword_decides_as_one_passed_by_position():
    assert type(fnp.squeeze(a=np.float32(1.0))) is type(np.squeeze(a=np.float32(1.0)))
    assert type(fnp.reshape(a=np.float64(1.0), shape=())) is np.float64
    assert type(fnp.transpose(a=np.asarray(1.0))) is type(np.transpose(a=np.asarray(1.0)))


def test_the_issues_examples():
    assert round(fnp.sum(np.ones(3))) == 3
    assert hash(fnp.mean(np.arange(4.0))) == hash(1.5)
    assert json.dumps(fnp.mean(np.arange(4.0))) == "1.5"
    assert isinstance(fnp.std(np.arange(4.0)), float)
    assert type(fnp.asarray(1.0)) is np.ndarray and type(fnp.zeros(())) is np.ndarray


def test_aliases_stay_one_function():
    assert fnp.row_stack is fnp.vstack and fnp.acos is fnp.arccos and fnp.pow is fnp.power


# ---------------------------------------------------------------- transformations


def _loss(w, x):
    return fnp.mean((x @ w - 1.0) ** 2)


X32 = rng.standard_normal((5, 3)).astype(np.float32)
W32 = np.ones(3, np.float32)


def _transform_outputs(dtype):
    """Each transformation's 0-d outputs, at ``dtype``."""
    w, x = W32.astype(dtype), X32.astype(dtype)
    s = dtype(0.5)
    value, g = fg.value_and_grad(_loss)(w, x)
    (aux_value, aux), _ = fg.value_and_grad(lambda w: (_loss(w, x), fnp.sum(w)), has_aux=True)(w)
    out, vjp_fn = fg.vjp(fnp.sin, s)

    @fg.custom_vjp
    def softplus(t):
        return fnp.logaddexp(t, 0.0)

    softplus.defvjp(lambda t: (softplus(t), t), lambda t, g: (g / (1.0 + fnp.exp(-t)),))

    @fg.custom_jvp
    def cube(t):
        return t**3

    cube.defjvp(lambda p, t: (cube(p[0]), 3 * p[0] ** 2 * t[0]))
    return {
        "value_and_grad": value,
        "value_and_grad(has_aux) value": aux_value,
        "value_and_grad(has_aux) aux": aux,
        "grad": fg.grad(lambda t: fnp.sin(t) * t)(s),
        "jit": fg.jit(_loss)(w, x),
        "jit(value_and_grad)": fg.jit(fg.value_and_grad(_loss))(w, x)[0],
        "jit(zeros(()))": fg.jit(lambda w: fnp.zeros((), w.dtype) + fnp.sum(w))(w),
        "vmap(out_axes=None)": fg.vmap(lambda r: fnp.sum(w), out_axes=None)(x),
        "vjp out": out,
        "vjp_fn": vjp_fn(dtype(1.0))[0],
        "jvp": fg.jvp(fnp.exp, (s,), (dtype(1.0),))[1],
        "jacfwd": fg.jacfwd(fnp.sin)(s),
        "jacrev": fg.jacrev(fnp.sin)(s),
        "hessian": fg.hessian(lambda t: t**3)(s),
        "elementwise_grad": fg.elementwise_grad(fnp.tanh)(s),
        "hessian_vector_product": fg.hessian_vector_product(lambda t: t**3)(s, dtype(1.0)),
        "custom_vjp": softplus(s),
        "grad(custom_vjp)": fg.grad(softplus)(s),
        "custom_jvp": cube(s),
        "grad(custom_jvp)": fg.grad(cube)(s),
        "checkpoint": fg.checkpoint(lambda w: _loss(w, x))(w),
        "grad(checkpoint)": fg.grad(fg.checkpoint(fnp.sin))(s),
    }


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_transformations_hand_back_0d_outputs_as_numpy_scalars(dtype):
    for where, value in _transform_outputs(dtype).items():
        assert type(value) is dtype, (where, type(value))
        assert round(value, 3) == round(float(value), 3), where
        assert hash(value) == hash(float(value)), where
        assert json.loads(json.dumps(float(value))) == float(value), where
        assert f"{value:.3f}" == f"{float(value):.3f}", where
        assert value.shape == () and value.dtype == dtype and value.item() == float(value)
        assert isinstance(value, float) == (dtype is np.float64), where


def test_transformations_keep_arrays_and_integers():
    g = fg.grad(_loss)(W32, X32)
    assert type(g) is np.ndarray and g.shape == (3,) and g.flags.writeable
    index = fg.jit(fnp.argmax)(np.array([1.0, 3.0, 2.0]))
    assert type(index) is np.int64 and index == 1
    assert type(fg.jit(lambda x: x > 0)(1.0)) is np.bool_
    jac = fg.jacfwd(fnp.sin)(np.zeros(2))
    assert type(jac) is np.ndarray and jac.shape == (2, 2)


def test_a_scalar_output_fed_back_to_jit_reuses_its_signature():
    step = fg.jit(lambda s, x: (s + fnp.sum(x), x * 2.0))
    s, x = step(np.asarray(0.0), np.ones(2))
    assert type(s) is np.float64
    for _ in range(3):
        s, x = step(s, x)
    assert step.cache_info().misses == 1 and s == 2 + 4 + 8 + 16


def test_nested_transformations_differentiate_through_0d_results():
    # grad of a jitted loss, and a loss built on eagerly computed 0-d values
    scale = fnp.sum(np.ones(3))  # a NumPy scalar, closed over
    g = fg.grad(lambda t: fg.jit(lambda u: fnp.sin(u) * scale)(t))(0.0)
    assert type(g) is np.float64 and math.isclose(g, 3.0)
    second = fg.grad(fg.grad(lambda t: t**3))(2.0)
    assert type(second) is np.float64 and second == 12.0


def test_random_draws_of_shape_0d_are_numpy_scalars():
    key = fg.random.key(0)
    draws = [
        (fg.random.normal(key), np.float32),
        (fg.random.normal(key, (), np.float64), np.float64),
        (fg.random.uniform(key), np.float32),
        (fg.random.uniform(key, minval=-1.0, maxval=2.0), np.float32),
        (fg.random.bernoulli(key), np.bool_),
        (fg.random.randint(key, (), 0, 9), np.int32),
        (fg.random.choice(key, 5), np.int64),
        (fg.random.choice(key, np.arange(5.0)), np.float64),
        (fg.jit(fg.random.normal)(key), np.float32),
    ]
    for draw, dtype in draws:
        assert type(draw) is dtype, (type(draw), dtype)
    assert type(fg.random.normal(key, (2,))) is np.ndarray

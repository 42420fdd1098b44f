"""funcgrad.numpy against NumPy's own list of names: every public NumPy function is
provided or its absence is explained (funcgrad/numpy/_missing.py), and the small
families that only wrap NumPy (sets, windows, index generators) return what it does."""

import inspect

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.errors import ConcretizationError
from funcgrad.numpy._missing import NOT_PROVIDED


def _public_functions(module):
    for name in dir(module):
        obj = getattr(module, name)
        if name.startswith("_") or inspect.ismodule(obj) or isinstance(obj, type):
            continue
        if callable(obj):
            yield name


def _provided(module, name):
    try:
        getattr(module, name)
    except AttributeError:
        return False
    return True


def test_every_public_numpy_function_is_provided_or_explained():
    lacking = [n for n in _public_functions(np) if not _provided(fnp, n) and n not in NOT_PROVIDED]
    assert lacking == [], f"funcgrad.numpy lacks, without a reason in _missing.py: {lacking}"


def test_every_numpy_linalg_function_is_provided_or_explained():
    lacking = []
    for name in _public_functions(np.linalg):
        try:
            getattr(fnp.linalg, name)
        except AttributeError as e:
            if ":" not in str(e):  # (a reason follows a colon)
                lacking.append(name)
    assert lacking == [], f"funcgrad.numpy.linalg lacks, without a reason: {lacking}"


@pytest.mark.parametrize(
    "name, args, kwargs",
    [
        ("cross", (np.arange(12.0).reshape(4, 3), np.ones((4, 3))), {}),
        ("cross", (np.arange(12.0).reshape(3, 4), np.ones((3, 4))), {"axis": 0}),
        ("diagonal", (np.arange(24).reshape(2, 3, 4),), {"offset": 1}),
        ("outer", (np.arange(3.0), np.arange(2.0)), {}),
        ("tensordot", (np.ones((2, 3)), np.ones((3, 4))), {"axes": 1}),
        ("trace", (np.arange(24).reshape(2, 3, 4),), {"offset": -1}),
        ("vecdot", (np.arange(6.0).reshape(2, 3), np.ones((2, 3))), {"axis": 0}),
    ],
)
def test_linalg_array_api_names_match_numpy(name, args, kwargs):
    expected = getattr(np.linalg, name)(*args, **kwargs)
    for got in (
        getattr(fnp.linalg, name)(*args, **kwargs),
        fg.jit(lambda *a: getattr(fnp.linalg, name)(*a, **kwargs))(*args),
    ):
        assert got.dtype == expected.dtype and got.shape == expected.shape
        np.testing.assert_allclose(got, expected)


@pytest.mark.parametrize(
    "name, args",
    [
        ("cross", (np.ones(2), np.ones(2))),
        ("outer", (np.ones((2, 2)), np.ones(2))),
        ("trace", (np.ones(3),)),
        ("diagonal", (np.ones(3),)),
    ],
)
def test_linalg_array_api_names_refuse_what_numpy_refuses(name, args):
    with pytest.raises(ValueError):
        getattr(np.linalg, name)(*args)
    with pytest.raises(ValueError, match="test_numpy_coverage"):
        getattr(fnp.linalg, name)(*args)


def test_no_name_is_exported_by_two_families():
    # (fnp star-imports its modules: a second definition would silently replace the first)
    import importlib
    import pkgutil

    owners = {}
    for info in pkgutil.iter_modules(fnp.__path__):
        module = importlib.import_module(f"funcgrad.numpy.{info.name}")
        for name in getattr(module, "__all__", []) if info.name != "linalg" else []:
            owners.setdefault(name, []).append(info.name)
    twice = {name: mods for name, mods in owners.items() if len(mods) > 1}
    assert twice == {}


def test_the_reasons_name_only_what_numpy_has_and_funcgrad_lacks():
    provided = [n for n in NOT_PROVIDED if _provided(fnp, n)]
    assert provided == [], f"listed as missing but provided: {provided}"
    unknown = [n for n in NOT_PROVIDED if not hasattr(np, n)]
    assert unknown == [], f"not NumPy names: {unknown}"


# ---------------------------------------------------------------- sets


@pytest.mark.parametrize("test", [[2, 7, 7, 9], [], [np.nan, 1.0], [2.5]], ids=str)
@pytest.mark.parametrize("invert", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.int64])
def test_isin_matches_numpy_eagerly_and_under_jit(dtype, invert, test):
    x = np.array([[1, 2, 3], [2, 0, 7]], dtype)
    if dtype == np.float32:
        x[0, 0] = np.nan
    expected = np.isin(x, test, invert=invert)
    np.testing.assert_array_equal(fnp.isin(x, test, invert=invert), expected)
    np.testing.assert_array_equal(fg.jit(lambda x: fnp.isin(x, test, invert=invert))(x), expected)
    np.testing.assert_array_equal(fnp.isin(x[:0], test), np.isin(x[:0], test))


@pytest.mark.parametrize("name", ["intersect1d", "union1d", "setdiff1d", "setxor1d"])
def test_set_operations_match_numpy_and_refuse_traced_values(name):
    a, b = np.array([3.0, 1.0, 2.0, 1.0]), np.array([2.0, 5.0])
    np.testing.assert_array_equal(getattr(fnp, name)(a, b), getattr(np, name)(a, b))
    with pytest.raises(ConcretizationError, match=f"{name}.*test_numpy_coverage"):
        fg.jit(lambda a: getattr(fnp, name)(a, b))(a)


# ---------------------------------------------------------------- windows and indices


@pytest.mark.parametrize("name", ["bartlett", "blackman", "hamming", "hanning"])
@pytest.mark.parametrize("m", [0, 1, 5])
def test_windows_are_numpys(name, m):
    np.testing.assert_array_equal(getattr(fnp, name)(m), getattr(np, name)(m))


@pytest.mark.parametrize("name", ["tril_indices_from", "triu_indices_from"])
@pytest.mark.parametrize("shape, k", [((3, 3), 0), ((2, 4), 1), ((4, 2), -1)])
def test_triangle_indices_from_an_array_or_a_tracer_match_numpy(name, shape, k):
    x = np.arange(float(np.prod(shape))).reshape(shape)
    expected = x[getattr(np, name)(x, k)]
    np.testing.assert_array_equal(x[getattr(fnp, name)(x, k)], expected)
    np.testing.assert_array_equal(fg.jit(lambda x: x[getattr(fnp, name)(x, k)])(x), expected)
    with pytest.raises(ValueError, match="2-d"):
        getattr(fnp, name)(np.zeros(3))


def test_diag_indices_from_checks_the_array_is_square():
    for g, e in zip(
        fnp.diag_indices_from(np.zeros((3, 3, 3))), np.diag_indices_from(np.zeros((3,) * 3))
    ):
        np.testing.assert_array_equal(g, e)
    with pytest.raises(ValueError, match="must be equal"):
        fnp.diag_indices_from(np.zeros((2, 3)))


# NumPy parameters funcgrad.numpy does not take, with the reason: keyword calls written for
# NumPy fail on these alone.
NOT_TAKEN = {
    "out": "arrays are immutable: results are returned, never written into an argument",
    "subok": "funcgrad has no array subclasses",
    "like": "no __array_function__ dispatch to other array types",
    "device": "CPU only",
}
# ufuncs' machinery (where= masks, casting rules, gufunc axes): funcgrad's ufunc-named
# functions are plain functions of their operands.
UFUNC_KEYWORDS = {"out", "where", "casting", "order", "dtype", "subok", "signature"}
UFUNC_KEYWORDS |= {"axes", "axis", "keepdims"}
NOT_TAKEN_BY = {
    ("array", "ndmax"): "new in NumPy 2.4, not yet",
    ("astype", "copy"): "a copy of an immutable array is never observable",
    **{(f"nan{n}", "initial"): "not yet" for n in ("max", "min", "prod", "sum")},
    **{
        (f"nan{n}", "where"): "not yet" for n in ("max", "min", "prod", "sum", "mean", "std", "var")
    },
    **{(f"nan{n}", k): "not yet" for n in ("std", "var") for k in ("mean", "correction")},
}


def _signatures(np_module, fg_module):
    for name in _public_functions(np_module):
        ours = getattr(fg_module, name, None)
        if ours is None:
            continue
        try:
            theirs = inspect.signature(getattr(np_module, name)).parameters
            mine = inspect.signature(ours).parameters
        except (TypeError, ValueError):  # (a NumPy builtin without a signature)
            continue
        if not any(p.kind == p.VAR_KEYWORD for p in mine.values()):  # (forwards to NumPy)
            yield name, isinstance(getattr(np_module, name), np.ufunc), theirs, mine


def _by_keyword(params):
    return [n for n, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


@pytest.mark.parametrize("np_module, fg_module", [(np, fnp), (np.linalg, fnp.linalg)])
def test_parameters_are_named_as_numpys(np_module, fg_module):
    # Every parameter NumPy lets a caller name (np.transpose(a=x), np.broadcast_to(array=x))
    # is one funcgrad's function takes by that name, in the same position.
    wrong = []
    for name, ufunc, theirs, mine in _signatures(np_module, fg_module):
        positional = [n for n, p in mine.items() if p.kind != p.KEYWORD_ONLY]
        for i, (n, p) in enumerate(theirs.items()):
            if p.kind == p.VAR_POSITIONAL:
                break
            if p.kind == p.POSITIONAL_OR_KEYWORD and i < len(positional) and positional[i] != n:
                wrong.append(f"{name}: parameter {i} is {positional[i]!r}, NumPy's is {n!r}")
        for n in _by_keyword(theirs):
            if n in mine or n in NOT_TAKEN or (name, n) in NOT_TAKEN_BY:
                continue
            if not (ufunc and n in UFUNC_KEYWORDS):
                wrong.append(f"{name}: no parameter {n!r}")
    assert wrong == []


def test_the_exceptions_name_only_parameters_numpy_has_and_funcgrad_lacks():
    for (name, n), _ in NOT_TAKEN_BY.items():
        assert n in inspect.signature(getattr(np, name)).parameters
        assert n not in inspect.signature(getattr(fnp, name)).parameters


def test_shape_functions_take_numpys_keywords():
    x = np.arange(6.0).reshape(2, 3)
    for name, kwargs in [
        ("transpose", {"a": x}),
        ("swapaxes", {"a": x, "axis1": 0, "axis2": 1}),
        ("moveaxis", {"a": x, "source": 0, "destination": 1}),
        ("expand_dims", {"a": x, "axis": 0}),
        ("squeeze", {"a": x[:1]}),
        ("broadcast_to", {"array": x[0], "shape": (4, 3)}),
        ("asarray", {"a": x, "dtype": np.float32}),
        ("shape", {"a": x}),
        ("ndim", {"a": x}),
        ("size", {"a": x, "axis": 1}),
    ]:
        expected = getattr(np, name)(**kwargs)
        np.testing.assert_array_equal(getattr(fnp, name)(**kwargs), expected)
        if name not in ("shape", "ndim", "size", "asarray"):
            traced = fg.jit(
                lambda v, name=name, kwargs=kwargs: getattr(fnp, name)(
                    **{**kwargs, next(iter(kwargs)): v}
                )
            )
            np.testing.assert_array_equal(traced(next(iter(kwargs.values()))), expected)

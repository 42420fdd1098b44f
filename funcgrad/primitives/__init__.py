"""The primitive registry: one record per primitive, declared in one place.

Each record (:class:`~funcgrad.core.Primitive`) holds the shape/dtype rule, the NumPy
reference implementation, the VJP rules (one per argument, written with primitives, so
backward graphs are graphs and ``grad(grad(f))`` needs nothing extra), the JVP rule, the
batching rule, its traits, and what the compiler may lower it to. Everything else in
funcgrad (mean, losses, layers) is composed from these.

A kind of primitive has a constructor that fills in what the kind implies: an elementwise
primitive is one line, :func:`elementwise_unary` (name, NumPy function, derivative), whose
``scale(g, ans, *args) = g * d ans / d arg`` serves both the VJP (unbroadcast) and the JVP
(summed over the arguments' tangents), and which brings its batching rule and its fused
kernel (the operation of the same name in ``_kernels/vm_ops.h``).

The set is closed and small: a new fast path is a compiler rewrite over these primitives
or a composite, not a new primitive, unless a measured reason is written beside it.
"""

import builtins
import math

import numpy as np

from ..core import Primitive, is_float
from ..errors import DtypeError, ShapeError

REGISTRY = {}


def _register(name, abstract_eval, impl, vjp=None, jvp=None, **record):
    """Add a primitive to the registry; ``record``: batch, traits, kernel, lowering."""
    if name in REGISTRY:
        raise ValueError(f"primitive {name} is declared twice")
    prim = Primitive(name, abstract_eval, impl, vjp, jvp, **record)
    REGISTRY[name] = prim
    return prim


def _lit(value, like):
    """A scalar constant with the dtype of ``like``."""
    return np.array(value, dtype=like.dtype)


def _fmt(shapes):
    return " and ".join(str(tuple(s)) for s in shapes)


# ---------------------------------------------------------------- shape/dtype rules


def _same_dtype(name, operands):
    dtypes = {np.dtype(o.dtype) for o in operands}
    if len(dtypes) > 1:
        names = ", ".join(np.dtype(o.dtype).name for o in operands)
        raise DtypeError(f"{name}: operands must share one dtype, got {names}")
    return np.dtype(operands[0].dtype)


def _broadcast_shapes(name, shapes):
    """NumPy's broadcasting rule (in plain Python: it runs once per traced operation)."""
    out = list(shapes[0]) if shapes else []  # gather with no index arrays: x[()]
    for shape in shapes[1:]:
        if len(shape) > len(out):
            out[:0] = [1] * (len(shape) - len(out))
        offset = len(out) - len(shape)
        for i, d in enumerate(shape):
            o = out[offset + i]
            if o == 1:
                out[offset + i] = d
            elif d != 1 and d != o:
                raise ShapeError(f"{name}: shapes {_fmt(shapes)} cannot be broadcast together")
    return tuple(out)


def _elementwise_rule(name, result_dtype=None, float_only=False, bool_instead=None, int_only=False):
    """The shape/dtype rule of an elementwise primitive. ``bool_instead``: the operation
    NumPy suggests for bools, where it refuses them (negative, subtract, sign)."""

    def rule(*operands):
        first = operands[0]
        dtype, shape = first.dtype, first.shape
        for o in operands[1:]:
            if o.dtype != dtype:
                _same_dtype(name, operands)  # raises, naming all dtypes
            if o.shape != shape:
                shape = None
        if float_only and dtype.kind not in "fc":
            raise DtypeError(f"{name}: expected a floating-point array, got {dtype.name}")
        if int_only and dtype.kind not in "biu":
            raise DtypeError(f"{name}: expected an integer or bool array, got {dtype.name}")
        if bool_instead and dtype == _BOOL:
            raise DtypeError(f"{name}: not defined on bool arrays (as in NumPy): {bool_instead}")
        if shape is None:
            shape = _broadcast_shapes(name, [o.shape for o in operands])
        return shape, result_dtype or dtype

    return rule


def _check_axes(name, ndim, axes):
    if len(set(axes)) != len(axes) or any(not 0 <= a < ndim for a in axes):
        raise ShapeError(f"{name}: axes {axes} are invalid for an array of rank {ndim}")


# ---------------------------------------------------------------- graph-building helpers


def unbroadcast(g, shape):
    """Sum ``g`` down to ``shape``: the transpose of NumPy broadcasting."""
    shape = tuple(shape)
    if g.shape == shape:
        return g
    lead = len(g.shape) - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, d in enumerate(shape) if d == 1 and g.shape[lead + i] != 1
    )
    if axes:
        g = reduce_sum(g, axes=axes)
    return reshape(g, new_shape=shape) if g.shape != shape else g


def broadcast_to(x, shape):
    """Broadcast ``x`` to ``shape`` NumPy-style (trailing dimensions aligned)."""
    shape = tuple(shape)
    if tuple(x.shape) == shape:
        return x
    lead = len(shape) - len(x.shape)
    return broadcast_in_dim(x, shape=shape, broadcast_dimensions=tuple(range(lead, len(shape))))


def zeros(shape, dtype):
    return broadcast_in_dim(np.zeros((), dtype), shape=tuple(shape), broadcast_dimensions=())


def swap_last(x):
    perm = tuple(range(x.ndim - 2)) + (x.ndim - 1, x.ndim - 2)
    return transpose(x, perm=perm)


# ---------------------------------------------------------------- helpers for batching rules
# A batching rule ``rule(batched, *args, **params)`` is called by vmap only when some operand
# is batched; batched operands carry the batch at axis 0, unbatched ones do not carry it at
# all, and the rule returns its result batched at axis 0.


def _batch_size(batched, args):
    return next(a.shape[0] for a, b in zip(args, batched) if b)


def with_batch(x, size):
    """An unbatched operand given an explicit batch axis 0 (a broadcast, no copy)."""
    return broadcast_in_dim(
        x, shape=(size,) + tuple(x.shape), broadcast_dimensions=tuple(range(1, len(x.shape) + 1))
    )


def _all_batched(batched, args):
    size = _batch_size(batched, args)
    return [a if b else with_batch(a, size) for a, b in zip(args, batched)]


def _align(batched, args):
    """Batched operands reshaped to (B, 1.., *shape) so that NumPy's right-aligned
    broadcasting against the unbatched operands lines up per example."""
    rank = builtins.max(len(a.shape) - b for a, b in zip(args, batched))
    out = []
    for a, b in zip(args, batched):
        if b and len(a.shape) - 1 < rank:
            ones = (1,) * (rank - len(a.shape) + 1)
            a = reshape(a, new_shape=a.shape[:1] + ones + tuple(a.shape[1:]))
        out.append(a)
    return out, rank


def _shift(axes):
    return tuple(a + 1 for a in axes)


def _unrolled(prim):
    """Batching by one equation per example, stacked. Correct for any primitive, but the
    graph grows with the batch size: only where no loop-free rule exists."""

    def rule(batched, *args, **params):
        rows = []
        for i in range(_batch_size(batched, args)):
            per = [_example(a, i) if b else a for a, b in zip(args, batched)]
            out = prim(*per, **params)
            rows.append(reshape(out, new_shape=(1,) + tuple(out.shape)))
        return rows[0] if len(rows) == 1 else concatenate(*rows, axis=0)

    return rule


def _example(a, i):
    """Example ``i`` of a batched operand."""
    start = (i,) + (0,) * (len(a.shape) - 1)
    limit = (i + 1,) + tuple(a.shape[1:])
    one = slice(a, start=start, limit=limit, strides=(1,) * len(a.shape))
    return reshape(one, new_shape=tuple(a.shape[1:]))


def _elementwise_batch(prim):
    return lambda batched, *args, **params: prim(*_align(batched, args)[0], **params)


def _axes_batch(prim):
    """A primitive over params["axes"] of one operand: the axes move past the batch."""
    return lambda batched, x, axes: prim(x, axes=_shift(axes))


# ---------------------------------------------------------------- elementwise


def _elementwise(
    name,
    impl,
    scales,
    float_only=False,
    result_dtype=None,
    kernel=None,
    traits=(),
    bool_instead=None,
    int_only=False,
    fused=True,
):
    """Register an elementwise primitive from its per-argument ``scale`` rules: its VJP,
    JVP, shape rule, batching rule, traits and fused kernel (``kernel``, by default the
    operation named ``name`` in vm_ops.h) all follow from them. ``int_only``: an operation
    of integers and bools (bitwise ones), run by the integer kernels alone. ``fused=False``:
    no kernel at all, the NumPy/SciPy reference runs inside compiled programs."""

    def vjp_of(scale):
        if scale is None:
            return None
        return lambda g, ans, *args: unbroadcast(scale(g, ans, *args), args[i_of[scale]].shape)

    i_of = {s: i for i, s in enumerate(scales) if s is not None}

    def jvp(tangents, ans, *args):
        out = None
        for scale, t in zip(scales, tangents):
            if scale is not None and t is not None:
                term = scale(t, ans, *args)
                out = term if out is None else add(out, term)
        return None if out is None else broadcast_to(out, ans.shape)

    arity = ("unary", "binary")[len(scales) - 1]
    kinds = ("elementwise", arity) + (("float_only",) if float_only else ())
    kinds += ("comparison",) if result_dtype == _BOOL else ()
    # integer kernels too, unless it takes floats only or has no integer operation
    lowering = ("fused",) if float_only or kernel == "copy" else ("fused", "int")
    prim = _register(
        name,
        _elementwise_rule(name, result_dtype, float_only, bool_instead, int_only),
        impl,
        tuple(vjp_of(s) for s in scales),
        jvp,
        traits=kinds + tuple(traits),
        kernel=None if not fused else name if kernel is None else kernel,
        lowering=("int",) if int_only else lowering if fused else (),
    )
    prim.batch = _elementwise_batch(prim)
    return prim


def elementwise_unary(name, impl, derivative, float_only=True, **kind):
    """An elementwise function of one array. ``derivative(g, ans, x)`` is g * f'(x).

    >>> sinh = REGISTRY["sinh"]  # elementwise_unary("sinh", np.sinh, <g * cosh(x)>)
    >>> sinh(np.array([0.0, 1.0]))
    array([0.        , 1.17520119])
    >>> sorted(sinh.traits), sinh.kernel, sinh.lowering
    (['elementwise', 'float_only', 'unary'], 'sinh', ('fused',))
    """
    return _elementwise(name, impl, [derivative], float_only=float_only, **kind)


def elementwise_binary(name, impl, d_x, d_y, float_only=False, **kind):
    """An elementwise function of two broadcast arrays; ``d_x(g, ans, x, y)`` is
    g * df/dx, likewise ``d_y`` (None: no derivative in that operand)."""
    return _elementwise(name, impl, [d_x, d_y], float_only=float_only, **kind)


def comparison(name, impl, **kind):
    """An elementwise predicate of two arrays: bool-valued, with no derivative."""
    return _elementwise(name, impl, [None, None], result_dtype=_BOOL, **kind)


_BOOL = np.dtype(bool)
_unary = elementwise_unary
_binary = elementwise_binary

neg = _unary(
    "neg",
    np.negative,
    lambda g, ans, x: neg(g),
    float_only=False,
    traits=["linear"],
    bool_instead="use ~ or logical_not",
)
exp = _unary("exp", np.exp, lambda g, ans, x: mul(g, ans))
log = _unary("log", np.log, lambda g, ans, x: div(g, x))
log1p = _unary("log1p", np.log1p, lambda g, ans, x: div(g, add(x, _lit(1, x))))
tanh = _unary("tanh", np.tanh, lambda g, ans, x: mul(g, sub(_lit(1, ans), mul(ans, ans))))
sin = _unary("sin", np.sin, lambda g, ans, x: mul(g, cos(x)))
cos = _unary("cos", np.cos, lambda g, ans, x: neg(mul(g, sin(x))))
sqrt = _unary("sqrt", np.sqrt, lambda g, ans, x: div(g, mul(ans, _lit(2, ans))))
sinh = _unary("sinh", np.sinh, lambda g, ans, x: mul(g, cosh(x)))
cosh = _unary("cosh", np.cosh, lambda g, ans, x: mul(g, sinh(x)))


def _by_larger(x, y):
    """``(swap, big, r)``: the operand of larger magnitude and the other divided by it
    (|r| <= 1), so that rules use x^2 + y^2 = big^2 (1 + r^2) without forming it: the
    square overflows past |x| ~ 1e154 (1e19 in float32) where the derivatives are tiny."""
    swap = gt(abs(y), abs(x))
    big = select(swap, y, x)
    return swap, big, div(select(swap, x, y), big)


def _arcsinh_scale(g, ans, x):
    _, big, r = _by_larger(x, _lit(1, x))  # 1 / sqrt(x^2 + 1) = (1 / |big|) / sqrt(1 + r^2)
    return div(g, mul(abs(big), sqrt(add(_lit(1, r), mul(r, r)))))


arcsinh = _unary("arcsinh", np.arcsinh, _arcsinh_scale)
abs = _unary("abs", np.abs, lambda g, ans, x: mul(g, sign(x)), float_only=False)
sign = _unary("sign", np.sign, None, float_only=False, bool_instead="cast to an int first")
stop_gradient = _unary("stop_gradient", lambda x: x, None, float_only=False, kernel="copy")
# The identity that no graph rewrite looks through (it has no traits, and the algebraic
# rules do not know it): fg.checkpoint reads its inputs through one so that the forward
# pass it recomputes in the backward pass is not merged back into the first by CSE.
# Lowered as a view, so it costs nothing.
optimization_barrier = _register(
    "optimization_barrier",
    lambda x: (x.shape, x.dtype),
    lambda x: x,
    (lambda g, ans, x: g,),
    lambda tangents, ans, x: tangents[0],
    batch=lambda batched, x: optimization_barrier(x),
    lowering=("view",),
)
# exp(x) - 1 loses every digit below |x| ~ 1e-16 (and most below 1e-8): expm1, and the
# composites that need it (logaddexp's tail, sinh near 0 in float32), cannot be composed.
expm1 = _unary("expm1", np.expm1, lambda g, ans, x: mul(g, add(ans, _lit(1, ans))))
# pow(|x|, 1/3) is not correctly rounded (27 ** (1/3) is 2.9999999999999996) and its
# derivative through abs is NaN at 0: libm's cbrt is exact on cubes, as NumPy's.
cbrt = _unary("cbrt", np.cbrt, lambda g, ans, x: div(g, mul(_lit(3, ans), mul(ans, ans))))
# floor and rint (half to even) cannot be composed exactly from arithmetic (the 2**52 trick
# fails for large values and under fast rounding modes); ceil, trunc, round and floor_divide
# are composed from them. Zero derivative (piecewise constant).
floor = _unary("floor", np.floor, None)
rint = _unary("rint", np.rint, None)

add = _binary(
    "add", np.add, lambda g, ans, x, y: g, lambda g, ans, x, y: g, traits=["linear", "commutative"]
)
sub = _binary(
    "sub",
    np.subtract,
    lambda g, ans, x, y: g,
    lambda g, ans, x, y: neg(g),
    traits=["linear"],
    bool_instead="use ^ or logical_xor",
)
mul = _binary(
    "mul",
    np.multiply,
    lambda g, ans, x, y: mul(g, y),
    lambda g, ans, x, y: mul(g, x),
    traits=["commutative"],
)
div = _binary(
    "div",
    np.divide,
    lambda g, ans, x, y: div(g, y),
    lambda g, ans, x, y: neg(div(mul(g, ans), y)),
    float_only=True,
)


def _pow_scale_x(g, ans, x, y):
    # x**0 is constant in x: its slope is 0, where y * x**(y-1) would be 0 * inf at x = 0
    # and wherever 1 / x overflows (subnormal x). x is moved to 1 there, not the slope
    # selected: the unselected side's gradient would be NaN; elsewhere x stays, so the slope
    # of this slope in y at y = 0 is still 1 / x.
    tiny = _lit(2 / np.finfo(np.dtype(x.dtype)).max, x)
    pole = select(eq(y, _lit(0, y)), lt(abs(x), tiny), np.array(False))
    safe_x = select(pole, _lit(1, x), x)
    return mul(g, mul(y, pow(safe_x, sub(y, _lit(1, y)))))


def _pow_scale_y(g, ans, x, y):
    # log(x) is -inf at x == 0, where x**y's slope in y is 0 (for y > 0): JAX does the same.
    safe_x = select(eq(x, _lit(0, x)), _lit(1, x), x)
    return mul(g, mul(log(safe_x), ans))


pow = _binary("pow", np.power, _pow_scale_x, _pow_scale_y, float_only=True)


def _arctan2_scales(g, y, x):
    """g * (x, -y) / (x^2 + y^2), the slopes of arctan2(y, x) in y and in x, through the
    larger operand (:func:`_by_larger`): w = 1 / (big (1 + r^2)) = big / (x^2 + y^2)."""
    swap, big, r = _by_larger(x, y)
    w = div(div(_lit(1, big), big), add(_lit(1, r), mul(r, r)))
    rw = mul(r, w)
    return mul(g, select(swap, rw, w)), neg(mul(g, select(swap, w, rw)))


# atan2 keeps the quadrant and the full range near the axes, which atan(y / x) loses; arctan,
# arcsin and arccos are composed from it (accurately: arcsin(x) = atan2(x, sqrt((1-x)(1+x)))).
arctan2 = _binary(
    "arctan2",
    np.arctan2,
    lambda g, ans, y, x: _arctan2_scales(g, y, x)[0],
    lambda g, ans, y, x: _arctan2_scales(g, y, x)[1],
    float_only=True,
)


def _trunc(q):
    return select(lt(q, _lit(0, q)), neg(floor(neg(q))), floor(q))


def _sign_product(g, ans, x, y):
    return mul(g, mul(sign(x), sign(ans)))


# The sign of a zero or a NaN cannot be read arithmetically (-0.0 == 0.0): copysign is the
# primitive that sets it (and signbit reads it back), so remainder's -0.0 results match NumPy.
copysign = _binary("copysign", np.copysign, _sign_product, None, float_only=True)
# C's fmod is exact (no rounding at all); x - y * trunc(x / y) is not. NumPy's remainder and
# floor_divide are fmod plus a sign fix (npy_divmod): fnp builds them the same way. Integers:
# C's %, 0 for a zero divisor (NumPy's result).
fmod = _binary(
    "fmod",
    np.fmod,
    lambda g, ans, x, y: g,
    lambda g, ans, x, y: neg(mul(g, _trunc(div(x, y)))),
    bool_instead="cast to an int first",
)


def _integer_op(name, impl, **kind):
    """An integer (or bool) elementwise operation with no derivative: run by the integer
    kernels, which compute on int64 and narrow to the result as NumPy's typed loops wrap."""
    return _elementwise(name, impl, [None, None], int_only=True, **kind)


def _int_div_impl(x, y):
    """C's truncating division, 0 where y is 0 (NumPy's integer result there)."""
    with np.errstate(divide="ignore", over="ignore"):
        q = np.floor_divide(x, y)
    fix = (q < 0) & (q * y != x) & (y != 0)  # floor rounded down: trunc rounds to zero
    return np.where(fix, q + 1, q).astype(q.dtype)


# Integer division has no exact float composite for int64 (2**53); floor_divide of integers
# is composed from it and fmod.
int_div = _integer_op("int_div", _int_div_impl, bool_instead="cast to an int first")
bitwise_and = _integer_op("bitwise_and", np.bitwise_and, traits=["commutative"])
bitwise_or = _integer_op("bitwise_or", np.bitwise_or, traits=["commutative"])
bitwise_xor = _integer_op("bitwise_xor", np.bitwise_xor, traits=["commutative"])
left_shift = _integer_op("left_shift", np.left_shift, bool_instead="cast to an int first")
right_shift = _integer_op("right_shift", np.right_shift, bool_instead="cast to an int first")


def _chooser_scales(wins):
    """max/min: the slope goes to the winning side, split evenly on ties (as JAX does)."""

    def share(x, y, first):
        mask = select(wins(x, y), _lit(1.0 if first else 0.0, x), _lit(0.0 if first else 1.0, x))
        return select(eq(x, y), _lit(0.5, x), mask)

    return (
        lambda g, ans, x, y: mul(g, share(x, y, True)),
        lambda g, ans, x, y: mul(g, share(x, y, False)),
    )


# (not "commutative": max(-0.0, 0.0) is 0.0 but max(0.0, -0.0) is -0.0, in NumPy too)
max = _binary("max", np.maximum, *_chooser_scales(lambda x, y: gt(x, y)))
min = _binary("min", np.minimum, *_chooser_scales(lambda x, y: lt(x, y)))
gt = comparison("gt", np.greater)
ge = comparison("ge", np.greater_equal)
lt = comparison("lt", np.less)
le = comparison("le", np.less_equal)
eq = comparison("eq", np.equal, traits=["commutative"])
ne = comparison("ne", np.not_equal, traits=["commutative"])


def _select_rule(pred, x, y):
    if np.dtype(pred.dtype) != _BOOL:
        raise DtypeError(f"select: the condition must be bool, got {np.dtype(pred.dtype).name}")
    dtype = _same_dtype("select", [x, y])
    return _broadcast_shapes("select", [pred.shape, x.shape, y.shape]), dtype


def _select_jvp(tangents, ans, pred, x, y):
    _, tx, ty = tangents
    if tx is None and ty is None:
        return None
    tx = zeros(x.shape, x.dtype) if tx is None else tx
    ty = zeros(y.shape, y.dtype) if ty is None else ty
    return broadcast_to(select(pred, tx, ty), ans.shape)


select = _register(
    "select",
    _select_rule,
    np.where,
    (
        None,
        lambda g, ans, p, x, y: unbroadcast(select(p, g, _lit(0, g)), x.shape),
        lambda g, ans, p, x, y: unbroadcast(select(p, _lit(0, g), g), y.shape),
    ),
    _select_jvp,
    traits=["elementwise"],
    kernel="select",
    lowering=("fused", "int"),
)
select.batch = _elementwise_batch(select)


def _cast_rule(x, dtype):
    return x.shape, dtype


def _cast_vjp(g, ans, x, dtype):
    return cast(g, dtype=x.dtype) if is_float(x.dtype) and is_float(dtype) else None


def _cast_jvp(tangents, ans, x, dtype):
    (t,) = tangents
    return cast(t, dtype=dtype) if t is not None and is_float(dtype) else None


# Fused only from bool to float (a load of 0/1 into the registers); else its own kernel.
cast = _register(
    "cast",
    _cast_rule,
    lambda x, dtype: x.astype(dtype),
    (_cast_vjp,),
    _cast_jvp,
    traits=["elementwise", "unary"],
    kernel="copy",
    lowering=("fused", "cast"),
)
cast.batch = _elementwise_batch(cast)


# ---------------------------------------------------------------- linear rules


def _linear_jvp(prim):
    """JVP of a primitive linear in all its array arguments: apply it to the tangents."""

    def jvp(tangents, ans, *args, **params):
        if all(t is None for t in tangents):
            return None
        ts = [zeros(a.shape, a.dtype) if t is None else t for t, a in zip(tangents, args)]
        return prim(*ts, **params)

    return jvp


def _bilinear_jvp(prim):
    """JVP of a primitive linear in each of its two arguments separately."""

    def jvp(tangents, ans, x, y, **params):
        tx, ty = tangents
        terms = []
        if tx is not None:
            terms.append(prim(tx, y, **params))
        if ty is not None:
            terms.append(prim(x, ty, **params))
        return None if not terms else terms[0] if len(terms) == 1 else add(*terms)

    return jvp


def _linear(name, rule, impl, vjp, traits=(), **record):
    prim = _register(name, rule, impl, vjp, traits=("linear",) + tuple(traits), **record)
    prim.jvp = _linear_jvp(prim)
    return prim


# ---------------------------------------------------------------- reductions


def _reduce_rule(name):
    def rule(x, axes):
        _check_axes(name, len(x.shape), axes)
        if name != "reduce_sum" and any(x.shape[a] == 0 for a in axes):
            raise ShapeError(f"{name}: cannot reduce a zero-size axis of shape {x.shape}")
        return tuple(d for i, d in enumerate(x.shape) if i not in axes), x.dtype

    return rule


def _kept(x, axes):
    return tuple(i for i in range(len(x.shape)) if i not in axes)


reduce_sum = _linear(
    "reduce_sum",
    _reduce_rule("reduce_sum"),
    lambda x, axes: np.sum(x, axis=axes),
    (
        lambda g, ans, x, axes: broadcast_in_dim(
            g, shape=x.shape, broadcast_dimensions=_kept(x, axes)
        ),
    ),
    traits=["reduction"],
    kernel="sum",
    lowering=("fused", "reduce"),
)
reduce_sum.batch = _axes_batch(reduce_sum)


def _chooser_location(ans, x, axes):
    """Where x attains its max/min, as 0/1 weights that split ties evenly."""
    dims = _kept(x, axes)
    hit = cast(
        eq(x, broadcast_in_dim(ans, shape=x.shape, broadcast_dimensions=dims)), dtype=x.dtype
    )
    count = broadcast_in_dim(reduce_sum(hit, axes=axes), shape=x.shape, broadcast_dimensions=dims)
    return div(hit, count)


def _chooser_reduce(name, impl, kernel):
    def vjp(g, ans, x, axes):
        gb = broadcast_in_dim(g, shape=x.shape, broadcast_dimensions=_kept(x, axes))
        return mul(gb, _chooser_location(ans, x, axes))

    def jvp(tangents, ans, x, axes):
        (t,) = tangents
        return None if t is None else reduce_sum(mul(t, _chooser_location(ans, x, axes)), axes=axes)

    prim = _register(
        name,
        _reduce_rule(name),
        impl,
        (vjp,),
        jvp,
        traits=["reduction"],
        kernel=kernel,
        lowering=("fused", "reduce"),
    )
    prim.batch = _axes_batch(prim)
    return prim


reduce_max = _chooser_reduce("reduce_max", lambda x, axes: np.max(x, axis=axes), "max")
reduce_min = _chooser_reduce("reduce_min", lambda x, axes: np.min(x, axis=axes), "min")


def _argmax_rule(x, axis, index_dtype):
    _check_axes("argmax", len(x.shape), (axis,))
    if x.shape[axis] == 0:
        raise ShapeError(f"argmax: cannot take the argmax of a zero-size axis of shape {x.shape}")
    return tuple(d for i, d in enumerate(x.shape) if i != axis), index_dtype


argmax = _register(
    "argmax",
    _argmax_rule,
    lambda x, axis, index_dtype: np.argmax(x, axis=axis).astype(index_dtype),
    (None,),
    batch=lambda batched, x, axis, index_dtype: argmax(x, axis=axis + 1, index_dtype=index_dtype),
    lowering=("argmax",),
)


def _axis_rule(name, index_dtype=None):
    """A primitive along one axis that keeps the shape (scans, argsort)."""

    def rule(x, axis):
        _check_axes(name, len(x.shape), (axis,))
        return x.shape, x.dtype if index_dtype is None else np.dtype(index_dtype)

    return rule


def _along_batch(prim):
    return lambda batched, x, axis: prim(x, axis=axis + 1)


def _reverse_cumsum(g, axis):
    return rev(cumsum(rev(g, axes=(axis,)), axis=axis), axes=(axis,))


# cumsum is a primitive (the NumPy reference runs it inside compiled programs): a composite
# would be a triangular matmul, O(n^2) work and memory per row, or a doubling scan whose
# additions round differently from NumPy's running sum. Linear; its VJP is the reversed scan.
cumsum = _linear(
    "cumsum",
    _axis_rule("cumsum"),
    lambda x, axis: np.cumsum(x, axis=axis),
    (lambda g, ans, x, axis: _reverse_cumsum(g, axis),),
)
cumsum.batch = _along_batch(cumsum)


def _shifted(x, axis, k):
    """``x`` moved ``k`` places along ``axis``, the first ``k`` places filled with 1."""
    n, rank = x.shape[axis], len(x.shape)
    k = builtins.min(k, n)
    head = slice(
        x,
        start=(0,) * rank,
        limit=tuple(n - k if i == axis else d for i, d in enumerate(x.shape)),
        strides=(1,) * rank,
    )
    lo = tuple(k if i == axis else 0 for i in range(rank))
    return pad(head, lo=lo, hi=(0,) * rank, interior=(0,) * rank, value=1)


def scan_prod(x, axis, exclusive=False):
    """Cumulative products along ``axis`` by doubling (Hillis and Steele): log2(n) steps of
    ``y * (y shifted by 2**i)``, only multiplications, so every derivative (of any order)
    is exact where elements are 0 (the running product's x_j / x_i rule divides by 0).
    Not a primitive: fnp.cumprod and reduce_prod's gradient are built from it.

    >>> scan_prod(np.array([2.0, 0.0, 3.0, 4.0]), 0, exclusive=True)
    array([1., 2., 0., 0.])
    """
    y = _shifted(x, axis, 1) if exclusive else x
    k = 1
    while k < x.shape[axis]:
        y = mul(y, _shifted(y, axis, k))
        k *= 2
    return y


def _reduce_prod_rule(x, axes):
    _check_axes("reduce_prod", len(x.shape), axes)
    return tuple(d for i, d in enumerate(x.shape) if i not in axes), x.dtype


def _exclusive_products(x, axis):
    return scan_prod(x, axis, exclusive=True)


def _product_of_others(x, axes):
    """For each element, the product of all the other elements over ``axes``, without
    dividing (exact where some are 0): the reduced axes flattened last, then the product
    of the elements before it times the product of those after it."""
    kept = _kept(x, axes)
    perm = kept + tuple(axes)
    moved = transpose(x, perm=perm)
    n = math.prod(x.shape[a] for a in axes)
    flat = reshape(moved, new_shape=tuple(x.shape[a] for a in kept) + (n,))
    last = len(kept)
    before = _exclusive_products(flat, last)
    after = rev(_exclusive_products(rev(flat, axes=(last,)), last), axes=(last,))
    others = reshape(mul(before, after), new_shape=moved.shape)
    return transpose(others, perm=tuple(np.argsort(perm).tolist()))


def _reduce_prod_vjp(g, ans, x, axes):
    if math.prod(x.shape) == 0:
        return zeros(x.shape, x.dtype)
    return mul(_spread(g, x, axes), _product_of_others(x, axes))


def _reduce_prod_jvp(tangents, ans, x, axes):
    (t,) = tangents
    if t is None:
        return None
    if math.prod(x.shape) == 0:
        return zeros(ans.shape, ans.dtype)
    return reduce_sum(mul(t, _product_of_others(x, axes)), axes=axes)


# A primitive for its gradient: g * prod / x (the composite's) is NaN at a zero element;
# the product of the other elements is not.
reduce_prod = _register(
    "reduce_prod",
    _reduce_prod_rule,
    lambda x, axes: np.prod(x, axis=axes),
    (_reduce_prod_vjp,),
    _reduce_prod_jvp,
    traits=["reduction"],
)
reduce_prod.batch = _axes_batch(reduce_prod)

# The stable sorting permutation (NaN last, as NumPy's sort): sort is a gather by it, so its
# gradient is the gather's scatter and the quantiles built on sort differentiate. No
# derivative (integer output); the NumPy reference runs it inside compiled programs.
argsort = _register(
    "argsort",
    _axis_rule("argsort", index_dtype=np.int64),
    lambda x, axis: np.argsort(x, axis=axis, kind="stable"),
    (None,),
    lambda tangents, ans, x, axis: None,
)
argsort.batch = _along_batch(argsort)


def _searchsorted_rule(a, v, side):
    if len(a.shape) != 1:
        raise ShapeError(f"searchsorted: the sorted array must be 1-D, got shape {a.shape}")
    if side not in ("left", "right"):
        raise ValueError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
    _same_dtype("searchsorted", [a, v])
    return v.shape, np.dtype(np.int64)


def _searchsorted_batch(batched, a, v, side):
    if batched[0]:  # one sorted array per example: rare, one search each
        return _unrolled(searchsorted)(batched, a, v, side=side)
    return searchsorted(a, v, side=side)  # the batch is one more axis of v


# Where each element of v would go in the sorted 1-D a (NaN sorts last, as NumPy's):
# a binary search per element. As a composite (comparing every v with every a) it would
# hold len(a) * v.size booleans. No derivative (integer output).
searchsorted = _register(
    "searchsorted",
    _searchsorted_rule,
    lambda a, v, side: np.searchsorted(a, v, side=side).astype(np.int64),
    (None, None),
    lambda tangents, ans, a, v, side: None,
    batch=_searchsorted_batch,
)

# ---------------------------------------------------------------- softmax rows
# logsumexp, log_softmax and softmax along ``axes`` are primitives rather than compositions
# so that the executor can run each as one row kernel (max, exp-sum and output while the
# row is in cache). Their derivatives are written with primitives: higher orders work.


def _softmax_rule(name, reduces):
    def rule(x, axes):
        _check_axes(name, len(x.shape), axes)
        if x.dtype.kind != "f":
            raise DtypeError(f"{name}: expected a floating-point array, got {x.dtype.name}")
        shape = tuple(d for i, d in enumerate(x.shape) if i not in axes) if reduces else x.shape
        return tuple(shape), x.dtype

    return rule


def _shift_and_log_sum(x, axes):
    """Along ``axes``, kept: the max where finite, else 0 (so a row of -inf gives -inf,
    not nan), and log(sum(exp(x - shift))), which is -inf for an empty row."""
    shape = tuple(1 if i in axes else d for i, d in enumerate(x.shape))
    if any(x.shape[a] == 0 for a in axes):
        return np.zeros(shape, x.dtype), np.full(shape, -np.inf, x.dtype)
    m = np.max(x, axis=axes, keepdims=True)
    m = np.where(np.isfinite(m), m, 0).astype(x.dtype)
    # (a slice holding inf or NaN is shifted by 0: exp may overflow, in a result that is
    # inf or NaN anyway)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return m, np.log(np.sum(np.exp(x - m), axis=axes, keepdims=True))


def _logsumexp_impl(x, axes):
    m, log_sum = _shift_and_log_sum(x, axes)
    with np.errstate(invalid="ignore"):
        return np.squeeze(log_sum + m, axis=axes)


def _log_softmax_impl(x, axes):
    m, log_sum = _shift_and_log_sum(x, axes)
    with np.errstate(invalid="ignore"):
        return (x - m) - log_sum  # shifted first: exact for logits of any magnitude


def _softmax_impl(x, axes):
    if math.prod(x.shape) == 0:
        return x.copy()
    m = np.max(x, axis=axes, keepdims=True)
    m = np.where(m == -np.inf, 0, m).astype(x.dtype)  # a row holding +inf: all NaN (SciPy)
    with np.errstate(invalid="ignore"):
        e = np.exp(x - m)
    with np.errstate(invalid="ignore"):
        return e / np.sum(e, axis=axes, keepdims=True)


def _spread(v, x, axes):
    """``v`` (reduced over ``axes``) broadcast back to the shape of ``x``."""
    return broadcast_in_dim(v, shape=x.shape, broadcast_dimensions=_kept(x, axes))


def _logsumexp_jvp(tangents, ans, x, axes):
    (t,) = tangents
    return None if t is None else reduce_sum(mul(t, softmax(x, axes=axes)), axes=axes)


def _log_softmax_jvp(tangents, ans, x, axes):
    (t,) = tangents
    return None if t is None else sub(t, _spread(reduce_sum(mul(t, exp(ans)), axes=axes), x, axes))


def _softmax_product(v, ans, x, axes):
    """The softmax Jacobian (symmetric) times ``v``: ans * (v - sum(v * ans))."""
    return mul(ans, sub(v, _spread(reduce_sum(mul(v, ans), axes=axes), x, axes)))


def _softmax_jvp(tangents, ans, x, axes):
    (t,) = tangents
    return None if t is None else _softmax_product(t, ans, x, axes)


logsumexp = _register(
    "logsumexp",
    _softmax_rule("logsumexp", reduces=True),
    _logsumexp_impl,
    # softmax(x), not exp(x - ans): ans has rounding error of the size of x's magnitude
    (lambda g, ans, x, axes: mul(_spread(g, x, axes), softmax(x, axes=axes)),),
    _logsumexp_jvp,
    traits=["float_only", "reduction"],
    kernel="logsumexp",
    lowering=("softmax",),
)
log_softmax = _register(
    "log_softmax",
    _softmax_rule("log_softmax", reduces=False),
    _log_softmax_impl,
    (lambda g, ans, x, axes: sub(g, mul(exp(ans), _spread(reduce_sum(g, axes=axes), x, axes))),),
    _log_softmax_jvp,
    traits=["float_only"],
    kernel="log_softmax",
    lowering=("softmax",),
)
softmax = _register(
    "softmax",
    _softmax_rule("softmax", reduces=False),
    _softmax_impl,
    (_softmax_product,),
    _softmax_jvp,
    traits=["float_only"],
    kernel="softmax",
    lowering=("softmax",),
)
for _row_prim in (logsumexp, log_softmax, softmax):
    _row_prim.batch = _axes_batch(_row_prim)

# ---------------------------------------------------------------- shape operations


def _reshape_rule(x, new_shape):
    if math.prod(new_shape) != math.prod(x.shape) or any(d < 0 for d in new_shape):
        raise ShapeError(f"reshape: cannot reshape an array of shape {x.shape} into {new_shape}")
    return new_shape, x.dtype


reshape = _linear(
    "reshape",
    _reshape_rule,
    lambda x, new_shape: np.reshape(x, new_shape),
    (lambda g, ans, x, new_shape: reshape(g, new_shape=x.shape),),
    batch=lambda batched, x, new_shape: reshape(x, new_shape=x.shape[:1] + tuple(new_shape)),
    lowering=("view",),
)


def _transpose_rule(x, perm):
    if sorted(perm) != list(range(len(x.shape))):
        raise ShapeError(f"transpose: {perm} is not a permutation of the axes of shape {x.shape}")
    return tuple(x.shape[p] for p in perm), x.dtype


transpose = _linear(
    "transpose",
    _transpose_rule,
    lambda x, perm: np.transpose(x, perm),
    (lambda g, ans, x, perm: transpose(g, perm=tuple(np.argsort(perm).tolist())),),
    batch=lambda batched, x, perm: transpose(x, perm=(0,) + _shift(perm)),
    lowering=("copy",),
)


def _broadcast_in_dim_rule(x, shape, broadcast_dimensions):
    dims = broadcast_dimensions
    ok = len(dims) == len(x.shape) and list(dims) == sorted(set(dims))
    ok = ok and all(0 <= d < len(shape) and x.shape[i] in (1, shape[d]) for i, d in enumerate(dims))
    if not ok:
        raise ShapeError(f"broadcast: cannot broadcast an array of shape {x.shape} to {shape}")
    return shape, x.dtype


def _broadcast_in_dim_impl(x, shape, broadcast_dimensions):
    expanded = [1] * len(shape)
    for i, d in enumerate(broadcast_dimensions):
        expanded[d] = x.shape[i]
    return np.broadcast_to(np.reshape(x, expanded), shape)


def _broadcast_in_dim_vjp(g, ans, x, shape, broadcast_dimensions):
    dims = broadcast_dimensions
    stretched = {d for i, d in enumerate(dims) if x.shape[i] == 1 and shape[d] != 1}
    axes = tuple(d for d in range(len(shape)) if d not in dims or d in stretched)
    g = reduce_sum(g, axes=axes) if axes else g
    return reshape(g, new_shape=x.shape) if g.shape != x.shape else g


def _broadcast_in_dim_batch(batched, x, shape, broadcast_dimensions):
    return broadcast_in_dim(
        x,
        shape=x.shape[:1] + tuple(shape),
        broadcast_dimensions=(0,) + _shift(broadcast_dimensions),
    )


broadcast_in_dim = _linear(
    "broadcast_in_dim",
    _broadcast_in_dim_rule,
    _broadcast_in_dim_impl,
    (_broadcast_in_dim_vjp,),
    batch=_broadcast_in_dim_batch,
    lowering=("fill", "copy"),
)


def _slice_rule(x, start, limit, strides):
    ok = len(start) == len(limit) == len(strides) == len(x.shape)
    ok = ok and all(
        0 <= s <= e <= d and st >= 1 for s, e, st, d in zip(start, limit, strides, x.shape)
    )
    if not ok:
        raise ShapeError(
            f"slice: start {start}, limit {limit}, strides {strides} are invalid for shape "
            f"{x.shape}"
        )
    return tuple(-(-(e - s) // st) for s, e, st in zip(start, limit, strides)), x.dtype


def _slice_vjp(g, ans, x, start, limit, strides):
    hi = []
    for s, n, st, d in zip(start, ans.shape, strides, x.shape):
        hi.append(d - s if n == 0 else d - (s + (n - 1) * st + 1))
    return pad(g, lo=start, hi=tuple(hi), interior=tuple(st - 1 for st in strides), value=0.0)


slice = _linear(
    "slice",
    _slice_rule,
    lambda x, start, limit, strides: x[tuple(map(builtins.slice, start, limit, strides))],
    (_slice_vjp,),
    batch=lambda batched, x, start, limit, strides: slice(
        x, start=(0,) + tuple(start), limit=x.shape[:1] + tuple(limit), strides=(1,) + strides
    ),
    lowering=("copy",),
)


def _rev_rule(x, axes):
    _check_axes("rev", len(x.shape), axes)
    return x.shape, x.dtype


rev = _linear(
    "rev",
    _rev_rule,
    lambda x, axes: np.flip(x, axes),
    (lambda g, ans, x, axes: rev(g, axes=axes),),
    batch=lambda batched, x, axes: rev(x, axes=_shift(axes)),
    lowering=("copy",),
)


def _pad_rule(x, lo, hi, interior, value):
    ok = len(lo) == len(hi) == len(interior) == len(x.shape)
    if not ok or any(p < 0 for p in lo + hi + interior):
        raise ShapeError(f"pad: widths lo={lo} hi={hi} interior={interior} for shape {x.shape}")
    shape = tuple(
        a + b + d + (d - 1) * i if d else a + b for a, b, i, d in zip(lo, hi, interior, x.shape)
    )
    return shape, x.dtype


def _pad_impl(x, lo, hi, interior, value):
    shape, _ = _pad_rule(x, lo, hi, interior, value)
    out = np.full(shape, value, dtype=x.dtype)
    index = tuple(
        builtins.slice(a, a + (d - 1) * (i + 1) + 1 if d else a, i + 1)
        for a, i, d in zip(lo, interior, x.shape)
    )
    out[index] = x
    return out


def _pad_vjp(g, ans, x, lo, hi, interior, value):
    limit = tuple(a + (d - 1) * (i + 1) + 1 if d else a for a, i, d in zip(lo, interior, x.shape))
    return slice(g, start=lo, limit=limit, strides=tuple(i + 1 for i in interior))


def _pad_jvp(tangents, ans, x, lo, hi, interior, value):
    (t,) = tangents
    return None if t is None else pad(t, lo=lo, hi=hi, interior=interior, value=0.0)


def _pad_batch(batched, x, lo, hi, interior, value):
    return pad(x, lo=(0,) + lo, hi=(0,) + hi, interior=(0,) + interior, value=value)


# Linear only with value 0: the traits say what holds for all its params.
pad = _register(
    "pad", _pad_rule, _pad_impl, (_pad_vjp,), _pad_jvp, batch=_pad_batch, lowering=("copy",)
)


def _concatenate_rule(*xs, axis):
    dtype = _same_dtype("concatenate", xs)
    first = xs[0].shape
    ok = all(len(x.shape) == len(first) for x in xs) and 0 <= axis < len(first)
    ok = ok and all(
        all(a == b for i, (a, b) in enumerate(zip(x.shape, first)) if i != axis) for x in xs
    )
    if not ok:
        raise ShapeError(
            f"concatenate: shapes {_fmt([x.shape for x in xs])} do not match outside axis {axis}"
        )
    return first[:axis] + (sum(x.shape[axis] for x in xs),) + first[axis + 1 :], dtype


def _concatenate_vjp(k):
    def vjp(g, ans, *xs, axis):
        begin = sum(x.shape[axis] for x in xs[:k])
        start = tuple(begin if i == axis else 0 for i in range(g.ndim))
        limit = tuple(begin + xs[k].shape[axis] if i == axis else d for i, d in enumerate(g.shape))
        return slice(g, start=start, limit=limit, strides=(1,) * g.ndim)

    return vjp


class PerArgument:
    """The VJP rules of a variadic primitive: ``rules[k]`` is made for argument ``k``."""

    __slots__ = ("make",)

    def __init__(self, make):
        self.make = make

    def __getitem__(self, k):
        return self.make(k)


concatenate = _register(
    "concatenate",
    _concatenate_rule,
    lambda *xs, axis: np.concatenate(xs, axis=axis),
    PerArgument(_concatenate_vjp),
    batch=lambda batched, *xs, axis: concatenate(*_all_batched(batched, xs), axis=axis + 1),
    traits=["linear"],
    lowering=("copy",),
)
concatenate.jvp = _linear_jvp(concatenate)


def _iota_rule(size, dtype):
    if not isinstance(size, (int, np.integer)) or size < 0:
        raise ShapeError(f"iota: size must be a non-negative int, got {size!r}")
    return (int(size),), np.dtype(dtype)


# 0, 1, ..., size-1. Indexing with an arange under tracing records this rather than a
# constant, so the compiler knows the values from the graph's structure alone (programs
# are cached by structure and fed fresh constants).
iota = _register(
    "iota",
    _iota_rule,
    lambda size, dtype: np.arange(size, dtype=dtype),
    (),
    lambda tangents, ans, **params: None,
    lowering=("fill",),  # (no operands: never batched)
)


def _gather_rule(x, *indices):
    for i in indices:
        if not np.issubdtype(i.dtype, np.integer):
            raise DtypeError(f"gather: indices must be integers, got {np.dtype(i.dtype).name}")
    if len(indices) > len(x.shape):
        raise ShapeError(f"gather: {len(indices)} index arrays for an array of shape {x.shape}")
    batch = _broadcast_shapes("gather", [i.shape for i in indices])
    return tuple(batch) + tuple(x.shape[len(indices) :]), x.dtype


def _scatter_add_rule(g, *indices, shape):
    out, _ = _gather_rule(np.empty(shape, dtype=np.int8), *indices)
    if tuple(g.shape) != out:
        raise ShapeError(f"scatter_add: update shape {g.shape} does not match {out}")
    return shape, g.dtype


def _scatter_add_impl(g, *indices, shape):
    out = np.zeros(shape, dtype=g.dtype)
    np.add.at(out, tuple(indices), g)
    return out


def _index_vjps(rule):
    """VJP table for (array, *integer indices): only the array gets a cotangent."""
    return PerArgument(lambda k: rule if k == 0 else None)


def _batch_index(size, rank):
    """arange(B) shaped (B, 1, ..., 1): an extra leading index selecting each example."""
    return np.arange(size, dtype=np.int64).reshape((size,) + (1,) * rank)


def _batched_indices(batched, x, indices):
    """(size, indices) for gather/scatter_add with a leading arange index over the batch."""
    size = _batch_size(batched, (x,) + indices)
    idx, rank = _align(batched[1:], indices) if indices else ([], 0)
    return size, [_batch_index(size, rank)] + idx


def _gather_batch(batched, x, *indices):
    if not batched[0]:  # only the indices are batched: they alone carry the batch
        return gather(x, *_align(batched[1:], indices)[0])
    return gather(x, *_batched_indices(batched, x, indices)[1])


def _scatter_add_batch(batched, g, *indices, shape):
    size, idx = _batched_indices(batched, g, indices)
    if not batched[0]:
        g = with_batch(g, size)
    return scatter_add(g, *idx, shape=(size,) + tuple(shape))


gather = _register(
    "gather",
    _gather_rule,
    lambda x, *indices: x[tuple(indices)],
    _index_vjps(lambda g, ans, x, *indices: scatter_add(g, *indices, shape=x.shape)),
    lambda tangents, ans, x, *indices: (
        None if tangents[0] is None else gather(tangents[0], *indices)
    ),
    batch=_gather_batch,
    lowering=("indexed",),
)
scatter_add = _register(
    "scatter_add",
    _scatter_add_rule,
    _scatter_add_impl,
    _index_vjps(lambda g, ans, x, *indices, shape: gather(g, *indices)),
    lambda tangents, ans, x, *indices, shape: (
        None if tangents[0] is None else scatter_add(tangents[0], *indices, shape=shape)
    ),
    batch=_scatter_add_batch,
    lowering=("indexed",),
)


def _matmul_rule(a, b):
    dtype = _same_dtype("matmul", [a, b])
    if len(a.shape) < 2 or len(b.shape) < 2 or a.shape[:-2] != b.shape[:-2]:
        raise ShapeError(f"matmul: shapes {_fmt([a.shape, b.shape])} have mismatched batch dims")
    if a.shape[-1] != b.shape[-2]:
        raise ShapeError(
            f"matmul: shapes {_fmt([a.shape, b.shape])} do not align "
            f"({a.shape[-1]} != {b.shape[-2]})"
        )
    return a.shape[:-1] + b.shape[-1:], dtype


def _matmul_batch(batched, a, b):
    ba, bb = batched
    if ba and bb:
        return matmul(a, b)
    if ba and len(a.shape) == 3:  # (B, m, k) @ (k, n): one GEMM over B * m rows
        size, m, k = a.shape
        out = matmul(reshape(a, new_shape=(size * m, k)), b)
        return reshape(out, new_shape=(size, m, b.shape[-1]))
    if bb and len(b.shape) == 3:  # (m, k) @ (B, k, n): one GEMM over B * n columns
        size, k, n = b.shape
        cols = reshape(transpose(b, perm=(1, 0, 2)), new_shape=(k, size * n))
        out = reshape(matmul(a, cols), new_shape=(a.shape[0], size, n))
        return transpose(out, perm=(1, 0, 2))
    return matmul(*_all_batched(batched, (a, b)))


matmul = _register(
    "matmul",
    _matmul_rule,
    np.matmul,
    (
        lambda g, ans, a, b: matmul(g, swap_last(b)),
        lambda g, ans, a, b: matmul(swap_last(a), g),
    ),
    batch=_matmul_batch,
    lowering=("gemm",),
)
matmul.jvp = _bilinear_jvp(matmul)

# ---------------------------------------------------------------- random bits

# Threefry-2x32 with 20 rounds (Salmon et al. 2011, "Parallel random numbers: as easy as
# 1, 2, 3"), the construction JAX uses: a counter-based generator, so any element of a
# stream is a pure function of (key, counter) and vectorizes without sequential state.
_THREEFRY_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
_THREEFRY_PARITY = 0x1BD11BDA
_U32 = np.dtype(np.uint32)
_RANDOM_DTYPES = (_U32, np.dtype(np.float32), np.dtype(np.float64))


def threefry_2x32(key, x0, x1):
    """Threefry-2x32-20 of the counter blocks ``(x0, x1)`` under ``key`` (uint32 arrays).

    >>> [hex(int(w[0])) for w in threefry_2x32(np.zeros(2, np.uint32), np.zeros(1, np.uint32),
    ...                                          np.zeros(1, np.uint32))]
    ['0x6b200159', '0x99ba4efe']
    """
    k0, k1 = np.asarray(key, _U32).reshape(2)
    ks = np.array([k0, k1, k0 ^ k1 ^ np.uint32(_THREEFRY_PARITY)], _U32)
    # Work on 1-D arrays: NumPy wraps uint32 array arithmetic silently (scalars would warn).
    x0 = np.atleast_1d(np.asarray(x0, _U32)) + ks[0]
    x1 = np.atleast_1d(np.asarray(x1, _U32)) + ks[1]
    for i in range(5):  # 5 groups of 4 rounds, a key injection after each group
        for r in _THREEFRY_ROTATIONS[i % 2]:
            x0 = x0 + x1
            x1 = ((x1 << np.uint32(r)) | (x1 >> np.uint32(32 - r))) ^ x0
        x0 = x0 + ks[(i + 1) % 3]
        x1 = x1 + ks[(i + 2) % 3] + np.uint32(i + 1)
    return x0, x1


def _random_bits_impl(key, counts, dtype=_U32):
    counts = np.asarray(counts, _U32)
    flat = counts.reshape(-1)
    x0, x1 = threefry_2x32(key, flat, np.zeros_like(flat))
    if dtype == np.float32:  # the top 24 bits: every value k * 2**-24 is exact in float32
        out = (x0 >> np.uint32(8)).astype(np.float32) * np.float32(2.0**-24)
    elif dtype == np.float64:  # 27 + 26 bits of both words (genrand_res53's recipe)
        hi = (x0 >> np.uint32(5)).astype(np.float64)
        lo = (x1 >> np.uint32(6)).astype(np.float64)
        out = (hi * 2.0**26 + lo) * 2.0**-53
    else:
        out = x0
    return out.reshape(counts.shape)


def _random_bits_rule(key, counts, dtype=_U32):
    if np.dtype(key.dtype) != _U32 or np.dtype(counts.dtype) != _U32:
        raise DtypeError(
            f"random_bits: the key and the counters must be uint32, got "
            f"{np.dtype(key.dtype).name} and {np.dtype(counts.dtype).name}"
        )
    if tuple(key.shape) != (2,):
        raise ShapeError(f"random_bits: a key has shape (2,), got {tuple(key.shape)}")
    if np.dtype(dtype) not in _RANDOM_DTYPES:
        raise DtypeError(
            f"random_bits: dtype must be uint32, float32 or float64, got {np.dtype(dtype).name}"
        )
    return tuple(counts.shape), np.dtype(dtype)


# Counter layout: counter c of ``counts`` is hashed as the block (c, 0); uint32 output is
# the block's first word, float32 its top 24 bits in [0, 1), float64 53 bits of both words.
random_bits = _register(
    "random_bits",
    _random_bits_rule,
    _random_bits_impl,
    (None, None),  # bits are not differentiable in the key or the counters
    lambda tangents, ans, key, counts, **params: None,
    lowering=("random_bits",),
)


def _random_bits_batch(batched, key, counts, **params):
    if not batched[0]:  # bits are elementwise in the counters
        return random_bits(key, counts, **params)
    return _unrolled(random_bits)(batched, key, counts, **params)


random_bits.batch = _random_bits_batch

from . import linalg, special  # noqa: E402,F401  (register linear algebra, special functions)
from .convolution import (  # noqa: E402,F401  (registers convolution and pooling)
    avg_pool2d,
    avg_pool2d_transpose,
    conv_general_dilated,
    max_pool2d,
    max_pool2d_scatter,
    max_pool2d_select,
)

"""The convolution primitive: XLA's general convolution, whose transposes are itself.

``conv_general_dilated`` is the one convolution of the registry, with JAX's semantics
(``jax.lax.conv_general_dilated``): any number of spatial dimensions, the operands' axes
named by dimension numbers, input (lhs) and kernel (rhs) dilation, padding that may be
negative, feature and batch groups. Its VJP in either operand is a convolution again
(the input gradient convolves the cotangent, dilated by the strides, with the flipped
kernel; the kernel gradient convolves the input with the cotangent), so higher-order
derivatives, vmap and the compiler see one primitive. The compiler recognises the three
2-D forms a CNN's step runs (forward, input gradient, kernel gradient) and lowers them to
the im2col, col2im and filter-gradient kernels.

Every parameter is normalized by ``funcgrad.lax`` before it reaches the primitive:
``window_strides``, ``lhs_dilation``, ``rhs_dilation`` tuples of positive ints, one per
spatial dimension; ``padding`` a tuple of (lo, hi) int pairs; ``dimension_numbers`` three
permutations ``(lhs_spec, rhs_spec, out_spec)``: ``lhs_spec = (batch axis, feature axis,
spatial axes...)``, ``rhs_spec = (output-feature axis, input-feature axis, spatial
axes...)``, ``out_spec`` like ``lhs_spec``.
"""

from .. import conv_numpy
from ..core import is_float
from ..errors import DtypeError, ShapeError
from . import (
    _all_batched,
    _bilinear_jvp,
    _fmt,
    _linear,
    _register,
    _same_dtype,
    _unrolled,
    reshape,
    rev,
    transpose,
    zeros,
)

_dilated = conv_numpy.dilated_size


def _spatial(shape, spec):
    return tuple(shape[a] for a in spec[2:])


def conv_output_shape(lhs_shape, rhs_shape, params):
    """The output shape of a convolution, or a ShapeError naming what does not fit."""
    lhs_spec, rhs_spec, out_spec = params["dimension_numbers"]
    strides, padding = params["window_strides"], params["padding"]
    lhs_dil, rhs_dil = params["lhs_dilation"], params["rhs_dilation"]
    groups, batch_groups = params["feature_group_count"], params["batch_group_count"]
    nd = len(strides)
    name = "conv_general_dilated"
    if not (len(lhs_shape) == len(rhs_shape) == nd + 2):
        raise ShapeError(
            f"{name}: {nd} spatial dimensions need operands of rank {nd + 2}, got "
            f"{_fmt([lhs_shape, rhs_shape])}"
        )
    for spec in (lhs_spec, rhs_spec, out_spec):
        if sorted(spec) != list(range(nd + 2)):
            raise ShapeError(f"{name}: dimension numbers {spec} are not a permutation")
    if not all(len(p) == nd for p in (padding, lhs_dil, rhs_dil)):
        raise ShapeError(f"{name}: padding and dilations need {nd} entries each")
    if min(strides + lhs_dil + rhs_dil) < 1 or min(groups, batch_groups) < 1:
        raise ShapeError(f"{name}: strides, dilations and group counts must be positive")
    if groups > 1 and batch_groups > 1:
        raise ShapeError(f"{name}: feature_group_count and batch_group_count cannot both be > 1")
    n, c = lhs_shape[lhs_spec[0]], lhs_shape[lhs_spec[1]]
    o, i = rhs_shape[rhs_spec[0]], rhs_shape[rhs_spec[1]]
    if c != i * groups:
        raise ShapeError(
            f"{name}: the input has {c} features but the kernel takes {i} per group in "
            f"{groups} group(s) (shapes {_fmt([lhs_shape, rhs_shape])})"
        )
    if o % groups or o % batch_groups or n % batch_groups:
        raise ShapeError(
            f"{name}: {o} output features and batch {n} must divide into the group counts "
            f"({groups} feature, {batch_groups} batch)"
        )
    out = []
    for size, k, s, (lo, hi), ld, rd in zip(
        _spatial(lhs_shape, lhs_spec),
        _spatial(rhs_shape, rhs_spec),
        strides,
        padding,
        lhs_dil,
        rhs_dil,
    ):
        padded = _dilated(size, ld) + lo + hi
        if padded < 0:
            raise ShapeError(
                f"{name}: the padding {padding} crops more than the input "
                f"{_spatial(lhs_shape, lhs_spec)} (dilation {lhs_dil}) holds"
            )
        # A window larger than the padded input leaves no output (XLA's rule).
        out.append(max((padded - _dilated(k, rd)) // s + 1, 0))
    shape = [0] * (nd + 2)
    for axis, size in zip(out_spec, (n // batch_groups, o, *out)):
        shape[axis] = size
    return tuple(shape)


def _conv_rule(lhs, rhs, **params):
    dtype = _same_dtype("conv_general_dilated", [lhs, rhs])
    if not is_float(dtype):
        raise DtypeError(f"conv_general_dilated: expected floating-point arrays, got {dtype.name}")
    return conv_output_shape(tuple(lhs.shape), tuple(rhs.shape), params), dtype


def _swap(spec):
    """A spec with its first two roles exchanged (batch <-> feature, out <-> in)."""
    return (spec[1], spec[0]) + tuple(spec[2:])


def _split_axis(x, axis, size):
    """Axis ``axis`` of x split into (size, rest), the new ``size`` axis first."""
    shape = tuple(x.shape)
    new = shape[:axis] + (size, shape[axis] // size) + shape[axis + 1 :]
    return reshape(x, new_shape=new)


def _merge_axis(x, src, dst):
    """Axis ``src`` merged into axis ``dst`` (numbered as if ``src`` were gone), ``src``
    the major part of the result."""
    perm = [a for a in range(len(x.shape)) if a != src]
    perm.insert(dst, src)
    moved = transpose(x, perm=tuple(perm)) if perm != sorted(perm) else x
    shape = tuple(moved.shape)
    return reshape(moved, new_shape=shape[:dst] + (shape[dst] * shape[dst + 1],) + shape[dst + 2 :])


def _regroup(x, spec, groups):
    """Kernel ``x`` with its output features split into ``groups`` and the group moved
    into the input features: the kernel of the transposed grouped convolution."""
    return _merge_axis(_split_axis(x, spec[0], groups), spec[0], spec[1])


def _per_dimension(g, lhs, rhs, p):
    """Per spatial dimension: input size, window, stride, output size, low padding and
    the two dilations."""
    lhs_spec, rhs_spec, out_spec = p["dimension_numbers"]
    return zip(
        _spatial(lhs.shape, lhs_spec),
        _spatial(rhs.shape, rhs_spec),
        p["window_strides"],
        _spatial(g.shape, out_spec),
        [lo for lo, _ in p["padding"]],
        p["lhs_dilation"],
        p["rhs_dilation"],
    )


def _lhs_transpose(g, ans, lhs, rhs, **p):
    """The input's cotangent: the cotangent, dilated by the strides, convolved with the
    flipped kernel (the kernel's in/out features exchanged)."""
    lhs_spec, rhs_spec, out_spec = p["dimension_numbers"]
    groups, batch_groups = p["feature_group_count"], p["batch_group_count"]
    if batch_groups > 1 or groups > 1:
        rhs = _regroup(rhs, rhs_spec, max(groups, batch_groups))
        groups = max(groups, batch_groups)
    padding = []
    for size, k, s, y, lo, ld, rd in _per_dimension(g, lhs, rhs, p):
        before = _dilated(k, rd) - lo - 1
        after = _dilated(size, ld) + _dilated(k, rd) - 1 - _dilated(y, s) - before
        padding.append((before, after))
    out = conv_general_dilated(
        g,
        rev(rhs, axes=tuple(rhs_spec[2:])),
        window_strides=p["lhs_dilation"],
        padding=tuple(padding),
        lhs_dilation=p["window_strides"],
        rhs_dilation=p["rhs_dilation"],
        dimension_numbers=(out_spec, _swap(rhs_spec), lhs_spec),
        feature_group_count=groups,
        batch_group_count=1,
    )
    if batch_groups > 1:  # the result's features hold the batch groups: back into the batch
        out = _merge_axis(_split_axis(out, lhs_spec[1], batch_groups), lhs_spec[1], lhs_spec[0])
    return out


def _rhs_transpose(g, ans, lhs, rhs, **p):
    """The kernel's cotangent: the input convolved with the cotangent, batch and features
    exchanged (the strides become the kernel's dilation and back)."""
    if g.size == 0:
        return zeros(rhs.shape, rhs.dtype)
    lhs_spec, rhs_spec, out_spec = p["dimension_numbers"]
    groups, batch_groups = p["feature_group_count"], p["batch_group_count"]
    if batch_groups > 1:
        groups, batch_groups = batch_groups, 1
    elif groups > 1:
        groups, batch_groups = 1, groups
    padding = []
    for size, k, s, y, lo, ld, rd in _per_dimension(g, lhs, rhs, p):
        after = _dilated(y, s) - _dilated(size, ld) + _dilated(k, rd) - lo - 1
        padding.append((lo, after))
    return conv_general_dilated(
        lhs,
        g,
        window_strides=p["rhs_dilation"],
        padding=tuple(padding),
        lhs_dilation=p["lhs_dilation"],
        rhs_dilation=p["window_strides"],
        dimension_numbers=(_swap(lhs_spec), _swap(out_spec), _swap(rhs_spec)),
        feature_group_count=groups,
        batch_group_count=batch_groups,
    )


def _conv_batch(batched, lhs, rhs, **p):
    """A batched input folds into the convolution's batch (one convolution); a batched
    kernel has no loop-free rule here: one equation per example."""
    lhs_spec, rhs_spec, out_spec = p["dimension_numbers"]
    if batched[1] or p["batch_group_count"] > 1:
        return _unrolled(conv_general_dilated)(batched, lhs, rhs, **p)
    size = lhs.shape[0]
    folded = _merge_axis(lhs, 0, lhs_spec[0])  # the vmap axis into the batch, major
    out = conv_general_dilated(folded, rhs, **p)
    out = _split_axis(out, out_spec[0], size)  # (..., B, N, ...) at the batch axis
    perm = [out_spec[0]] + [a for a in range(len(out.shape)) if a != out_spec[0]]
    return transpose(out, perm=tuple(perm))


conv_general_dilated = _register(
    "conv_general_dilated",
    _conv_rule,
    conv_numpy.conv_general_dilated,
    (_lhs_transpose, _rhs_transpose),
    batch=_conv_batch,
    traits=["float_only"],
    kernel="conv2d",
    lowering=("conv",),
)
conv_general_dilated.jvp = _bilinear_jvp(conv_general_dilated)

# ---------------------------------------------------------------- pooling
# max_pool2d_select and max_pool2d_scatter are max_pool2d's JVP and VJP: they pick (or
# scatter onto) each window's argmax, which no convolution or composite expresses without
# materialising every window; JAX keeps the same two as primitives (select_and_gather_add,
# select_and_scatter_add). The compiler pairs a pool with its scatter so the scatter reads
# the argmax slots the pool saved. avg_pool2d_transpose is avg_pool2d's transpose (a
# col2im of the spread cotangent), kept because the convolution form of that transpose
# (a depthwise convolution with a constant kernel) would run at a fraction of its speed.


def _window_out(name, in_hw, window, stride, padding, dilation):
    out = []
    for n, k, s, (lo, hi), d in zip(in_hw, window, stride, padding, dilation):
        if s < 1 or d < 1 or k < 1 or lo < 0 or hi < 0:
            raise ShapeError(
                f"{name}: window {window}, stride {stride}, padding {padding} and dilation "
                f"{dilation} must be positive (padding non-negative)"
            )
        size = conv_numpy.conv_output_size(n, k, s, lo, hi, d)
        if size < 1:
            raise ShapeError(
                f"{name}: the window {window} (dilation {dilation}) is larger than the "
                f"padded input {tuple(in_hw)} + padding {padding}"
            )
        out.append(size)
    return tuple(out)


def _folded_batch(prim, *shape_params):
    """Batching for conv/pool primitives whose first operand is (N, ...): B folds into N.
    Batched second operands (weights) have no loop-free rule without grouped convolution:
    one equation per example."""

    def rule(batched, x, *rest, **params):
        if any(batched[1:]):
            return _unrolled(prim)(batched, x, *rest, **params)
        for name in shape_params:  # an output-shape parameter gains the folded batch
            shape = params[name]
            params = dict(params, **{name: (x.shape[0] * shape[0],) + tuple(shape[1:])})
        b, n = x.shape[:2]
        out = prim(reshape(x, new_shape=(b * n,) + tuple(x.shape[2:])), *rest, **params)
        return reshape(out, new_shape=(b, n) + tuple(out.shape[1:]))

    return rule


def _image_pair_batch(prim):
    """max_pool2d_select/scatter: both operands are (N, C, H, W) images: both fold."""

    def rule(batched, x, t, **params):
        x, t = _all_batched(batched, (x, t))
        b, n = x.shape[:2]
        out = prim(
            reshape(x, new_shape=(b * n,) + tuple(x.shape[2:])),
            reshape(t, new_shape=(b * n,) + tuple(t.shape[2:])),
            **params,
        )
        return reshape(out, new_shape=(b, n) + tuple(out.shape[1:]))

    return rule


def _pool_out(name, x_shape, window, stride, padding):
    if len(x_shape) != 4:
        raise ShapeError(f"{name}: expected an (N, C, H, W) input, got shape {tuple(x_shape)}")
    return tuple(x_shape[:2]) + _window_out(name, x_shape[2:], window, stride, padding, (1, 1))


def _pool_rule(name, x, *others):
    """The dtype rule shared by the pooling family."""
    dtype = _same_dtype(name, (x,) + others)
    if not is_float(dtype):
        raise DtypeError(f"{name}: expected a floating-point array, got {dtype.name}")
    return dtype


def _max_pool_rule(x, window, stride, padding):
    _pool_rule("max_pool2d", x)
    return _pool_out("max_pool2d", x.shape, window, stride, padding), x.dtype


def _max_pool_select_rule(x, t, window, stride, padding):
    dtype = _pool_rule("max_pool2d_select", x, t)
    if tuple(t.shape) != tuple(x.shape):
        raise ShapeError(f"max_pool2d_select: shapes {_fmt([x.shape, t.shape])} differ")
    return _pool_out("max_pool2d_select", x.shape, window, stride, padding), dtype


def _max_pool_scatter_rule(x, g, window, stride, padding):
    dtype = _pool_rule("max_pool2d_scatter", x, g)
    if _pool_out("max_pool2d_scatter", x.shape, window, stride, padding) != tuple(g.shape):
        raise ShapeError(f"max_pool2d_scatter: cotangent shape {g.shape} does not match")
    return x.shape, dtype


def _avg_pool_rule(x, window, stride, padding):
    _pool_rule("avg_pool2d", x)
    return _pool_out("avg_pool2d", x.shape, window, stride, padding), x.dtype


def _avg_pool_transpose_rule(g, x_shape, window, stride, padding):
    _pool_rule("avg_pool2d_transpose", g)
    if _pool_out("avg_pool2d_transpose", x_shape, window, stride, padding) != tuple(g.shape):
        raise ShapeError(f"avg_pool2d_transpose: cotangent shape {g.shape} does not match")
    return x_shape, g.dtype


def _select_like_jvp(prim):
    """JVP of a pooling primitive that is linear in its second argument only."""

    def jvp(tangents, ans, x, t, **params):
        return None if tangents[1] is None else prim(x, tangents[1], **params)

    return jvp


max_pool2d = _register(
    "max_pool2d",
    _max_pool_rule,
    conv_numpy.max_pool2d,
    (lambda g, ans, x, **p: max_pool2d_scatter(x, g, **p),),
    lambda tangents, ans, x, **p: (
        None if tangents[0] is None else max_pool2d_select(x, tangents[0], **p)
    ),
    traits=["float_only"],
    kernel="max_pool2d",
    lowering=("conv",),
)
# The argmax positions are locally constant in x, so neither helper has a slope in x.
max_pool2d_select = _register(
    "max_pool2d_select",
    _max_pool_select_rule,
    conv_numpy.max_pool2d_select,
    (None, lambda ct, ans, x, t, **p: max_pool2d_scatter(x, ct, **p)),
    traits=["float_only"],
    kernel="max_pool2d_select",
    lowering=("conv",),
)
max_pool2d_select.jvp = _select_like_jvp(max_pool2d_select)
max_pool2d_scatter = _register(
    "max_pool2d_scatter",
    _max_pool_scatter_rule,
    conv_numpy.max_pool2d_scatter,
    (None, lambda ct, ans, x, g, **p: max_pool2d_select(x, ct, **p)),
    traits=["float_only"],
    kernel="max_pool2d_scatter",
    lowering=("conv",),
)
max_pool2d_scatter.jvp = _select_like_jvp(max_pool2d_scatter)
avg_pool2d = _linear(
    "avg_pool2d",
    _avg_pool_rule,
    conv_numpy.avg_pool2d,
    (lambda g, ans, x, **p: avg_pool2d_transpose(g, x_shape=x.shape, **p),),
    traits=["float_only"],
    kernel="avg_pool2d",
    lowering=("conv",),
)
avg_pool2d_transpose = _linear(
    "avg_pool2d_transpose",
    _avg_pool_transpose_rule,
    conv_numpy.avg_pool2d_transpose,
    (lambda ct, ans, g, x_shape, **p: avg_pool2d(ct, **p),),
    traits=["float_only"],
    kernel="avg_pool2d_transpose",
    lowering=("conv",),
)
max_pool2d.batch = _folded_batch(max_pool2d)
max_pool2d_select.batch = _image_pair_batch(max_pool2d_select)
max_pool2d_scatter.batch = _image_pair_batch(max_pool2d_scatter)
avg_pool2d.batch = _folded_batch(avg_pool2d)
avg_pool2d_transpose.batch = _folded_batch(avg_pool2d_transpose, "x_shape")

"""Registry-parametrized property tests: every primitive in ``funcgrad.primitives.REGISTRY``.

``CASES`` (the one per-primitive table) maps each primitive to a draw of valid operands and
parameters and to an independent NumPy reference. For every primitive the tests check the
reference implementation, the shape/dtype rule, eager calls, float32 propagation, the
batching rule against a loop, the declared traits, and the compiled executor against the
reference interpreter (and that elementwise float primitives run as fused kernels); for the
differentiable ones, VJP and JVP against central finite differences and second order with
``check_grads``. Draws for differentiation stay away from kinks and ties.
"""

import math
import re
import warnings
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import pytest
import scipy.linalg
import scipy.special
from conv_reference import ref_conv_general_dilated
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import funcgrad as fg
import funcgrad.primitives as P
from funcgrad import testing as fgt
from funcgrad.compiler import isa
from funcgrad.compiler.isa import INT_OPS, VM_OPS
from funcgrad.compiler.program import CompiledProgram
from funcgrad.core import Var
from funcgrad.reference import ReferenceProgram

F64, F32 = np.dtype(np.float64), np.dtype(np.float32)
INDEX_DTYPES = st.sampled_from([np.dtype(np.int64), np.dtype(np.int32)])
SETTINGS = settings(max_examples=30, deadline=None)


class Call(NamedTuple):
    """Operands and parameters of one primitive call; ``diff``: operands to differentiate."""

    args: tuple
    params: dict
    diff: tuple = ()


class Case(NamedTuple):
    draw: Callable  # data -> Call
    ref: Callable  # (*args, **params) -> ndarray, written independently of the impl
    grads: bool = True  # has a derivative worth checking against finite differences
    grad_draw: Callable | None = None  # a draw restricted to differentiable calls


# ---------------------------------------------------------------- drawing operands


def _array(data, shape, lo=-3.0, hi=3.0):
    return data.draw(fgt.arrays(shape, min_value=lo, max_value=hi))


def _rarely(data):
    """True about one draw in six: for size-0 sides, which would otherwise dominate."""
    return data.draw(st.integers(0, 5)) == 2  # not an end: hypothesis favours those


def _shape(data, min_dims=0, max_dims=3):
    """Sides 1..4 (size 1 broadcasts); rarely one side is 0."""
    shape = list(data.draw(fgt.shapes(min_dims, max_dims, min_side=1)))
    if shape and _rarely(data):
        shape[data.draw(st.integers(0, len(shape) - 1))] = 0
    return tuple(shape)


def _broadcastable(data, count):
    """Shapes that broadcast together; rarely one broadcast axis has size 0."""
    shapes = [list(s) for s in data.draw(fgt.broadcastable_shapes(count))]
    ndim = max(map(len, shapes))
    if ndim and _rarely(data):
        axis = data.draw(st.integers(1, ndim))  # counted from the right
        having = [s for s in shapes if len(s) >= axis]
        for s in having:
            if s[-axis] != 1:
                s[-axis] = 0
        if all(s[-axis] == 1 for s in having):
            having[0][-axis] = 0
    return [tuple(s) for s in shapes]


def _off_zero(x, gap):
    """Move every element at least ``gap`` away from 0 (kinks of abs/sign, poles of div)."""
    return np.where(x >= 0, x + gap, x - gap)


def _distinct(data, shape):
    """Pairwise distinct values 0.25 apart, so max/argmax have no ties."""
    n = math.prod(shape)
    perm = np.array(data.draw(st.permutations(range(n))), dtype=F64)
    return ((perm - n / 2) * 0.25).reshape(shape)


def _subset(data, items):
    """A random ordered subset of ``items``."""
    perm = data.draw(st.permutations(list(items)))
    return tuple(perm[: data.draw(st.integers(0, len(perm)))])


def _unary(lo=-3.0, hi=3.0, gap=0.0):
    def draw(data):
        x = _array(data, _shape(data), lo, hi)
        return Call((_off_zero(x, gap) if gap else x,), {}, (0,))

    return draw


def _binary(x_range=(-3.0, 3.0), y_range=(-3.0, 3.0), adjust=None, diff=(0, 1)):
    def draw(data):
        sx, sy = _broadcastable(data, 2)
        x, y = _array(data, sx, *x_range), _array(data, sy, *y_range)
        return Call(adjust(x, y) if adjust else (x, y), {}, diff)

    return draw


def _no_ties(x, y):
    return np.round(x), np.round(y) + 0.5


def _on_grid(x, y):
    """Half-integers, so equal operands (the interesting case of comparisons) are common."""
    return np.round(2 * x) / 2, np.round(2 * y) / 2


def draw_select(data):
    sp, sx, sy = _broadcastable(data, 3)
    pred = data.draw(hnp.arrays(np.bool_, sp))
    return Call((pred, _array(data, sx), _array(data, sy)), {}, (1, 2))


CAST_TARGETS = (F64, F32, np.dtype(np.int32), np.dtype(np.int64), np.dtype(bool))


def draw_cast(data):
    x = _array(data, _shape(data))
    if data.draw(st.booleans()):
        x = np.round(x).astype(np.int32)
    dtype = data.draw(st.sampled_from(CAST_TARGETS))
    floats = x.dtype.kind == "f" and dtype.kind == "f"
    return Call((x,), {"dtype": dtype}, (0,) if floats else ())


def draw_cast_float(data):
    x = _array(data, _shape(data))
    return Call((x,), {"dtype": data.draw(st.sampled_from([F64, F32]))}, (0,))


def draw_reduce_sum(data):
    x = _array(data, _shape(data))
    return Call((x,), {"axes": _subset(data, range(x.ndim))}, (0,))


def draw_reduce_chooser(data):
    shape = _shape(data)
    axes = _subset(data, range(len(shape)))
    shape = tuple(max(d, 1) if i in axes else d for i, d in enumerate(shape))
    return Call((_distinct(data, shape),), {"axes": axes}, (0,))


def draw_argmax(data):
    shape = list(_shape(data, min_dims=1))
    axis = data.draw(st.integers(0, len(shape) - 1))
    shape[axis] = max(shape[axis], 1)
    x = np.round(_array(data, tuple(shape)))  # ties: the first maximum wins
    return Call((x,), {"axis": axis, "index_dtype": data.draw(INDEX_DTYPES)})


def draw_reshape(data):
    x = _array(data, _shape(data))
    n = x.size
    ndim = data.draw(st.integers(0 if n == 1 else 1, 4))
    if n == 0:
        dims = [data.draw(st.integers(0, 3)) for _ in range(ndim)]
        dims[data.draw(st.integers(0, ndim - 1))] = 0
    else:
        dims, rest = [], n
        for _ in range(ndim - 1):
            d = data.draw(st.sampled_from([k for k in range(1, rest + 1) if rest % k == 0]))
            dims.append(d)
            rest //= d
        dims = dims + [rest] if ndim else []
    return Call((x,), {"new_shape": tuple(dims)}, (0,))


def draw_transpose(data):
    x = _array(data, _shape(data))
    return Call((x,), {"perm": tuple(data.draw(st.permutations(range(x.ndim))))}, (0,))


def draw_broadcast_in_dim(data):
    x = _array(data, _shape(data))
    ndim = data.draw(st.integers(x.ndim, x.ndim + 2))
    dims = tuple(sorted(data.draw(st.permutations(range(ndim)))[: x.ndim]))
    shape = list(_shape(data, ndim, ndim))
    for i, d in enumerate(dims):
        shape[d] = x.shape[i] if x.shape[i] != 1 else shape[d]
    return Call((x,), {"shape": tuple(shape), "broadcast_dimensions": dims}, (0,))


def draw_slice(data):
    x = _array(data, _shape(data))
    start, limit, strides = [], [], []
    empty_axis = data.draw(st.integers(0, x.ndim - 1)) if x.ndim and _rarely(data) else -1
    for axis, d in enumerate(x.shape):
        empty = d == 0 or axis == empty_axis
        start.append(data.draw(st.integers(0, d if empty else d - 1)))
        limit.append(start[-1] if empty else data.draw(st.integers(start[-1] + 1, d)))
        strides.append(data.draw(st.integers(1, 3)))
    params = {"start": tuple(start), "limit": tuple(limit), "strides": tuple(strides)}
    return Call((x,), params, (0,))


def draw_rev(data):
    x = _array(data, _shape(data))
    return Call((x,), {"axes": _subset(data, range(x.ndim))}, (0,))


def draw_pad(data):
    x = _array(data, _shape(data))
    widths = st.lists(st.integers(0, 2), min_size=x.ndim, max_size=x.ndim).map(tuple)
    params = {
        "lo": data.draw(widths),
        "hi": data.draw(widths),
        "interior": data.draw(widths),
        "value": data.draw(st.sampled_from([0.0, -1.5, 2.0])),
    }
    return Call((x,), params, (0,))


def draw_concatenate(data):
    base = list(_shape(data, min_dims=1))
    axis = data.draw(st.integers(0, len(base) - 1))
    xs = []
    for _ in range(data.draw(st.integers(1, 3))):
        base[axis] = 0 if _rarely(data) else data.draw(st.integers(1, 3))
        xs.append(_array(data, tuple(base)))
    return Call(tuple(xs), {"axis": axis}, tuple(range(len(xs))))


def _draw_indices(data):
    """(x_shape, index arrays) for gather/scatter_add; indexed axes are non-empty."""
    shape = _shape(data, min_dims=1)
    k = data.draw(st.integers(0, len(shape)))
    shape = tuple(max(d, 1) if i < k else d for i, d in enumerate(shape))
    index_shapes = data.draw(fgt.broadcastable_shapes(k, max_dims=2)) if k else ()
    dtype = data.draw(INDEX_DTYPES)
    indices = tuple(
        data.draw(hnp.arrays(dtype, s, elements=st.integers(0, d - 1)))
        for s, d in zip(index_shapes, shape)
    )
    return shape, indices


def draw_gather(data):
    shape, indices = _draw_indices(data)
    return Call((_array(data, shape), *indices), {}, (0,))


def draw_scatter_add(data):
    shape, indices = _draw_indices(data)
    batch = np.broadcast_shapes(*(i.shape for i in indices))
    g = _array(data, batch + shape[len(indices) :])
    return Call((g, *indices), {"shape": shape}, (0,))


def draw_matmul(data):
    dims = list(data.draw(fgt.shapes(max_dims=2, min_side=1, max_side=3)))
    dims += [data.draw(st.integers(1, 3)) for _ in range(3)]
    if _rarely(data):
        dims[data.draw(st.integers(0, len(dims) - 1))] = 0
    *batch, m, k, n = dims
    batch = tuple(batch)
    return Call((_array(data, batch + (m, k)), _array(data, batch + (k, n))), {}, (0, 1))


def _out_size(n, k, stride, lo, hi, dilation):
    span = dilation * (k - 1) + 1
    return (n + lo + hi - span) // stride + 1


def _geometry(data, pool):
    """(x_shape, window, params) with at least one output pixel. Pooling padding stays
    below the window, so every window overlaps the input."""
    window = tuple(data.draw(st.integers(1, 3)) for _ in range(2))
    stride = tuple(data.draw(st.integers(1, 3)) for _ in range(2))
    dilation = (1, 1) if pool else tuple(data.draw(st.integers(1, 2)) for _ in range(2))
    padding, hw = [], []
    for k, d in zip(window, dilation):
        top = 2 if not pool else k - 1
        lo, hi = data.draw(st.integers(0, top)), data.draw(st.integers(0, top))
        least = max(1 if pool else 0, d * (k - 1) + 1 - lo - hi)
        padding.append((lo, hi))
        hw.append(least + data.draw(st.integers(0, 3)))
    batch = 0 if _rarely(data) else data.draw(st.integers(1, 2))
    x_shape = (batch, data.draw(st.integers(1, 2))) + tuple(hw)
    params = {"stride": stride, "padding": tuple(padding)}
    if not pool:
        params["dilation"] = dilation
    return x_shape, window, params


def _conv_out(x_shape, w_shape, stride, padding, dilation):
    oh, ow = (
        _out_size(x_shape[2 + a], w_shape[2 + a], stride[a], *padding[a], dilation[a])
        for a in range(2)
    )
    return (x_shape[0], w_shape[0], oh, ow)


def _placed(shape, spec):
    """The shape whose axis spec[j] has size shape[j] (roles to a layout)."""
    out = [0] * len(shape)
    for role, axis in enumerate(spec):
        out[axis] = shape[role]
    return tuple(out)


def _conv_params(strides, padding, lhs_dil, rhs_dil, dims, groups=1, batch_groups=1):
    return {
        "window_strides": tuple(strides),
        "padding": tuple(map(tuple, padding)),
        "lhs_dilation": tuple(lhs_dil),
        "rhs_dilation": tuple(rhs_dil),
        "dimension_numbers": dims,
        "feature_group_count": groups,
        "batch_group_count": batch_groups,
    }


NCHW_SPECS = ((0, 1, 2, 3),) * 3


def draw_conv_general_dilated(data):
    """Half the draws are the 2-D NCHW forward convolutions the kernels take; the rest
    any rank, layout, dilation, (negative) padding and grouping."""
    if data.draw(st.booleans()):
        x_shape, window, params = _geometry(data, pool=False)
        w_shape = (0 if _rarely(data) else data.draw(st.integers(1, 2)), x_shape[1]) + window
        general = _conv_params(
            params["stride"], params["padding"], (1, 1), params["dilation"], NCHW_SPECS
        )
        return Call((_array(data, x_shape), _array(data, w_shape)), general, (0, 1))
    nd = data.draw(st.integers(1, 3))
    groups = data.draw(st.sampled_from([1, 1, 2]))
    batch_groups = 1 if groups > 1 else data.draw(st.sampled_from([1, 1, 2]))
    n = data.draw(st.integers(1, 2)) * batch_groups
    c = data.draw(st.integers(1, 2)) * groups
    o = data.draw(st.integers(1, 2)) * groups * batch_groups
    window = [data.draw(st.integers(1, 3)) for _ in range(nd)]
    strides = [data.draw(st.integers(1, 2)) for _ in range(nd)]
    lhs_dil = [data.draw(st.integers(1, 2)) for _ in range(nd)]
    rhs_dil = [data.draw(st.integers(1, 2)) for _ in range(nd)]
    padding = [(data.draw(st.integers(-1, 2)), data.draw(st.integers(-1, 2))) for _ in range(nd)]
    sizes = []
    for k, (lo, hi), ld, rd in zip(window, padding, lhs_dil, rhs_dil):
        least = 1  # the dilated input plus padding must hold the dilated window
        while (least - 1) * ld + 1 + lo + hi < (k - 1) * rd + 1:
            least += 1
        sizes.append(least + data.draw(st.integers(0, 2)))
    perm = st.permutations(range(nd + 2)).map(tuple)
    dims = tuple(data.draw(perm) for _ in range(3))
    x = _array(data, _placed((n, c, *sizes), dims[0]))
    w = _array(data, _placed((o, c // groups, *window), dims[1]))
    params = _conv_params(strides, padding, lhs_dil, rhs_dil, dims, groups, batch_groups)
    return Call((x, w), params, (0, 1))


def _draw_pool(data):
    x_shape, window, params = _geometry(data, pool=True)
    g_shape = _conv_out(x_shape, (x_shape[1], 1) + window, dilation=(1, 1), **params)
    return x_shape, g_shape, {**params, "window": window}


def draw_max_pool2d(data):
    x_shape, _, params = _draw_pool(data)
    return Call((_distinct(data, x_shape),), params, (0,))


def draw_max_pool2d_select(data):
    # The argmax positions are locally constant in x (no ties): its derivative in x is 0.
    x_shape, _, params = _draw_pool(data)
    return Call((_distinct(data, x_shape), _array(data, x_shape)), params, (0, 1))


def draw_max_pool2d_scatter(data):
    x_shape, g_shape, params = _draw_pool(data)
    return Call((_distinct(data, x_shape), _array(data, g_shape)), params, (0, 1))


def draw_avg_pool2d(data):
    x_shape, _, params = _draw_pool(data)
    return Call((_array(data, x_shape),), params, (0,))


def draw_avg_pool2d_transpose(data):
    x_shape, g_shape, params = _draw_pool(data)
    return Call((_array(data, g_shape),), {**params, "x_shape": x_shape}, (0,))


# ---------------------------------------------------------------- independent references


def ref_max(x, y):
    return np.where(x > y, x, y)


def ref_min(x, y):
    return np.where(x < y, x, y)


def ref_cast(x, dtype):
    return np.array(x.tolist(), dtype=dtype).reshape(x.shape)


def ref_reduce(fn):
    def ref(x, axes):
        for a in sorted(axes, reverse=True):
            x = fn(x, axis=a)
        return x

    return ref


def ref_logsumexp(x, axes, keepdims=False):
    """In extended precision without a shift: the draws are small enough not to overflow."""
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(x.astype(np.longdouble)), axis=axes, keepdims=keepdims))
    return out.astype(x.dtype)


def ref_log_softmax(x, axes):
    return x - ref_logsumexp(x, axes, keepdims=True)


def ref_softmax(x, axes):
    e = np.exp(x.astype(np.longdouble))
    return (e / np.sum(e, axis=axes, keepdims=True)).astype(x.dtype)


def ref_argmax(x, axis, index_dtype):
    top = np.max(x, axis=axis, keepdims=True)
    before_first = np.cumsum(x == top, axis=axis) == 0
    return np.sum(before_first, axis=axis).astype(index_dtype)


def ref_transpose(x, perm):
    out = np.empty(tuple(x.shape[p] for p in perm), x.dtype)
    for j in np.ndindex(out.shape):
        k = [0] * x.ndim
        for a, p in enumerate(perm):
            k[p] = j[a]
        out[j] = x[tuple(k)]
    return out


def ref_broadcast_in_dim(x, shape, broadcast_dimensions):
    missing = tuple(d for d in range(len(shape)) if d not in broadcast_dimensions)
    return np.broadcast_to(np.expand_dims(x, missing), shape)


def ref_slice(x, start, limit, strides):
    return x[np.ix_(*map(np.arange, start, limit, strides))] if x.ndim else x


def ref_rev(x, axes):
    return x[tuple(slice(None, None, -1) if a in axes else slice(None) for a in range(x.ndim))]


def ref_pad(x, lo, hi, interior, value):
    shape = tuple(a + b + max(d + (d - 1) * i, 0) for a, b, i, d in zip(lo, hi, interior, x.shape))
    out = np.full(shape, value)
    if x.ndim:
        out[np.ix_(*(a + (i + 1) * np.arange(d) for a, i, d in zip(lo, interior, x.shape)))] = x
    else:
        out[()] = x
    return out


def ref_concatenate(*xs, axis):
    shape = list(xs[0].shape)
    shape[axis] = sum(x.shape[axis] for x in xs)
    out, begin = np.empty(shape), 0
    for x in xs:
        index = [slice(None)] * len(shape)
        index[axis] = slice(begin, begin + x.shape[axis])
        out[tuple(index)] = x
        begin += x.shape[axis]
    return out


def ref_gather(x, *indices):
    idx = np.broadcast_arrays(*indices) if indices else []
    batch = idx[0].shape if indices else ()
    out = np.empty(batch + x.shape[len(indices) :])
    for b in np.ndindex(batch):
        out[b] = x[tuple(int(i[b]) for i in idx)]
    return out


def ref_scatter_add(g, *indices, shape):
    idx = np.broadcast_arrays(*indices) if indices else []
    batch = idx[0].shape if indices else ()
    out = np.zeros(shape)
    for b in np.ndindex(batch):
        out[tuple(int(i[b]) for i in idx)] += g[b]
    return out


def ref_matmul(a, b):
    return np.einsum("...ij,...jk->...ik", a, b)


def _patches(x_shape, window, stride, padding, dilation=(1, 1)):
    """(i, j, index into the padded input of the (i, j)-th window offset over all outputs)."""
    oh, ow = (
        _out_size(x_shape[2 + a], window[a], stride[a], *padding[a], dilation[a]) for a in (0, 1)
    )
    for i in range(window[0]):
        rows = slice(i * dilation[0], i * dilation[0] + (oh - 1) * stride[0] + 1, stride[0])
        for j in range(window[1]):
            cols = slice(j * dilation[1], j * dilation[1] + (ow - 1) * stride[1] + 1, stride[1])
            yield i, j, (slice(None), slice(None), rows, cols)


def _padded(x, padding, value=0.0):
    return np.pad(x, ((0, 0), (0, 0)) + tuple(padding), constant_values=value)


def _unpadded(xp, padding):
    (top, bottom), (left, right) = padding
    return xp[:, :, top : xp.shape[2] - bottom, left : xp.shape[3] - right]


def _window_stack(x, window, stride, padding, value):
    """Every window's values, stacked in row-major window order on axis 0."""
    xp = _padded(x, padding, value)
    return np.stack([xp[at] for _, _, at in _patches(x.shape, window, stride, padding)])


def ref_max_pool2d(x, window, stride, padding):
    return _window_stack(x, window, stride, padding, -np.inf).max(axis=0)


def _first_argmax(x, window, stride, padding):
    stack = _window_stack(x, window, stride, padding, -np.inf)
    return (np.cumsum(stack == stack.max(axis=0), axis=0) == 0).sum(axis=0)


def ref_max_pool2d_select(x, t, window, stride, padding):
    stack = _window_stack(t, window, stride, padding, 0.0)
    k = _first_argmax(x, window, stride, padding)
    return np.take_along_axis(stack, k[None], axis=0)[0]


def ref_max_pool2d_scatter(x, g, window, stride, padding):
    k = _first_argmax(x, window, stride, padding)
    xp = _padded(np.zeros(x.shape), padding)
    for n, c, p, q in np.ndindex(g.shape):
        i, j = divmod(int(k[n, c, p, q]), window[1])
        xp[n, c, p * stride[0] + i, q * stride[1] + j] += g[n, c, p, q]
    return _unpadded(xp, padding)


def ref_avg_pool2d(x, window, stride, padding):
    return _window_stack(x, window, stride, padding, 0.0).sum(axis=0) / (window[0] * window[1])


def ref_avg_pool2d_transpose(g, x_shape, window, stride, padding):
    xp = _padded(np.zeros(x_shape), padding)
    for _, _, at in _patches(x_shape, window, stride, padding):
        xp[at] += g / (window[0] * window[1])
    return _unpadded(xp, padding)


_U32_MASK = 0xFFFFFFFF


def ref_threefry_2x32(key, x0, x1):
    """Threefry-2x32-20 on Python ints, written from the Random123 paper's description."""
    rotations = (13, 15, 26, 6, 17, 29, 16, 24)
    ks = (key[0], key[1], key[0] ^ key[1] ^ 0x1BD11BDA)
    x0, x1 = (x0 + ks[0]) & _U32_MASK, (x1 + ks[1]) & _U32_MASK
    for r in range(20):
        x0 = (x0 + x1) & _U32_MASK
        rot = rotations[r % 8]
        x1 = (((x1 << rot) | (x1 >> (32 - rot))) & _U32_MASK) ^ x0
        if r % 4 == 3:  # key injection s after every 4 rounds
            s = r // 4 + 1
            x0 = (x0 + ks[s % 3]) & _U32_MASK
            x1 = (x1 + ks[(s + 1) % 3] + s) & _U32_MASK
    return x0, x1


def ref_random_bits(key, counts, dtype):
    """Counter c hashes the block (c, 0): uint32 is its first word, float32 that word's top
    24 bits / 2**24, float64 (top 27 bits of word 0, top 26 of word 1) / 2**53."""
    key = [int(k) for k in key]
    out = np.empty(counts.shape, dtype)
    for i in np.ndindex(counts.shape):
        w0, w1 = ref_threefry_2x32(key, int(counts[i]), 0)
        if dtype == F32:
            out[i] = (w0 >> 8) / 2.0**24
        elif dtype == F64:
            out[i] = ((w0 >> 5) * 2**26 + (w1 >> 6)) / 2.0**53
        else:
            out[i] = w0
    return out


def draw_random_bits(data):
    words = st.integers(0, _U32_MASK)
    key = data.draw(hnp.arrays(np.uint32, (2,), elements=words))
    counts = data.draw(hnp.arrays(np.uint32, _shape(data), elements=words))
    dtype = data.draw(st.sampled_from([np.dtype(np.uint32), F32, F64]))
    return Call((key, counts), {"dtype": dtype})


def draw_iota(data):
    dtype = data.draw(st.sampled_from([np.dtype(np.int32), np.dtype(np.int64), F32, F64]))
    return Call((), {"size": data.draw(st.integers(0, 40)), "dtype": dtype})


def ref_iota(size, dtype):
    return np.array(list(range(size)), dtype)


# ---------------------------------------------------------------- rounding, scans, integers


def _each(fn, dtype=None):
    """``fn`` of Python scalars applied to every element (an independent reference)."""

    def ref(*arrays):
        arrays = np.broadcast_arrays(*arrays)
        flat = [fn(*(v.item() for v in vs)) for vs in zip(*(a.ravel() for a in arrays))]
        out_dtype = dtype or arrays[0].dtype
        return (
            np.array(flat, dtype=np.float64 if out_dtype.kind == "f" else object)
            .reshape(arrays[0].shape)
            .astype(out_dtype)
        )

    return ref


def _off_kinks(x, y):
    """(x, y) with y away from 0 and x / y a half-integer: fmod is smooth there."""
    y = _off_zero(y, 0.5)
    return y * (np.trunc(x) + 0.5 * np.sign(x)), y


def _draw_ints(data, shape, lo, hi):
    dtype = data.draw(st.sampled_from([np.int8, np.int32, np.int64]))
    return data.draw(hnp.arrays(dtype, shape, elements=st.integers(lo, hi)))


def _int_binary(y_range=(-100, 100)):
    def draw(data):
        sx, sy = _broadcastable(data, 2)
        x = _draw_ints(data, sx, -100, 100)
        y = data.draw(hnp.arrays(x.dtype, sy, elements=st.integers(*y_range)))
        return Call((x, y), {})

    return draw


def _wrap(value, dtype):
    """A Python int wrapped to ``dtype``'s two's-complement range."""
    bits = 8 * np.dtype(dtype).itemsize
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >= 1 << (bits - 1) else value


def _int_ref(fn):
    def ref(x, y):
        x, y = np.broadcast_arrays(x, y)
        bits = 8 * x.dtype.itemsize
        out = [_wrap(fn(int(a), int(b), bits), x.dtype) for a, b in zip(x.ravel(), y.ravel())]
        return np.array(out, dtype=x.dtype).reshape(x.shape)

    return ref


def _trunc_div(a, b, bits):
    if b == 0:
        return 0
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def _left_shift(a, b, bits):
    return a << b if 0 <= b < bits else 0


def _right_shift(a, b, bits):
    return a >> b if 0 <= b < bits else (-1 if a < 0 else 0)


def _draw_along(values):
    def draw(data):
        shape = _shape(data, min_dims=1)
        return Call(
            (values(data, shape),), {"axis": data.draw(st.integers(0, len(shape) - 1))}, (0,)
        )

    return draw


def _scan_ref(step):
    def ref(x, axis):
        out = np.moveaxis(np.array(x, dtype=F64), axis, 0).copy()
        for i in range(1, out.shape[0]):
            out[i] = step(out[i - 1], out[i])
        return np.moveaxis(out, 0, axis).astype(x.dtype)

    return ref


def _with_nans(data, shape):
    x = np.round(_array(data, shape))  # ties: the stable order keeps them in place
    if x.size and _rarely(data):
        x.flat[data.draw(st.integers(0, x.size - 1))] = np.nan
    return x


def ref_argsort(x, axis):
    rows = np.moveaxis(x, axis, -1)
    out = np.empty(rows.shape, np.int64)
    for i in np.ndindex(rows.shape[:-1]):
        row = rows[i].tolist()
        out[i] = sorted(
            range(len(row)), key=lambda k: (math.isnan(row[k]), row[k] if row[k] == row[k] else 0)
        )
    return np.moveaxis(out, -1, axis)


def _scaled(call, factor):
    return call._replace(args=tuple(a * factor for a in call.args))


def draw_searchsorted(data):
    a = np.sort(_with_nans(data, (data.draw(st.integers(0, 6)),)))  # (NaN last)
    v = _with_nans(data, _shape(data))
    return Call((a, v), {"side": data.draw(st.sampled_from(["left", "right"]))})


def ref_searchsorted(a, v, side):
    """The number of elements of a before each v, in NaN-last order."""

    def before(x, y):  # x sorts before y (left) or before-or-with y (right)
        if math.isnan(y):
            return side == "right" or not math.isnan(x)
        return x < y or (side == "right" and x == y)

    out = [sum(before(x, y) for x in a.tolist()) for y in v.ravel().tolist()]
    return np.array(out, np.int64).reshape(v.shape)


# ---------------------------------------------------------------- linear algebra
# Well-conditioned draws: SPD A A^T + n I, diagonally dominant systems, spectra spaced at
# least 0.5 apart (Q diag(w) Q^T with a random orthogonal Q). Batches of 0..2 dims; the
# triangle a symmetric primitive does not read holds garbage.


def _linalg_rng(data):
    return np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))


def _linalg_batch(data):
    batch = data.draw(fgt.shapes(max_dims=2, min_side=1, max_side=2))
    return (0,) + batch[1:] if batch and _rarely(data) else batch


def _orthogonal(rng, batch, n):
    return np.linalg.qr(rng.standard_normal(batch + (n, n)))[0]


def _spread(rng, batch, k, low, gap=0.5):
    """Values ``low`` + increments of at least ``gap``, in random order along the last axis."""
    steps = np.cumsum(gap + rng.uniform(0, 1, batch + (k,)), axis=-1)
    return rng.permuted(low + steps, axis=-1)


def _with_upper_garbage(rng, a):
    return a + np.triu(rng.uniform(-1, 1, a.shape), 1)


def _mT(a):
    return np.swapaxes(a, -1, -2)


def draw_cholesky(data):
    rng, batch, n = _linalg_rng(data), _linalg_batch(data), data.draw(st.integers(0, 4))
    x = rng.standard_normal(batch + (n, n))
    return Call((_with_upper_garbage(rng, x @ _mT(x) + n * np.eye(n)),), {}, (0,))


def _dominant(rng, batch, n):
    signs = rng.choice([-1.0, 1.0], batch + (n, 1))  # determinants of both signs
    return signs * (rng.uniform(-1, 1, batch + (n, n)) + (n + 1) * np.eye(n))


def draw_triangular_matmul(data):
    params = {"lower": data.draw(st.booleans()), "transpose_a": data.draw(st.booleans())}
    return Call(draw_solve(data).args, params, (0, 1))


def draw_solve(data):
    rng, batch = _linalg_rng(data), _linalg_batch(data)
    n, k = data.draw(st.integers(0, 4)), data.draw(st.integers(1, 3))
    return Call((_dominant(rng, batch, n), rng.uniform(-3, 3, batch + (n, k))), {}, (0, 1))


def draw_triangular_solve(data):
    a, b = draw_solve(data).args
    params = {
        "lower": data.draw(st.booleans()),
        "transpose_a": data.draw(st.booleans()),
        "left_side": data.draw(st.booleans()),
    }
    return Call((a, b if params["left_side"] else _mT(b)), params, (0, 1))


def draw_slogdet(data):
    rng, batch, n = _linalg_rng(data), _linalg_batch(data), data.draw(st.integers(0, 4))
    return Call((_dominant(rng, batch, n),), {}, (0,))


def draw_eigh(data):
    rng, batch, n = _linalg_rng(data), _linalg_batch(data), data.draw(st.integers(0, 4))
    q = _orthogonal(rng, batch, n)
    # gaps of 1+: second derivatives of eigenvectors grow as 1/gap^3 (finite differences)
    a = q @ (_spread(rng, batch, n, -2.0, gap=1.0)[..., None] * _mT(q))
    return Call(
        (np.tril(a) + np.triu(rng.uniform(-1, 1, a.shape), 1),),
        {"vectors": data.draw(st.booleans())},
        (0,),
    )


def _draw_svd_operand(data):
    rng, batch = _linalg_rng(data), _linalg_batch(data)
    m, n = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    k = min(m, n)
    u, v = _orthogonal(rng, batch, m)[..., :k], _orthogonal(rng, batch, n)[..., :k]
    return u @ (_spread(rng, batch, k, 0.0)[..., None] * _mT(v))


def draw_svd(data):
    a = _draw_svd_operand(data)
    return Call((a,), {"compute_uv": data.draw(st.booleans())}, (0,))


def draw_qr(data, complete=None):
    rng, batch = _linalg_rng(data), _linalg_batch(data)
    n = data.draw(st.integers(0, 3))
    m = n + data.draw(st.integers(0, 2))
    complete = data.draw(st.booleans()) if complete is None else complete
    diff = () if complete and m > n else (0,)  # (no derivative: see the table)
    u, v = _orthogonal(rng, batch, m)[..., :n], _orthogonal(rng, batch, n)
    a = u @ (_spread(rng, batch, n, 0.5)[..., None] * _mT(v))  # singular values >= 1
    return Call((a,), {"complete": complete}, diff)


def draw_pinv(data):
    a = _draw_svd_operand(data)
    return Call((a,), {"rcond": data.draw(st.sampled_from([1e-15, 1e-10]))}, (0,))


def _each_matrix(fn, *arrays):
    """Apply ``fn`` matrix by matrix (the independent references loop in Python)."""
    batch = arrays[0].shape[:-2]
    outs = [np.asarray(fn(*(a[i].astype(F64) for a in arrays))) for i in np.ndindex(batch)]
    if not outs:  # an empty batch: the shape of one result on zeros
        probe = fn(*(np.eye(*a.shape[-2:]) for a in arrays))
        return np.zeros(batch + np.shape(probe))
    return np.stack(outs).reshape(batch + outs[0].shape)


def _sym(a):
    return np.tril(a) + np.tril(a, -1).T


def ref_cholesky(a):
    def banachiewicz(s):
        s, n = _sym(s), len(s)
        out = np.zeros((n, n))
        for i in range(n):
            for j in range(i + 1):
                rest = s[i, j] - out[i, :j] @ out[j, :j]
                out[i, j] = np.sqrt(rest) if i == j else rest / out[j, j]
        return out

    return _each_matrix(banachiewicz, a).astype(a.dtype)


def ref_triangular_solve(a, b, lower, transpose_a, left_side):
    def solve(a, b):
        t = np.tril(a) if lower else np.triu(a)
        op = t.T if transpose_a else t
        return scipy.linalg.solve(op, b) if left_side else scipy.linalg.solve(op.T, b.T).T

    return _each_matrix(solve, a, b).astype(a.dtype)


def ref_triangular_matmul(a, b, lower, transpose_a):
    n = a.shape[-1]
    keep = np.tri(n) if lower else np.tri(n).T
    t = a * keep
    return np.einsum("...ji,...jk->...ik" if transpose_a else "...ij,...jk->...ik", t, b)


def ref_solve(a, b):
    return _each_matrix(lambda a, b: scipy.linalg.lu_solve(scipy.linalg.lu_factor(a), b), a, b)


def ref_slogdet(a):
    def slogdet(a):
        det = scipy.linalg.det(a)
        return np.array([np.sign(det), np.log(np.abs(det))])

    return _each_matrix(slogdet, a).astype(a.dtype)


def _signed_by_largest(*vectors):
    """Flip columns so that those of the first array have their largest entry positive."""
    for j in range(vectors[0].shape[1]):
        if vectors[0][np.argmax(np.abs(vectors[0][:, j])), j] < 0:
            for v in vectors:
                v[:, j] = -v[:, j]
    return vectors


def ref_eigh(a, vectors):
    def eigh(a):
        w, v = scipy.linalg.eigh(_sym(a), driver="ev")
        return np.vstack([w, _signed_by_largest(v)[0]]) if vectors else w

    return _each_matrix(eigh, a).astype(a.dtype)


def ref_svd(a, compute_uv):
    def svd(a):
        u, s, vt = scipy.linalg.svd(a, full_matrices=False, lapack_driver="gesvd")
        if not compute_uv:
            return s
        v, u = _signed_by_largest(vt.T.copy(), u)
        return np.vstack([u, s, v])

    return _each_matrix(svd, a).astype(a.dtype)


def ref_qr(a, complete):
    def qr(a):
        q, r = scipy.linalg.qr(a, mode="full" if complete else "economic")
        for j in range(a.shape[1]):
            if r[j, j] < 0:
                q[:, j], r[j, :] = -q[:, j], -r[j, :]
        return np.vstack([q, r.T])

    return _each_matrix(qr, a).astype(a.dtype)


def ref_pinv(a, rcond):
    def pinv(a):  # full rank: the normal equations of the side with independent columns
        m, n = a.shape
        return np.linalg.solve(a.T @ a, a.T) if m >= n else a.T @ np.linalg.inv(a @ a.T)

    return _each_matrix(pinv, a).astype(a.dtype)


# ---------------------------------------------------------------- special functions
# References written apart from SciPy's implementations (the primitives' own references):
# Python's math module, series and quadrature in extended precision.


def _digamma_ref(x):
    """psi by the recurrence up to 20, then the asymptotic series (long double)."""
    x = np.asarray(x, np.longdouble)
    shift = np.zeros_like(x)
    while np.any(x < 20):
        small = x < 20
        shift = shift - np.where(small, 1 / x, 0)
        x = np.where(small, x + 1, x)
    w = 1 / (x * x)
    bernoulli = [1 / 12, -1 / 120, 1 / 252, -1 / 240, 1 / 132, -691 / 32760, 1 / 12]
    series = sum(c * w ** (k + 1) for k, c in enumerate(bernoulli))
    return shift + np.log(x) - 1 / (2 * x) - series


def _hurwitz_ref(s, q, terms=60):
    """sum_k (k + q)^-s by Euler-Maclaurin: the first terms, then the integral and three
    corrections of the tail (long double)."""
    s, q = np.broadcast_arrays(np.asarray(s, np.longdouble), np.asarray(q, np.longdouble))
    head = sum((q + k) ** -s for k in range(terms))
    n = q + terms
    tail = n ** (1 - s) / (s - 1) + n**-s / 2 + s * n ** (-s - 1) / 12
    tail -= s * (s + 1) * (s + 2) * n ** (-s - 3) / 720
    return head + tail


def ref_polygamma(n, x):
    n, x = np.broadcast_arrays(n, x)
    fact = np.array([math.factorial(int(k)) for k in n.ravel()]).reshape(n.shape)
    higher = (-1.0) ** (n + 1) * fact * _hurwitz_ref(n + 1, x)
    return np.where(n == 0, _digamma_ref(x), higher).astype(x.dtype)


def _gammainc_ref(a, x):
    """P(a, x) = x^a e^-x sum_k x^k / Gamma(a + k + 1) (DLMF 8.7.1), by math.lgamma."""
    total, k, term = 0.0, 0, 1.0
    while k < 400 and (k < 5 or term > 1e-18 * total):
        term = math.exp((a + k) * math.log(x) - x - math.lgamma(a + k + 1))
        total += term
        k += 1
    return total


def _betainc_ref(a, b, x):
    """x^a / (a B(a, b)) 2F1(a, 1 - b; a + 1; x) (DLMF 8.17.7), for x <= 1/2; above, by
    the symmetry I_x(a, b) = 1 - I_(1-x)(b, a)."""
    if x > 0.5:
        return 1 - _betainc_ref(b, a, 1 - x)
    total, coef, n = 0.0, 1.0, 0
    while n < 400:
        term = coef * x**n / (a + n)
        total += term
        if n > 3 and abs(term) < 1e-18 * abs(total):
            break
        coef *= (n + 1 - b) / (n + 1)
        n += 1
    return x**a * total * math.exp(-_betaln_ref(a, b))


def _betaln_ref(a, b):
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def _log_ndtr_ref(x):
    return math.log(math.erfc(-x / math.sqrt(2)) / 2)


def draw_polygamma(data):
    sn, sx = _broadcastable(data, 2)
    n = data.draw(hnp.arrays(F64, sn, elements=st.sampled_from([0.0, 1.0, 2.0, 3.0])))
    return Call((n, _array(data, sx, 0.5, 5.0)), {}, (1,))


def draw_betainc(data):
    sa, sb, sx = _broadcastable(data, 3)
    a, b = _array(data, sa, 1.0, 4.0), _array(data, sb, 1.0, 4.0)
    return Call((a, b, _array(data, sx, 0.05, 0.95)), {}, (2,))


_SPECIAL = {
    "erf": Case(_unary(), _each(math.erf)),
    "erfc": Case(_unary(), _each(math.erfc)),
    "erfinv": Case(_unary(-0.9, 0.9), lambda y: scipy.special.ndtri((y + 1) / 2) / math.sqrt(2)),
    "ndtri": Case(
        _unary(0.02, 0.98), lambda p: math.sqrt(2) * scipy.special.erfinv(2 * p - 1).astype(p.dtype)
    ),
    "log_ndtr": Case(_unary(), _each(_log_ndtr_ref)),
    "gammaln": Case(_unary(0.25, 6.0), _each(math.lgamma)),
    "digamma": Case(_unary(0.25, 6.0), lambda x: _digamma_ref(x).astype(x.dtype)),
    "polygamma": Case(draw_polygamma, ref_polygamma),
    "i0e": Case(_unary(gap=0.25), lambda x: np.i0(x) * np.exp(-np.abs(x))),
    "i1e": Case(_unary(gap=0.25), lambda x: scipy.special.iv(1, x) * np.exp(-np.abs(x))),
    "zeta": Case(
        _binary((1.5, 4.0), (0.5, 3.0), diff=(1,)),
        lambda x, q: _hurwitz_ref(x, q).astype(np.result_type(x, q)),
    ),
    "gammainc": Case(_binary((0.5, 4.0), (0.1, 5.0), diff=(1,)), _each(_gammainc_ref)),
    "gammaincc": Case(
        _binary((0.5, 4.0), (0.1, 5.0), diff=(1,)), _each(lambda a, x: 1 - _gammainc_ref(a, x))
    ),
    "betaln": Case(_binary((0.5, 5.0), (0.5, 5.0)), _each(_betaln_ref)),
    "betainc": Case(draw_betainc, _each(_betainc_ref)),
}


# ---------------------------------------------------------------- the table


def _compare(fn):
    return Case(_binary(adjust=_on_grid, diff=()), fn, grads=False)


CASES = {
    "neg": Case(_unary(), np.negative),
    "exp": Case(_unary(), np.exp),
    "log": Case(_unary(0.5, 3.0), np.log),
    "log1p": Case(_unary(-0.5, 3.0), np.log1p),
    "tanh": Case(_unary(), np.tanh),
    "sin": Case(_unary(), np.sin),
    "cos": Case(_unary(), np.cos),
    "sqrt": Case(_unary(0.5, 3.0), np.sqrt),
    "sinh": Case(_unary(), lambda x: (np.exp(x) - np.exp(-x)) / 2),
    "cosh": Case(_unary(), lambda x: (np.exp(x) + np.exp(-x)) / 2),
    "arcsinh": Case(_unary(), lambda x: np.log(x + np.sqrt(x * x + 1))),
    "abs": Case(_unary(gap=0.25), lambda x: np.where(x < 0, -x, x)),
    "sign": Case(_unary(gap=0.25), lambda x: (x > 0).astype(F64) - (x < 0)),
    "stop_gradient": Case(_unary(), lambda x: x, grads=False),
    "optimization_barrier": Case(_unary(), lambda x: x),
    "add": Case(_binary(), lambda x, y: x + y),
    "sub": Case(_binary(), lambda x, y: x - y),
    "mul": Case(_binary(), lambda x, y: x * y),
    "div": Case(_binary(adjust=lambda x, y: (x, _off_zero(y, 1.0))), lambda x, y: x / y),
    "pow": Case(_binary((0.5, 3.0), (-2.0, 2.5)), lambda x, y: np.exp(y * np.log(x))),
    "max": Case(_binary(adjust=_no_ties), ref_max),
    "min": Case(_binary(adjust=_no_ties), ref_min),
    "gt": _compare(lambda x, y: x > y),
    "ge": _compare(lambda x, y: x >= y),
    "lt": _compare(lambda x, y: x < y),
    "le": _compare(lambda x, y: x <= y),
    "eq": _compare(lambda x, y: x == y),
    "ne": _compare(lambda x, y: x != y),
    "select": Case(draw_select, lambda p, x, y: p * x + ~p * y),
    "cast": Case(draw_cast, ref_cast, grad_draw=draw_cast_float),
    "reduce_sum": Case(draw_reduce_sum, ref_reduce(np.add.reduce)),
    "reduce_max": Case(draw_reduce_chooser, ref_reduce(np.maximum.reduce)),
    "reduce_min": Case(draw_reduce_chooser, ref_reduce(np.minimum.reduce)),
    "argmax": Case(draw_argmax, ref_argmax, grads=False),
    # derivatives of an empty row (a constant -inf) are not finite differences: rows of 1+
    "logsumexp": Case(draw_reduce_sum, ref_logsumexp, grad_draw=draw_reduce_chooser),
    "log_softmax": Case(draw_reduce_sum, ref_log_softmax, grad_draw=draw_reduce_chooser),
    "softmax": Case(draw_reduce_sum, ref_softmax, grad_draw=draw_reduce_chooser),
    "reshape": Case(
        draw_reshape, lambda x, new_shape: np.array(x.ravel().tolist()).reshape(new_shape)
    ),
    "transpose": Case(draw_transpose, ref_transpose),
    "broadcast_in_dim": Case(draw_broadcast_in_dim, ref_broadcast_in_dim),
    "slice": Case(draw_slice, ref_slice),
    "rev": Case(draw_rev, ref_rev),
    "pad": Case(draw_pad, ref_pad),
    "concatenate": Case(draw_concatenate, ref_concatenate),
    "gather": Case(draw_gather, ref_gather),
    "scatter_add": Case(draw_scatter_add, ref_scatter_add),
    "matmul": Case(draw_matmul, ref_matmul),
    "conv_general_dilated": Case(draw_conv_general_dilated, ref_conv_general_dilated),
    "max_pool2d": Case(draw_max_pool2d, ref_max_pool2d),
    "max_pool2d_select": Case(draw_max_pool2d_select, ref_max_pool2d_select),
    "max_pool2d_scatter": Case(draw_max_pool2d_scatter, ref_max_pool2d_scatter),
    "avg_pool2d": Case(draw_avg_pool2d, ref_avg_pool2d),
    "avg_pool2d_transpose": Case(draw_avg_pool2d_transpose, ref_avg_pool2d_transpose),
    "random_bits": Case(draw_random_bits, ref_random_bits, grads=False),
    "iota": Case(draw_iota, ref_iota, grads=False),
    "expm1": Case(_unary(), lambda x: (np.exp(x.astype(np.longdouble)) - 1).astype(x.dtype)),
    "cbrt": Case(_unary(gap=0.25), lambda x: np.sign(x) * np.abs(x) ** (1 / 3)),
    "floor": Case(_unary(), _each(math.floor), grads=False),
    "rint": Case(_unary(), _each(round), grads=False),  # (Python's round: half to even)
    "arctan2": Case(
        _binary(adjust=lambda y, x: (_off_zero(y, 0.25), x)), lambda y, x: np.angle(x + 1j * y)
    ),
    "copysign": Case(
        _binary(adjust=lambda x, y: (_off_zero(x, 0.25), _off_zero(y, 0.25))),
        lambda x, y: np.where(y < 0, -np.abs(x), np.abs(x)),
    ),
    "fmod": Case(_binary(adjust=_off_kinks), _each(math.fmod)),
    "int_div": Case(_int_binary(), _int_ref(_trunc_div), grads=False),
    "bitwise_and": Case(_int_binary(), _int_ref(lambda a, b, bits: a & b), grads=False),
    "bitwise_or": Case(_int_binary(), _int_ref(lambda a, b, bits: a | b), grads=False),
    "bitwise_xor": Case(_int_binary(), _int_ref(lambda a, b, bits: a ^ b), grads=False),
    "left_shift": Case(_int_binary((-2, 70)), _int_ref(_left_shift), grads=False),
    "right_shift": Case(_int_binary((-2, 70)), _int_ref(_right_shift), grads=False),
    "cumsum": Case(_draw_along(_array), _scan_ref(lambda acc, v: acc + v)),
    "reduce_prod": Case(  # zeros included; for derivatives, factors in [-1, 1]: a product
        # of 27 values up to 3 (3**27) would swamp finite differences' absolute tolerance
        draw_reduce_sum,
        ref_reduce(np.multiply.reduce),
        grad_draw=lambda data: _scaled(draw_reduce_sum(data), 1 / 3),
    ),
    "argsort": Case(_draw_along(_with_nans), ref_argsort, grads=False),
    "searchsorted": Case(draw_searchsorted, ref_searchsorted, grads=False),
    "cholesky": Case(draw_cholesky, ref_cholesky),
    "triangular_solve": Case(draw_triangular_solve, ref_triangular_solve),
    "triangular_matmul": Case(draw_triangular_matmul, ref_triangular_matmul),
    "solve": Case(draw_solve, ref_solve),
    "slogdet": Case(draw_slogdet, ref_slogdet),
    "eigh": Case(draw_eigh, ref_eigh),
    "svd": Case(draw_svd, ref_svd),
    # mode='complete' with m > n has no derivative (the completed basis is arbitrary)
    "qr": Case(draw_qr, ref_qr, grad_draw=lambda data: draw_qr(data, complete=False)),
    "pinv": Case(draw_pinv, ref_pinv),
    **_SPECIAL,
}
NAMES = sorted(CASES)
DIFFERENTIABLE = [n for n in NAMES if CASES[n].grads]
# random_bits and iota have no float operand to differentiate: they are not in this list.
# Nor have the integer operations (bitwise, int_div).
NOT_DIFFERENTIABLE = [
    n
    for n in NAMES
    if not CASES[n].grads
    and n not in ("random_bits", "iota")
    and "int" not in P.REGISTRY[n].lowering
]


def test_table_covers_exactly_the_registry():
    assert set(CASES) == set(P.REGISTRY)


# ---------------------------------------------------------------- helpers


def _assert_same(actual, expected):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape
    if actual.dtype.kind == "f":
        np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-12)
    else:
        np.testing.assert_array_equal(actual, expected)


def _aval(a):
    a = np.asarray(a)
    return Var(a.shape, a.dtype)


def _closure(name, call, args=None):
    """``f(*diff operands)``: the primitive with every other operand closed over."""
    args, prim = call.args if args is None else args, P.REGISTRY[name]

    def f(*xs):
        merged = list(args)
        for k, x in zip(call.diff, xs):
            merged[k] = x
        return prim(*merged, **call.params)

    return f, [args[k] for k in call.diff]


def _grad_call(name, data):
    case = CASES[name]
    call = (case.grad_draw or case.draw)(data)
    assert call.diff, f"{name}: the draw picked no operand to differentiate"
    return call


def _fd_step(dtype):
    """(finite-difference step, tolerance) for an output dtype. Only cast yields float32
    here; it is linear, so a unit step has no truncation error and swamps rounding."""
    return (1e-5, 1e-6) if dtype == F64 else (1.0, 1e-5)


def _rng(data):
    return np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))


# ---------------------------------------------------------------- reference, rule, eager


@pytest.mark.parametrize("name", NAMES)
@SETTINGS
@given(data=st.data())
def test_reference_impl_matches_numpy(name, data):
    call = CASES[name].draw(data)
    out = P.REGISTRY[name].impl(*call.args, **call.params)
    _assert_same(out, CASES[name].ref(*call.args, **call.params))


@pytest.mark.parametrize("name", NAMES)
@SETTINGS
@given(data=st.data())
def test_shape_rule_and_eager_call_agree_with_impl(name, data):
    call = CASES[name].draw(data)
    prim = P.REGISTRY[name]
    shape, dtype = prim.abstract_eval(*map(_aval, call.args), **call.params)
    expected = np.asarray(prim.impl(*call.args, **call.params))
    assert (tuple(shape), np.dtype(dtype)) == (expected.shape, expected.dtype)
    out = prim(*call.args, **call.params)
    assert type(out) is np.ndarray and out.dtype == dtype
    _assert_same(out, expected)


@pytest.mark.parametrize("name", NAMES)
@SETTINGS
@given(data=st.data())
def test_float32_in_float32_out(name, data):
    case = CASES[name]
    call = case.draw(data)
    args32 = tuple(a.astype(F32) if a.dtype == F64 else a for a in call.args)
    out64 = np.asarray(P.REGISTRY[name].impl(*call.args, **call.params))
    out = P.REGISTRY[name](*args32, **call.params)
    if "dtype" in call.params:  # cast, random_bits: the parameter sets the output dtype
        expected = call.params["dtype"]
    else:
        expected = F32 if out64.dtype == F64 else out64.dtype
    assert type(out) is np.ndarray and out.dtype == expected
    np.testing.assert_allclose(out, case.ref(*args32, **call.params), rtol=1e-5, atol=1e-5)
    if not (case.grads and call.diff):
        return
    f, primals = _closure(name, call, args32)
    rng = _rng(data)
    u = rng.standard_normal(out.shape).astype(out.dtype)
    grads = fg.vjp(f, *primals)[1](u)
    assert [g.dtype for g in grads] == [F32] * len(primals)
    f64, primals64 = _closure(
        name, call, tuple(a.astype(F64) if a.dtype == F32 else a for a in args32)
    )
    grads64 = fg.vjp(f64, *primals64)[1](u.astype(F64))
    for g, g64 in zip(grads, grads64):
        np.testing.assert_allclose(g, g64, rtol=1e-4, atol=1e-4)
    v = [rng.standard_normal(p.shape).astype(F32) for p in primals]
    _, tangent = fg.jvp(f, primals, v)
    assert tangent.dtype == out.dtype


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [F64, F32])
@SETTINGS
@given(data=st.data())
def test_compiled_executor_matches_the_reference_interpreter(name, dtype, data):
    # Whatever kernel (or NumPy fallback) lowering picks for the primitive: bit for bit for
    # integers and bools, float64 to 1e-12 and float32 to 1e-5 (relative to the array's
    # largest magnitude: BLAS sums products in its own order).
    call = CASES[name].draw(data)
    args = [a.astype(dtype) if a.dtype.kind == "f" else a for a in call.args]
    prim = P.REGISTRY[name]
    graph = fg.make_graph(lambda *a: prim(*a, **call.params))(*args)
    expected = ReferenceProgram(graph)(graph.consts, args)
    got = CompiledProgram(graph)(graph.consts, args)
    for e, g in zip(expected, got):
        assert (g.shape, g.dtype) == (e.shape, e.dtype)
        if e.dtype.kind != "f":
            np.testing.assert_array_equal(g, e)
            continue
        tol = 1e-12 if e.dtype == F64 else 1e-5
        scale = float(np.max(np.abs(e), initial=1.0, where=np.isfinite(e)))
        np.testing.assert_allclose(g, e, rtol=tol, atol=tol * scale)


# Dtypes the kernels do not compute in (float16, long double) must reach none of them: the
# NumPy reference runs those equations. Arrays in the other byte order are converted where
# they enter the program, so every kernel sees native ones.
OTHER_FLOATS = {
    "float16": (np.dtype(np.float16), 0.0),
    "longdouble": (np.dtype(np.longdouble), 0.0),
    ">f4": (np.dtype(">f4"), 1e-5),
    ">f8": (np.dtype(">f8"), 1e-12),
}


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", OTHER_FLOATS)
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_compiled_executor_takes_other_float_dtypes_and_byte_orders(name, dtype, data):
    dtype, tol = OTHER_FLOATS[dtype]
    call = CASES[name].draw(data)
    args = [a.astype(dtype) if a.dtype.kind == "f" else a for a in call.args]
    if dtype.byteorder == ">":  # integer operands too
        args = [a.astype(a.dtype.newbyteorder(">")) if a.dtype.itemsize > 1 else a for a in args]
    prim = P.REGISTRY[name]
    graph = fg.make_graph(lambda *a: prim(*a, **call.params))(*args)
    expected = ReferenceProgram(graph)(graph.consts, args)
    got = CompiledProgram(graph)(graph.consts, args)
    for e, g in zip(expected, got):
        assert (g.shape, g.dtype) == (e.shape, e.dtype) and g.dtype.isnative
        if e.dtype.kind != "f" or tol == 0.0:
            np.testing.assert_array_equal(g, e)
            continue
        scale = float(np.max(np.abs(e), initial=1.0, where=np.isfinite(e)))
        np.testing.assert_allclose(g, e, rtol=tol, atol=tol * scale)


def _fused_float_elementwise(prim):
    # (integer operations, lowered to the integer kernels alone, take no floats)
    return "elementwise" in prim.traits and prim is not P.cast and "fused" in prim.lowering


@pytest.mark.parametrize("name", [n for n in NAMES if _fused_float_elementwise(P.REGISTRY[n])])
@pytest.mark.parametrize("dtype", [F64, F32])
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_elementwise_float_primitives_run_as_fused_kernels(name, dtype, data):
    # A new elementwise primitive without an operation in vm_ops.h would run as a NumPy
    # callback and split every fused chain it is in: this fails instead.
    prim = P.REGISTRY[name]
    assert prim.kernel in VM_OPS, f"{name}: no fused-kernel operation {prim.kernel!r}"
    call = CASES[name].draw(data)
    args = [a.astype(dtype) if a.dtype.kind == "f" else a for a in call.args]

    def f(*a):  # with a neighbour to fuse with, where the result is a float
        out = prim(*a, **call.params)
        return out * 2.0 if out.dtype.kind == "f" else out

    program = CompiledProgram(fg.make_graph(f)(*args))
    kinds = [ins.kind for ins in program.instructions]
    assert "python" not in kinds and kinds.count("fused") <= 1, str(program)


@pytest.mark.parametrize("name", [n for n in NAMES if P.REGISTRY[n].lowering == ("int",)])
def test_integer_operations_run_as_integer_kernels(name):
    x, y = np.arange(-3, 3, dtype=np.int32), np.full(6, 2, np.int32)
    program = CompiledProgram(fg.make_graph(P.REGISTRY[name])(x, y))
    assert [ins.kind for ins in program.instructions] == ["int"], str(program)


# Elementwise float primitives without a kernel, on purpose: special functions that
# models rarely apply per element, run by their SciPy reference inside compiled programs.
REFERENCE_ONLY = {"erfinv", "ndtri", "log_ndtr", "polygamma", "i0e", "i1e", "zeta"}
REFERENCE_ONLY |= {"gammainc", "gammaincc", "betaln"}


def test_every_vm_operation_belongs_to_a_primitive():
    # vm_ops.h's table and the registry agree: no operation without a primitive using it,
    # and each elementwise primitive's operation reads as many operands as it has.
    used = {p.kernel for p in P.REGISTRY.values() if "fused" in p.lowering}
    assert set(VM_OPS) <= used
    for prim in P.REGISTRY.values():
        if "elementwise" in prim.traits:
            arity = 3 if prim is P.select else 1 if "unary" in prim.traits else 2
            if "fused" in prim.lowering:
                assert VM_OPS[prim.kernel].arity == arity, prim.name
            elif prim.name in REFERENCE_ONLY:
                assert prim.lowering == () and prim.kernel is None, prim.name
            else:  # an integer operation: the integer kernels' table has it
                assert prim.lowering == ("int",) and prim.kernel not in VM_OPS, prim.name
            if prim.kernel in INT_OPS:
                assert INT_OPS[prim.kernel].arity == arity, prim.name


def test_the_instruction_table_refuses_repeated_operations():
    line = "    E(neg, 2, 1, -a[j], -a[j])"
    with pytest.raises(ValueError, match="repeated"):
        isa._parse(line + "\n" + line.replace("2, 1", "3, 1"))
    with pytest.raises(ValueError, match="repeated"):
        isa._parse(line + "\n" + line.replace("neg", "abs"))
    with pytest.raises(ValueError, match="load, const or reduce"):
        isa._parse("#define FG_VM_LOAD 2\n" + line)
    with pytest.raises(ValueError, match="cannot read"):
        isa._parse("    E(neg, 2 -a[j], -a[j])")
    assert isa._parse("    E( neg ,2,1, -a[j], -a[j])")[0]["neg"] == isa.Op(2, 1)


def test_a_stale_build_of_the_kernels_is_refused():
    from funcgrad._kernels.executor import COMPILED_INT_OPS, COMPILED_VM_OPS

    isa.check_build(COMPILED_VM_OPS, COMPILED_INT_OPS)  # this build matches vm_ops.h
    renumbered = dict(COMPILED_VM_OPS, sinh=COMPILED_VM_OPS["sinh"] + 50)
    with pytest.raises(ImportError, match="rebuild"):
        isa.check_build(renumbered, COMPILED_INT_OPS)


def test_every_lowering_kind_has_a_lowering():
    from funcgrad.compiler import lower
    from funcgrad.core import LOWERINGS

    assert set(lower.LOWERINGS) == LOWERINGS - {"fused"}  # (fused: fusion's)
    for prim in P.REGISTRY.values():
        if "int" in prim.lowering:
            assert prim.kernel in INT_OPS and "float_only" not in prim.traits, prim.name


def _another_example(a, rng):
    """An operand of the same shape, dtype and domain as ``a``: its values shuffled, and
    floats scaled by a factor in [0.5, 1.5] (index arrays stay in range)."""
    out = rng.permutation(a.reshape(-1)).reshape(a.shape)
    return out * a.dtype.type(rng.uniform(0.5, 1.5)) if a.dtype.kind == "f" else out


@pytest.mark.parametrize("name", [n for n in NAMES if n != "iota"])  # (iota: no operands)
@SETTINGS
@given(data=st.data())
def test_batching_rule_matches_a_loop(name, data):
    call = CASES[name].draw(data)
    prim, n = P.REGISTRY[name], len(call.args)
    rng = _rng(data)
    size = data.draw(st.integers(1, 3))
    mask = data.draw(st.lists(st.booleans(), min_size=n, max_size=n))
    if not any(mask):
        mask[data.draw(st.integers(0, n - 1))] = True
    per_example = [
        [a] + [_another_example(a, rng) for _ in range(size - 1)] if m else [a]
        for a, m in zip(call.args, mask)
    ]
    operands, in_axes = [], []
    for examples, batched in zip(per_example, mask):
        if not batched:
            operands.append(examples[0])
            in_axes.append(None)
            continue
        rank = np.ndim(examples[0])
        axis = data.draw(st.integers(-rank - 1, rank))  # negative axes too
        operands.append(np.moveaxis(np.stack(examples), 0, axis))
        in_axes.append(axis)
    expected = np.stack(
        [
            prim(*[ex[b] if m else ex[0] for ex, m in zip(per_example, mask)], **call.params)
            for b in range(size)
        ]
    )
    out_axis = data.draw(st.integers(-expected.ndim, expected.ndim - 1))
    got = fg.vmap(lambda *xs: prim(*xs, **call.params), in_axes=tuple(in_axes), out_axes=out_axis)(
        *operands
    )
    assert got.dtype == expected.dtype
    np.testing.assert_allclose(got, np.moveaxis(expected, 0, out_axis), rtol=1e-12, atol=1e-12)


def _with_trait(trait):
    return [n for n in NAMES if trait in P.REGISTRY[n].traits]


@pytest.mark.parametrize("name", _with_trait("linear"))
@SETTINGS
@given(data=st.data())
def test_linear_primitives_are_linear(name, data):
    call = CASES[name].draw(data)
    if not all(a.dtype.kind == "f" for a in call.args):
        return  # (the trait speaks of float operands)
    prim, rng = P.REGISTRY[name], _rng(data)
    other = [_another_example(a, rng) for a in call.args]
    s, t = rng.uniform(-2, 2, 2)
    mixed = prim(*[s * a + t * b for a, b in zip(call.args, other)], **call.params)
    expected = s * prim(*call.args, **call.params) + t * prim(*other, **call.params)
    np.testing.assert_allclose(mixed, expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", _with_trait("commutative"))
@SETTINGS
@given(data=st.data())
def test_commutative_primitives_commute(name, data):
    x, y = CASES[name].draw(data).args
    prim = P.REGISTRY[name]
    np.testing.assert_array_equal(prim(x, y), prim(y, x))


@pytest.mark.parametrize("name", _with_trait("float_only"))
@settings(max_examples=5, deadline=None)
@given(data=st.data())
def test_float_only_primitives_refuse_integers(name, data):
    call = CASES[name].draw(data)
    args = [a.astype(np.int32) if a.dtype.kind == "f" else a for a in call.args]
    with pytest.raises(fg.DtypeError):
        P.REGISTRY[name](*args, **call.params)


@pytest.mark.parametrize("name", _with_trait("elementwise"))
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_elementwise_traits_describe_the_shape_rule(name, data):
    call = CASES[name].draw(data)
    prim = P.REGISTRY[name]
    out = prim(*call.args, **call.params)
    assert out.shape == np.broadcast_shapes(*(a.shape for a in call.args))
    arity = {"unary": 1, "binary": 2}
    assert [len(call.args)] == [arity[t] for t in prim.traits if t in arity] or prim is P.select
    assert ("comparison" in prim.traits) == (out.dtype == np.bool_ and prim is not P.cast)


# ---------------------------------------------------------------- derivatives


@pytest.mark.parametrize("name", DIFFERENTIABLE)
@SETTINGS
@given(data=st.data())
def test_vjp_and_jvp_match_finite_differences(name, data):
    call = _grad_call(name, data)
    f, primals = _closure(name, call)
    rng = _rng(data)
    v = [rng.standard_normal(p.shape) for p in primals]
    out, f_vjp = fg.vjp(f, *primals)
    eps, tol = _fd_step(out.dtype)
    plus = f(*(p + eps * d for p, d in zip(primals, v)))
    minus = f(*(p - eps * d for p, d in zip(primals, v)))
    fd = (plus.astype(F64) - minus.astype(F64)) / (2 * eps)
    _, tangent = fg.jvp(f, primals, v)
    assert tangent.shape == out.shape and tangent.dtype == out.dtype
    np.testing.assert_allclose(tangent, fd, rtol=tol, atol=tol)
    u = rng.standard_normal(out.shape).astype(out.dtype)
    grads = f_vjp(u)
    assert [g.shape for g in grads] == [p.shape for p in primals]
    assert [g.dtype for g in grads] == [p.dtype for p in primals]
    lhs = sum(np.vdot(g, d) for g, d in zip(grads, v))
    np.testing.assert_allclose(lhs, np.vdot(u, fd), rtol=tol, atol=tol * (1 + out.size))


@pytest.mark.parametrize("name", DIFFERENTIABLE)
@SETTINGS
@given(data=st.data())
def test_second_order_matches_finite_differences(name, data):
    call = _grad_call(name, data)
    f, primals = _closure(name, call)
    _, dtype = P.REGISTRY[name].abstract_eval(*map(_aval, call.args), **call.params)
    # check_grads' float64 defaults; a cast to float32 is linear, so take a unit step.
    steps = {} if dtype == F64 else {"eps": 1.0, "atol": 1e-4}
    fgt.check_grads(f, primals, order=2, seed=data.draw(st.integers(0, 99)), **steps)


@pytest.mark.parametrize("name", NOT_DIFFERENTIABLE)
@SETTINGS
@given(data=st.data())
def test_non_differentiable_primitives_pass_zero_gradients(name, data):
    call = CASES[name].draw(data)
    floats = tuple(k for k, a in enumerate(call.args) if a.dtype.kind == "f")
    call = call._replace(diff=floats)
    g, primals = _closure(name, call)
    f = lambda *xs: P.cast(g(*xs), dtype=F64)
    out, f_vjp = fg.vjp(f, *primals)
    for grad in f_vjp(np.ones(out.shape)):
        _assert_same(grad, np.zeros(grad.shape))
    _, tangent = fg.jvp(f, primals, [np.ones(p.shape) for p in primals])
    _assert_same(tangent, np.zeros(out.shape))


# ---------------------------------------------------------------- documented kinks and ties


def _grads(prim, *args, **params):
    out, f_vjp = fg.vjp(lambda *xs: prim(*xs, **params), *args)
    return f_vjp(np.ones(out.shape))


def test_max_and_min_split_ties_evenly():
    x, y = np.array([1.0, 2.0, 3.0]), np.array([1.0, 5.0, 3.0])
    gx, gy = _grads(P.max, x, y)
    _assert_same(gx, [0.5, 0.0, 0.5])
    _assert_same(gy, [0.5, 1.0, 0.5])
    gx, gy = _grads(P.min, x, y)
    _assert_same(gx, [0.5, 1.0, 0.5])
    _assert_same(gy, [0.5, 0.0, 0.5])


def test_reduce_max_and_min_split_ties_evenly():
    x = np.array([[1.0, 3.0, 3.0], [2.0, 0.0, 2.0], [4.0, 4.0, 4.0]])
    (g,) = _grads(P.reduce_max, x, axes=(1,))
    _assert_same(g, [[0, 0.5, 0.5], [0.5, 0, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    (g,) = _grads(P.reduce_min, x, axes=(0, 1))
    _assert_same(g, [[0, 0, 0], [0, 1, 0], [0, 0, 0]])


def test_abs_and_sign_at_zero():
    x = np.array([-0.0, 0.0, 2.0])
    _assert_same(P.abs(x), [0.0, 0.0, 2.0])
    _assert_same(P.sign(x), [0.0, 0.0, 1.0])
    _assert_same(_grads(P.abs, x)[0], [0.0, 0.0, 1.0])  # sign(0) == 0: no slope at the kink


def test_pow_has_zero_slope_in_the_exponent_at_a_zero_base():
    x, y = np.array([0.0, 0.0, 2.0]), np.array([2.0, 0.5, 3.0])
    gx, gy = _grads(P.pow, x, y)
    _assert_same(gy, [0.0, 0.0, 8.0 * np.log(2.0)])
    _assert_same(gx, [0.0, np.inf, 12.0])


def test_max_pool_picks_the_first_maximum_of_a_tied_window():
    x = np.array([[[[1.0, 2.0], [2.0, 0.0]]]])
    t = np.array([[[[10.0, 20.0], [30.0, 40.0]]]])
    pool = {"window": (2, 2), "stride": (1, 1), "padding": ((0, 0), (0, 0))}
    _assert_same(P.max_pool2d_select(x, t, **pool), [[[[20.0]]]])
    (g,) = _grads(P.max_pool2d, x, **pool)
    _assert_same(g, [[[[0.0, 1.0], [0.0, 0.0]]]])


# ---------------------------------------------------------------- errors name the user's line

M23, M45, V4 = np.ones((2, 3)), np.ones((4, 5)), np.ones(4)
IMG = np.ones((1, 1, 3, 3))
CONV = _conv_params((1, 1), ((0, 0), (0, 0)), (1, 1), (1, 1), NCHW_SPECS)
POOL = {"window": (4, 4), "stride": (1, 1), "padding": ((0, 0), (0, 0))}


def _traced_sum(fn):
    return lambda x: P.reduce_sum(fn(x), axes=tuple(range(x.ndim)))


BAD_CALLS = [
    (fg.ShapeError, ["add", "(2, 3)", "(4,)"], lambda: P.add(M23, V4)),
    (fg.ShapeError, ["matmul", "(2, 3)", "(4, 5)"], lambda: P.matmul(M23, M45)),
    (fg.ShapeError, ["reshape", "(2, 3)", "(4,)"], lambda: P.reshape(M23, new_shape=(4,))),
    (fg.ShapeError, ["transpose", "(2, 3)"], lambda: P.transpose(M23, perm=(0, 0))),
    (fg.ShapeError, ["concatenate", "(2, 3)", "(4, 5)"], lambda: P.concatenate(M23, M45, axis=0)),
    (
        fg.ShapeError,
        ["conv_general_dilated", "1 features", "2 per group"],
        lambda: P.conv_general_dilated(IMG, np.ones((1, 2, 3, 3)), **CONV),
    ),
    (fg.ShapeError, ["max_pool2d", "(4, 4)", "(3, 3)"], lambda: P.max_pool2d(IMG, **POOL)),
    (
        fg.ShapeError,
        ["matmul", "(2, 3)", "(4, 5)"],
        lambda: fg.grad(_traced_sum(lambda x: P.matmul(x, M45)))(M23),
    ),
    (fg.DtypeError, ["add", "float64", "float32"], lambda: P.add(V4, V4.astype(F32))),
    (fg.DtypeError, ["exp", "int64"], lambda: P.exp(V4.astype(np.int64))),
    (fg.DtypeError, ["select", "float64"], lambda: P.select(V4, V4, V4)),
    (fg.DtypeError, ["gather", "float64"], lambda: P.gather(V4, V4)),
    (
        fg.DtypeError,
        ["mul", "float64", "float32"],
        lambda: fg.grad(_traced_sum(lambda x: P.mul(x, V4.astype(F32))))(V4),
    ),
]


@pytest.mark.parametrize("error, fragments, bad", BAD_CALLS)
def test_bad_calls_raise_errors_naming_primitive_operands_and_line(error, fragments, bad):
    with pytest.raises(error) as info:
        bad()
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message
    assert re.search(rf"at \S*test_primitives\.py:{bad.__code__.co_firstlineno}$", message), message


@pytest.mark.parametrize(
    "key, counter, expected",
    [  # Random123's known-answer vectors (kat_vectors, threefry2x32 20)
        ((0, 0), (0, 0), (0x6B200159, 0x99BA4EFE)),
        ((_U32_MASK, _U32_MASK), (_U32_MASK, _U32_MASK), (0x1CB996FC, 0xBB002BE7)),
        ((0x13198A2E, 0x03707344), (0x243F6A88, 0x85A308D3), (0xC4923A9C, 0x483DF7A0)),
    ],
)
def test_threefry_known_answers(key, counter, expected):
    assert ref_threefry_2x32(key, *counter) == expected
    words = P.threefry_2x32(np.array(key, np.uint32), *(np.array([c], np.uint32) for c in counter))
    assert [int(w[0]) for w in words] == list(expected)


# Beyond |x| ~ 1e154 (1e19 in float32) x * x overflows: the rules of arctan2 and arcsinh
# (and of arctan, arcsin, arccos, composed from arctan2) go through the larger operand, so
# neither backend warns and the tiny derivatives keep their digits (1 / x**2 underflows).
LARGE = [1e155, -1e200, 1e300, -1.7e308, np.inf, 3.0, -0.5, 1e-300]


@pytest.mark.parametrize("backend", ["compiled", "numpy"])
@pytest.mark.parametrize("dtype", [F64, F32])
def test_arctan2_and_arcsinh_slopes_do_not_overflow(backend, dtype, monkeypatch):
    monkeypatch.setenv("FUNCGRAD_BACKEND", backend)
    with np.errstate(over="ignore"):
        x = np.array(LARGE).astype(dtype)
    one = np.ones_like(x)
    xl = x.astype(np.longdouble)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gy, gx = fg.jit(fg.vjp(P.arctan2, x, one)[1])(one)
        g1, g2 = fg.vjp(P.arctan2, one, x)[1](one)
        (gs,) = fg.vjp(P.arcsinh, x)[1](one)
    inf = np.isinf(xl)
    fin = np.where(inf, 1, xl)  # in extended precision, where x * x does not overflow
    slope = np.where(inf, 0, 1 / (1 + fin * fin))
    x_slope = np.where(inf, 0, fin / (1 + fin * fin))
    asinh = np.where(inf, 0, 1 / np.sqrt(1 + fin * fin))
    tol = dict(rtol=4 * np.finfo(dtype).eps, atol=0)
    np.testing.assert_allclose(gy, slope.astype(dtype), **tol)  # d/dy atan2(y, 1)
    np.testing.assert_allclose(gx, (-x_slope).astype(dtype), **tol)  # d/dx atan2(1, x)
    np.testing.assert_allclose(g1, x_slope.astype(dtype), **tol)
    np.testing.assert_allclose(g2, (-slope).astype(dtype), **tol)
    np.testing.assert_allclose(gs, asinh.astype(dtype), **tol)


@pytest.mark.parametrize("backend", ["compiled", "numpy"])
def test_pow_to_the_zeroth_has_zero_slope_at_any_base(backend, monkeypatch):
    monkeypatch.setenv("FUNCGRAD_BACKEND", backend)
    x = np.array([0.0, 5e-324, 1e-310, -(2.0**-1074), 3.0, np.inf])
    gx, gy = _grads(P.pow, x, np.zeros_like(x))
    _assert_same(gx, np.zeros_like(x))
    gx32, _ = _grads(P.pow, np.array([1e-45, 1e-40], F32), np.zeros(2, F32))
    _assert_same(gx32, [0.0, 0.0])
    assert fg.grad(lambda x: x**0.0)(5e-324) == 0.0
    # the slope's own slope in y at y = 0 is still 1 / x
    assert fg.grad(lambda y: fg.grad(lambda x: x**y)(0.5))(0.0) == 2.0

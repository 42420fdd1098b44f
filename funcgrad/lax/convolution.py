"""Convolutions with ``jax.lax``'s signatures, normalized onto the one convolution
primitive (``primitives/convolution.py``)."""

from typing import NamedTuple

import numpy as np

from .. import numpy as fnp
from .. import primitives as P
from ..conv_numpy import dilated_size
from ..errors import ShapeError, user_frame


class ConvDimensionNumbers(NamedTuple):
    """Which axis of each operand plays which role, as three permutations:
    ``lhs_spec = (batch, feature, *spatial)``, ``rhs_spec = (out feature, in feature,
    *spatial)``, ``out_spec = (batch, feature, *spatial)``."""

    lhs_spec: tuple
    rhs_spec: tuple
    out_spec: tuple


def _error(message):
    return ShapeError(f"{message} at {user_frame()}")


def _spec_perm(spec, roles, spatial_order):
    """The axis permutation a layout string such as "NHWC" names: the axes of ``roles``
    (e.g. "NC") first, then the spatial axes in ``spatial_order``."""
    if sorted(spec) != sorted(roles + spatial_order) or len(set(spec)) != len(spec):
        raise _error(
            f"conv_general_dilated: layout {spec!r} must hold {roles!r} and the spatial axes "
            f"{spatial_order!r} of the kernel's layout once each"
        )
    return tuple(spec.index(c) for c in roles + spatial_order)


def conv_dimension_numbers(lhs_shape, rhs_shape, dimension_numbers):
    """Normalize ``dimension_numbers`` (None, three layout strings such as
    ``("NHWC", "HWIO", "NHWC")``, or a :class:`ConvDimensionNumbers`) for operands of
    the given shapes.

    >>> conv_dimension_numbers((1, 5, 5, 3), (3, 3, 3, 8), ("NHWC", "HWIO", "NHWC"))
    ConvDimensionNumbers(lhs_spec=(0, 3, 1, 2), rhs_spec=(3, 2, 0, 1), out_spec=(0, 3, 1, 2))
    """
    rank = len(lhs_shape)
    if len(rhs_shape) != rank or rank < 3:
        raise _error(
            f"conv_general_dilated: the input and kernel need the same rank >= 3, got shapes "
            f"{tuple(lhs_shape)} and {tuple(rhs_shape)}"
        )
    if dimension_numbers is None:
        ident = tuple(range(rank))
        return ConvDimensionNumbers(ident, ident, ident)
    if isinstance(dimension_numbers, ConvDimensionNumbers) or not isinstance(
        dimension_numbers[0], str
    ):
        specs = tuple(tuple(int(a) for a in spec) for spec in dimension_numbers)
        if len(specs) != 3 or any(sorted(s) != list(range(rank)) for s in specs):
            raise _error(
                f"conv_general_dilated: dimension numbers {dimension_numbers!r} must be three "
                f"permutations of the {rank} axes"
            )
        return ConvDimensionNumbers(*specs)
    lhs, rhs, out = dimension_numbers
    if not len(lhs) == len(rhs) == len(out) == rank:
        raise _error(
            f"conv_general_dilated: layouts {dimension_numbers!r} must have one letter per "
            f"axis of the rank-{rank} operands"
        )
    spatial = "".join(c for c in rhs if c not in "OI")
    return ConvDimensionNumbers(
        _spec_perm(lhs, "NC", spatial),
        _spec_perm(rhs, "OI", spatial),
        _spec_perm(out, "NC", spatial),
    )


def padtype_to_pads(in_shape, window_shape, window_strides, padding):
    """Per-dimension (lo, hi) pads of a padding name: "VALID" (none), "SAME" (output
    ceil(n / stride), the odd pad at the end) or "SAME_LOWER" (the odd pad first).

    >>> padtype_to_pads((5, 5), (3, 3), (2, 2), "SAME")
    [(1, 1), (1, 1)]
    """
    mode = padding.upper()
    if mode == "VALID":
        return [(0, 0)] * len(in_shape)
    if mode not in ("SAME", "SAME_LOWER"):
        raise ValueError(
            f"padding must be 'SAME', 'SAME_LOWER', 'VALID' or (lo, hi) pairs, got "
            f"{padding!r} at {user_frame()}"
        )
    pads = []
    for n, k, s in zip(in_shape, window_shape, window_strides):
        total = max(0, (-(-n // s) - 1) * s + k - n)
        small, large = total // 2, total - total // 2
        pads.append((small, large) if mode == "SAME" else (large, small))
    return pads


def _ints(name, value, n, minimum):
    if value is None:
        return (1,) * n
    value = tuple(value) if np.iterable(value) else (value,) * n
    if len(value) != n or not all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= minimum for v in value
    ):
        raise _error(f"conv_general_dilated: {name} must be {n} ints >= {minimum}, got {value!r}")
    return tuple(int(v) for v in value)


def conv_general_dilated(
    lhs,
    rhs,
    window_strides,
    padding,
    lhs_dilation=None,
    rhs_dilation=None,
    dimension_numbers=None,
    feature_group_count=1,
    batch_group_count=1,
    precision=None,
    preferred_element_type=None,
):
    """XLA's general convolution (a cross-correlation), as ``jax.lax.conv_general_dilated``.

    ``padding`` is "VALID", "SAME", "SAME_LOWER" or one (lo, hi) pair per spatial
    dimension (negative crops); ``lhs_dilation`` inserts zeros between input elements (a
    transposed convolution), ``rhs_dilation`` between kernel elements (atrous);
    ``dimension_numbers`` names the layouts (default NCHW / OIHW / NCHW for any number of
    spatial axes); ``feature_group_count`` splits the features into groups (depthwise
    when it equals the input features). ``precision`` is accepted and ignored (the CPU
    computes in the operands' dtype); ``preferred_element_type`` casts the result.
    Differentiable in both operands to any order, and batched by vmap.

    >>> import numpy as np
    >>> x, w = np.ones((1, 5, 5, 2)), np.ones((3, 3, 2, 4))
    >>> conv_general_dilated(x, w, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")).shape
    (1, 5, 5, 4)
    """
    del precision
    lhs, rhs = fnp.promote(fnp.asarray(lhs), fnp.asarray(rhs))
    if not np.issubdtype(lhs.dtype, np.floating):
        lhs, rhs = fnp.promote(lhs, rhs, dtype=np.float64)
    dims = conv_dimension_numbers(lhs.shape, rhs.shape, dimension_numbers)
    nd = lhs.ndim - 2
    strides = _ints("window_strides", window_strides, nd, 1)
    lhs_dilation = _ints("lhs_dilation", lhs_dilation, nd, 1)
    rhs_dilation = _ints("rhs_dilation", rhs_dilation, nd, 1)
    groups = _ints("feature_group_count", feature_group_count, 1, 1)[0]
    batch_groups = _ints("batch_group_count", batch_group_count, 1, 1)[0]
    if isinstance(padding, str):
        in_shape = [dilated_size(lhs.shape[a], d) for a, d in zip(dims.lhs_spec[2:], lhs_dilation)]
        window = [dilated_size(rhs.shape[a], d) for a, d in zip(dims.rhs_spec[2:], rhs_dilation)]
        padding = padtype_to_pads(in_shape, window, strides, padding)
    pads = tuple(tuple(p) for p in padding) if np.iterable(padding) else ()
    if len(pads) != nd or not all(
        len(p) == 2 and all(isinstance(v, (int, np.integer)) for v in p) for p in pads
    ):
        raise _error(
            f"conv_general_dilated: padding must be a name or {nd} (lo, hi) int pairs, got "
            f"{padding!r}"
        )
    out = P.conv_general_dilated(
        lhs,
        rhs,
        window_strides=strides,
        padding=tuple((int(lo), int(hi)) for lo, hi in pads),
        lhs_dilation=lhs_dilation,
        rhs_dilation=rhs_dilation,
        dimension_numbers=tuple(dims),
        feature_group_count=groups,
        batch_group_count=batch_groups,
    )
    return out if preferred_element_type is None else fnp.astype(out, preferred_element_type)


def conv(lhs, rhs, window_strides, padding, precision=None, preferred_element_type=None):
    """:func:`conv_general_dilated` with NCHW / OIHW layouts, no dilation and no groups."""
    return conv_general_dilated(
        lhs,
        rhs,
        window_strides,
        padding,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )


def _transpose_padding(k, s, padding):
    """(lo, hi) padding of the stride-dilated input that makes a transposed convolution
    the adjoint of the strided one with "SAME" or "VALID" padding (JAX's convention)."""
    if padding == "SAME":
        total = k + s - 2
        lo = k - 1 if s > k - 1 else -(-total // 2)
    else:  # "VALID"
        total = k + s - 2 + max(k - s, 0)
        lo = k - 1
    return lo, total - lo


_TRANSPOSE_LAYOUTS = {
    2: ("NC", "IO", "NC"),
    3: ("NHC", "HIO", "NHC"),
    4: ("NHWC", "HWIO", "NHWC"),
    5: ("NHWDC", "HWDIO", "NHWDC"),
}


def conv_transpose(
    lhs,
    rhs,
    strides,
    padding,
    rhs_dilation=None,
    dimension_numbers=None,
    transpose_kernel=False,
    precision=None,
    preferred_element_type=None,
):
    """A transposed ("fractionally strided") convolution, as ``jax.lax.conv_transpose``:
    the input dilated by ``strides``, then convolved with stride 1. Layouts default to
    channels-last (``("NHWC", "HWIO", "NHWC")`` for 2-D); ``padding`` "SAME" makes the
    output ``strides`` times the input, "VALID" ``(n - 1) * s + k``; with
    ``transpose_kernel`` the kernel is flipped and its I/O swapped, which makes it the
    gradient of ``conv_general_dilated`` with respect to its input.

    >>> import numpy as np
    >>> conv_transpose(np.ones((1, 3, 3, 2)), np.ones((3, 3, 2, 4)), (2, 2), "SAME").shape
    (1, 6, 6, 4)
    """
    lhs, rhs = fnp.asarray(lhs), fnp.asarray(rhs)
    if lhs.ndim != rhs.ndim or lhs.ndim < 2:
        raise _error(
            f"conv_transpose: the input and kernel need the same rank (>= 2), got shapes "
            f"{lhs.shape} and {rhs.shape}"
        )
    n_spatial = lhs.ndim - 2
    if dimension_numbers is None:
        dimension_numbers = _TRANSPOSE_LAYOUTS.get(lhs.ndim)
        if dimension_numbers is None:
            raise _error(f"conv_transpose: pass dimension_numbers for rank {lhs.ndim} operands")
    dims = conv_dimension_numbers(lhs.shape, rhs.shape, dimension_numbers)
    strides = _ints("strides", strides, n_spatial, 1)
    rhs_dilation = _ints("rhs_dilation", rhs_dilation or 1, n_spatial, 1)
    if isinstance(padding, str):
        if padding not in ("SAME", "VALID"):
            raise _error(
                f"conv_transpose: padding must be 'SAME', 'VALID' or pairs, got {padding!r}"
            )
        kernel = [dilated_size(rhs.shape[a], d) for a, d in zip(dims.rhs_spec[2:], rhs_dilation)]
        padding = [_transpose_padding(k, s, padding) for k, s in zip(kernel, strides)]
    if transpose_kernel:
        rhs = fnp.flip(rhs, axis=tuple(dims.rhs_spec[2:]))
        rhs = fnp.swapaxes(rhs, dims.rhs_spec[0], dims.rhs_spec[1])
    return conv_general_dilated(
        lhs,
        rhs,
        (1,) * n_spatial,
        padding,
        lhs_dilation=strides,
        rhs_dilation=rhs_dilation,
        dimension_numbers=dims,
        preferred_element_type=preferred_element_type,
    )

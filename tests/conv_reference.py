"""XLA's convolution by its definition, for the tests: slow, loop by loop, and written
without funcgrad's reference implementation (``conv_numpy``) in view."""

import numpy as np


def ref_conv_general_dilated(
    lhs,
    rhs,
    window_strides,
    padding,
    lhs_dilation,
    rhs_dilation,
    dimension_numbers,
    feature_group_count,
    batch_group_count,
):
    """XLA's convolution by its definition, one output element and window tap at a time:
    tap k of output position y reads the input at y * stride + k * rhs_dilation - lo of
    the lhs-dilated input, i.e. element (that) / lhs_dilation where it divides."""
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    x, w = lhs.transpose(lhs_spec), rhs.transpose(rhs_spec)  # (N, C, *S), (O, I, *K)
    n, (o, i), sizes, window = x.shape[0], w.shape[:2], x.shape[2:], w.shape[2:]
    groups, batch_groups = feature_group_count, batch_group_count
    out_sizes = []
    for s, k, step, (lo, hi), ld, rd in zip(
        sizes, window, window_strides, padding, lhs_dilation, rhs_dilation
    ):
        padded = (s - 1) * ld + 1 + lo + hi if s else lo + hi
        if padded < 0:
            raise ValueError("the padding crops more than the input holds")
        out_sizes.append(max((padded - (k - 1) * rd - 1) // step + 1, 0))  # no room: empty
    out = np.zeros((n // batch_groups, o, *out_sizes))
    per_group, per_batch_group = o // groups, o // batch_groups
    for b, f, *y in np.ndindex(*out.shape):
        g, bg = f // per_group, f // per_batch_group
        image = bg * (n // batch_groups) + b
        for k in np.ndindex(*window):
            at = []
            for yy, kk, step, (lo, _), ld, rd, s in zip(
                y, k, window_strides, padding, lhs_dilation, rhs_dilation, sizes
            ):
                p = yy * step + kk * rd - lo
                at.append(p // ld if p % ld == 0 and 0 <= p // ld < s else None)
            if None in at:
                continue
            for ci in range(i):
                out[(b, f, *y)] += x[(image, g * i + ci, *at)] * w[(f, ci, *k)]
    return out.transpose(np.argsort(out_spec))

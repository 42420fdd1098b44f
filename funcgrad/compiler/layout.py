"""Element strides: how the executor's kernels walk an array laid out in a flat buffer.

>>> collapse((2, 3, 4), contiguous_strides((2, 3, 4)))  # one contiguous walk
([24], [[1]])
"""

from .isa import MAX_DIMS


def contiguous_strides(shape):
    """Element strides of a C-contiguous array of ``shape``."""
    strides, acc = [], 1
    for d in reversed(shape):
        strides.append(acc)
        acc *= d
    return list(reversed(strides))


def collapse(shape, *stride_lists):
    """Merge adjacent dimensions that every operand walks contiguously; drop size-1 ones.
    Returns the new shape and each operand's strides over it (lists)."""
    dims = [(d, [s[i] for s in stride_lists]) for i, d in enumerate(shape) if d != 1]
    if not dims:
        return [1], [[0] for _ in stride_lists]
    out = [dims[0]]
    for d, strides in dims[1:]:
        pd, pstrides = out[-1]
        if all(ps == s * d for ps, s in zip(pstrides, strides)):
            out[-1] = (pd * d, strides)
        else:
            out.append((d, strides))
    if len(out) > MAX_DIMS:
        raise NotImplementedError(f"more than {MAX_DIMS} dimensions that cannot be merged")
    return [d for d, _ in out], [[s[k] for _, s in out] for k in range(len(stride_lists))]


def reduced_strides(shape, out_shape, axes):
    """Element strides into a contiguous ``out_shape`` result of reducing ``shape`` over
    ``axes``, walking ``shape``: 0 along the reduced axes."""
    out_strides = iter(contiguous_strides(out_shape))
    return [0 if i in axes else next(out_strides) for i in range(len(shape))]


def broadcast_strides(shape, out_shape):
    """Element strides reading a contiguous ``shape`` array broadcast to ``out_shape``."""
    base = contiguous_strides(shape)
    lead = len(out_shape) - len(shape)
    return [0] * lead + [
        0 if d == 1 and o != 1 else s for d, s, o in zip(shape, base, out_shape[lead:])
    ]

"""einsum: NumPy's subscript grammar, lowered to diagonals, sums and batched GEMMs.

The parser turns the subscripts (or the interleaved sublists) into one tuple of labels per
operand and one for the output: letters stay letters, the dimensions an ellipsis stands
for become the ints 0, 1, ... counted from the right (so they broadcast as NumPy
right-aligns them). The planner then works on (array, labels) pairs with primitives only:

1. a label repeated within one operand takes the diagonal (a gather, see ``_diagonal``);
2. an axis of size 1 whose label is longer elsewhere is dropped (that is broadcasting:
   the operand is constant along the label);
3. a label no other operand and not the output needs is summed out at once;
4. operands are contracted two at a time, the pair whose result is smallest first, each
   contraction one batched GEMM ``(B, M, K) @ (B, K, N)`` after transposes and reshapes
   (or a broadcast multiply when nothing is summed, a multiply and a sum when nothing is
   left but the batch), so contractions run at BLAS speed and differentiate as matmuls;
5. the survivor is summed and transposed into the output's order.
"""

import math
import string

import numpy as np

from .. import primitives as P
from ..errors import ShapeError
from . import _base
from ._base import _error, asarray, ndim, promote, result_type, shape
from ._elementwise import multiply
from ._shapes import reshape, transpose

__all__ = ["einsum", "einsum_path"]

_LETTERS = string.ascii_uppercase + string.ascii_lowercase  # sublist ints 0..51, as NumPy


def einsum(*operands, out=None, dtype=None, order="K", casting="safe", optimize=False):
    """Einstein summation over the subscripts, with NumPy's grammar and results.

    ``optimize`` may be an explicit path from ``numpy.einsum_path``; otherwise pairs are
    contracted greedily (smallest intermediate first), whatever its value.

    >>> import numpy as np
    >>> einsum("ij,jk->ik", np.eye(2), np.arange(4.0).reshape(2, 2))
    array([[0., 1.],
           [2., 3.]])
    >>> einsum("ii", np.arange(4.0).reshape(2, 2))
    np.float64(3.0)
    """
    if out is not None:
        raise _error(TypeError, "einsum: out= is not supported (arrays are immutable here)")
    if not operands:
        raise _error(TypeError, "einsum: missing the subscripts")
    subscripts, operands = _subscripts(operands)
    terms, output = _parse(subscripts, [ndim(x) for x in operands])
    arrays = _cast(operands, dtype, casting)
    return contract(arrays, terms, output, path=_path(optimize, len(arrays)))


def einsum_path(*operands, optimize="greedy", einsum_call=False):
    """NumPy's contraction path for these operands (from their shapes alone, so traced
    operands are fine): ``(path, description)``, a path ``einsum(optimize=path)`` follows.

    >>> einsum_path("ij,jk,kl->il", np.ones((2, 3)), np.ones((3, 4)), np.ones((4, 5)))[0]
    ['einsum_path', (1, 2), (0, 1)]
    """
    if isinstance(operands[0], str):
        arrays = range(1, len(operands))
    else:  # op, sublist, op, sublist, ..., maybe the output's sublist
        arrays = range(0, len(operands) - 1, 2)
    stand_ins = list(operands)
    for k in arrays:
        stand_ins[k] = np.broadcast_to(np.zeros((), result_type(operands[k])), shape(operands[k]))
    return np.einsum_path(*stand_ins, optimize=optimize, einsum_call=einsum_call)


# ---------------------------------------------------------------- parsing


def _subscripts(args):
    """(subscripts string, operands) from either calling form."""
    if isinstance(args[0], str):
        return args[0], args[1:]
    operands, sublists = list(args[0::2]), list(args[1::2])
    output = operands.pop() if len(args) % 2 else None  # op, sub, op, sub, ..., out
    terms = ",".join(_sublist(s) for s in sublists)
    return terms if output is None else f"{terms}->{_sublist(output)}", operands


def _sublist(sub):
    text = []
    for s in sub:
        if s is Ellipsis:
            text.append("...")
            continue
        try:
            k = s.__index__()
        except (AttributeError, TypeError):
            raise _error(
                TypeError, "einsum: each subscript must be an integer or an ellipsis"
            ) from None
        if not 0 <= k < len(_LETTERS):
            raise _error(ValueError, f"einsum: subscript {k} is not within the valid range [0, 52)")
        text.append(_LETTERS[k])
    return "".join(text)


def _parse(subscripts, ndims):
    """(labels per operand, output labels) of ``subscripts`` for operands of ``ndims``."""
    text = subscripts.replace(" ", "")
    lhs, arrow, rhs = text.partition("->")
    if "-" in lhs + rhs or ">" in lhs + rhs:
        raise _error(ValueError, "einsum: subscripts string does not contain a proper '->' output")
    inputs = lhs.split(",")
    if len(inputs) != len(ndims):
        more = "more" if len(ndims) > len(inputs) else "fewer"
        raise _error(
            ValueError,
            f"einsum: {more} operands provided ({len(ndims)}) than the subscripts string "
            f"specifies ({len(inputs)})",
        )
    terms, widest = [], 0
    for k, (term, rank) in enumerate(zip(inputs, ndims)):
        letters, dots = _term(term, f"operand {k}")
        if len(letters) > rank or (dots is None and len(letters) != rank):
            raise _error(
                ValueError,
                f"einsum: operand {k} has {rank} dimensions but its subscripts {term!r} give "
                f"{len(letters)}" + ("" if dots is not None else " and no '...' for the rest"),
            )
        width = rank - len(letters)
        widest = max(widest, width)
        dims = tuple(range(width - 1, -1, -1)) if dots is not None else ()
        terms.append(letters[:dots] + dims + letters[dots:] if dots is not None else letters)
    ellipsis = tuple(range(widest - 1, -1, -1))
    seen = [label for term in terms for label in term]
    if not arrow:  # implicit: the ellipsis, then the letters used once, in ASCII order
        once = sorted(
            label for label in set(seen) if isinstance(label, str) and seen.count(label) == 1
        )
        return terms, ellipsis + tuple(once)
    letters, dots = _term(rhs, "the output")
    for label in letters:
        if label not in seen:
            raise _error(
                ValueError, f"einsum: output subscript {label!r} never appears in an input"
            )
        if letters.count(label) > 1:
            raise _error(ValueError, f"einsum: output subscript {label!r} appears more than once")
    if dots is None and widest:
        raise _error(
            ValueError,
            "einsum: the output has no '...' for the dimensions an input's '...' stands for "
            f"({widest} of them)",
        )
    return terms, letters if dots is None else letters[:dots] + ellipsis + letters[dots:]


def _term(term, where):
    """(letters, index of the ellipsis among them or None) of one comma-separated term."""
    dots = None
    if term.count("...") > 1 or term.replace("...", "").count("."):
        raise _error(
            ValueError, f"einsum: subscripts of {where} contain a '.' that is not part of one '...'"
        )
    if "..." in term:
        dots = term.index("...")
        term = term.replace("...", "")
    for c in term:
        if c not in _LETTERS:
            raise _error(
                ValueError,
                f"einsum: invalid subscript {c!r} in {where}: subscripts must be letters",
            )
    return tuple(term), dots


def _cast(operands, dtype, casting):
    """The operands in one dtype: ``dtype``, else their common one with Python scalars weak
    (as everywhere in funcgrad.numpy; NumPy's einsum would make a Python float float64)."""
    if dtype is None:
        return promote(*operands)
    dtype = np.dtype(dtype)
    arrays = [asarray(x) for x in operands]
    for x in arrays:
        if not np.can_cast(x.dtype, dtype, casting):
            raise _error(
                TypeError,
                f"einsum: cannot cast an operand from {x.dtype} to {dtype} "
                f"under casting={casting!r}",
            )
    return [asarray(x, dtype) for x in arrays]


def _path(optimize, count):
    """An explicit contraction path (``numpy.einsum_path``'s list), or None for greedy."""
    if isinstance(optimize, (list, tuple)) and optimize and optimize[0] == "einsum_path":
        path = [tuple(step) for step in optimize[1:]]
        remaining = count
        for step in path:
            if not step or len(set(step)) != len(step) or not all(0 <= i < remaining for i in step):
                raise _error(
                    ValueError, f"einsum: invalid contraction {step} in the path {optimize}"
                )
            remaining -= len(step) - 1
        return path
    if isinstance(optimize, (bool, np.bool_)) or optimize in ("greedy", "optimal"):
        return None
    raise _error(
        TypeError,
        f"einsum: optimize must be a bool, 'greedy', 'optimal' or a path, got {optimize!r}",
    )


# ---------------------------------------------------------------- planning


def contract(arrays, terms, output, path=None):
    """Sum of the products of ``arrays`` (labelled by ``terms``) over the labels not in
    ``output``: the planner behind einsum, tensordot, dot and the vector products. The
    labels are checked (repeated ones and broadcasting); ``path`` as in ``numpy.einsum_path``."""
    compute = np.dtype(arrays[0].dtype)
    if compute == np.bool_:  # sums of bools are ORs: count in ints, test against 0 at the end
        arrays = [asarray(x, np.int64) for x in arrays]
    sizes = _sizes(arrays, terms)
    ops = [_broadcast(*_diagonal(x, labels, sizes), sizes) for x, labels in zip(arrays, terms)]
    output = tuple(output)
    ops = [_sum_out(x, labels, _needed(ops, k, output)) for k, (x, labels) in enumerate(ops)]
    steps = iter(step for step in path or () if len(step) > 1)  # (single ones: sums, done)
    while len(ops) > 1:
        chosen = next(steps, None) or _greedy(ops, output, sizes)
        group = [ops[i] for i in chosen]
        ops = [op for i, op in enumerate(ops) if i not in chosen]
        x, labels = group[0]
        for k, (y, other) in enumerate(group[1:], 2):
            later = output + tuple(lab for _, labs in ops + group[k:] for lab in labs)
            if _inversions(_result(other, labels), later) < _inversions(
                _result(labels, other), later
            ):  # the operand order whose result is laid out as what reads it next
                x, labels, y, other = y, other, x, labels
            x, labels = _pair(x, labels, y, other, set(later), sizes)
        ops.append((x, labels))
    x, labels = _sum_out(*ops[0], set(output))
    x = transpose(x, [labels.index(label) for label in output])
    return asarray(x, np.bool_) if compute == np.bool_ else x


def _needed(ops, k, output):
    """The labels still wanted by the output or by operands other than ``ops[k]``."""
    return set(output).union(*(labels for i, (_, labels) in enumerate(ops) if i != k))


def _name(label):
    return repr(label) if isinstance(label, str) else "of the '...' dimensions"


def _sizes(arrays, terms):
    """The size of each label: equal within an operand; across operands equal or 1."""
    sizes, where = {}, {}
    for k, (x, labels) in enumerate(zip(arrays, terms)):
        mine = {}
        for label, n in zip(labels, x.shape):
            if mine.setdefault(label, n) != n:
                raise _error(
                    ShapeError,
                    f"einsum: dimensions of operand {k} for the repeated subscript "
                    f"{_name(label)} do not match ({mine[label]} != {n})",
                )
        for label, n in mine.items():
            old = sizes.get(label, 1)
            if old != n and 1 not in (old, n):
                raise _error(
                    ShapeError,
                    f"einsum: operands could not be broadcast together: subscript "
                    f"{_name(label)} has size {old} in operand {where[label]} and {n} in "
                    f"operand {k}",
                )
            if n != 1 or label not in sizes:
                sizes[label], where[label] = n, k
    return sizes


def _diagonal(x, labels, sizes):
    """Each label repeated in one operand taken once, along the diagonal.

    A gather with the same iota for every copy of a label reads the n diagonal entries
    (times the other axes) and its gradient scatters into them: O(n) work where a
    multiply by an identity mask and a sum would read and write all n * n entries (and be
    as big again in the gradient). The repeated axes go first, as gather indexes the
    leading axes, and each label's iota gets an axis of its own so they broadcast.
    """
    repeated = [label for label in dict.fromkeys(labels) if labels.count(label) > 1]
    if not repeated:
        return x, labels
    rest = [i for i, label in enumerate(labels) if label not in repeated]
    x = transpose(x, [i for r in repeated for i, m in enumerate(labels) if m == r] + rest)
    indices = []
    for t, label in enumerate(repeated):
        n = x.shape[len(indices)]
        shape = tuple(n if s == t else 1 for s in range(len(repeated)))
        indices += [reshape(P.iota(size=n, dtype=np.dtype(np.int64)), shape)] * labels.count(label)
    return P.gather(x, *indices), tuple(repeated) + tuple(labels[i] for i in rest)


def _broadcast(x, labels, sizes):
    """Drop the size-1 axes whose label is longer in another operand (broadcasting)."""
    keep = [i for i, label in enumerate(labels) if x.shape[i] == sizes[label]]
    if len(keep) == len(labels):
        return x, labels
    return reshape(x, tuple(x.shape[i] for i in keep)), tuple(labels[i] for i in keep)


def _sum_out(x, labels, keep):
    axes = tuple(i for i, label in enumerate(labels) if label not in keep)
    if not axes:
        return x, labels
    return P.reduce_sum(x, axes=axes), tuple(label for label in labels if label in keep)


def _size(labels, sizes):
    return math.prod(sizes[label] for label in labels)


def _greedy(ops, output, sizes):
    """The pair whose contraction frees the most memory (result minus inputs), first found
    on ties, as NumPy's greedy path does."""
    best, choice = None, None
    for i in range(len(ops)):
        for j in range(i + 1, len(ops)):
            keep = _needed([op for k, op in enumerate(ops) if k not in (i, j)], None, output)
            a, b = ops[i][1], ops[j][1]
            result = [label for label in dict.fromkeys(a + b) if label in keep]
            cost = _size(result, sizes) - _size(a, sizes) - _size(b, sizes)
            if best is None or cost < best:
                best, choice = cost, (i, j)
    return choice


def _result(la, lb):
    """The labels of a contraction's result (before summing), in its order."""
    shared = [label for label in la if label in lb]
    return shared + [label for label in la + lb if label not in shared]


def _inversions(labels, reference):
    """How many pairs of ``labels`` are out of their order in ``reference``."""
    rank = {}
    for i, label in enumerate(reference):
        rank.setdefault(label, i)
    pos = [rank.get(label, len(reference)) for label in labels]
    return sum(p > q for i, p in enumerate(pos) for q in pos[i + 1 :])


def _pair(a, la, b, lb, keep, sizes):
    """Contract two labelled operands, keeping ``keep``'s labels: one batched GEMM."""
    a, la = _sum_out(a, la, keep | set(lb))
    b, lb = _sum_out(b, lb, keep | set(la))
    shared = [label for label in la if label in lb]
    batch = [label for label in shared if label in keep]
    summed = [label for label in shared if label not in keep]
    m = [label for label in la if label not in lb]
    n = [label for label in lb if label not in la]
    if not summed:  # an outer product per batch entry: a broadcast multiply
        a = _arrange(a, la, batch + m, extra=len(n))
        b = _arrange(b, lb, batch + n, at=len(batch), extra=len(m))
        return multiply(a, b), tuple(batch + m + n)
    if not m and not n:  # dot products per batch entry: multiply and sum
        product = multiply(_arrange(a, la, batch + summed), _arrange(b, lb, batch + summed))
        return P.reduce_sum(product, axes=tuple(range(len(batch), len(shared)))), tuple(batch)
    batch, summed = _order(la, lb, batch, summed, m, n)
    dims = lambda labels: _size(labels, sizes)  # noqa: E731
    a = _operand(a, la, batch, m, summed, (dims(batch), dims(m), dims(summed)))
    b = _operand(b, lb, batch, summed, n, (dims(batch), dims(summed), dims(n)))
    out = P.matmul(a, b)
    labels = batch + m + n
    return reshape(out, tuple(sizes[label] for label in labels)), tuple(labels)


def _arrange(x, labels, order, at=None, extra=0):
    """``x`` transposed to ``order``, with ``extra`` size-1 axes inserted at ``at`` (the
    end by default), so two operands broadcast against each other."""
    x = transpose(x, [labels.index(label) for label in order])
    at = len(order) if at is None else at
    return reshape(x, x.shape[:at] + (1,) * extra + x.shape[at:]) if extra else x


def _order(la, lb, batch, summed, m, n):
    """The batch and summed labels ordered as in ``a`` or as in ``b``, whichever needs no
    copy (a transpose of the last two axes is free: the GEMM reads it transposed)."""
    for source in (la, lb):
        bt, st = sorted(batch, key=source.index), sorted(summed, key=source.index)
        if _layout(la, bt, m, st) is not None and _layout(lb, bt, st, n) is not None:
            return bt, st
    return sorted(batch, key=la.index), sorted(summed, key=la.index)


def _layout(labels, batch, rows, cols):
    """False if ``labels`` are batch + rows + cols, True if batch + cols + rows (a
    transposed matrix), None if neither (a copy)."""
    labels = list(labels)
    if labels == batch + rows + cols:
        return False
    return True if labels == batch + cols + rows else None


def _operand(x, labels, batch, rows, cols, dims):
    """``x`` as a (B, rows, cols) matrix stack (rank 2 without batch labels), read in
    place where its layout allows."""
    shape = dims if batch else dims[1:]
    if _layout(labels, batch, rows, cols):  # stored transposed: swap, which the GEMM folds
        swapped = shape[:-2] + (shape[-1], shape[-2])
        x = reshape(x, swapped)
        return P.transpose(x, perm=tuple(range(len(shape) - 2)) + (len(shape) - 1, len(shape) - 2))
    x = transpose(x, [labels.index(label) for label in batch + rows + cols])
    return reshape(x, shape)


_base.numpy_results(globals())

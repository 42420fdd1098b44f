"""Fusion: group elementwise equations into kernels the executor runs in one pass.

A group is a run of same-shape float elementwise operations (comparisons may produce
bool, ``select`` may take a bool condition) connected through their operands. Values
used only inside a group never touch memory: the executor computes them block by
block in registers. A reduction (sum, max, min) of a group's value joins the group too:
it accumulates each block as it is computed (sum of squares, the exp-sum of a softmax row),
so its operand need not be stored. Nothing in a group may read its reductions, which are
complete only when the group has run. A group is sealed (scheduled) as soon as an
equation outside it needs one of its values, which keeps the schedule a valid
topological order.
"""

import numpy as np

from .. import primitives as P
from ..core import Var
from .isa import VM_OPS

_BOOL = np.dtype(np.bool_)
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def is_fused_reduction(prim):
    """A reduction the register machine accumulates (its kernel: sum, max or min)."""
    return "reduction" in prim.traits and "fused" in prim.lowering


def has_vm_kernel(prim):
    """Whether fused kernels can compute ``prim``: an operation of vm_ops.h's table."""
    return "fused" in prim.lowering and prim.kernel in VM_OPS


def vm_dtype(group):
    """The float dtype a group computes in (float64 when it only handles bools)."""
    for e in group:
        for a in (*e.inputs, *e.outputs):
            if a.dtype in _FLOATS:
                return a.dtype
    return _FLOATS[1]


def _fusible(e):
    """Whether the register machine can run ``e``, and in which float dtype.

    Returns False, or the float dtype, or None for an operation on bools only (it can
    join a group of either float dtype: bools are held as 0/1 in the registers).
    """
    prim, out = e.prim, e.outputs[0]
    dtypes = {a.dtype for a in (*e.inputs, out)}
    floats = dtypes & set(_FLOATS)
    if not dtypes <= set(_FLOATS) | {_BOOL} or len(floats) > 1:
        return False
    dtype = floats.pop() if floats else None
    if prim is P.cast:  # bool -> float is a load of 0/1
        return dtype if e.inputs[0].dtype == _BOOL and out.dtype != _BOOL else False
    if not has_vm_kernel(prim) or is_fused_reduction(prim):
        return False
    if "comparison" in prim.traits:
        return dtype
    if prim is P.select:
        return dtype if e.inputs[0].dtype == _BOOL else False
    return dtype if out.dtype in _FLOATS else False


def _absorbable(e, groups, group_of):
    """The open group whose value the reduction ``e`` can absorb, or None."""
    if not is_fused_reduction(e.prim):
        return None
    x = e.inputs[0]
    if not isinstance(x, Var) or x not in group_of:
        return None
    g = groups[group_of[x]]
    if x.dtype != e.outputs[0].dtype or x.dtype not in _FLOATS or g["shape"] != x.shape:
        return None
    return None if x in g["reduced"] or not _compatible(g["dtype"], x.dtype) else group_of[x]


def _compatible(*dtypes):
    """At most one float dtype among ``dtypes`` (None: bools only)."""
    return len({d for d in dtypes if d is not None}) <= 1


def fuse_elementwise(eqns):
    """Schedule ``eqns``: returns a list whose items are single equations or lists of
    equations (fused groups), in an order that respects every dependency."""
    schedule = []
    group_of = {}  # Var -> id of the open group that produces it
    groups = {}  # id -> {"eqns", "shape", "dtype" (float dtype or None), "reduced" (outputs)}
    next_id = 0

    def seal(gid):
        g = groups.pop(gid)
        for e in g["eqns"]:
            group_of.pop(e.outputs[0], None)
        schedule.append(g["eqns"])

    for e in eqns:
        gid = _absorbable(e, groups, group_of)
        if gid is not None:
            groups[gid]["eqns"].append(e)
            groups[gid]["reduced"].add(e.outputs[0])
            groups[gid]["dtype"] = groups[gid]["dtype"] or e.outputs[0].dtype
            group_of[e.outputs[0]] = gid
            continue
        dtype = _fusible(e)
        producers = {group_of[a] for a in e.inputs if isinstance(a, Var) and a in group_of}
        # A group whose reduction e reads is finished only when it has run: it cannot take e.
        done = {
            group_of[a]
            for a in e.inputs
            if isinstance(a, Var) and a in group_of and a in groups[group_of[a]]["reduced"]
        }
        target = None
        if dtype is not False:
            shape = e.outputs[0].shape
            same = [
                gid
                for gid in producers - done
                if groups[gid]["shape"] == shape and _compatible(groups[gid]["dtype"], dtype)
            ]
            target = max(same) if same else None
        for gid in sorted(producers - {target}):
            g = groups[gid]
            mergeable = (
                target is not None and gid not in done and g["shape"] == groups[target]["shape"]
            )
            if mergeable and _compatible(g["dtype"], groups[target]["dtype"], dtype):
                # Open groups have no consumers outside them yet: merging is always safe.
                for member in groups.pop(gid)["eqns"]:
                    group_of[member.outputs[0]] = target
                    groups[target]["eqns"].append(member)
                groups[target]["reduced"] |= g["reduced"]
                if groups[target]["dtype"] is None:
                    groups[target]["dtype"] = g["dtype"]
            else:
                seal(gid)
        if dtype is False:
            schedule.append(e)
            continue
        if target is None:
            target, next_id = next_id, next_id + 1
            groups[target] = {
                "eqns": [],
                "shape": e.outputs[0].shape,
                "dtype": None,
                "reduced": set(),
            }
        groups[target]["eqns"].append(e)
        if groups[target]["dtype"] is None:
            groups[target]["dtype"] = dtype
        group_of[e.outputs[0]] = target
    for gid in sorted(groups):
        seal(gid)
    return schedule

"""Loops and conditionals the executor runs itself: each scan, while loop or cond equation
that the program would call into Python for becomes a
:class:`~funcgrad.compiler.instructions.Loop`, ``WhileLoop`` or ``Cond`` when its bodies compile
to instructions the executor can run in a loop (no Python callback, no loop over images,
no constant output), so a step costs no Python.

The body is compiled as a program of its own (passes, lowering, scheduling, its own buffer
plan), whose inputs and outputs are buffers the loop points at each step's slices and
carries: its outputs must be buffers its instructions write, so an output that only passes
an input through (or repeats another) is copied after the step.
"""

import math
from typing import NamedTuple

from ..core import Literal, inline_calls
from .instructions import FILL_DTYPES, Callback, Cond, Fill, Loop, View, WhileLoop
from .lower import lower
from .memory import BufferPlan, plan_memory
from .passes import optimize
from .schedule import gemm_epilogues


class Body(NamedTuple):
    """A compiled body: its instructions over its buffer ``plan`` (inputs: the body graph's
    inputs in order), the body buffer each output is found in, and the copies ``(src, dst,
    nbytes)`` that provide the outputs no instruction writes."""

    instructions: tuple
    plan: BufferPlan
    outputs: tuple
    copies: tuple

    @property
    def n_buffers(self):
        return self.plan.n_buffers + len(self.copies)


def compile_body(graph):
    """The Body of a scan's body graph, or None where the executor cannot loop over it."""
    graph = optimize(inline_calls(graph))
    if any(isinstance(a, Literal) for a in graph.outvars):
        return None
    lowered = lower(graph)
    instructions, nbytes = native_loops(gemm_epilogues(lowered.instructions), lowered.nbytes())
    instructions = tuple(instructions)
    if not all(ins.in_loop_bodies for ins in instructions):  # (loops inside are loops too)
        return None
    n_in = lowered.n_inputs
    storage_of = [lowered.storage[v] for v in graph.outvars]
    written, seen = [], set()
    for s in storage_of:
        if s >= n_in and s not in seen:
            written.append(s)
            seen.add(s)
    plan = plan_memory(instructions, n_in, nbytes, set(written))
    outputs, copies, claimed = [], [], set()
    for v, s in zip(graph.outvars, storage_of):
        if s >= n_in and s not in claimed:
            claimed.add(s)
            outputs.append(plan.buffer_of[s])
            continue
        dst = plan.n_buffers + len(copies)  # a buffer of its own, filled by a copy
        copies.append((plan.buffer_of[s], dst, _nbytes(v)))
        outputs.append(dst)
    return Body(instructions, plan, tuple(outputs), tuple(copies))


def _fillable(a):
    """A View, or a Literal a Fill instruction writes exactly."""
    if isinstance(a, View):
        return True
    return a.dtype in FILL_DTYPES and float(a.value) == a.value


def _nbytes(v):
    return math.prod(v.shape) * v.dtype.itemsize


class _Storages:
    """New storages after those of ``nbytes`` (the loops' second carry sets)."""

    def __init__(self, nbytes):
        self.nbytes = dict(nbytes)
        self.next = max(self.nbytes, default=-1) + 1

    def new(self, nbytes):
        self.nbytes[self.next] = nbytes
        self.next += 1
        return self.next - 1


def native_loops(instructions, nbytes, compile_body=compile_body):
    """``instructions`` with each scan and while-loop callback whose bodies compile
    replaced by a Loop or WhileLoop; returns them and ``nbytes`` with the loops' scratch
    storages (and the buffers constant operands are filled into)."""
    storages = _Storages(nbytes)
    out = []
    for ins in instructions:
        e = ins.eqn if type(ins) is Callback else None
        name = e.prim.name if e is not None else None
        if name not in ("scan", "while_loop", "cond") or not all(map(_fillable, ins.inputs)):
            out.append(ins)
            continue
        p = e.params
        if name == "scan":
            bodies = [compile_body(p["body"])]
        elif name == "cond":
            bodies = [compile_body(b) for b in p["branches"]]
        else:
            bodies = [compile_body(p["cond"]), compile_body(p["body"])]
            if bodies[0] is not None and bodies[0].copies:  # (a test passing a bool through)
                bodies[0] = None
        if any(b is None for b in bodies):
            out.append(ins)
            continue
        ops = []
        for a in ins.inputs:  # a constant operand (a carry starting at 0.0): a filled buffer
            if isinstance(a, Literal):
                view = View(storages.new(a.dtype.itemsize), (), a.dtype)
                out.append(Fill(view, float(a.value), 0.0))
                a = view
            ops.append(a)
        results = (ins.out, *ins.more)
        if name == "cond":
            out.append(Cond(e, ops[0], tuple(ops[1:]), results, tuple(bodies)))
        elif name == "scan":
            nc, nk = p["num_consts"], p["num_carry"]
            scratch = tuple(storages.new(_nbytes(v)) for v in results[:nk])
            consts, init, xs = ops[:nc], ops[nc : nc + nk], ops[nc + nk :]
            out.append(
                Loop(e, tuple(consts), tuple(init), tuple(xs), results[:nk], results[nk:],
                     scratch, bodies[0])
            )  # fmt: skip
        else:
            ntc, nbc = p["cond_nconsts"], p["body_nconsts"]
            scratch = tuple(storages.new(_nbytes(v)) for v in results)
            tc, bc, init = ops[:ntc], ops[ntc : ntc + nbc], ops[ntc + nbc :]
            out.append(
                WhileLoop(e, tuple(tc), tuple(bc), tuple(init), results, scratch, *bodies)
            )  # fmt: skip
    return out, storages.nbytes


__all__ = ["Body", "compile_body", "native_loops"]

"""Loops and conditionals the executor runs itself: a body's instructions, run over
buffers of the body's own that the instruction points at each step's slices and carries, or
at a branch's operands and results (see compiler/nested.py, which compiles the bodies, and
run_loop, run_while and run_cond in _kernels/executor.pyx)."""

from dataclasses import dataclass

from .. import isa
from .base import Instruction


class _Nested(Instruction):
    """What the instructions holding bodies (nested.Body) share: ``parts``, the bodies with
    the tag their listing shows (None: no tag), decide threads, registers and listing."""

    @property
    def _bodies(self):
        return [body for _, body in self.parts]

    @property
    def may_use_threads(self):
        return any(ins.may_use_threads for b in self._bodies for ins in b.instructions)

    @property
    def registers(self):
        return max([0] + [ins.registers for b in self._bodies for ins in b.instructions])

    def lines(self, name, indent="  "):
        lines = super().lines(name, indent)
        for tag, part in self.parts:  # the body's storages: b0, b1, ...
            inner = indent + "    "
            if tag is not None:
                lines.append(f"{inner}{tag}:")
                inner += "  "
            for ins in part.instructions:
                lines += ins.lines(lambda s, p=part: f"b{p.plan.buffer_of[s]}", inner)
        return lines


def _slot(kind, slot, view, enc, stride=0):
    return isa.encode(
        "loop_slot", kind=isa.LOOP_SLOT_KINDS[kind], slot=slot, outer=enc.buffer(view.storage),
        stride=stride,
    )  # fmt: skip


def _slice_bytes(view):
    """The bytes between a stacked operand's slices (along its leading axis)."""
    return view.size // max(view.shape[0], 1) * view.dtype.itemsize


def _copies(body, base):
    return [
        isa.encode("loop_copy", src=base + src, dst=base + dst, nbytes=nbytes)
        for src, dst, nbytes in body.copies
    ]


def _encoded(enc, body, base):
    """The body's instructions, encoded over its buffers from ``base`` on."""
    inner = enc.nested(body, base)
    return [inner.instruction(ins) for ins in body.instructions]


@dataclass(frozen=True)
class Loop(_Nested):
    """``length`` steps of ``body`` (a nested.Body) from the operands' Views: ``consts``,
    ``init`` (the carries' start), ``xs`` (stacked along their leading axis); results
    ``final`` (the carries' end) and ``ys`` (stacked); ``scratch``: storages for the
    carries' second set (the steps write ``final`` and ``scratch`` in turn)."""

    kind = "loop"
    eqn: object  # the scan equation
    consts: tuple
    init: tuple
    xs: tuple
    final: tuple
    ys: tuple
    scratch: tuple  # storages
    body: object

    @property
    def parts(self):
        return [(None, self.body)]

    @property
    def reads(self):
        views = (*self.consts, *self.init, *self.xs)
        return [v.storage for v in views] + list(self.scratch)  # (scratch dies here)

    @property
    def writes(self):
        return [v.storage for v in (*self.final, *self.ys)] + list(self.scratch)

    @property
    def hidden(self):
        return frozenset(self.scratch)

    def describe(self, listing=False):
        p = self.eqn.params
        order = ", reversed" if p["reverse"] else ""
        return f"scan of {p['length']} steps{order}, {len(self.body.instructions)}-instruction body"

    def fields(self, enc):
        base = enc.nested_buffers(self.body)
        body, p = self.body, self.eqn.params
        nc, nk = len(self.consts), len(self.init)
        slots = [_slot("const", base + k, v, enc) for k, v in enumerate(self.consts)]
        slots += [
            _slot("x", base + nc + nk + j, v, enc, _slice_bytes(v)) for j, v in enumerate(self.xs)
        ]
        slots += [
            _slot("y", base + body.outputs[nk + j], v, enc, _slice_bytes(v))
            for j, v in enumerate(self.ys)
        ]
        carries = [
            isa.encode("loop_carry", read=base + nc + k, write=base + body.outputs[k],
                       init=enc.buffer(start.storage), final=enc.buffer(end.storage),
                       scratch=enc.buffer(s), nbytes=end.size * end.dtype.itemsize)
            for k, (start, end, s) in enumerate(zip(self.init, self.final, self.scratch))
        ]  # fmt: skip
        copies = _copies(body, base)
        return {
            "length": p["length"],
            "reverse": int(p["reverse"]),
            "n_slot": len(slots),
            "slots": slots,
            "n_carry": len(carries),
            "carries": carries,
            "n_copy": len(copies),
            "copies": copies,
            "n_body": len(body.instructions),
            "body": _encoded(enc, body, base),
        }


@dataclass(frozen=True)
class WhileLoop(_Nested):
    """A while loop the executor runs: ``test`` (a nested.Body writing one bool) before
    each step of ``body`` (nested.Body), over the operands' Views ``test_consts``,
    ``body_consts`` and ``init``; results ``final``; ``scratch`` as a Loop's."""

    kind = "while_loop"
    eqn: object
    test_consts: tuple
    body_consts: tuple
    init: tuple
    final: tuple
    scratch: tuple
    test: object
    body: object

    @property
    def parts(self):
        return [("test", self.test), ("body", self.body)]

    @property
    def reads(self):
        views = (*self.test_consts, *self.body_consts, *self.init)
        return [v.storage for v in views] + list(self.scratch)

    @property
    def writes(self):
        return [v.storage for v in self.final] + list(self.scratch)

    @property
    def hidden(self):
        return frozenset(self.scratch)

    def describe(self, listing=False):
        bound = self.eqn.params["max_steps"]
        most = "" if bound is None else f", at most {bound} steps"
        return (
            f"while loop{most}: {len(self.test.instructions)}-instruction test, "
            f"{len(self.body.instructions)}-instruction body"
        )

    def fields(self, enc):
        test_base, body_base = enc.nested_buffers(self.test), enc.nested_buffers(self.body)
        ntc, nbc = len(self.test_consts), len(self.body_consts)
        slots = [
            _slot("const", base + k, v, enc)
            for base, views in ((test_base, self.test_consts), (body_base, self.body_consts))
            for k, v in enumerate(views)
        ]
        carries = [
            isa.encode("while_carry", test_read=test_base + ntc + k, read=body_base + nbc + k,
                       write=body_base + self.body.outputs[k], init=enc.buffer(start.storage),
                       final=enc.buffer(end.storage), scratch=enc.buffer(s),
                       nbytes=end.size * end.dtype.itemsize)
            for k, (start, end, s) in enumerate(zip(self.init, self.final, self.scratch))
        ]  # fmt: skip
        copies = _copies(self.body, body_base)
        bound = self.eqn.params["max_steps"]
        return {
            "max_steps": -1 if bound is None else bound,
            "n_slot": len(slots),
            "slots": slots,
            "n_carry": len(carries),
            "carries": carries,
            "n_copy": len(copies),
            "copies": copies,
            "test_out": test_base + self.test.outputs[0],
            "n_test": len(self.test.instructions),
            "test": _encoded(enc, self.test, test_base),
            "n_body": len(self.body.instructions),
            "body": _encoded(enc, self.body, body_base),
        }


@dataclass(frozen=True)
class Cond(_Nested):
    """A conditional the executor runs: the int32 ``index`` View picks one of ``branches``
    (nested.Body each, over ``operands``), which writes the ``results``."""

    kind = "cond"
    eqn: object
    index: object
    operands: tuple
    results: tuple
    branches: tuple

    @property
    def parts(self):
        return [(f"branch {k}", body) for k, body in enumerate(self.branches)]

    @property
    def reads(self):
        return [v.storage for v in (self.index, *self.operands)]

    @property
    def writes(self):
        return [v.storage for v in self.results]

    def describe(self, listing=False):
        sizes = ", ".join(str(len(b.instructions)) for b in self.branches)
        return f"cond over {len(self.branches)} branches of {sizes} instructions"

    def fields(self, enc):
        branches = []
        for body in self.branches:
            base = enc.nested_buffers(body)
            slots = [_slot("const", base + k, v, enc) for k, v in enumerate(self.operands)]
            slots += [_slot("y", base + out, v, enc) for out, v in zip(body.outputs, self.results)]
            copies = _copies(body, base)
            branches.append(
                isa.encode("cond_branch", n_slot=len(slots), slots=slots, n_copy=len(copies),
                           copies=copies, n_body=len(body.instructions),
                           body=_encoded(enc, body, base))
            )  # fmt: skip
        return {
            "index": enc.buffer(self.index.storage),
            "n_branch": len(branches),
            "branches": branches,
        }

"""A scan the executor runs itself: the body's instructions, run once per step over
buffers of the body's own that the loop points at the step's slices and carries (see
compiler/nested.py, which compiles the body, and run_loop in _kernels/executor.pyx)."""

from dataclasses import dataclass

from .. import isa
from .base import Instruction


@dataclass(frozen=True)
class Loop(Instruction):
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
    def reads(self):
        views = (*self.consts, *self.init, *self.xs)
        return [v.storage for v in views] + list(self.scratch)  # (scratch dies here)

    @property
    def writes(self):
        return [v.storage for v in (*self.final, *self.ys)] + list(self.scratch)

    @property
    def hidden(self):
        return frozenset(self.scratch)

    @property
    def may_use_threads(self):
        return any(ins.may_use_threads for ins in self.body.instructions)

    @property
    def registers(self):
        return max([0] + [ins.registers for ins in self.body.instructions])

    def describe(self, listing=False):
        p = self.eqn.params
        order = ", reversed" if p["reverse"] else ""
        return f"scan of {p['length']} steps{order}, {len(self.body.instructions)}-instruction body"

    def lines(self, name, indent="  "):
        lines = super().lines(name, indent)
        for ins in self.body.instructions:  # the body's storages: b0, b1, ...
            lines += ins.lines(lambda s: f"b{self.body.plan.buffer_of[s]}", indent + "    ")
        return lines

    def fields(self, enc):
        base = enc.nested_buffers(self.body)
        body, p = self.body, self.eqn.params
        nc, nk = len(self.consts), len(self.init)
        slots = [
            isa.encode("loop_slot", kind=isa.LOOP_SLOT_KINDS["const"], slot=base + k,
                       outer=enc.buffer(v.storage), stride=0)
            for k, v in enumerate(self.consts)
        ]  # fmt: skip
        for j, v in enumerate(self.xs):
            stride = v.size // max(v.shape[0], 1) * v.dtype.itemsize
            slots.append(isa.encode("loop_slot", kind=isa.LOOP_SLOT_KINDS["x"],
                                    slot=base + nc + nk + j, outer=enc.buffer(v.storage),
                                    stride=stride))  # fmt: skip
        for j, v in enumerate(self.ys):
            stride = v.size // max(v.shape[0], 1) * v.dtype.itemsize
            slots.append(isa.encode("loop_slot", kind=isa.LOOP_SLOT_KINDS["y"],
                                    slot=base + body.outputs[nk + j],
                                    outer=enc.buffer(v.storage), stride=stride))  # fmt: skip
        carries = [
            isa.encode("loop_carry", read=base + nc + k, write=base + body.outputs[k],
                       init=enc.buffer(start.storage), final=enc.buffer(end.storage),
                       scratch=enc.buffer(s), nbytes=end.size * end.dtype.itemsize)
            for k, (start, end, s) in enumerate(zip(self.init, self.final, self.scratch))
        ]  # fmt: skip
        copies = [
            isa.encode("loop_copy", src=base + src, dst=base + dst, nbytes=nbytes)
            for src, dst, nbytes in body.copies
        ]
        inner = enc.nested(body, base)
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
            "body": [inner.instruction(ins) for ins in body.instructions],
        }

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


@dataclass(frozen=True)
class WhileLoop(Instruction):
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
    def reads(self):
        views = (*self.test_consts, *self.body_consts, *self.init)
        return [v.storage for v in views] + list(self.scratch)

    @property
    def writes(self):
        return [v.storage for v in self.final] + list(self.scratch)

    @property
    def hidden(self):
        return frozenset(self.scratch)

    @property
    def may_use_threads(self):
        return any(ins.may_use_threads for b in (self.test, self.body) for ins in b.instructions)

    @property
    def registers(self):
        return max([0] + [ins.registers for b in (self.test, self.body) for ins in b.instructions])

    def describe(self, listing=False):
        bound = self.eqn.params["max_steps"]
        most = "" if bound is None else f", at most {bound} steps"
        return (
            f"while loop{most}: {len(self.test.instructions)}-instruction test, "
            f"{len(self.body.instructions)}-instruction body"
        )

    def lines(self, name, indent="  "):
        lines = super().lines(name, indent)
        for tag, part in (("test", self.test), ("body", self.body)):
            lines.append(f"{indent}    {tag}:")
            for ins in part.instructions:
                lines += ins.lines(lambda s, p=part: f"b{p.plan.buffer_of[s]}", indent + "      ")
        return lines

    def fields(self, enc):
        test_base, body_base = enc.nested_buffers(self.test), enc.nested_buffers(self.body)
        ntc, nbc = len(self.test_consts), len(self.body_consts)
        const = isa.LOOP_SLOT_KINDS["const"]
        slots = [
            isa.encode(
                "loop_slot", kind=const, slot=base + k, outer=enc.buffer(v.storage), stride=0
            )
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
        copies = [
            isa.encode("loop_copy", src=body_base + src, dst=body_base + dst, nbytes=nbytes)
            for src, dst, nbytes in self.body.copies
        ]
        test, body = enc.nested(self.test, test_base), enc.nested(self.body, body_base)
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
            "test": [test.instruction(ins) for ins in self.test.instructions],
            "n_body": len(self.body.instructions),
            "body": [body.instruction(ins) for ins in self.body.instructions],
        }


@dataclass(frozen=True)
class Cond(Instruction):
    """A conditional the executor runs: the int32 ``index`` View picks one of ``branches``
    (nested.Body each, over ``operands``), which writes the ``results``."""

    kind = "cond"
    eqn: object
    index: object
    operands: tuple
    results: tuple
    branches: tuple

    @property
    def reads(self):
        return [v.storage for v in (self.index, *self.operands)]

    @property
    def writes(self):
        return [v.storage for v in self.results]

    @property
    def may_use_threads(self):
        return any(ins.may_use_threads for b in self.branches for ins in b.instructions)

    @property
    def registers(self):
        return max([0] + [ins.registers for b in self.branches for ins in b.instructions])

    def describe(self, listing=False):
        sizes = ", ".join(str(len(b.instructions)) for b in self.branches)
        return f"cond over {len(self.branches)} branches of {sizes} instructions"

    def lines(self, name, indent="  "):
        lines = super().lines(name, indent)
        for k, part in enumerate(self.branches):
            lines.append(f"{indent}    branch {k}:")
            for ins in part.instructions:
                lines += ins.lines(lambda s, p=part: f"b{p.plan.buffer_of[s]}", indent + "      ")
        return lines

    def fields(self, enc):
        branches = []
        for body in self.branches:
            base = enc.nested_buffers(body)
            slots = [
                isa.encode("loop_slot", kind=isa.LOOP_SLOT_KINDS["const"], slot=base + k,
                           outer=enc.buffer(v.storage), stride=0)
                for k, v in enumerate(self.operands)
            ] + [
                isa.encode("loop_slot", kind=isa.LOOP_SLOT_KINDS["y"], slot=base + out,
                           outer=enc.buffer(v.storage), stride=0)
                for out, v in zip(body.outputs, self.results)
            ]  # fmt: skip
            copies = [
                isa.encode("loop_copy", src=base + src, dst=base + dst, nbytes=nbytes)
                for src, dst, nbytes in body.copies
            ]
            inner = enc.nested(body, base)
            branches.append(
                isa.encode("cond_branch", n_slot=len(slots), slots=slots, n_copy=len(copies),
                           copies=copies, n_body=len(body.instructions),
                           body=[inner.instruction(ins) for ins in body.instructions])
            )  # fmt: skip
        return {
            "index": enc.buffer(self.index.storage),
            "n_branch": len(branches),
            "branches": branches,
        }

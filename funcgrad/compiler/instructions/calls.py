"""Calls into Python: an equation's NumPy reference, or a batched LAPACK kernel."""

from dataclasses import dataclass

from .. import lapack
from .base import Instruction, View


@dataclass(frozen=True)
class Callback(Instruction):
    """An equation with no compiled kernel: its NumPy reference runs inside the program."""

    kind = "python"
    in_loop_bodies = False
    eqn: object  # the equation (its primitive and parameters)
    inputs: tuple  # View, or the equation's Literal
    out: View  # (a multiple-results equation's first result)
    more: tuple = ()  # a multiple-results equation's other results (Views)

    @property
    def reads(self):
        return [a.storage for a in self.inputs if isinstance(a, View)]

    @property
    def writes(self):
        return [self.out.storage] + [v.storage for v in self.more]

    def describe(self, listing=False):
        name = self.eqn.prim.name
        return f"{name} (NumPy reference: no compiled kernel)" if listing else name

    def _kernel(self):
        return None  # the reference

    def fields(self, enc):
        outs = (self.out, *self.more)
        return {"callback": enc.callback(self.eqn, self.inputs, outs, self._kernel())}


@dataclass(frozen=True)
class Lapack(Callback):
    """A linear-algebra equation run by its batched LAPACK kernel (compiler/lapack.py),
    called as a callback is."""

    kind = "lapack"

    @property
    def opcode(self):
        return "python"

    @property
    def may_use_threads(self):
        return lapack.may_use_threads(self.eqn)

    def describe(self, listing=False):
        return f"{self.eqn.prim.name} over {list(self.out.shape)}, batched LAPACK"

    def fields(self, enc):
        return {"callback": enc.callback(self.eqn, self.inputs, (self.out,), self._kernel())}

    def _kernel(self):
        return lapack.runner(self.eqn)

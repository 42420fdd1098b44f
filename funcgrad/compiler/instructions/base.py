"""What every instruction is: the :class:`Instruction` protocol and its operands."""

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .. import isa
from ..isa import PARALLEL_MIN, REDUCE_KINDS


class View(NamedTuple):
    """A storage seen as an array: an instruction's operand."""

    storage: int
    shape: tuple
    dtype: np.dtype

    @property
    def size(self):
        return math.prod(self.shape)


def is_double(view):
    return int(view.dtype == np.float64)


class Instruction:
    """What every kind of instruction answers (the defaults: see the module docstring)."""

    kind = ""
    _reads, _writes = (), ("out",)  # the View fields it reads and writes (by default)
    donors = {}
    # Whether threads split it from PARALLEL_MIN[kind] result elements (kinds that split
    # otherwise, by their work, say so by their own may_use_threads).
    _split_by_result = False
    hidden = frozenset()  # storages a listing does not show (workspaces, a loop's scratch)
    inner = ()  # the instructions a loop runs (timed apart in profiles)
    inside = frozenset()  # storages that live only inside the instruction: no buffer
    registers = 0  # the register machine's registers it uses
    workspaces = {}  # {storage: bytes} of its workspaces, when one thread runs it
    # Whether a loop's body may hold it (nested.py): callbacks need Python, and a loop over
    # images gives each thread a table of the program's buffers that a body's would miss.
    in_loop_bodies = True

    @property
    def opcode(self):
        return self.kind

    @property
    def may_use_threads(self):
        return self._split_by_result and self.out.size >= PARALLEL_MIN[self.kind]

    def encode(self, enc):
        """Its fields as the executor reads them (past its length and opcode)."""
        return isa.ENCODERS[self.opcode](**self.fields(enc))

    def fields(self, enc):
        """{field: value} of its opcode's layout (compiler/isa.py)."""
        raise NotImplementedError

    @property
    def reads(self):
        return [getattr(self, f).storage for f in self._reads]

    @property
    def writes(self):
        return [getattr(self, f).storage for f in self._writes]

    def describe(self, listing=False):
        """One line about the instruction (``listing``: as a program's listing shows it)."""
        return ""

    def __str__(self):
        return self.describe()

    def lines(self, name, indent="  "):
        """The program listing's lines: ``written = kind read  what``, storages named by
        ``name(storage)``."""
        reads = ", ".join(dict.fromkeys(name(s) for s in self.reads if s not in self.hidden))
        writes = ", ".join(name(s) for s in self.writes if s not in self.hidden)
        head = f"{indent}{writes} = {self.kind} {reads}".ljust(32)
        return [f"{head}  {self.describe(listing=True)}"]

    def loop_roles(self):
        """``(n, {storage: role})`` if it works image by image over n >= 2 images (see
        schedule.form_image_loops), else None."""
        return None

    def in_loop(self):
        """The instruction as a loop over images runs it (on one thread at a time)."""
        return self

    def bad_index(self, read, where):
        """The IndexError for an out-of-range index value, found by reading the index
        operands (``read(view)``), or None."""
        return None


@dataclass(frozen=True)
class Partial:
    """A loop operand summed (or maxed) over the images: each thread accumulates its own,
    combined after the loop. ``how``: a REDUCE_KINDS name."""

    how: str
    dtype: np.dtype

    @property
    def code(self):
        """The executor's code of the reduction and dtype."""
        return REDUCE_KINDS[self.how] + 4 * int(self.dtype == np.float64)


def add_role(roles, s, role):
    """Record storage s's role; False if it already has another (read two ways)."""
    return roles.setdefault(s, role) == role

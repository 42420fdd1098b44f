"""The executor's elementwise instruction sets, read from their one home, ``vm_ops.h``.

The header holds each operation's number and its C; the executor compiles it and this
module parses its table lines, so the compiler never imports the built extension to learn
the numbering and nothing is kept in sync by hand.

>>> VM_OPS["add"].arity, INT_OPS["select"].arity
(2, 3)
"""

import os
import re
from typing import NamedTuple

HEADER = os.path.join(os.path.dirname(os.path.dirname(__file__)), "_kernels", "vm_ops.h")


class Op(NamedTuple):
    """One operation of an instruction set: its number and how many operands it reads."""

    code: int
    arity: int


# A table line: E(name, number, arity, ...), L(...) in FG_VM_OPS, I(...) in FG_INT_OPS.
_LINE = re.compile(r"^\s*([ELI])\(\s*(\w+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,")
_ANY_ENTRY = re.compile(r"^\s*[ELI]\(\s*\w+\s*,\s*\d")  # (the header's prose has no digit there)
_DEFINE = re.compile(r"^#define FG_VM_(LOAD|CONST|REDUCE) (\d+)$")


def _parse(text):
    vm, ints, steps = {}, {}, {}
    for line in text.splitlines():
        m = _LINE.match(line)
        if m is None and _ANY_ENTRY.match(line):
            raise ValueError(f"{HEADER}: cannot read the table line {line.strip()!r}")
        if m:
            kind, name, code, arity = m.groups()
            table = ints if kind == "I" else vm
            if name in table or int(code) in {op.code for op in table.values()}:
                raise ValueError(f"{HEADER}: operation {name} or its number {code} is repeated")
            table[name] = Op(int(code), int(arity))
            continue
        m = _DEFINE.match(line.strip())
        if m:
            steps[m.group(1).lower()] = int(m.group(2))
    if set(steps.values()) & {op.code for op in vm.values()}:
        raise ValueError(f"{HEADER}: an operation has the number of load, const or reduce")
    return vm, ints, steps


with open(HEADER, encoding="utf-8") as _f:
    VM_OPS, INT_OPS, _STEPS = _parse(_f.read())


def check_build(compiled_vm, compiled_int):
    """Raise if the built executor's tables differ from vm_ops.h (a stale build)."""
    vm = {name: op.code for name, op in VM_OPS.items()}
    ints = {name: op.code for name, op in INT_OPS.items()}
    if compiled_vm != vm or compiled_int != ints:
        raise ImportError(
            f"funcgrad's compiled kernels were built from another {HEADER}: rebuild them "
            "(pip install ., or python setup.py build_ext --inplace)"
        )


def vm_code(name):
    """The number of a register-machine step: "load", "const", "reduce" or an operation."""
    if name in _STEPS:
        return _STEPS[name]
    return VM_OPS[name].code

"""The executor's instruction set: the one description both sides of a program read.

A program is a flat int64 array of instructions, each ``[length, opcode, fields...]``. Here
are every instruction's opcode and fields in order, the parts its variable-length tail is
made of, and the small tables of codes its fields hold (dtypes, reduction kinds, kernels).
The instruction records (compiler/instructions/) encode through :func:`encode`, which
refuses a missing or extra field; the kernels (funcgrad/_kernels/) read the fields by the
names of ``isa.pxd``/``isa.h``, which the build generates from this module
(:func:`write_generated`), e.g. ``ins[GEMM_TRANS_A]``. The elementwise operations' numbers
and C live in ``vm_ops.h``, read from there (their C is the kernels').

A field list is a string of items: ``name`` (one int64), ``name[count]`` (``count``
int64s, ``count`` an earlier field of the record or of one holding it), ``name:part`` (a
part, :data:`PARTS`, or another instruction's fields inline) and ``name[count]:part``;
``name[count]:instruction`` holds whole instructions. A field at a fixed position gets the
C name ``KIND_FIELD`` (its index among the fields), a fixed-length part ``PART_LEN``.

>>> OPCODES["gemm"], LAYOUTS["gemm"].names[3]
(1, 'trans_a')
>>> encode("fill", dtype=0, dst=4, count=10, const=2)
[0, 4, 10, 2]
>>> decode([6, OPCODES["fill"], 0, 4, 10, 2])
[('fill', {'dtype': 0, 'dst': 4, 'count': 10, 'const': 2})]
>>> VM_OPS["add"].arity, INT_OPS["select"].arity
(2, 3)
"""

import itertools
import keyword
import os
import re
import types
import zlib
from collections import ChainMap
from typing import NamedTuple

KERNELS_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "_kernels")
HEADER = os.path.join(KERNELS_DIR, "vm_ops.h")


# ---------------------------------------------------------------------- layouts


class Item(NamedTuple):
    """One field of a layout: ``count`` names the field holding its length (None: one
    value); ``part`` is the layout of each value (None: an int64)."""

    name: str
    count: str | None
    part: str | None


class Layout(NamedTuple):
    """An instruction's fields (``opcode`` set) or a part's, in order."""

    name: str
    opcode: int | None
    items: tuple

    @property
    def names(self):
        return tuple(item.name for item in self.items)


_ITEM = re.compile(r"^(\w+)(?:\[(\w+)\])?(?::(\w+))?$")
LAYOUTS = {}  # name -> Layout: every instruction kind, then every part
PARTS = {}  # the parts of variable-length tails


def _layout(name, fields, opcode=None):
    items = []
    for text in fields.split():
        m = _ITEM.match(text)
        if m is None:
            raise ValueError(f"isa: cannot read the field {text!r} of {name}")
        items.append(Item(*m.groups()))
    LAYOUTS[name] = layout = Layout(name, opcode, tuple(items))
    return layout


def _instruction(name, opcode, fields):
    return _layout(name, fields, opcode)


def _part(name, fields):
    PARTS[name] = _layout(name, fields)


# A fused kernel (the register machine's program, vm.pyx) over ``shape``: its inputs
# (``how``: 1 bools, converted; 2 laid out like the iteration, read in place; 3 both), outputs
# (``register``: the one holding its value), reductions (``kind``: REDUCE_KINDS; strides into
# the result), steps and template (templates.py; kind T_NONE: none).
_part(
    "kernel",
    "ndim shape[ndim] n_in inputs[n_in]:fused_input n_out outputs[n_out]:fused_output "
    "n_red reductions[n_red]:fused_reduction n_code code[n_code]:vm_step template:template",
)
_part("fused_input", "buf how strides[ndim]")
_part("fused_output", "buf is_bool register")
_part("fused_reduction", "buf kind size strides[ndim]")
# op (vm_code) into register dst from a, b, c (an input for a load, a constant's index for a
# const; a reduce's dst is its reduction's number)
_part("vm_step", "op dst a b c")
# kind (TEMPLATE_KINDS), input a and b (-1: no bias), slope's constant (-1: relu), the
# result's output and the mask's (-1: none)
_part("template", "kind a b slope result mask")
# An index array of a gather or scatter: its buffer, int32 or int64, the indexed axis's size
# and the elements between its rows.
_part("gather_index", "buf is_int32 size stride")
# A buffer a loop over images sees: ``kind`` (IMAGE_ROLES); ``where``: its bytes per image
# (batch) or its offset in the thread's scratch; a partial's ``bytes`` and ``reduction``
# (REDUCE_KINDS + 4 * is_double).
_part("role", "buf kind where bytes reduction")
# An integer operation's operand: its dtype code, buffer and strides, or dtype -1 and the
# scalar's value in ``buf`` (strides then zeros).
_part("int_operand", "dtype buf strides[ndim]")

GEMM = "a b c trans_a trans_b m n k batch stride_a stride_b stride_c is_double"
CONV_GEOMETRY = "n c h w o kh kw sh sw pt pb pl pr dh dw"  # input, output features, window...
REDUCTION = "kind src dst out_size ndim shape[ndim] out_strides[ndim]"  # (0 along reduced)
ROWS = "outer n inner"  # rows of n values, inner apart, outer x inner of them

# row-major c = op(a) @ op(b), a transpose where flagged, over ``batch`` products
_instruction("gemm", 1, GEMM)
_instruction("fused", 2, "is_double kernel:kernel")
_instruction("reduce", 3, f"is_double {REDUCTION}")
# offsets and strides in elements
_instruction(
    "copy", 4, "itemsize src src_offset dst dst_offset ndim shape[ndim] src_strides[ndim] "
    "dst_strides[ndim]"
)  # fmt: skip
# dst[j] = consts[const] + j * consts[const + 1], dtype a FILL_DTYPES index
_instruction("fill", 5, "dtype dst count const")
_instruction("python", 6, "callback")  # callbacks[callback](arrays), with the GIL
_instruction("gather", 7, "itemsize src dst n_index row k indices[k]:gather_index")
_instruction("scatter_add", 8, "is_double src dst n_index row k total indices[k]:gather_index")
# kernel: CONV_KERNELS; a, b, out its operands (see images.pyx)
_instruction("conv", 9, f"kernel is_double {CONV_GEOMETRY} a b out workspace workspace_size")
# a fused kernel over the GEMM's m * n results, run by each thread on the rows it computed
_instruction("gemm_epilogue", 10, f"{GEMM} fused:fused")
_instruction("softmax", 11, f"is_double kind x y {ROWS}")  # kind: SOFTMAX_KINDS
# a loop over images: see run_images in images.pyx (width: buffers a thread sees; steps:
# conv and fused instructions)
_instruction(
    "images", 12, "n chunk scratch per_thread threads width profile_slot n_roles "
    "roles[n_roles]:role n_steps steps[n_steps]:instruction"
)  # fmt: skip
# kind: RANDOM_BITS_KINDS; key: uint32[2]; counters: uint32
_instruction("random_bits", 13, "kind key counters out count")
_instruction("cast", 14, "src_dtype dst_dtype src dst count")  # dtypes: CAST_DTYPES codes
_instruction("int", 15, "op dtype out ndim shape[ndim] n_in operands[n_in]:int_operand")
_instruction("argmax", 16, f"is_double x out is_int32 {ROWS}")
_instruction("int_reduce", 17, f"dtype {REDUCTION}")  # dtype: the operand's and result's
# A scan run by the executor (run_loop in executor.pyx): ``length`` steps (from the last when
# ``reverse``) of the ``body`` instructions, over buffers of the body's own that each step
# points at: a slot (kind LOOP_SLOT_KINDS) is the body buffer ``slot`` seeing outer buffer
# ``outer`` (a const: as it is; an x or y: the step's slice, ``stride`` bytes apart); a carry
# is read from body buffer ``read`` and written to ``write``, starting from outer ``init``
# and ending in ``final`` (the steps write ``final`` and ``scratch`` in turn, the last one
# ``final``); after each step, ``copies`` give the outputs the body only passes through.
_part("loop_slot", "kind slot outer stride")
_part("loop_carry", "read write init final scratch nbytes")
_part("loop_copy", "src dst nbytes")
# A while loop (run_while): ``test`` (instructions writing a bool to body buffer
# ``test_out``) before each step, the ``body`` while it holds (and fewer than ``max_steps``,
# -1: no bound); each carry is read by the test from ``test_read`` and by the body from
# ``read``; the steps write ``final`` and ``scratch`` in turn, and the end is copied into
# ``final`` if the last step wrote ``scratch`` (or none ran).
_part("while_carry", "test_read read write init final scratch nbytes")
_instruction(
    "while_loop", 19, "max_steps n_slot slots[n_slot]:loop_slot n_carry "
    "carries[n_carry]:while_carry n_copy copies[n_copy]:loop_copy test_out n_test "
    "test[n_test]:instruction "
    "n_body body[n_body]:instruction"
)  # fmt: skip
# A conditional (run_cond): the int32 in outer buffer ``index`` (clamped into range) picks
# one of the branches, which then runs with its slots pointed (consts: the operands; y: the
# results, stride 0) and its copies made.
_part("cond_branch", "n_slot slots[n_slot]:loop_slot n_copy copies[n_copy]:loop_copy "
      "n_body body[n_body]:instruction")  # fmt: skip
_instruction("cond", 20, "index n_branch branches[n_branch]:cond_branch")
_instruction(
    "loop", 18, "length reverse n_slot slots[n_slot]:loop_slot n_carry carries[n_carry]:loop_carry "
    "n_copy copies[n_copy]:loop_copy n_body body[n_body]:instruction"
)  # fmt: skip

INSTRUCTIONS = {name: lay for name, lay in LAYOUTS.items() if lay.opcode is not None}
OPCODES = {name: lay.opcode for name, lay in INSTRUCTIONS.items()}
KIND_OF = {code: name for name, code in OPCODES.items()}


def encode(kind, /, **fields):
    """The int64 fields of an instruction or part ``kind``, named as its layout names them;
    arrays as sequences, parts as their encodings (lists). Raises TypeError for a missing or
    unknown field, ValueError for an array whose length is not its count (a count of an
    enclosing record is not checked here: :func:`decode` checks whole programs)."""
    return ENCODERS[kind](**fields)


def _encoder(layout):
    """``encode`` for one layout: a function of its fields by keyword (so that Python itself
    refuses a missing or unknown one) returning them in order, arrays and parts spliced in.
    Written as source once, like a namedtuple's: a program encodes thousands of fields."""
    checks, values = [], []
    for name, count, part in layout.items:
        if keyword.iskeyword(name) or name in ("len", "_chain"):
            raise ValueError(f"isa: {layout.name} cannot have a field named {name}")
        if count in layout.names:
            checks.append(
                f"    if len({name}) != {count}:\n        raise ValueError(f'isa: "
                f"{layout.name}.{name} has {{len({name})}} values, not {count}')\n"
            )
        if count is None and part is None:
            values.append(name)
        elif count is None or part is None:  # a part, or an array of ints
            values.append(f"*{name}")
        else:  # an array of parts
            values.append(f"*_chain({name})")
    source = (
        f"def {layout.name}(*, {', '.join(layout.names)}):\n"
        + "".join(checks)
        + f"    return [{', '.join(values)}]\n"
    )
    namespace = {"_chain": itertools.chain.from_iterable}
    exec(source, namespace)
    return namespace[layout.name]


ENCODERS = {name: _encoder(layout) for name, layout in LAYOUTS.items()}
encoders = types.SimpleNamespace(**ENCODERS)  # isa.encoders.vm_step(op=..., ...): the same


def decode(code):
    """An encoded program's instructions as ``(kind, {field: value})``, parts as dicts (a
    program listing for debugging, and the tests' check of every instruction's length)."""
    out, pos = [], 0
    while pos < len(code):
        kind, fields, pos = _instruction_at(code, pos)
        out.append((kind, fields))
    return out


def _instruction_at(code, pos):
    length, opcode = code[pos], code[pos + 1]
    if opcode not in KIND_OF:
        raise ValueError(f"isa: no instruction has opcode {opcode} (position {pos})")
    kind = KIND_OF[opcode]
    fields, end = _read(kind, code, pos + 2, {})
    if end != pos + length:
        raise ValueError(
            f"isa: the {kind} instruction at {pos} has length {length}, its fields {end - pos}"
        )
    return kind, fields, end


def _read(name, code, pos, outer):
    values = {}
    scope = ChainMap(values, outer)
    for item, count, part in LAYOUTS[name].items:
        n = 1 if count is None else scope[count]
        got = []
        for _ in range(n):
            if part is None:
                got.append(int(code[pos]))
                pos += 1
            elif part == "instruction":
                kind, fields, pos = _instruction_at(code, pos)
                got.append((kind, fields))
            else:
                value, pos = _read(part, code, pos, scope)
                got.append(value)
        values[item] = got[0] if count is None else got
    if pos > len(code):
        raise ValueError(f"isa: a {name} runs past the end of the program")
    return values, pos


# ---------------------------------------------------------------------- codes


def _codes(prefix, spec, start=0):
    """{name: code} numbered from ``start``; each item ``name`` or ``name=C`` gives the C
    name ``PREFIX_C`` (``PREFIX_NAME`` by default)."""
    table, c_names = {}, {}
    for k, item in enumerate(spec.split()):
        name, _, c = item.partition("=")
        table[name] = start + k
        c_names[f"{prefix}_{(c or name).upper()}"] = start + k
    C_CONSTANTS.update(c_names)
    return table


C_CONSTANTS = {}  # the generated header's other names -> values

# dtype codes of cast and integer instructions (cast.h's loops are indexed by them)
CAST_DTYPES = _codes("FG", "bool int8 uint8 int16 uint16 int32 uint32 int64 uint64 float32 float64")
RANDOM_BITS_KINDS = _codes("FG_BITS", "uint32=u32 float32=f32 float64=f64")  # (threefry.h)
REDUCE_KINDS = _codes("REDUCE", "sum max min")
SOFTMAX_KINDS = _codes("SOFTMAX", "logsumexp=lse log_softmax=log softmax=prob")
# T_NONE (0): a fused kernel without a template
TEMPLATE_KINDS = _codes("T", "activation activation_grad", start=1)
IMAGE_ROLES = _codes("ROLE", "batch scratch partial")
LOOP_SLOT_KINDS = _codes("SLOT", "const x y")
# The kernels of a conv instruction: the convolutions (convolution.pyx), then the pooling
# kinds (pool2.h, pool.pyx) from POOLED on.
_CONVOLUTIONS = _codes(
    "CONV", "conv2d=forward conv2d_input_grad=input_grad conv2d_filter_grad=filter_grad"
)
_POOLS = _codes(
    "FG_POOL", "max_pool2d=max max_pool2d_select=select max_pool2d_scatter=scatter "
    "avg_pool2d=avg avg_pool2d_transpose=avg_t max_pool2d_index=max_index "
    "max_pool2d_scatter_index=scatter_index"
)  # fmt: skip
POOLED = len(_CONVOLUTIONS)
CONV_KERNELS = {**_CONVOLUTIONS, **{name: POOLED + k for name, k in _POOLS.items()}}
# A saved argmax slot is a byte: 255 marks a window that sees only padding, so slots can be
# saved for windows of at most 255 elements.
MAX_POOL_SLOTS = 255
MAX_DIMS = 8  # dimensions of a strided operand (after collapse: layout.py)
# Work below which an instruction stays on the calling thread. Waking a thread costs a few
# microseconds on an idle machine but up to a scheduler time slice when another process
# holds the core: splitting the mlp benchmark's GEMMs (1.3e7 M*N*K) and parameter updates
# (1e5 elements) made its step 4x slower under load for a 3% gain when idle.
FUSED_PAR_MIN = 262144  # elements
GEMM_PAR_MIN = 2**25  # M*N*K
RANDOM_BITS_COST = 12  # a Threefry hash costs about as much as a dozen elementwise operations
# Sizes from which an instruction may run on several threads (its elements; M*N*K).
PARALLEL_MIN = {
    "fused": FUSED_PAR_MIN,
    "softmax": FUSED_PAR_MIN,
    "gemm": float(GEMM_PAR_MIN),
    "cast": FUSED_PAR_MIN,
    "random_bits": FUSED_PAR_MIN // RANDOM_BITS_COST,
}
C_CONSTANTS.update(
    T_NONE=0,
    POOLED=POOLED,
    NO_SLOT=MAX_POOL_SLOTS,
    MAXDIM=MAX_DIMS,
    FUSED_PAR_MIN=FUSED_PAR_MIN,
    GEMM_PAR_MIN=GEMM_PAR_MIN,
    RANDOM_BITS_COST=RANDOM_BITS_COST,
)


# ---------------------------------------------------------------------- vm_ops.h


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


def vm_code(name):
    """The number of a register-machine step: "load", "const", "reduce" or an operation."""
    if name in _STEPS:
        return _STEPS[name]
    return VM_OPS[name].code


# ---------------------------------------------------------------------- the generated files


def c_names():
    """{C name: value} of every field at a fixed position, part length, opcode and code."""
    names = {"INSTRUCTION_LENGTH": 0, "INSTRUCTION_OPCODE": 1, "INSTRUCTION_FIELDS": 2}
    for name, code in OPCODES.items():
        names[f"OP_{name.upper()}"] = code
    names["OP_COUNT"] = max(OPCODES.values()) + 1  # (one past the last)
    for layout in LAYOUTS.values():
        pos = 0
        for item in layout.items:
            names[f"{layout.name}_{item.name}".upper()] = pos
            size = _fixed_size(item)
            if size is None:
                break
            pos += size
        else:
            if layout.opcode is None:
                names[f"{layout.name}_len".upper()] = pos
    for name, value in C_CONSTANTS.items():
        if names.setdefault(name, value) != value:
            raise ValueError(f"isa: two values for the C name {name}")
    return names


def _fixed_size(item):
    """The int64s an item takes, None if that varies."""
    if item.count is not None or item.part == "instruction":
        return None
    if item.part is None:
        return 1
    total = 0
    for sub in LAYOUTS[item.part].items:
        size = _fixed_size(sub)
        if size is None:
            return None
        total += size
    return total


_NOTICE = "generated from funcgrad/compiler/isa.py by write_generated(): do not edit"


def generated():
    """{file name in _kernels/: text}: the C header and its Cython declarations."""
    names = c_names()
    body = "".join(f"    {name} = {value},\n" for name, value in names.items())
    digest = zlib.crc32(body.encode()) & 0x7FFFFFFF  # a build from another isa.py differs
    header = (
        f"/* The instruction set:\n   {_NOTICE}. */\n#ifndef FUNCGRAD_ISA_H\n"
        f"#define FUNCGRAD_ISA_H\nenum {{\n{body}    ISA_DIGEST = {digest}\n}};\n#endif\n"
    )
    pxd = "".join(f"        {name}\n" for name in names)
    pxd = (
        f"# The instruction set's names, their values in isa.h\n# ({_NOTICE}).\n"
        f'cdef extern from "isa.h":\n    enum:\n{pxd}        ISA_DIGEST\n'
    )
    return {"isa.h": header, "isa.pxd": pxd}


def digest():
    """The checksum the build compiles in (ISA_DIGEST)."""
    return int(generated()["isa.h"].rsplit("ISA_DIGEST = ", 1)[1].split()[0])


def write_generated(directory=KERNELS_DIR):
    """Write the generated files where they differ (an unchanged file keeps its time, so the
    build does not recompile the modules that include it). Returns the names written."""
    written = []
    for name, text in generated().items():
        path = os.path.join(directory, name)
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                if f.read() == text:
                    continue
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        written.append(name)
    return written


def check_build(compiled_vm, compiled_int, compiled_digest=None):
    """Raise if the built executor's tables differ from vm_ops.h, or it was built from
    another instruction set (``compiled_digest``: its ISA_DIGEST): a stale build."""
    vm = {name: op.code for name, op in VM_OPS.items()}
    ints = {name: op.code for name, op in INT_OPS.items()}
    stale_isa = compiled_digest is not None and compiled_digest != digest()
    if compiled_vm != vm or compiled_int != ints or stale_isa:
        raise ImportError(
            f"funcgrad's compiled kernels were built from another {HEADER} or isa.py: rebuild "
            "them (pip install ., or python setup.py build_ext --inplace)"
        )

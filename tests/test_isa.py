"""The instruction set (funcgrad/compiler/isa.py): what the records encode is what the
layouts declare, the kernels' generated names are up to date, and the built executor was
compiled from them."""

import pathlib

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad._kernels import executor
from funcgrad.compiler import isa
from funcgrad.compiler.program import CompiledProgram, encode

rng = np.random.default_rng(0)


def _f32(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def _conv_net(x, k, w):
    h = fg.nn.leaky_relu(fg.nn.conv2d(x, k, padding="SAME"))
    h = fg.nn.avg_pool2d(fg.nn.max_pool2d(h, 2), 2)
    return fnp.sum(fg.nn.log_softmax(fnp.reshape(h, (h.shape[0], -1)) @ w))


def _graphs():
    """Graphs whose programs hold every kind of instruction between them."""
    x, w, b = _f32(8, 5), _f32(5, 4), _f32(4)
    index = np.array([0, 3, 2, 7], np.int32)
    ints = np.arange(12, dtype=np.int64).reshape(3, 4)
    images, kernel = _f32(4, 2, 8, 8), _f32(3, 2, 3, 3)
    return [
        (lambda x, w: x.T @ w[:4] + fnp.arange(4, dtype=np.float32), (_f32(4, 8), w)),
        (lambda x, w, b: fg.nn.relu(x @ w + b), (x, w, b)),  # a GEMM epilogue
        (lambda x: fnp.concatenate([x.T, x.T[::-1]], axis=1), (x,)),
        (lambda x: fnp.sum(x, axis=0) + fnp.max(x), (x,)),
        (lambda x: fnp.sort(x, axis=1), (x,)),  # a NumPy callback
        (lambda a: fnp.linalg.inv(a), (_f32(3, 4, 4) + 4 * np.eye(4, dtype=np.float32),)),
        (fg.grad(lambda x, i: fnp.sum(x[i] ** 2)), (x, index)),  # gather, scatter_add
        (fg.grad(_conv_net, argnums=(0, 1, 2)), (images, kernel, _f32(12, 3))),  # images, conv
        (lambda key, x: fg.random.uniform(key, (8, 5)) + x, (fg.random.key(0), x)),
        (lambda x: x.astype(np.float64) * 2 + fnp.argmax(x, axis=1)[:, None], (x,)),
        (lambda a: fnp.sum(a * 3 + (a > 4), axis=1), (ints,)),
        (lambda x: fnp.zeros((3, 4), np.float32) + fnp.sum(x), (x,)),  # a fill
        (_rnn, (_f32(4), _f32(5, 4), _f32(4, 4))),  # a loop
        (_grow, (np.float32(1.5),)),  # a while loop
        (lambda x: fg.lax.cond(x > 1, lambda v: v * 2, lambda v: v - 1, x), (np.float32(1.5),)),
    ]


def _grow(x):
    return fg.lax.while_loop(lambda c: c < 10.0, lambda c: c * x, np.float32(1.0))


def _rnn(h, xs, w):
    return fg.lax.scan(lambda h, x: (fnp.tanh(h @ w + x), fnp.sum(h)), h, xs)


def _programs():
    for fun, args in _graphs():
        graph = fg.make_graph(fun)(*args)
        program = CompiledProgram(graph)
        yield (
            program,
            encode(program.instructions, program._plan.buffer_of, program._plan.n_buffers),
        )


def _walk(decoded):
    for kind, fields in decoded:
        yield kind, fields
        if kind == "images":
            yield from _walk(fields["steps"])
        if kind == "loop":
            yield from _walk(fields["body"])
        if kind == "while_loop":
            yield from _walk(fields["test"] + fields["body"])
        if kind == "cond":
            for branch in fields["branches"]:
                yield from _walk(branch["body"])


def _size(layout, fields):
    """The int64s ``fields`` (decoded) take: one per field, its count's per array, and the
    parts' sizes."""
    total = 0
    for name, count, part in isa.LAYOUTS[layout].items:
        values = [fields[name]] if count is None else fields[name]
        for v in values:
            if part is None:
                total += 1
            elif part == "instruction":
                total += 2 + _size(*v)
            else:
                total += _size(part, v)
    return total


def test_every_instruction_is_as_long_as_its_layout_says():
    seen = set()
    for program, (code, _) in _programs():
        pos = 0
        for ins in program.instructions:
            length, opcode = code[pos], code[pos + 1]
            assert opcode == isa.OPCODES[ins.opcode]
            ((kind, fields),) = isa.decode(code[pos : pos + length])
            assert length == 2 + _size(kind, fields)
            pos += length
        assert pos == len(code)
        seen |= {kind for kind, _ in _walk(isa.decode(code))}
        seen |= {ins.kind for ins in program.instructions}
    assert seen == set(isa.INSTRUCTIONS) | {"lapack"}


def test_decoded_fields_are_the_records_fields():
    for program, (code, _) in _programs():
        for ins, (kind, fields) in zip(program.instructions, isa.decode(code), strict=True):
            if kind == "gemm":
                assert (fields["m"], fields["n"], fields["k"]) == (ins.m, ins.n, ins.k)
                assert (fields["trans_a"], fields["trans_b"]) == (ins.trans_a, ins.trans_b)
            elif kind == "conv":
                geometry = [fields[f] for f in isa.CONV_GEOMETRY.split()]
                assert geometry == list(ins.geometry)
                assert fields["kernel"] == isa.CONV_KERNELS[ins.kernel]
            elif kind == "fused":
                kernel = fields["kernel"]
                assert kernel["n_code"] == len(ins.code) == len(kernel["code"])
                assert [step["op"] for step in kernel["code"]] == [
                    isa.vm_code(op.op) for op in ins.code
                ]
            elif kind == "images":
                assert [step[0] for step in fields["steps"]] == [q.kind for q in ins.steps]


def test_encode_refuses_missing_extra_and_miscounted_fields():
    fill = dict(dtype=0, dst=1, count=4, const=0)
    assert isa.encode("fill", **fill) == [0, 1, 4, 0]
    with pytest.raises(TypeError, match="missing 1 required keyword-only argument: 'const'"):
        isa.encode("fill", dtype=0, dst=1, count=4)
    with pytest.raises(TypeError, match="unexpected keyword argument 'step'"):
        isa.encode("fill", **fill, step=1)
    reduce = dict(is_double=0, kind=0, src=0, dst=1, out_size=1, ndim=1, out_strides=[0])
    assert isa.encode("reduce", **reduce, shape=[2]) == [0, 0, 0, 1, 1, 1, 2, 0]
    with pytest.raises(ValueError, match="shape has 2 values, not ndim"):
        isa.encode("reduce", **reduce, shape=[2, 3])
    index = isa.encode("gather_index", buf=3, is_int32=1, size=5, stride=2)
    gather = isa.encode(
        "gather", itemsize=4, src=0, dst=1, n_index=2, row=2, k=2, indices=[index, index]
    )
    assert gather == [4, 0, 1, 2, 2, 2] + index + index


def test_decode_refuses_a_wrong_length():
    code = [6, isa.OPCODES["fill"], 0, 4, 10, 2]
    assert isa.decode(code) == [("fill", {"dtype": 0, "dst": 4, "count": 10, "const": 2})]
    with pytest.raises(ValueError, match="has length 7, its fields 6"):
        isa.decode([7] + code[1:] + [0])


def test_fixed_fields_have_c_names_by_position():
    names = isa.c_names()
    assert names["GEMM_TRANS_A"] == 3 and names["GEMM_IS_DOUBLE"] == 12
    assert names["GEMM_EPILOGUE_FUSED"] == 13  # a GEMM's fields, then a fused instruction's
    assert names["COPY_SHAPE"] == 6  # where the tail starts
    assert "COPY_SRC_STRIDES" not in names  # after a variable-length field: no fixed place
    assert names["VM_STEP_LEN"] == 5 and "FUSED_INPUT_LEN" not in names
    for name, layout in isa.INSTRUCTIONS.items():
        assert names[f"OP_{name.upper()}"] == layout.opcode


def test_the_generated_files_are_up_to_date():
    # (the repository's: an installed package need not ship isa.pxd)
    kernels = pathlib.Path(__file__).parents[1] / "funcgrad" / "_kernels"
    for name, text in isa.generated().items():
        assert (kernels / name).read_text() == text, f"{name} is stale: run setup.py build_ext"


def test_the_built_executor_agrees_with_the_instruction_set():
    assert executor.ISA_DIGEST == isa.digest()
    assert executor.OPCODES == isa.OPCODES
    assert executor.CAST_DTYPES == isa.CAST_DTYPES
    assert executor.CONV_KERNELS == isa.CONV_KERNELS
    assert executor.IMAGE_ROLES == isa.IMAGE_ROLES
    assert executor.RANDOM_BITS_KINDS == isa.RANDOM_BITS_KINDS
    assert executor.REDUCE_KINDS == isa.REDUCE_KINDS
    assert executor.SOFTMAX_KINDS == isa.SOFTMAX_KINDS
    assert executor.TEMPLATE_KINDS == isa.TEMPLATE_KINDS
    assert executor.PARALLEL_MIN == isa.PARALLEL_MIN
    assert executor.MAX_DIMS == isa.MAX_DIMS
    assert executor.MAX_POOL_SLOTS == isa.MAX_POOL_SLOTS
    isa.check_build(executor.COMPILED_VM_OPS, executor.COMPILED_INT_OPS, executor.ISA_DIGEST)
    with pytest.raises(ImportError, match="rebuild"):
        isa.check_build(executor.COMPILED_VM_OPS, executor.COMPILED_INT_OPS, 1)

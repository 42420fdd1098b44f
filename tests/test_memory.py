"""The buffer plan (funcgrad/compiler/memory.py): on hand-written instruction lists, and on
the programs of graphs."""

import dataclasses

import numpy as np
import pytest
from compiled import assert_same, run_both
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.compiler.instructions import (
    Cast,
    Conv,
    Fused,
    FusedInput,
    FusedOutput,
    Gemm,
    GemmEpilogue,
    ImageLoop,
    Op,
)
from funcgrad.compiler.instructions import View as V
from funcgrad.compiler.memory import last_reads, plan_memory
from funcgrad.compiler.program import CompiledProgram

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)


def cast(src, dst, shape=(2,), dtypes=(F64, F64)):
    return Cast(V(src, shape, dtypes[0]), V(dst, shape, dtypes[1]))


def kernel(reads, dst, shape=(2,), dtype=F64, in_dtype=None):
    """A fused kernel over ``shape`` reading storages ``reads`` (laid out like it)."""
    inputs = tuple(FusedInput(V(s, shape, in_dtype or dtype), (1,)) for s in reads)
    loads = tuple(Op("load", k, k, 0, 0) for k in range(len(reads)))
    return Fused(dtype, shape, inputs, (FusedOutput(V(dst, shape, dtype), 0),), loads)


def nbytes_of(instructions, n_inputs, extra=()):
    """storage -> bytes, from the views of hand-written instructions (inputs: 16 bytes)."""
    sizes = dict.fromkeys(range(n_inputs), 16)

    def visit(x):
        if isinstance(x, V):
            sizes[x.storage] = x.size * x.dtype.itemsize
        elif isinstance(x, tuple):
            for y in x:
                visit(y)
        elif dataclasses.is_dataclass(x):
            for f in dataclasses.fields(x):
                visit(getattr(x, f.name))

    for ins in instructions:
        visit(ins)
    return {**sizes, **dict(extra)}


# ---------------------------------------------------------------- hand-written lists


def test_a_chain_of_temporaries_takes_two_slots():
    # in0 -> s1 -> s2 -> s3 -> s4 (out): each temporary dies at the next step, whose
    # result is allocated before the operand's slot is freed.
    steps = [cast(0, 1), cast(1, 2), cast(2, 3), cast(3, 4)]
    plan = plan_memory(steps, 1, nbytes_of(steps, 1), outputs={4})
    assert plan.temps == [16, 16]
    assert plan.slot_of == {1: 0, 2: 1, 3: 0}
    assert plan.buffer_of == {0: 0, 4: 1, 1: 2, 2: 3, 3: 2}
    assert plan.n_buffers == 4 and plan.outputs == [4]
    assert last_reads(steps) == {0: 0, 1: 1, 2: 2, 3: 3}


def test_a_freed_slot_takes_only_a_value_of_its_size():
    steps = [cast(0, 1), cast(1, 2, (2,), (F64, F32)), cast(2, 3, (2,), (F32, F64))]
    plan = plan_memory(steps, 1, nbytes_of(steps, 1), outputs={3})
    assert plan.temps == [16, 8]  # s2 (8 bytes) does not take s1's slot of 16
    assert plan.slot_of == {1: 0, 2: 1}


def test_a_fused_kernel_overwrites_an_operand_it_reads_for_the_last_time():
    steps = [cast(0, 1), kernel([1], 2), cast(2, 3)]
    plan = plan_memory(steps, 1, nbytes_of(steps, 1), outputs={3})
    assert steps[1].donors == {2: [1]}
    assert plan.slot_of[2] == plan.slot_of[1] and plan.temps == [16]


@pytest.mark.parametrize("why", ["read_later", "other_itemsize", "output", "input"])
def test_no_donation_when_the_operand_lives_on_or_differs(why):
    steps = [cast(0, 1), kernel([1], 2), cast(2, 3)]
    outputs = {3}
    if why == "read_later":
        steps[2] = kernel([1, 2], 3)
    elif why == "other_itemsize":
        bools = np.dtype(np.bool_)  # (a fused kernel's float dtype is the same throughout)
        steps = [cast(0, 1, (8,), (F64, bools)), kernel([1], 2, (8,), F64, bools), cast(2, 3, (8,))]
        assert steps[1].donors == {2: []}
    elif why == "output":
        outputs = {1, 3}
    else:
        steps = [kernel([0], 2), cast(2, 3)]
    plan = plan_memory(steps, 1, nbytes_of(steps, 1), outputs=outputs)
    assert plan.slot_of.get(2) != plan.slot_of.get(1 if why != "input" else 0)


def test_a_gemm_epilogue_donates_no_operand_of_its_gemm():
    gemm = Gemm(V(1, (2, 2), F64), V(0, (2, 2), F64), V(2, (2, 2), F64), False, False, 2, 2, 2, 1)
    epilogue = kernel([2, 1], 3, (2, 2))
    joined = GemmEpilogue(gemm, epilogue)
    assert epilogue.donors == {3: [2, 1]} and joined.donors == {3: [2]}
    steps = [cast(0, 1, (2, 2)), joined, cast(3, 4, (2, 2))]
    plan = plan_memory(steps, 1, nbytes_of(steps, 1), outputs={4})
    assert plan.slot_of[3] == plan.slot_of[2] != plan.slot_of[1]


def test_a_storage_read_twice_is_freed_once():
    # (freed twice, its slot would be handed to two live values at once)
    pool = Conv(
        "max_pool2d",
        (1, 1, 2, 2, 0, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1),
        *([V(1, (1, 1, 2, 2), F64)] * 2),
        V(2, (1, 1, 1, 1), F64),
        5,
        0,
        0,
    )
    steps = [
        cast(0, 1, (1, 1, 2, 2)),
        pool,
        cast(0, 3, (1, 1, 2, 2)),
        cast(0, 4, (1, 1, 2, 2)),
        kernel([3, 4], 6, (1, 1, 2, 2)),
    ]
    assert pool.reads == [1, 1, 5]
    plan = plan_memory(steps, 1, nbytes_of(steps, 1, {5: 8}), outputs={2, 6})
    assert plan.slot_of[3] != plan.slot_of[4]


def test_what_no_instruction_writes_still_gets_a_buffer():
    steps = [cast(0, 1)]
    plan = plan_memory(steps, 1, {0: 16, 1: 16, 2: 0}, outputs={1})
    assert plan.slot_of == {2: 0} and plan.temps == [1]


def test_storages_inside_a_loop_get_buffers_after_the_temporaries():
    a, b = kernel([0], 2, (2, 4)), kernel([2], 3, (2, 4))
    roles = {0: "batch", 2: "scratch", 3: "batch"}
    loop = ImageLoop(2, 1, (a, b), roles, {0: 64, 2: 64, 3: 64}, {2: 0}, 4, 64, 1)
    assert loop.inside == {2} and loop.reads == [0, 4] and loop.writes == [3, 4]
    steps = [loop, cast(3, 5, (2, 4))]
    plan = plan_memory(steps, 1, {0: 64, 2: 64, 3: 64, 4: 64, 5: 64}, outputs={5})
    assert 2 not in plan.slot_of
    assert plan.buffer_of[2] == plan.n_buffers - 1 == 1 + 1 + len(plan.temps)


@st.composite
def programs(draw):
    """A random straight-line program of casts and fused kernels over 1 or 2 float64
    elements; storages 0 and 1 are inputs, some later ones outputs."""
    steps = []
    shapes = {0: (1,), 1: (2,)}
    for k in range(draw(st.integers(1, 12))):
        dst, shape = k + 2, draw(st.sampled_from([(1,), (2,)]))
        same = [s for s in shapes if shapes[s] == shape]
        if same and draw(st.booleans()):
            reads = draw(st.lists(st.sampled_from(same), min_size=1, max_size=3))
            steps.append(kernel(reads, dst, shape))
        else:
            src = draw(st.sampled_from(sorted(shapes)))
            steps.append(Cast(V(src, shapes[src], F64), V(dst, shape, F64)))
        shapes[dst] = shape
    temps = list(range(2, len(steps) + 2))
    outputs = set(draw(st.lists(st.sampled_from(temps), max_size=3))) | {temps[-1]}
    return steps, outputs, {s: 8 * shape[0] for s, shape in shapes.items()}


@settings(max_examples=200, deadline=None)
@given(programs())
def test_values_alive_at_once_never_share_a_slot(program):
    steps, outputs, nbytes = program
    plan = plan_memory(steps, 2, nbytes, outputs)
    written = {s: i for i, ins in enumerate(steps) for s in ins.writes}
    last = last_reads(steps)
    assert plan.outputs == sorted(outputs)
    for s in outputs | {0, 1}:
        assert s not in plan.slot_of
    buffers = sorted(plan.buffer_of.values())
    assert buffers == sorted(set(buffers)) or len(plan.slot_of) > len(plan.temps)
    for s, slot in plan.slot_of.items():
        assert plan.temps[slot] == nbytes[s]
    for a in plan.slot_of:
        for b in plan.slot_of:
            if a < b and plan.slot_of[a] == plan.slot_of[b]:
                end = last.get(a, written[a])
                # b may take a's slot after a's last read, or at it by donation
                donated = a in steps[written[b]].donors.get(b, ())
                assert written[b] > end or (written[b] == end and donated), (a, b)


# ---------------------------------------------------------------- programs of graphs


def test_outputs_are_fresh_and_temps_are_reused():
    f = fg.jit(lambda x: fnp.tanh(x) @ fnp.tanh(x).T)
    x = np.ones((3, 3))
    a, b = f(x), f(x)
    assert a is not b and not np.shares_memory(a, b)


def test_fused_kernels_overwrite_dying_temporaries_in_place():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((8, 6)), rng.standard_normal((6, 6))
    f = lambda x, w: fnp.tanh(x @ w + 1.0) @ w
    program = CompiledProgram(fg.make_graph(f)(x, w))
    # The activation, the GEMM's epilogue, replaces the GEMM's result in its buffer.
    assert "t0, t0 = gemm_epilogue in0, in1, t0 " in str(program)
    assert ", 1 temporaries (" in str(program)
    assert_same(*run_both(f, x, w), np.float64)


def test_gemm_epilogues_never_overwrite_the_gemms_operands():
    # Threads run the epilogue on their rows while others still read all of A^T and B: the
    # epilogue's result must not take the buffer of an operand that dies there.
    def f(x, b):
        a = fnp.sin(x)
        y = fnp.transpose(a) @ b
        return (fnp.tanh(y) + a * 0.5) @ b, y

    x = np.ones((40, 40))
    listing = str(CompiledProgram(fg.make_graph(f)(x, x)))
    assert "out0, t1 = gemm_epilogue t0, in1, out0" in listing, listing


def test_concurrent_calls_of_one_program_do_not_share_temporaries():
    import threading

    f = fg.jit(lambda x: fnp.sum(fnp.tanh(x @ x.T) * 2.0, axis=1))
    xs = [np.random.default_rng(i).standard_normal((64, 64)) for i in range(4)]
    expected = [f(x) for x in xs]
    results = {}

    def work(i):
        for _ in range(50):
            out = f(xs[i])
            if not np.allclose(out, expected[i], rtol=1e-12):
                results[i] = "corrupted"
                return
        results[i] = "ok"

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {i: "ok" for i in range(4)}


def test_resident_memory_stays_flat():
    resource = pytest.importorskip("resource")  # POSIX only
    rng = np.random.default_rng(0)
    params = {"w": rng.standard_normal((64, 32)), "b": np.zeros(32)}
    x = rng.standard_normal((128, 64))

    @fg.jit
    def step(p, x):
        loss = lambda p: fnp.mean(fnp.tanh(x @ p["w"] + p["b"]) ** 2)
        grads = fg.grad(loss)(p)
        return fg.tree.map(lambda a, g: a - 0.01 * g, p, grads)

    for _ in range(200):
        params = step(params, x)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(10_000):
        params = step(params, x)
    growth_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert growth_kib < 4096, f"peak RSS grew by {growth_kib} KiB over 10,000 steps"

"""The compiled program (funcgrad/compiler/program.py): the backends, profiles, the listing."""

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.compiler.program import CompiledProgram


def test_compiled_and_reference_agree_under_the_backend_switch(monkeypatch):
    f = lambda x: fnp.sum(fnp.sin(x) * x)
    x = np.linspace(-1, 1, 5)
    compiled = fg.grad(f)(x)
    monkeypatch.setenv("FUNCGRAD_BACKEND", "numpy")
    np.testing.assert_allclose(fg.grad(f)(x), compiled, rtol=1e-12)
    monkeypatch.setenv("FUNCGRAD_BACKEND", "fortran")
    with pytest.raises(ValueError, match="FUNCGRAD_BACKEND"):
        fg.grad(f)(x)


def test_long_graphs_are_interpreted_first_and_compiled_when_reused(monkeypatch):
    from funcgrad import runtime
    from funcgrad.reference import ReferenceProgram

    monkeypatch.setattr(runtime, "COMPILE_AT_ONCE", 3)
    graph = fg.make_graph(lambda x: fnp.tanh(fnp.sin(x) * 2.0 + 1.0) * 0.5)(np.ones(3))
    assert len(graph.eqns) > 3
    first, second = runtime.program(graph), runtime.program(graph)
    assert isinstance(first, ReferenceProgram) and isinstance(second, CompiledProgram)
    assert runtime.program(graph) is second
    np.testing.assert_allclose(
        second(graph.consts, [np.ones(3)])[0], first(graph.consts, [np.ones(3)])[0]
    )


def test_kernels_built_for_a_missing_cpu_feature_fall_back_to_numpy():
    # Simulates running AVX2 kernels on a CPU without AVX2: the import guard must refuse
    # them (an illegal instruction would kill the interpreter) and funcgrad must still work.
    import subprocess
    import sys

    script = """
import sys, types, warnings
fake = types.ModuleType("funcgrad._kernels._cpu")
fake.built_for = lambda: ("avx2", "fma")
fake.missing = lambda: ("avx2",)
sys.modules["funcgrad._kernels._cpu"] = fake
import numpy as np
import funcgrad as fg
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    g = fg.grad(lambda x: (x * x).sum())(np.arange(3.0))
print(fg.runtime.backend(), g.tolist())
print(caught[0].message)
"""
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    backend, warning = run.stdout.splitlines()
    assert backend == "numpy [0.0, 2.0, 4.0]"
    assert "compiled for avx2, fma, which this CPU lacks (avx2)" in warning
    assert "FUNCGRAD_PORTABLE=1" in warning


def test_profile_reports_every_instruction():
    x, w = np.ones((64, 32)), np.ones((32, 16))
    graph = fg.make_graph(lambda x, w: fnp.tanh(x @ w) * 2.0)(x, w)
    program = CompiledProgram(graph)
    rows = program.profile(graph.consts, [x, w], repeats=3)
    assert [kind for _, kind, _ in rows] == ["gemm_epilogue"]
    assert all(seconds >= 0 for seconds, _, _ in rows) and sum(r[0] for r in rows) > 0
    assert any("m=64 n=16 k=32, then [tanh mul]" in what for _, _, what in rows)


def test_run_into_writes_each_output_into_the_given_arrays():
    from funcgrad.reference import ReferenceProgram

    graph = fg.make_graph(lambda x, y: (x * 2.0, y, 3.0, x * 2.0))(np.ones(3), np.arange(2.0))
    for cls in (CompiledProgram, ReferenceProgram):
        program = cls(graph)
        dests = [np.empty(3), np.empty(2), np.empty(()), np.empty(3)]
        program.run_into([], [np.full(3, 1.5), np.arange(2.0)], dests)
        np.testing.assert_array_equal(dests[0], [3.0, 3.0, 3.0])
        np.testing.assert_array_equal(dests[1], [0.0, 1.0])
        assert dests[2] == 3.0
        np.testing.assert_array_equal(dests[3], [3.0, 3.0, 3.0])
        assert not np.shares_memory(dests[0], dests[3])

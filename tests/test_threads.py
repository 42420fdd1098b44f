"""Kernels split among funcgrad's threads agree with one thread and with the reference, and
BLAS gets its own threads back after every call."""

import os
import subprocess
import sys
import threading

import numpy as np
import pytest
import subprocesses
from threadpoolctl import ThreadpoolController

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import threads
from funcgrad._kernels.thread_count import default_num_threads
from funcgrad.compiler.program import CompiledProgram
from funcgrad.reference import ReferenceProgram


@pytest.fixture
def restore_threads():
    n = fg.get_num_threads()
    yield
    fg.set_num_threads(n)


def blas_threads():
    return [lib["num_threads"] for lib in ThreadpoolController().select(user_api="blas").info()]


def run(fun, *args, n_threads):
    fg.set_num_threads(n_threads)
    graph = fg.make_graph(fun)(*args)
    program = CompiledProgram(graph)
    return program, program(graph.consts, list(args))


def reference(fun, *args):
    graph = fg.make_graph(fun)(*args)
    return ReferenceProgram(graph)(graph.consts, list(args))


def relu_layer(x, w):
    return fg.nn.relu(x @ w + 1.0)


def cnn_step(p, x):
    def loss(p):
        h = fg.nn.leaky_relu(fg.nn.conv2d(x, p["w1"], p["b1"], padding="SAME"))
        h = fg.nn.max_pool2d(h, 2)
        h = fg.nn.conv2d(h, p["w2"], padding=1, stride=2)
        return fnp.mean(fnp.tanh(fnp.reshape(h, (h.shape[0], -1)) @ p["d"]) ** 2)

    return fg.value_and_grad(loss)(p)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_threaded_kernels_match_one_thread_and_the_reference(dtype, restore_threads):
    rng = np.random.default_rng(0)
    # Above the executor's thresholds (PARALLEL_MIN): 2.7e5 elements, 4.6e7 and 3.5e7 M*N*K.
    x = rng.standard_normal((521, 509)).astype(dtype)  # split by blocks
    w = rng.standard_normal((509, 173)).astype(dtype)  # x @ w: split by rows
    stack = rng.standard_normal((48, 96, 80)).astype(dtype)  # batched: split by products
    params = {
        "w1": rng.standard_normal((8, 3, 3, 3)).astype(dtype),
        "b1": rng.standard_normal(8).astype(dtype),
        "w2": rng.standard_normal((4, 8, 3, 3)).astype(dtype),
        "d": rng.standard_normal((4 * 4 * 4, 5)).astype(dtype),
    }
    images = rng.standard_normal((99, 3, 16, 16)).astype(dtype)  # loops over images: split
    tol = {np.float32: 1e-5, np.float64: 1e-12}[dtype]
    nan_x = x.copy()
    nan_x[7, 300] = np.nan
    wide = rng.standard_normal((16, 40000)).astype(dtype)  # partial sums too big: one thread
    cases = [
        (lambda x: fnp.where(x > 0, fnp.tanh(x) * 2.0, x * 0.1), (x,), True),
        (lambda x: [fnp.sum(fnp.tanh(x) * 2.0, axis=a) for a in (0, 1, None)], (x,), False),
        (
            lambda x: [f(x * x - 1.0, axis=a) for f in (fnp.max, fnp.min) for a in (0, 1)],
            (x,),
            False,
        ),
        (lambda x: [fnp.max(x * 2.0, axis=0), fnp.min(x + 1.0)], (nan_x,), False),
        (lambda w: fnp.sum(fnp.exp(w * 0.1), axis=0), (wide,), False),
        (lambda x: [fg.nn.log_softmax(x), fg.nn.softmax(x, axis=0)], (x,), True),
        (lambda x: [fg.nn.logsumexp(x, axis=1), fg.nn.logsumexp(x, axis=0)], (x,), True),
        (relu_layer, (x, w), False),
        (lambda s: s @ fnp.swapaxes(s, 1, 2), (stack,), False),
        (cnn_step, (params, images), False),
    ]
    for fun, args, elementwise in cases:
        flat, tree = fg.tree.flatten(args)
        flat_fun = lambda *leaves, fun=fun, tree=tree: fun(*tree.unflatten(leaves))  # noqa: E731
        expected = reference(flat_fun, *flat)
        results = []
        for n in (1, 2, 3):
            program, got = run(flat_fun, *flat, n_threads=n)
            assert any(ins.may_use_threads for ins in program.instructions)
            if fun is relu_layer:  # each thread applies the epilogue to its rows of the GEMM
                assert "gemm_epilogue" in str(program)
            if fun is cnn_step:  # each thread runs the layers on its images, then partial sums
                assert any(i.kind == "images" and i.threads == n for i in program.instructions)
            for e, g in zip(expected, got):
                scale = float(np.max(np.abs(e), initial=1.0, where=np.isfinite(e)))
                np.testing.assert_allclose(g, e, rtol=tol, atol=tol * scale)
            results.append(got)
        if elementwise:  # each element computed the same way, whichever thread runs it
            for got in results[1:]:
                for a, b in zip(results[0], got):
                    np.testing.assert_array_equal(a, b)


@pytest.fixture
def holds(monkeypatch):
    """Counts the calls that held BLAS to one thread."""
    calls = []
    hold = threads.hold_blas
    monkeypatch.setattr(threads, "hold_blas", lambda: (calls.append(1), hold())[1])
    return calls


def test_blas_gets_its_threads_back(restore_threads, holds):
    before = blas_threads()
    x = np.random.default_rng(1).standard_normal((512, 512)).astype(np.float32)
    f = fg.jit(lambda x: fnp.sum(fnp.tanh(x @ x.T)))
    for n in (2, 1, 2):
        fg.set_num_threads(n)
        f(x)
        assert blas_threads() == before
    assert len(holds) == 2 and threads._running == 0


def test_concurrent_threaded_calls_restore_blas(restore_threads, holds):
    fg.set_num_threads(2)
    before = blas_threads()
    f = fg.jit(lambda x: fnp.tanh(x @ x.T) * 2.0)
    xs = [np.random.default_rng(i).standard_normal((520, 520)) for i in range(4)]
    expected = [np.tanh(x @ x.T) * 2.0 for x in xs]
    errors = []

    def work(i):
        for _ in range(3):
            got = f(xs[i])
            if not np.allclose(got, expected[i], rtol=1e-12, atol=1e-12):
                errors.append(i)

    workers = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    assert errors == [] and len(holds) == 12
    assert blas_threads() == before and threads._running == 0


def test_a_program_follows_thread_count_changes(restore_threads):
    # Registers and workspaces are sized when a program is built or run; changing the count
    # in between must neither break nor change its results.
    rng = np.random.default_rng(5)
    x, w = rng.standard_normal((521, 509)), rng.standard_normal((509, 173))
    images, kernel = rng.standard_normal((32, 3, 16, 16)), rng.standard_normal((8, 3, 3, 3))

    def f(x, w, images, kernel):
        conv = fg.grad(lambda k: fnp.sum(fg.nn.conv2d(images, k, padding=1) ** 2))(kernel)
        return relu_layer(x, w), fnp.sum(fnp.tanh(x), axis=0), conv

    fg.set_num_threads(1)
    step = fg.jit(f)
    expected = step(x, w, images, kernel)
    for n in (3, 2, 1, 4):
        fg.set_num_threads(n)
        for got, e in zip(step(x, w, images, kernel), expected):
            np.testing.assert_allclose(got, e, rtol=1e-12, atol=1e-12)
    assert step.cache_info().misses == 1


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_set_num_threads_rejects_bad_values(bad):
    with pytest.raises(ValueError, match="positive int"):
        fg.set_num_threads(bad)


def test_thread_count_from_the_environment(monkeypatch):
    monkeypatch.setenv("FUNCGRAD_NUM_THREADS", "3")
    assert default_num_threads() == 3
    monkeypatch.setenv("FUNCGRAD_NUM_THREADS", "many")
    with pytest.raises(ValueError, match="FUNCGRAD_NUM_THREADS must be a positive integer"):
        default_num_threads()


def _sum_in_child(queue, x):
    f = fg.jit(lambda x: fnp.sum(fnp.tanh(x @ x.T) * 2.0))
    queue.put((float(f(x)), fg.get_num_threads()))


def test_a_forked_child_runs_threaded_programs(restore_threads):
    # GNU OpenMP's threads do not survive fork: a child entering a parallel region the parent
    # had used would wait forever. funcgrad's children run their kernels on one thread.
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork on this platform")
    fg.set_num_threads(2)
    x = np.random.default_rng(7).standard_normal((600, 600))
    f = fg.jit(lambda x: fnp.sum(fnp.tanh(x @ x.T) * 2.0))
    expected = float(f(x))  # the parent's threads have run
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_sum_in_child, args=(queue, x))
    child.start()
    child.join(60)
    hung = child.is_alive()
    if hung:
        child.kill()
    assert not hung and child.exitcode == 0
    got, threads_in_child = queue.get(timeout=5)
    assert threads_in_child == 1
    np.testing.assert_allclose(got, expected, rtol=1e-12)


_FORK_WHILE_RUNNING = """
import os, signal, threading, time
import numpy as np
import funcgrad as fg, funcgrad.numpy as fnp

x = np.random.default_rng(8).standard_normal((400, 400))
f = fg.jit(lambda x: fnp.sum(fnp.tanh(x @ x.T) ** 2))
expected = float(f(x))
stop = threading.Event()

def spin():
    while not stop.is_set():
        f(x)

worker = threading.Thread(target=spin)
worker.start()
hung = failed = 0
for _ in range(8):
    time.sleep(0.02)
    pid = os.fork()
    if pid == 0:  # exit status 0 only if the child computed the same value
        os._exit(0 if abs(float(f(x)) - expected) <= 1e-9 * abs(expected) else 1)
    deadline = time.monotonic() + 20
    while (done := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    if done[0] == 0:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        hung += 1
    elif os.waitstatus_to_exitcode(done[1]) != 0:
        failed += 1
stop.set()
worker.join()
print("hung", hung, "failed", failed)
"""


def test_a_child_forked_while_another_thread_runs_a_program_can_run_it(tmp_path):
    # The running thread held the program's lock at the fork, and the child inherited it
    # held by a thread it does not have; OpenBLAS's fork handler could hang the parent too.
    # (Output to a file, not a pipe: a hung grandchild would hold a pipe open.)
    if not hasattr(os, "fork"):
        pytest.skip("no fork on this platform")
    log = tmp_path / "log"
    with open(log, "w") as out:
        try:
            code = subprocess.run(
                [sys.executable, "-c", _FORK_WHILE_RUNNING],
                stdout=out,
                stderr=out,
                timeout=120,
                env=subprocesses.env(),
                cwd=subprocesses.CWD,
            ).returncode
        except subprocess.TimeoutExpired:
            pytest.fail("the parent hung at fork")
    assert code == 0, log.read_text()
    assert log.read_text().split() == ["hung", "0", "failed", "0"]

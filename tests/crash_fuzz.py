"""Random programs for the crash fuzzer: cases, how to run one, and a worker process.

A case is plain data (picklable): inputs as (shape, dtype, layout, seed) and a chain of
operations over them. :func:`run_case` traces the chain, runs it compiled and on the
reference interpreter, eagerly and under ``jit`` and ``grad``, and returns what differed
(or ``"ok"``). Run as ``python tests/crash_fuzz.py`` it is a worker: it reads pickled cases
from stdin and writes one pickled result per case to stdout, so that a case that kills the
interpreter kills only the worker, and the test names the case. ``tools/fuzz.py`` runs the
same cases for minutes.
"""

import pickle
import sys
import warnings

import numpy as np
from hypothesis import strategies as st

DTYPES = ["float64", "float32", "float16", "bool", "int8", "uint8", "int32", "int64", "uint64"]
LAYOUTS = ["c", "fortran", "reversed", "strided", "other byte order", "unaligned"]
UNARY = ["exp", "log1p", "tanh", "sin", "sqrt", "abs", "negative", "sign", "square", "sinh"]
BINARY = ["add", "subtract", "multiply", "divide", "maximum", "minimum", "greater", "equal"]
OTHER = ["sum", "max", "mean", "transpose", "matmul", "softmax", "where", "astype", "slice"]


@st.composite
def cases(draw, max_ops=5):
    """A case: 1-3 inputs of random dtype, shape and layout, and a chain of operations."""
    n_inputs = draw(st.integers(1, 3))
    shape = tuple(draw(st.lists(st.integers(0, 4), min_size=0, max_size=3)))
    inputs = []
    for _ in range(n_inputs):
        own = shape if draw(st.booleans()) else shape[draw(st.integers(0, len(shape))) :]
        inputs.append(
            (
                own,
                draw(st.sampled_from(DTYPES)),
                draw(st.sampled_from(LAYOUTS)),
                draw(st.integers(0, 2**31 - 1)),
            )
        )
    ops = []
    for k in range(draw(st.integers(1, max_ops))):
        values = n_inputs + k  # inputs, then each operation's result
        name = draw(st.sampled_from(UNARY + BINARY + OTHER))
        operands = [draw(st.integers(0, values - 1)) for _ in range(2)]
        ops.append((name, operands, draw(st.integers(0, 8))))
    return {"inputs": inputs, "ops": ops}


def _array(shape, dtype, layout, seed):
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        a = rng.random(shape) < 0.5
    elif dtype.kind in "iu":
        a = rng.integers(0 if dtype.kind == "u" else -5, 6, shape).astype(dtype)
    else:
        a = (rng.standard_normal(shape) * 2).astype(dtype)
        if a.size and rng.random() < 0.2:  # now and then an infinity or a NaN
            a.flat[rng.integers(a.size)] = rng.choice([np.inf, -np.inf, np.nan])
    if layout == "fortran":
        return np.asfortranarray(a)
    if layout == "reversed" and a.ndim:
        return np.ascontiguousarray(a[::-1])[::-1]
    if layout == "strided":
        wide = np.zeros(shape[:-1] + (2 * shape[-1],) if shape else (2,), dtype)
        view = wide[..., ::2] if shape else wide[:1].reshape(())
        view[...] = a
        return view
    if layout == "other byte order" and dtype.itemsize > 1:
        return a.astype(dtype.newbyteorder(">" if dtype.byteorder in "=<" else "<"))
    if layout == "unaligned" and a.size:
        raw = np.zeros(a.nbytes + 1, np.uint8)
        out = np.frombuffer(raw.data, dtype, a.size, offset=1).reshape(a.shape)
        out[...] = a
        return out
    return a


def build(case):
    """``(f, args)``: the case's chain as a function of its inputs."""
    import funcgrad as fg
    import funcgrad.numpy as fnp

    def f(*xs):
        values = list(xs)
        for name, (i, j), p in case["ops"]:
            x, y = values[i % len(values)], values[j % len(values)]
            values.append(_apply(fg, fnp, name, x, y, p))
        return values[-1]

    return f, [_array(*spec) for spec in case["inputs"]]


def _apply(fg, fnp, name, x, y, p):
    if name in UNARY:
        return getattr(fnp, name)(x)
    if name in BINARY:
        return getattr(fnp, name)(x, y)
    axis = p % x.ndim if x.ndim else None
    if name in ("sum", "max", "mean"):
        return getattr(fnp, name)(x, axis=axis)
    if name == "transpose":
        return fnp.transpose(x)
    if name == "matmul":
        x = fnp.reshape(x, (1, -1)) if x.ndim < 2 else x
        return fnp.matmul(x, fnp.swapaxes(x, -1, -2))
    if name == "softmax":
        return fg.nn.softmax(x, axis=-1 if x.ndim else None)
    if name == "where":
        return fnp.where(fnp.greater(x, 0), x, y)
    if name == "astype":
        return fnp.astype(x, DTYPES[p % len(DTYPES)])
    return x[::2] if x.ndim else x  # slice


def _tolerance(case):
    """The relative error a case may show: that of the least precise float it computes in
    (integers of 8 bits compute in float16, of 16 in float32, as NumPy's functions do)."""
    dtypes = [np.dtype(spec[1]) for spec in case["inputs"]]
    dtypes += [np.dtype(DTYPES[p % len(DTYPES)]) for name, _, p in case["ops"] if name == "astype"]
    bits = min((8 * d.itemsize if d.kind == "f" else 16 * d.itemsize for d in dtypes), default=64)
    return 1e-2 if bits <= 16 else 1e-4 if bits <= 32 else 1e-9


def _same(name, got, expected, tol):
    """None if ``got`` equals ``expected`` (to ``tol``), else the reason."""
    got, expected = np.asarray(got), np.asarray(expected)
    if (got.shape, got.dtype) != (expected.shape, expected.dtype):
        return f"{name}: {got.dtype}{list(got.shape)} vs {expected.dtype}{list(expected.shape)}"
    if expected.dtype.kind != "f":
        return None if np.array_equal(got, expected) else f"{name}: {got} vs {expected}"
    finite = np.isfinite(expected)
    if not np.array_equal(np.isnan(got), np.isnan(expected)):
        return f"{name}: NaNs differ: {got} vs {expected}"
    infinite = ~finite & ~np.isnan(expected)
    if not np.array_equal(got[infinite], expected[infinite]):
        return f"{name}: infinities differ: {got} vs {expected}"
    scale = float(np.max(np.abs(expected[finite]), initial=1.0))
    if not np.allclose(got[finite], expected[finite], rtol=tol, atol=tol * scale):
        return f"{name}: values differ: {got} vs {expected}"
    return None


def _outcome(run):
    try:
        return "value", run()
    except Exception as e:  # noqa: BLE001 (what failed is the result)
        return "error", type(e)
    # (a crash never returns: the worker dies and the test names the case)


def run_case(case):
    """``"ok"``, or what differed between the compiled program and the reference."""
    import funcgrad as fg
    import funcgrad.numpy as fnp
    from funcgrad.compiler.program import CompiledProgram
    from funcgrad.reference import ReferenceProgram

    f, args = build(case)
    try:
        graph = fg.make_graph(f)(*args)
    except Exception:  # noqa: BLE001 (a trace-time error: the same for every backend)
        return "ok"
    problems, tol = [], _tolerance(case)
    reference = _outcome(lambda: ReferenceProgram(graph)(graph.consts, args)[0])
    compiled = _outcome(lambda: CompiledProgram(graph)(graph.consts, args)[0])
    jitted = _outcome(lambda: fg.jit(f)(*args))
    for name, (kind, value) in (("compiled", compiled), ("jit", jitted)):
        if kind != reference[0] or (kind == "error" and value is not reference[1]):
            problems.append(f"{name}: {kind} {value} vs reference {reference}")
        elif kind == "value":
            problems.append(_same(name, value, reference[1], tol))
    floats = [k for k, a in enumerate(args) if a.dtype.kind == "f"]
    if reference[0] == "value" and floats and reference[1].dtype.kind == "f":
        k = floats[0]

        def loss(*xs):
            return fnp.sum(fnp.astype(f(*xs), np.float64))

        try:
            grad_graph = fg.make_graph(fg.grad(loss, argnums=k))(*args)
        except Exception:  # noqa: BLE001
            return "; ".join(p for p in problems if p) or "ok"
        expected = _outcome(lambda: ReferenceProgram(grad_graph)(grad_graph.consts, args)[0])
        got = _outcome(lambda: CompiledProgram(grad_graph)(grad_graph.consts, args)[0])
        if got[0] != expected[0]:
            problems.append(f"grad: {got} vs reference {expected}")
        elif got[0] == "value":
            problems.append(_same("grad", got[1], expected[1], tol))
    return "; ".join(p for p in problems if p) or "ok"


def worker():
    warnings.simplefilter("ignore")
    np.seterr(all="ignore")
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        try:
            case = pickle.load(stdin)
        except EOFError:
            return
        pickle.dump(run_case(case), stdout)
        stdout.flush()


class Worker:
    """A worker process: ``run(case)`` is its result, or ``"crashed: ..."`` if it died."""

    def __init__(self):
        import os
        import subprocess
        import tempfile

        import subprocesses

        self.stderr = tempfile.TemporaryFile()  # (a pipe nobody reads could fill and block it)
        self.process = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            env=subprocesses.env(),
            cwd=subprocesses.CWD,
        )

    def run(self, case):
        try:
            pickle.dump(case, self.process.stdin)
            self.process.stdin.flush()
            return pickle.load(self.process.stdout)
        except (EOFError, BrokenPipeError, pickle.UnpicklingError):
            self.process.wait()
            self.stderr.seek(0)
            tail = self.stderr.read().decode(errors="replace")[-2000:]
            return f"crashed: exit status {self.process.returncode}\n{tail}"

    def alive(self):
        return self.process.poll() is None

    def close(self):
        if self.alive():
            self.process.stdin.close()
            self.process.wait(timeout=60)


if __name__ == "__main__":
    worker()

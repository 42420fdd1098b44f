"""Graph -> Program: the compiler's pipeline, and calling the compiled program.

``CompiledProgram(graph)`` optimizes the graph (passes.py), lowers it to instructions
(lower.py), schedules them (schedule.py: GEMM epilogues, loops over images), plans their
buffers (memory.py) and encodes them for the Cython executor (each instruction encodes its
operands; an :class:`Encoding` numbers the buffers and collects constants and callbacks).
Buffers are allocated once per program and reused across calls; each call allocates only
its outputs.
"""

import ctypes
import itertools
import math
import mmap
import os
import threading
import weakref

import numpy as np

from .. import threads
from .._kernels import conv as conv_kernels
from .._kernels.executor import COMPILED_INT_OPS, COMPILED_VM_OPS, ISA_DIGEST, Executor
from ..core import Literal, Var, aval_str, eval_impl, eval_impl_multiple, native
from ..errors import user_frame
from . import isa
from .instructions import View
from .lower import lower
from .memory import plan_memory
from .nested import native_loops
from .passes import optimize
from .schedule import form_image_loops, gemm_epilogues

isa.check_build(COMPILED_VM_OPS, COMPILED_INT_OPS, ISA_DIGEST)


class CompiledProgram:
    """A graph lowered for the Cython executor. Call it like a ReferenceProgram:
    ``program(consts, args) -> list of output arrays``. ``instructions``: what it runs, in
    order (records of compiler/instructions)."""

    def __init__(self, graph):
        self.graph = graph = optimize(graph)
        lowered = lower(graph)
        self.n_inputs = lowered.n_inputs
        self._storage = lowered.storage
        keep = {self._storage[a] for a in graph.outvars if isinstance(a, Var)}
        instructions = gemm_epilogues(lowered.instructions)
        instructions, nbytes = form_image_loops(
            instructions, lowered.nbytes(), keep, conv_kernels.get_num_threads()
        )
        instructions, nbytes = native_loops(instructions, nbytes)
        self.instructions = tuple(instructions)
        outputs = {s for s in keep if s >= self.n_inputs}
        self._plan = plan_memory(self.instructions, self.n_inputs, nbytes, outputs)
        code, enc = encode(self.instructions, self._plan.buffer_of, self._plan.n_buffers)
        n_regs = max([1] + [ins.registers for ins in self.instructions])
        consts = np.asarray(enc.consts or [0.0], np.float64)
        self._executor = Executor(np.asarray(code, np.int64), consts, enc.callbacks, n_regs)
        # buffers past the plan's: its loops' scratch regions (none of their own), then the
        # loops' bodies' (slots the loops point, and the bodies' temporaries)
        self._gap = self._plan.n_buffers - self.n_inputs - len(self._plan.outputs)
        self._gap -= len(self._plan.temps)
        self._nested = enc.nested_temps
        self._profile_slots = enc.profile_slots
        self._plan_results()
        self._temp_names = self._name_temporaries()
        self._temps = None  # allocated on the first call, given back when idle
        self._threaded = any(ins.may_use_threads for ins in self.instructions)
        self._lock = threading.Lock()
        _live_programs.add(self)

    def _first_views(self):
        """storage -> the first Var given it (the value's own; later ones are views)."""
        var_of = {}
        for v, s in self._storage.items():
            var_of.setdefault(s, v)
        return var_of

    def _plan_results(self):
        """How each graph output is produced by a call: precomputed, it is on the hot path."""
        var_of = self._first_views()
        position = {s: k for k, s in enumerate(self._plan.outputs)}
        self._out_alloc = [(var_of[s].shape, var_of[s].dtype) for s in self._plan.outputs]
        self._results, seen = [], set()
        for a in self.graph.outvars:
            if isinstance(a, Literal):
                self._results.append(("literal", a.value, ()))
                continue
            s = self._storage[a]
            # An input, or an output seen before: a copy the caller owns.
            if s < self.n_inputs:
                self._results.append(("input", s, a.shape))
            elif s in seen:
                self._results.append(("copy", position[s], a.shape))
            else:
                self._results.append(("output", position[s], a.shape))
                seen.add(s)

    def _name_temporaries(self):
        """What each temporary slot first holds, for an allocation failure's message."""
        var_of = self._first_views()
        names = ["a kernel's workspace"] * len(self._plan.temps)
        for s, slot in sorted(self._plan.slot_of.items(), reverse=True):
            if s in var_of:
                v = var_of[s]
                names[slot] = f"a temporary {aval_str(v.shape, v.dtype)}"
        return names

    # -------------------------------------------------------------- running

    def _run(self, arrays, times=None):
        with self._lock:  # the temporaries are shared by every call of this program
            self._called = next(_calls)
            temps = self._temps
            if temps is None:
                temps = [
                    _temporary(size, name) for size, name in zip(self._plan.temps, self._temp_names)
                ]
                if self._nested:
                    temps += [_NO_BYTES] * self._gap
                    temps += [
                        _NO_BYTES if size is None else _temporary(size, "a loop body's temporary")
                        for size in self._nested
                    ]
                self._temps = temps
                _bound_temporaries(self)
            arrays += temps
            try:
                if not self._threaded or threads.get_num_threads() == 1:
                    self._executor.run(arrays, times)
                    return
                threads.hold_blas()  # our threads split the GEMMs: BLAS must not add its own
                try:
                    self._executor.run(arrays, times)
                finally:
                    threads.release_blas()
            except IndexError as e:
                raise self._index_error(e, arrays) from None

    def _output_out_of_memory(self, error):
        shape, dtype = max(self._out_alloc, key=lambda a: math.prod(a[0]) * np.dtype(a[1]).itemsize)
        nbytes = math.prod(shape) * np.dtype(dtype).itemsize
        return _out_of_memory(f"a result {aval_str(shape, dtype)}", nbytes, error)

    def release(self):
        """Give the temporaries back (the next call allocates them again). Returns the
        bytes freed: 0 if the program is running or holds none."""
        if not self._lock.acquire(blocking=False):
            return 0
        try:
            freed = sum(self._plan.temps) if self._temps is not None else 0
            self._temps = None
            return freed
        finally:
            self._lock.release()

    def _index_error(self, error, arrays):
        """The executor's out-of-range index, with the value, the shapes and the line that
        called the program (its operands are abstract: the value is known only now)."""
        k = error.args[1] if len(error.args) > 1 else -1
        where = user_frame()
        if 0 <= k < len(self.instructions):
            buffer_of = self._plan.buffer_of
            read = lambda v: _view(arrays[buffer_of[v.storage]], v.shape, v.dtype)  # noqa: E731
            found = self.instructions[k].bad_index(read, where)
            if found is not None:
                return found
        return IndexError(f"{error.args[0]} at {where}")

    def __call__(self, consts, args):
        arrays = _arrays(consts, args)
        try:
            outs = [np.empty(shape, dtype) for shape, dtype in self._out_alloc]
        except MemoryError as e:
            raise self._output_out_of_memory(e) from None
        self._run(arrays + outs)
        results = []
        for kind, x, shape in self._results:
            if kind == "output":
                out = outs[x]
                results.append(out if out.shape == shape else out.reshape(shape))
            elif kind == "literal":
                results.append(np.array(x))
            else:  # an input, or an output seen before: a copy the caller owns
                src = arrays[x] if kind == "input" else outs[x]
                results.append(np.array(src).reshape(shape))
        return results

    def run_into(self, consts, args, dests):
        """Run and write output k into the array ``dests[k]`` (a loop's carries and the
        slices of its stacked outputs: nothing allocated per iteration). Each must have
        the output's shape and dtype and share no memory with the arguments."""
        arrays = _arrays(consts, args)
        outs = [None] * len(self._out_alloc)
        for (kind, x, _), dest in zip(self._results, dests):
            if kind == "output" and outs[x] is None and dest.flags.carray:
                shape, dtype = self._out_alloc[x]
                if dest.dtype == dtype and dest.size == math.prod(shape):
                    outs[x] = dest.reshape(shape)
        outs = [np.empty(*a) if o is None else o for o, a in zip(outs, self._out_alloc)]
        self._run(arrays + outs)
        for (kind, x, shape), dest in zip(self._results, dests):
            if kind == "literal":
                np.copyto(dest, x)
            elif kind == "input":
                np.copyto(dest, np.reshape(arrays[x], shape))
            elif not np.shares_memory(outs[x], dest):
                np.copyto(dest, outs[x].reshape(shape))

    def profile(self, consts, args, repeats=10):
        """Wall time of each instruction, averaged over ``repeats`` runs: a list of
        ``(seconds, kind, description)``, slowest first. The steps of a loop over images
        follow, as kind ``"images/<kind>"``: the first thread's time in each (they are part
        of their loop's time, not in addition to it)."""
        times = np.zeros(self._profile_slots)
        for _ in range(repeats):
            arrays = [_walkable(a) for a in (*consts, *args)]
            outs = [np.empty(shape, dtype) for shape, dtype in self._out_alloc]
            self._run(arrays + outs, times)
        timed = [(ins.kind, ins) for ins in self.instructions]
        timed += [(f"{ins.kind}/{q.kind}", q) for ins in self.instructions for q in ins.inner]
        rows = [(t / repeats, kind, ins.describe()) for t, (kind, ins) in zip(times, timed)]
        return sorted(rows, key=lambda r: -r[0])

    def __str__(self):
        """The instruction list: one line per instruction over named buffers (``in``
        inputs, ``out`` outputs, ``t`` temporaries), fused kernels with their operations.

        >>> import funcgrad as fg, funcgrad.numpy as fnp, numpy as np
        >>> g = fg.make_graph(lambda x, w: fnp.tanh(x @ w) * 2.0)(np.ones((4, 3)), np.ones((3, 2)))
        >>> print(CompiledProgram(g))  # doctest: +NORMALIZE_WHITESPACE
        program: 2 inputs, 1 outputs, 1 instructions, 1 temporaries (64 bytes)
          t0, out0 = gemm_epilogue in0, in1, t0
                                        NN m=4 n=2 k=3, then [tanh mul] over [4, 2] float64
        """
        n_in, n_out = self.n_inputs, len(self._plan.outputs)
        temps = self._plan.temps

        def name(storage):
            b = self._plan.buffer_of[storage]
            if b < n_in:
                return f"in{b}"
            if b < n_in + n_out:
                return f"out{b - n_in}"
            b -= n_in + n_out
            return f"t{b}" if b < len(temps) else f"s{b - len(temps)}"  # s: a loop's scratch

        lines = [
            f"program: {n_in} inputs, {n_out} outputs, {len(self.instructions)} instructions, "
            f"{len(temps)} temporaries ({sum(temps)} bytes)"
        ]
        for ins in self.instructions:
            lines += ins.lines(name)
        return "\n".join(lines)


class Encoding:
    """Encoding one program for the executor: the buffer numbering, and what instructions
    add besides their operands (float constants, callbacks, the profile's timing slots)."""

    def __init__(self, buffer_of, n_buffers, n_instructions):
        self.buffer_of, self.n_buffers = buffer_of, n_buffers
        self.consts, self.callbacks = [], []
        self.profile_slots = n_instructions  # (a loop's steps are timed after them all)
        self.nested_temps = []  # the buffers after n_buffers: bytes, or None for a slot

    def buffer(self, storage):
        return self.buffer_of[storage]

    def nested_buffers(self, body):
        """The first of the buffers reserved for a loop's ``body`` (a nested.Body): its
        inputs and outputs are slots the loop points, its temporaries memory of their own."""
        base = self.n_buffers + len(self.nested_temps)
        plan, n_io = body.plan, body.plan.n_buffers - len(body.plan.temps)
        self.nested_temps += [None] * n_io  # (inputs, outputs: buffer_of numbers them first)
        self.nested_temps += list(plan.temps)
        self.nested_temps += [None] * len(body.copies)
        return base

    def nested(self, body, base):
        """The encoding of a loop body's instructions: its buffers from ``base`` on, the
        constants shared with the program's."""
        inner = Encoding({s: base + b for s, b in body.plan.buffer_of.items()}, 0, 0)
        inner.consts, inner.callbacks = self.consts, self.callbacks
        inner.nested_buffers = self.nested_buffers  # (a loop in the body: the program's)
        return inner

    def const(self, value):
        """The index of a new float constant."""
        self.consts.append(value)
        return len(self.consts) - 1

    def callback(self, eqn, inputs, outs, kernel=None):
        """The index of a new callback running ``eqn`` into ``outs`` (Views; a Literal
        input is passed as its value): its NumPy reference, or ``kernel`` (same arguments)
        where a lowering supplies one."""
        ins = [
            _Viewer(self.buffer(a.storage), None, a.shape, a.dtype)
            if isinstance(a, View)
            else _Viewer(None, a.value)
            for a in inputs
        ]
        dst_views = [_Viewer(self.buffer(o.storage), None, o.shape, o.dtype) for o in outs]
        prim, params = eqn.prim, eqn.params
        if prim.multiple_results:
            dtypes = [v.dtype for v in eqn.outputs]

            def run(arrays):
                args = [v(arrays) for v in ins]
                results = eval_impl_multiple(prim, args, params, dtypes)
                for view, result in zip(dst_views, results):
                    np.copyto(view(arrays), result)

        else:
            dst_view, dtype = dst_views[0], eqn.outputs[0].dtype

            def run(arrays):
                args = [v(arrays) for v in ins]
                dst = dst_view(arrays)
                if kernel is None:
                    np.copyto(dst, eval_impl(prim, args, params, dtype))
                else:  # (a LAPACK runner writes its result into the buffer itself)
                    kernel(*args, out=dst, **params)

        self.callbacks.append(run)
        return len(self.callbacks) - 1

    def instruction(self, ins):
        """One instruction as the executor reads it: its length, opcode and operands."""
        body = ins.encode(self)
        return [len(body) + 2, isa.OPCODES[ins.opcode]] + body


def encode(instructions, buffer_of, n_buffers):
    """``(code, encoding)``: the int64 program and what its encoding collected."""
    enc = Encoding(buffer_of, n_buffers, len(instructions))
    code = []
    for ins in instructions:
        code += enc.instruction(ins)
    return code, enc


class _Viewer:
    """A callback's operand: the typed view of buffer ``b`` (or a literal ``value``), its
    size worked out once (a small equation's callback would otherwise spend more time
    making views than running)."""

    __slots__ = ("b", "value", "shape", "dtype", "nbytes")

    def __init__(self, b, value, shape=(), dtype=None):
        self.b, self.value, self.shape, self.dtype = b, value, shape, dtype
        self.nbytes = math.prod(shape) * np.dtype(dtype).itemsize if b is not None else 0

    def __call__(self, arrays):
        if self.b is None:
            return self.value
        array = arrays[self.b]
        if array.dtype == self.dtype and array.shape == self.shape:
            return array
        return array.reshape(-1).view(np.uint8)[: self.nbytes].view(self.dtype).reshape(self.shape)


_NO_BYTES = np.zeros(1, np.uint8)  # a buffer whose address a kernel sets (a loop's slot)


# fork waits until no program runs: a child forked while another thread ran one would
# inherit its lock held by a thread it does not have (its first call would wait forever),
# and OpenBLAS's own fork handler can hang while a GEMM is in flight. Lock.acquire lets
# the GIL go while it waits, so the running thread can finish.
_live_programs = weakref.WeakSet()
_held_for_fork = []


def _before_fork():
    for program in list(_live_programs):
        program._lock.acquire()
        _held_for_fork.append(program)


def _after_fork_in_parent():
    while _held_for_fork:
        _held_for_fork.pop()._lock.release()


def _after_fork_in_child():
    _held_for_fork.clear()
    for program in list(_live_programs):
        program._lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_before_fork,
        after_in_parent=_after_fork_in_parent,
        after_in_child=_after_fork_in_child,
    )


_calls = itertools.count()  # (next() on a count is atomic under the GIL)


def _temp_limit():
    value = os.environ.get("FUNCGRAD_TEMP_BYTES", str(1 << 30))
    try:
        limit = int(value)
    except ValueError:
        limit = -1
    if limit < 0:
        raise ValueError(f"FUNCGRAD_TEMP_BYTES must be a number of bytes, got {value!r}")
    return limit


TEMP_LIMIT = _temp_limit()


def _bound_temporaries(program):
    """``program`` has just allocated its temporaries (it holds its own lock). Past
    ``TEMP_LIMIT`` bytes held by all programs, the least recently called others give
    theirs back, so a process that meets many input shapes (a program each) holds a
    bounded amount and programs called again keep theirs. A call only stamps its program
    (``_called``); the bytes and the order are worked out here, on allocation, alone."""
    holding = [p for p in list(_live_programs) if p._temps is not None and p is not program]
    held = sum(program._plan.temps) + sum(sum(p._plan.temps) for p in holding)
    for other in sorted(holding, key=lambda p: p._called):
        if held <= TEMP_LIMIT:
            break
        held -= other.release()  # (0 if it is running: it keeps them)


def release_temporaries():
    """Give back every idle program's temporaries (they are allocated again when needed)."""
    for program in list(_live_programs):
        program.release()
    trim_heap()


def trim_heap():
    """Return freed heap pages to the system: glibc keeps the temporaries malloc gave,
    so the process would not shrink after a clear without it."""
    try:
        libc = ctypes.CDLL(None)
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # not glibc: nothing to ask
        return
    trim(0)


def _arrays(consts, args):
    """The arguments as the kernels walk them; the common case, already so, costs no call."""
    return [
        a if type(a) is np.ndarray and a.flags.carray and a.dtype.isnative else _walkable(a)
        for a in (*consts, *args)
    ]


def _walkable(a):
    """``a`` as the kernels walk it: a C-contiguous, aligned array in native byte order
    (a copy when ``a`` is not one already; NumPy's own conversion keeps the values)."""
    a = np.asarray(a)
    if a.flags.c_contiguous and a.flags.aligned and a.dtype.isnative:  # (read-only)
        return a
    return np.require(a, native(a.dtype), ("C_CONTIGUOUS", "ALIGNED"))


def _temporary(nbytes, name):
    """A program's scratch buffer. Large ones are mapped with plain pages: NumPy asks the
    kernel for huge pages, whose first touch cost several times more, and unpredictably so,
    for the cnn step's buffers (the kernel may compact memory to find them)."""
    try:
        if nbytes < 1 << 22:
            return np.empty(nbytes, np.uint8)
        return np.frombuffer(mmap.mmap(-1, nbytes), np.uint8)
    except (MemoryError, OSError) as e:  # mmap says OSError(ENOMEM)
        raise _out_of_memory(name, nbytes, e) from None


def _out_of_memory(name, nbytes, error):
    return MemoryError(
        f"funcgrad: cannot allocate {nbytes / 2**30:.3g} GiB ({nbytes} bytes) for {name} of a "
        f"compiled function called at {user_frame()} ({error})"
    )


def _view(array, shape, dtype):
    """A typed view of a buffer (buffers may be raw bytes or arrays of another shape)."""
    flat = array.reshape(-1).view(np.uint8)
    n = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
    return flat[:n].view(dtype).reshape(shape)

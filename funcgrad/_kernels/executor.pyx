# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The executor: one loop over a program's instructions, run without the GIL.

A program is a flat int64 array of instructions (each starts with its length and opcode)
over numbered buffers, plus a float64 array of constants. The Python side builds it
(``funcgrad/compiler/instructions/``: each record encodes itself through the instruction set,
``funcgrad/compiler/isa.py``, whose opcodes and field names the build generates into isa.pxd);
this module only runs it: the loop takes each instruction's kernel from a table indexed by
its opcode. The kernels live in one extension module per job (vm, gemm, rows, reduce, copy,
gather, images, random, cast, integer), a call across modules per instruction.
Instructions that have no compiled kernel (OP_PYTHON) call back into Python (the NumPy
reference) with the GIL held.

The tables of codes (OPCODES, CONV_KERNELS, ...) are the instruction set's; this build's
are exported here (and next to their kernels) so that tests and the program can check the
build against isa.py (ISA_DIGEST, and vm_ops.h's tables as compiled).
"""

cimport numpy as cnp
from libc.stdint cimport int64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy
from posix.time cimport CLOCK_MONOTONIC, clock_gettime, timespec

from .cast cimport run_cast
from .copy cimport run_copy, run_fill
from .gather cimport run_gather, run_scatter_add
from .gemm cimport run_gemm, run_gemm_epilogue
from .images cimport run_conv, run_images
from .integer cimport run_int, run_int_reduce
from .isa cimport (
    FUSED_PAR_MIN, GEMM_PAR_MIN, INSTRUCTION_FIELDS, INSTRUCTION_LENGTH, INSTRUCTION_OPCODE,
    ISA_DIGEST as _ISA_DIGEST, MAXDIM, OP_ARGMAX, OP_CAST, OP_CONV, OP_COPY, OP_COUNT, OP_FILL,
    OP_FUSED, OP_GATHER, OP_GEMM, OP_GEMM_EPILOGUE, OP_IMAGES, OP_INT, OP_INT_REDUCE, OP_PYTHON,
    OP_RANDOM_BITS, OP_REDUCE, OP_SCATTER_ADD, OP_SOFTMAX, PYTHON_CALLBACK, RANDOM_BITS_COST,
    OP_LOOP, LOOP_LENGTH, LOOP_REVERSE, LOOP_N_SLOT, LOOP_SLOTS, LOOP_SLOT_LEN, LOOP_SLOT_KIND,
    LOOP_SLOT_SLOT, LOOP_SLOT_OUTER, LOOP_SLOT_STRIDE, LOOP_CARRY_LEN, LOOP_CARRY_READ,
    LOOP_CARRY_WRITE, LOOP_CARRY_INIT, LOOP_CARRY_FINAL, LOOP_CARRY_SCRATCH, LOOP_CARRY_NBYTES,
    LOOP_COPY_LEN, LOOP_COPY_SRC, LOOP_COPY_DST, LOOP_COPY_NBYTES, SLOT_CONST, OP_WHILE_LOOP,
    WHILE_LOOP_MAX_STEPS, WHILE_LOOP_N_SLOT, WHILE_LOOP_SLOTS, WHILE_CARRY_LEN,
    WHILE_CARRY_TEST_READ, WHILE_CARRY_READ, WHILE_CARRY_WRITE, WHILE_CARRY_INIT,
    WHILE_CARRY_FINAL, WHILE_CARRY_SCRATCH, WHILE_CARRY_NBYTES, OP_COND, COND_INDEX,
    COND_N_BRANCH, COND_BRANCHES,
)
from .random cimport run_random_bits
from .reduce cimport run_reduce
from .rows cimport run_argmax, run_softmax
from .state cimport BAD_GEOMETRY, BLOCK, DONE, NO_CAST, NO_MEMORY, Run, kernel
from .threads cimport num_threads
from .vm cimport run_fused_op

from .cast import CAST_DTYPES  # noqa: F401
from .images import CONV_KERNELS, IMAGE_ROLES, MAX_POOL_SLOTS  # noqa: F401
from .integer import COMPILED_INT_OPS  # noqa: F401
from .random import RANDOM_BITS_KINDS  # noqa: F401
from .reduce import REDUCE_KINDS  # noqa: F401
from .rows import SOFTMAX_KINDS  # noqa: F401
from .vm import BLOCK_SIZE, COMPILED_VM_OPS, TEMPLATE_KINDS  # noqa: F401

cnp.import_array()

# The kernel of each opcode (NULL, as C's static storage starts: none; OP_PYTHON is the
# loop's own).
cdef kernel KERNELS[OP_COUNT]
KERNELS[OP_GEMM] = run_gemm
KERNELS[OP_FUSED] = run_fused_op
KERNELS[OP_REDUCE] = run_reduce
KERNELS[OP_COPY] = run_copy
KERNELS[OP_FILL] = run_fill
KERNELS[OP_GATHER] = run_gather
KERNELS[OP_SCATTER_ADD] = run_scatter_add
KERNELS[OP_CONV] = run_conv
KERNELS[OP_GEMM_EPILOGUE] = run_gemm_epilogue
KERNELS[OP_SOFTMAX] = run_softmax
KERNELS[OP_IMAGES] = run_images
KERNELS[OP_RANDOM_BITS] = run_random_bits
KERNELS[OP_CAST] = run_cast
KERNELS[OP_INT] = run_int
KERNELS[OP_ARGMAX] = run_argmax
KERNELS[OP_INT_REDUCE] = run_int_reduce

KERNELS[OP_LOOP] = run_loop
KERNELS[OP_WHILE_LOOP] = run_while
KERNELS[OP_COND] = run_cond


cdef inline const int64_t* entries(const int64_t* array, int64_t* count) noexcept nogil:
    """An instruction's array (its count, then its entries): the entries; the count in *count."""
    count[0] = array[0]
    return array + 1


cdef int run_block(const int64_t* code, int64_t n, const Run* run) noexcept nogil:
    """Run ``n`` instructions from ``code`` (a loop's body: no Python callback in it)."""
    cdef int64_t k
    cdef int status
    for k in range(n):
        if code[INSTRUCTION_OPCODE] == OP_PYTHON or KERNELS[code[INSTRUCTION_OPCODE]] == NULL:
            return BAD_GEOMETRY  # (the compiler never puts one there)
        status = KERNELS[code[INSTRUCTION_OPCODE]](code + INSTRUCTION_FIELDS, run)
        if status != DONE:
            return status
        code += code[INSTRUCTION_LENGTH]
    return DONE


cdef int run_step(const int64_t* body, int64_t n_body, const int64_t* copies, int64_t n_copy,
                  const Run* run) noexcept nogil:
    """One step of a loop or a taken branch: its instructions, then its copies (the outputs
    its body passes through)."""
    cdef int64_t j
    cdef const int64_t* p
    cdef int status = run_block(body, n_body, run)
    if status != DONE:
        return status
    for j in range(n_copy):
        p = copies + j * LOOP_COPY_LEN
        memcpy(run.bufs[p[LOOP_COPY_DST]], run.bufs[p[LOOP_COPY_SRC]], p[LOOP_COPY_NBYTES])
    return DONE


cdef int run_loop(const int64_t* ins, const Run* run) noexcept nogil:
    """A scan (isa.py's "loop"): before each step, point the body's buffers at the step's
    slices and carries (run.bufs holds the body's buffers after the program's own), run the
    body, copy what it passes through. Step k writes the carries into ``final`` when
    length - 1 - k is even and into ``scratch`` otherwise, so the last step writes
    ``final`` and no carry is copied between steps."""
    cdef int64_t length = ins[LOOP_LENGTH], n_slot = ins[LOOP_N_SLOT], k, j, step
    cdef int64_t n_carry, n_copy, n_body
    cdef const int64_t* slots = ins + LOOP_SLOTS
    cdef const int64_t* carries = entries(slots + n_slot * LOOP_SLOT_LEN, &n_carry)
    cdef const int64_t* copies = entries(carries + n_carry * LOOP_CARRY_LEN, &n_copy)
    cdef const int64_t* body = entries(copies + n_copy * LOOP_COPY_LEN, &n_body)
    cdef const int64_t* p
    cdef char** bufs = run.bufs
    cdef int status
    if length == 0:
        for j in range(n_carry):
            p = carries + j * LOOP_CARRY_LEN
            memcpy(bufs[p[LOOP_CARRY_FINAL]], bufs[p[LOOP_CARRY_INIT]], p[LOOP_CARRY_NBYTES])
        return DONE
    for j in range(n_slot):  # the consts: the same in every step
        p = slots + j * LOOP_SLOT_LEN
        if p[LOOP_SLOT_KIND] == SLOT_CONST:
            bufs[p[LOOP_SLOT_SLOT]] = bufs[p[LOOP_SLOT_OUTER]]
    for k in range(length):
        step = length - 1 - k if ins[LOOP_REVERSE] else k
        for j in range(n_slot):
            p = slots + j * LOOP_SLOT_LEN
            if p[LOOP_SLOT_KIND] != SLOT_CONST:
                bufs[p[LOOP_SLOT_SLOT]] = bufs[p[LOOP_SLOT_OUTER]] + step * p[LOOP_SLOT_STRIDE]
        for j in range(n_carry):
            p = carries + j * LOOP_CARRY_LEN
            if k == 0:
                bufs[p[LOOP_CARRY_READ]] = bufs[p[LOOP_CARRY_INIT]]
            else:
                bufs[p[LOOP_CARRY_READ]] = bufs[p[LOOP_CARRY_WRITE]]
            if (length - 1 - k) % 2 == 0:
                bufs[p[LOOP_CARRY_WRITE]] = bufs[p[LOOP_CARRY_FINAL]]
            else:
                bufs[p[LOOP_CARRY_WRITE]] = bufs[p[LOOP_CARRY_SCRATCH]]
        status = run_step(body, n_body, copies, n_copy, run)
        if status != DONE:
            return status
    return DONE


cdef int run_while(const int64_t* ins, const Run* run) noexcept nogil:
    """A while loop (isa.py's "while_loop"): the test's instructions, then while the bool
    they write holds, a step of the body's (buffers pointed as run_loop points them); step k
    writes the carries into ``final`` when k is even, ``scratch`` when odd, and the end is
    copied into ``final`` unless it is there."""
    cdef int64_t max_steps = ins[WHILE_LOOP_MAX_STEPS], n_slot = ins[WHILE_LOOP_N_SLOT], k, j
    cdef int64_t n_carry, n_copy
    cdef const int64_t* slots = ins + WHILE_LOOP_SLOTS
    cdef const int64_t* carries = entries(slots + n_slot * LOOP_SLOT_LEN, &n_carry)
    cdef const int64_t* copies = entries(carries + n_carry * WHILE_CARRY_LEN, &n_copy)
    cdef const int64_t* tail = copies + n_copy * LOOP_COPY_LEN  # test_out, n_test, test...
    cdef int64_t test_out = tail[0], n_test = tail[1]
    cdef const int64_t* test = tail + 2
    cdef const int64_t* body = test
    cdef const int64_t* p
    cdef char** bufs = run.bufs
    cdef int status
    for k in range(n_test):
        body += body[INSTRUCTION_LENGTH]
    cdef int64_t n_body = body[0]
    body += 1
    for j in range(n_slot):  # (the consts: every slot of a while loop)
        p = slots + j * LOOP_SLOT_LEN
        bufs[p[LOOP_SLOT_SLOT]] = bufs[p[LOOP_SLOT_OUTER]]
    for j in range(n_carry):
        p = carries + j * WHILE_CARRY_LEN
        bufs[p[WHILE_CARRY_TEST_READ]] = bufs[p[WHILE_CARRY_INIT]]
    k = 0
    while max_steps < 0 or k < max_steps:
        status = run_block(test, n_test, run)
        if status != DONE:
            return status
        if not (<char*>bufs[test_out])[0]:
            break
        for j in range(n_carry):
            p = carries + j * WHILE_CARRY_LEN
            bufs[p[WHILE_CARRY_READ]] = bufs[p[WHILE_CARRY_TEST_READ]]
            bufs[p[WHILE_CARRY_WRITE]] = bufs[p[WHILE_CARRY_SCRATCH if k % 2 else WHILE_CARRY_FINAL]]
        status = run_step(body, n_body, copies, n_copy, run)
        if status != DONE:
            return status
        for j in range(n_carry):
            p = carries + j * WHILE_CARRY_LEN
            bufs[p[WHILE_CARRY_TEST_READ]] = bufs[p[WHILE_CARRY_WRITE]]
        k += 1
    for j in range(n_carry):
        p = carries + j * WHILE_CARRY_LEN
        if bufs[p[WHILE_CARRY_TEST_READ]] != bufs[p[WHILE_CARRY_FINAL]]:
            memcpy(bufs[p[WHILE_CARRY_FINAL]], bufs[p[WHILE_CARRY_TEST_READ]],
                   p[WHILE_CARRY_NBYTES])
    return DONE


cdef int run_cond(const int64_t* ins, const Run* run) noexcept nogil:
    """A conditional (isa.py's "cond"): the branch the index picks (clamped into range, as
    jax.lax.switch), its slots pointed at the operands and results, its copies made."""
    cdef int64_t n = ins[COND_N_BRANCH], k, j
    cdef int64_t index = (<int*>run.bufs[ins[COND_INDEX]])[0]
    cdef const int64_t* branch = ins + COND_BRANCHES
    cdef const int64_t* p
    cdef char** bufs = run.bufs
    cdef int64_t n_slot, n_copy, n_body
    cdef int status
    index = 0 if index < 0 else (n - 1 if index >= n else index)
    cdef const int64_t* slots
    cdef const int64_t* copies
    for k in range(n):  # (to branch number index: each is slots, copies, then instructions)
        slots = entries(branch, &n_slot)
        copies = entries(slots + n_slot * LOOP_SLOT_LEN, &n_copy)
        p = entries(copies + n_copy * LOOP_COPY_LEN, &n_body)
        if k == index:
            for j in range(n_slot):
                bufs[slots[j * LOOP_SLOT_LEN + LOOP_SLOT_SLOT]] = bufs[
                    slots[j * LOOP_SLOT_LEN + LOOP_SLOT_OUTER]]
            return run_step(p, n_body, copies, n_copy, run)
        for j in range(n_body):
            p += p[INSTRUCTION_LENGTH]
        branch = p
    return DONE


cdef class Executor:
    """Runs one lowered program. ``code``: int64 instructions; ``consts``: float64;
    ``callbacks``: Python functions for OP_PYTHON instructions, called as ``fn(arrays)``
    with the list of buffer arrays; ``n_regs``: registers the fused kernels need."""

    cdef cnp.int64_t[::1] code
    cdef double[::1] consts
    cdef list callbacks
    cdef int n_regs

    def __init__(self, cnp.int64_t[::1] code, double[::1] consts, list callbacks, int n_regs):
        cdef Py_ssize_t pc = 0
        cdef int64_t length, op
        while pc < code.shape[0]:  # the loop trusts each instruction's length and opcode
            length = code[pc + INSTRUCTION_LENGTH]
            op = code[pc + INSTRUCTION_OPCODE] if length >= INSTRUCTION_FIELDS else -1
            if (length < INSTRUCTION_FIELDS or pc + length > code.shape[0] or op < 0
                    or op >= OP_COUNT or (KERNELS[op] == NULL and op != OP_PYTHON)):
                raise ValueError(f"not an instruction at position {pc} of the program")
            pc += length
        self.code = code
        self.consts = consts
        self.callbacks = callbacks
        self.n_regs = n_regs if n_regs > 0 else 1

    def run(self, list arrays, double[::1] profile=None):
        """Execute over ``arrays`` (one contiguous ndarray per buffer). With ``profile`` (one
        float64 per instruction), add each instruction's wall time in seconds to it."""
        cdef Py_ssize_t nbuf = len(arrays), i
        cdef Run run
        run.nbuf = nbuf
        run.consts = &self.consts[0] if self.consts.shape[0] else NULL
        run.max_threads = num_threads()  # fixed for this run: registers are allocated for it
        run.max_threads = run.max_threads if run.max_threads > 1 else 1
        run.n_regs = self.n_regs
        run.bufs = <char**>malloc(nbuf * sizeof(char*))
        run.regs = <double*>malloc(self.n_regs * BLOCK * sizeof(double) * run.max_threads)
        run.ptrs = <void**>malloc(self.n_regs * sizeof(void*) * run.max_threads)
        if run.bufs == NULL or run.regs == NULL or run.ptrs == NULL:
            free(run.bufs)
            free(run.regs)
            free(run.ptrs)
            raise MemoryError()
        cdef cnp.ndarray arr
        for i in range(nbuf):
            arr = arrays[i]
            run.bufs[i] = <char*>cnp.PyArray_DATA(arr)
        run.times = NULL
        if profile is not None and profile.shape[0] > 0:
            run.times = &profile[0]
        try:
            self._loop(&run, arrays)
        finally:
            free(run.bufs)
            free(run.regs)
            free(run.ptrs)

    cdef _loop(self, const Run* run, list arrays):
        cdef const int64_t* code = <const int64_t*>&self.code[0]
        cdef int64_t pc = 0, end = self.code.shape[0], op
        cdef int status = DONE
        cdef int64_t k = 0  # the instruction's number
        cdef double* times = run.times
        cdef timespec t0, t1
        while pc < end:
            with nogil:
                while pc < end:
                    op = code[pc + INSTRUCTION_OPCODE]
                    if op == OP_PYTHON:
                        break
                    if times != NULL:
                        clock_gettime(CLOCK_MONOTONIC, &t0)
                    status = KERNELS[op](code + pc + INSTRUCTION_FIELDS, run)
                    if times != NULL:
                        clock_gettime(CLOCK_MONOTONIC, &t1)
                        times[k] += (t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec)
                    if status != DONE:
                        break
                    pc += code[pc + INSTRUCTION_LENGTH]
                    k += 1
            if status != DONE:
                _raise(status, k)
            if pc < end:  # a Python callback, with the GIL
                self.callbacks[code[pc + INSTRUCTION_FIELDS + PYTHON_CALLBACK]](arrays)
                pc += code[pc + INSTRUCTION_LENGTH]
                k += 1


cdef _raise(int status, int64_t k):
    """The exception of a kernel's status (k: the instruction's number)."""
    if status == BAD_GEOMETRY:
        raise RuntimeError("a convolution or pooling kernel rejected its geometry")
    if status == NO_MEMORY:
        raise MemoryError()
    if status == NO_CAST:
        raise RuntimeError("the cast kernel has no conversion between these dtypes")
    # OUT_OF_RANGE (the program names the value, shapes and line from instruction k)
    raise IndexError("index out of range in a gather or scatter (an integer index "
                     "array holds a value outside the indexed axis)", k)


# This build's numbering and thresholds (tests check them against isa.py).
OPCODES = {"gemm": OP_GEMM, "fused": OP_FUSED, "reduce": OP_REDUCE, "copy": OP_COPY,
           "fill": OP_FILL, "python": OP_PYTHON, "gather": OP_GATHER,
           "scatter_add": OP_SCATTER_ADD, "conv": OP_CONV, "gemm_epilogue": OP_GEMM_EPILOGUE,
           "softmax": OP_SOFTMAX, "images": OP_IMAGES, "random_bits": OP_RANDOM_BITS,
           "cast": OP_CAST, "int": OP_INT, "argmax": OP_ARGMAX,
           "int_reduce": OP_INT_REDUCE, "loop": OP_LOOP,
           "while_loop": OP_WHILE_LOOP, "cond": OP_COND}
# Sizes from which an instruction may run on several threads (its elements; M*N*K).
PARALLEL_MIN = {"fused": FUSED_PAR_MIN, "softmax": FUSED_PAR_MIN, "gemm": float(GEMM_PAR_MIN),
                "cast": FUSED_PAR_MIN, "random_bits": FUSED_PAR_MIN // RANDOM_BITS_COST}
MAX_DIMS = MAXDIM
ISA_DIGEST = _ISA_DIGEST  # of the isa.h it was compiled from

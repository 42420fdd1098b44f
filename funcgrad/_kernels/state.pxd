# What every instruction's kernel is handed (no module of its own: declarations only).
#
# A program is a flat int64 array of instructions, each [length, opcode, fields...], over
# numbered buffers (see executor.pyx; isa.pxd names each one's fields). The kernel of an
# opcode is a function of type ``kernel``: it gets the instruction's fields (past length and
# opcode) and the run, and returns a status. The executor picks it from a table indexed by opcode; kernels live in
# one extension module per job (vm, gemm, reduce, copy, ...), since a call per instruction
# costs nothing next to the instruction.

from libc.stdint cimport int64_t

# (The instructions' fields, opcodes and codes, MAXDIM and the thresholds of threading are
# the instruction set's: isa.pxd, generated from funcgrad/compiler/isa.py.)
cdef enum:
    BLOCK = 1024  # values in a register of the fused kernels

# Statuses a kernel returns (the executor turns them into exceptions).
cdef enum:
    DONE = 0
    OUT_OF_RANGE = 1  # an index of a gather or scatter
    BAD_GEOMETRY = 2  # a convolution or pooling kernel refused its geometry
    NO_MEMORY = 3
    NO_CAST = 4  # cast.h has no such pair of dtypes

cdef struct Run:
    char** bufs  # the buffers' data
    int64_t nbuf
    const double* consts
    # The fused kernels' registers: per thread n_regs blocks of BLOCK values (doubles, or
    # floats in the same bytes) and n_regs pointers to the values each register holds now.
    double* regs
    void** ptrs
    int64_t n_regs
    int max_threads  # the threads they were allocated for (fixed for the run)
    double* times  # a profile (seconds per instruction) or NULL

ctypedef int (*kernel)(const int64_t* ins, const Run* run) noexcept nogil

# The fused elementwise kernels: a register machine over blocks of values (vm.pyx).

from libc.stdint cimport int64_t

from .state cimport Run
from .types cimport real

# OP_FUSED (fields: isa.py).
cdef int run_fused_op(const int64_t* ins, const Run* run) noexcept nogil
# The whole kernel (a fused instruction's kernel field), split among threads when it is large
# (regs: run.regs as real).
cdef void run_fused(real* regs, const Run* run, const int64_t* kernel) noexcept nogil
# Elements [lo, hi) on one thread, with that thread's registers (see vm.pyx).
cdef void run_fused_range(real* regs, real** rp, const int64_t* kernel, const double* consts,
                          char** bufs, int64_t lo, int64_t hi, real* partial) noexcept nogil

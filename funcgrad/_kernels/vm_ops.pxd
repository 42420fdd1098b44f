# The elementwise operations of fused and integer kernels: their numbers and their C live in
# one table, vm_ops.h, which the compiler reads too (funcgrad/compiler/isa.py).

from libc.stdint cimport int64_t

cdef extern from "vm_ops.h":
    enum:
        FG_VM_LOAD
        FG_VM_CONST
        FG_VM_REDUCE
    int fg_vm_f(int op, float* r, const float* a, const float* b, const float* c,
                long n) nogil
    int fg_vm_d(int op, double* r, const double* a, const double* b, const double* c,
                long n) nogil
    int fg_int_op(int op, int64_t* r, const int64_t* a, const int64_t* b, const int64_t* c,
                  long n) nogil
    const char** fg_vm_names
    const int* fg_vm_numbers
    const char** fg_int_names
    const int* fg_int_numbers
    int FG_VM_COUNT, FG_INT_COUNT

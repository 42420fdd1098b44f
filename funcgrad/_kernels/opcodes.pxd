# The opcodes of instructions (declarations only). The executor exports them to the
# compiler as OPCODES; a loop over images (images.pyx) holds OP_CONV and OP_FUSED steps.
cdef enum:
    OP_GEMM = 1
    OP_FUSED = 2
    OP_REDUCE = 3
    OP_COPY = 4
    OP_FILL = 5
    OP_PYTHON = 6
    OP_GATHER = 7
    OP_SCATTER_ADD = 8
    OP_CONV = 9
    OP_GEMM_EPILOGUE = 10
    OP_SOFTMAX = 11
    OP_IMAGES = 12
    OP_RANDOM_BITS = 13
    OP_CAST = 14
    OP_INT = 15
    OP_ARGMAX = 16
    OP_INT_REDUCE = 17
    OP_COUNT = 18  # (one past the last)

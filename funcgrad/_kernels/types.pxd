# The one fused floating type of the kernels: a function written once over ``real`` is
# compiled for float32 and float64 (a pointer argument of type real* picks the version).
ctypedef fused real:
    float
    double

# Compiled 2-D pooling kernels (pool.pyx; NCHW), over a ConvGeom (geometry.pxd) with
# g.dh == g.dw == 1 (g.o is ignored). y- and t-shaped arrays are (n, c, oh, ow). Padding
# counts as -inf for max and 0 for avg (count_include_pad); ties and NaNs pick the first
# window slot in row-major order, exactly like numpy.argmax over the im2col window.

from libc.stdint cimport uint8_t

from .geometry cimport ConvGeom
from .types cimport real

# The kinds (numbered by the instruction set, isa.h), and what pool_kernel(kind, g, a, b, out, index,
# accumulate) computes:
cdef extern from "pool2.h":
    enum:
        POOL_MAX "FG_POOL_MAX"  # out y = the max of each window of a x
        # out y = b t at each window's first argmax of a x (0: a padding slot)
        POOL_SELECT "FG_POOL_SELECT"
        POOL_SCATTER "FG_POOL_SCATTER"  # out dx [+]= b gy added at each first argmax of a x
        POOL_AVG "FG_POOL_AVG"  # out y = the window means of a x
        # out dx [+]= a gy / (kh * kw) spread over each window (b: a again)
        POOL_AVG_T "FG_POOL_AVG_T"
        # POOL_MAX that also writes each window's first argmax into index as a byte, the
        # slot i * kw + j (NO_SLOT: only padding; needs kh * kw <= NO_SLOT)
        POOL_MAX_INDEX "FG_POOL_MAX_INDEX"
        # POOL_SCATTER from those slots: out dx [+]= b gy (a not read)
        POOL_SCATTER_INDEX "FG_POOL_SCATTER_INDEX"

cdef extern from "isa.h":
    enum:
        NO_SLOT  # the slot of a window that sees only padding (255: the instruction set's)

# Runs kind over all n*c planes; b is a for the kinds with one operand. 0, or -1 when the
# geometry is invalid. Threads over planes (at most one parallel region; none from inside
# another).
cdef int pool_kernel(int kind, const ConvGeom* g, const real* a, const real* b, real* out,
                     uint8_t* index, bint accumulate) noexcept nogil

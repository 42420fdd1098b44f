# The geometry of a 2-D convolution or pooling (NCHW activations, OIHW weights), shared by
# convolution.pyx, pool.pyx, their Python wrappers (conv.pyx) and the executor (images.pyx).
# Declarations and small inline functions only: no module of its own.

cdef extern from "limits.h":
    cdef int INT_MAX

cdef enum:
    # Work items (elements touched) below which the kernels stay on the calling thread.
    PAR_MIN = 32768

cdef struct ConvGeom:
    # Input (n, c, h, w); output channels o (pooling: ignored, output has c channels).
    Py_ssize_t n, c, h, w, o
    # Window, stride, padding (top, bottom, left, right) and dilation.
    Py_ssize_t kh, kw, sh, sw, pt, pb, pl, pr, dh, dw
    # Output height and width, set by geom_init.
    Py_ssize_t oh, ow


cdef inline Py_ssize_t _out_size(Py_ssize_t n, Py_ssize_t k, Py_ssize_t s, Py_ssize_t lo,
                                 Py_ssize_t hi, Py_ssize_t d) noexcept nogil:
    return (n + lo + hi - d * (k - 1) - 1) // s + 1


cdef inline int geom_init(ConvGeom* g) noexcept nogil:
    """Validates the fields (sizes >= 0, window/stride/dilation >= 1, padding >= 0, dilated
    window within the padded input, BLAS dimensions within int range) and sets oh, ow: 0, or
    -1 if invalid."""
    # Every field fits a BLAS int, so products of two fields cannot overflow Py_ssize_t.
    if (g.n < 0 or g.c < 0 or g.h < 0 or g.w < 0 or g.o < 0 or g.pt < 0 or g.pb < 0
            or g.pl < 0 or g.pr < 0 or g.kh < 1 or g.kw < 1 or g.sh < 1 or g.sw < 1
            or g.dh < 1 or g.dw < 1):
        return -1
    if (g.n > INT_MAX or g.c > INT_MAX or g.h > INT_MAX or g.w > INT_MAX or g.o > INT_MAX
            or g.kh > INT_MAX or g.kw > INT_MAX or g.sh > INT_MAX or g.sw > INT_MAX
            or g.dh > INT_MAX or g.dw > INT_MAX or g.pt > INT_MAX or g.pb > INT_MAX
            or g.pl > INT_MAX or g.pr > INT_MAX):
        return -1
    if g.dh * (g.kh - 1) + 1 > g.h + g.pt + g.pb or g.dw * (g.kw - 1) + 1 > g.w + g.pl + g.pr:
        return -1
    g.oh = _out_size(g.h, g.kh, g.sh, g.pt, g.pb, g.dh)
    g.ow = _out_size(g.w, g.kw, g.sw, g.pl, g.pr, g.dw)
    if g.oh > INT_MAX or g.ow > INT_MAX or g.oh * g.ow > INT_MAX:
        return -1
    if g.c * g.kh > INT_MAX or g.c * g.kh * g.kw > INT_MAX:
        return -1
    return 0


cdef inline bint geom_ok(const ConvGeom* g) noexcept nogil:
    """Re-validates a caller's struct (cheap) so a stale or hand-made one cannot overrun."""
    cdef ConvGeom copy = g[0]
    return geom_init(&copy) == 0 and copy.oh == g.oh and copy.ow == g.ow

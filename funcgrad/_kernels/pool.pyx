# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled 2-D pooling kernels (NCHW) and their gradients: see pool.pxd.

One extension module: its loops run per plane, per block of outputs and per window slot;
the 2x2 stride-2 case is pool2.h's C. Its entry point (pool_kernel) runs once per
instruction or per chunk of images; conv.pyx wraps it for Python.
"""

from cython.parallel cimport prange
from libc.math cimport INFINITY
from libc.stdint cimport uint8_t
from libc.string cimport memset

from .geometry cimport PAR_MIN, ConvGeom, geom_ok
from .threads cimport max_threads
from .types cimport real

cdef extern from "pool2.h":
    void fg_pool2_plane_f(int kind, const float* x, const float* t, float* y, uint8_t* s,
                          long oh, long ow, int accumulate) nogil
    void fg_pool2_plane_d(int kind, const double* x, const double* t, double* y, uint8_t* s,
                          long oh, long ow, int accumulate) nogil


cdef inline Py_ssize_t _argmax(const ConvGeom* g, const real* xp, Py_ssize_t ih0,
                               Py_ssize_t iw0, real* best_out) noexcept nogil:
    """Plane index of the window's first maximum (-1: a padding slot), value in best_out.

    Padding is -inf; a NaN beats everything and the first NaN wins, like numpy.argmax.
    """
    cdef Py_ssize_t i, j, ih, iw, best_i = -1
    cdef real best = -INFINITY, v
    if 0 <= ih0 < g.h and 0 <= iw0 < g.w:  # slot (0, 0) is the initial candidate
        best = xp[ih0 * g.w + iw0]
        best_i = ih0 * g.w + iw0
    for i in range(g.kh):
        ih = ih0 + i
        if ih < 0 or ih >= g.h:
            continue
        for j in range(g.kw):
            iw = iw0 + j
            if iw < 0 or iw >= g.w:
                continue
            v = xp[ih * g.w + iw]
            if best == best and not (v <= best):
                best = v
                best_i = ih * g.w + iw
    best_out[0] = best
    return best_i


cdef void _pool_border(const ConvGeom* g, int kind, const real* xp, const real* tp,
                       real* outp, uint8_t* ip, Py_ssize_t r, Py_ssize_t q) noexcept nogil:
    """Output pixel (r, q) of a window that may overlap padding (scalar, bounds-checked)."""
    cdef Py_ssize_t ih0 = r * g.sh - g.pt, iw0 = q * g.sw - g.pl, idx, i, j
    cdef real best, acc, area = <real>(g.kh * g.kw)
    if kind == POOL_MAX:
        _argmax(g, xp, ih0, iw0, &best)
        outp[r * g.ow + q] = best
    elif kind == POOL_MAX_INDEX:
        idx = _argmax(g, xp, ih0, iw0, &best)
        outp[r * g.ow + q] = best
        ip[r * g.ow + q] = NO_SLOT if idx < 0 else (idx // g.w - ih0) * g.kw + idx % g.w - iw0
    elif kind == POOL_SELECT:
        idx = _argmax(g, xp, ih0, iw0, &best)
        outp[r * g.ow + q] = tp[idx] if idx >= 0 else 0
    elif kind == POOL_SCATTER:
        idx = _argmax(g, xp, ih0, iw0, &best)
        if idx >= 0:
            outp[idx] += tp[r * g.ow + q]
    elif kind == POOL_AVG:
        acc = 0
        for i in range(g.kh):
            if 0 <= ih0 + i < g.h:
                for j in range(g.kw):
                    if 0 <= iw0 + j < g.w:
                        acc = acc + xp[(ih0 + i) * g.w + iw0 + j]
        outp[r * g.ow + q] = acc / area
    else:  # POOL_AVG_T: xp is the cotangent (output-shaped), outp is dx
        acc = xp[r * g.ow + q] / area
        for i in range(g.kh):
            if 0 <= ih0 + i < g.h:
                for j in range(g.kw):
                    if 0 <= iw0 + j < g.w:
                        outp[(ih0 + i) * g.w + iw0 + j] += acc


cdef enum:
    SPAN = 256  # outputs per vectorized block (stack buffers)


cdef void _pool_block(const ConvGeom* g, int kind, const real* xp, const real* tp, real* outp,
                      uint8_t* ip, Py_ssize_t r0, Py_ssize_t nr, Py_ssize_t q0, Py_ssize_t nq,
                      bint assign) noexcept nogil:
    """Outputs (r0:r0+nr, q0:q0+nq), nr*nq <= SPAN, whose windows lie inside the input.

    assign: POOL_SCATTER writes its windows instead of adding (they tile dx, which is not
    zeroed).

    Loops run window slot by slot over the whole block so the compiler vectorizes across
    output columns; updates are branch-free selects, which keeps first-max/NaN semantics.
    """
    cdef real m[SPAN]
    cdef real slot[SPAN]  # window offset of the max, as a real so selects vectorize
    cdef Py_ssize_t i, j, rr, q, sw = g.sw, w = g.w, ow = g.ow, rstep = g.sh * g.w, k
    cdef real s
    cdef real v, gv, area = <real>(g.kh * g.kw)
    cdef int upd
    cdef Py_ssize_t off = (r0 * g.sh - g.pt) * w + q0 * sw - g.pl  # window (0, 0) of (r0, q0)
    cdef const real* src
    cdef real* mr
    cdef real* sr
    cdef real* dst
    cdef const real* gr
    if kind == POOL_AVG_T:  # tp is the cotangent, outp is dx
        for rr in range(nr):
            for q in range(nq):
                m[rr * nq + q] = tp[(r0 + rr) * ow + q0 + q] / area
        for i in range(g.kh):
            for j in range(g.kw):
                for rr in range(nr):
                    dst = outp + off + rr * rstep + i * w + j
                    mr = m + rr * nq
                    for q in range(nq):
                        dst[q * sw] += mr[q]
        return
    for rr in range(nr):
        src = xp + off + rr * rstep
        mr = m + rr * nq
        sr = slot + rr * nq
        for q in range(nq):
            mr[q] = 0 if kind == POOL_AVG else src[q * sw]
            sr[q] = 0
    for i in range(g.kh):
        for j in range(g.kw):
            s = <real>(i * w + j)
            for rr in range(nr):
                src = xp + off + rr * rstep + i * w + j
                mr = m + rr * nq
                sr = slot + rr * nq
                if kind == POOL_AVG:
                    for q in range(nq):
                        mr[q] = mr[q] + src[q * sw]
                elif kind == POOL_MAX:  # any NaN makes the max NaN; otherwise the plain max
                    for q in range(nq):
                        v = src[q * sw]
                        mr[q] = v if (v > mr[q]) | (v != v) else mr[q]
                else:
                    for q in range(nq):
                        v = src[q * sw]
                        upd = (v > mr[q]) | ((v != v) & (mr[q] == mr[q]))  # no branches
                        mr[q] = v if upd else mr[q]
                        sr[q] = s if upd else sr[q]
    for rr in range(nr):
        mr = m + rr * nq
        sr = slot + rr * nq
        dst = outp + (r0 + rr) * ow + q0
        if kind == POOL_AVG:
            for q in range(nq):
                dst[q] = mr[q] / area
        elif kind == POOL_MAX:
            for q in range(nq):
                dst[q] = mr[q]
        elif kind == POOL_MAX_INDEX:  # the slot as a window offset of the plane -> i * kw + j
            for q in range(nq):
                dst[q] = mr[q]
                k = <Py_ssize_t>sr[q]
                ip[(r0 + rr) * ow + q0 + q] = (k // w) * g.kw + k % w
        elif kind == POOL_SELECT:
            src = tp + off + rr * rstep
            for q in range(nq):
                dst[q] = src[q * sw + <Py_ssize_t>sr[q]]
        elif assign and g.kw == 2:  # POOL_SCATTER, windows tiling dx: write whole row pairs
            gr = tp + (r0 + rr) * ow + q0
            for i in range(g.kh):
                s = <real>(i * w)
                v = <real>(i * w + 1)
                dst = outp + off + rr * rstep + i * w
                for q in range(nq):
                    gv = gr[q]  # loaded unconditionally so the selects vectorize
                    dst[2 * q] = gv if sr[q] == s else 0
                    dst[2 * q + 1] = gv if sr[q] == v else 0
        else:  # POOL_SCATTER, overlapping windows: a plain loop
            dst = outp + off + rr * rstep
            gr = tp + (r0 + rr) * ow + q0
            for q in range(nq):
                dst[q * sw + <Py_ssize_t>sr[q]] += gr[q]


cdef void _pool_plane(const ConvGeom* g, int kind, const real* xp, const real* tp,
                      real* outp, uint8_t* ip, bint accumulate) noexcept nogil:
    """One (n, c) plane of a pooling kernel. xp/outp: input- or output-shaped per kind;
    ip: the argmax slots (output-shaped) the _INDEX kinds write or read."""
    cdef Py_ssize_t r, q, lo, hi, rlo, rhi, nq, nr
    if kind == POOL_SCATTER_INDEX:
        _scatter_index_plane(g, ip, tp, outp, accumulate)
        return
    if (kind <= POOL_SCATTER or kind == POOL_MAX_INDEX) and _pool2_fits(g):
        _pool2_plane(kind, xp, tp, outp, ip, g.oh, g.ow, accumulate)
        return
    # Disjoint windows tiling the whole plane (e.g. 2x2, stride 2, even sizes, no padding)
    # write every dx element, so the zero fill is skipped.
    cdef bint tiled = (kind == POOL_SCATTER and not accumulate and g.kw == 2 and g.sw == 2
                       and g.sh == g.kh
                       and g.pt == 0 and g.pl == 0 and g.ow * g.kw == g.w and g.oh * g.kh == g.h)
    if (kind == POOL_SCATTER or kind == POOL_AVG_T) and not accumulate and not tiled:
        memset(outp, 0, g.h * g.w * sizeof(real))
    # Outputs [rlo, rhi) x [lo, hi) have windows inside the input; the rest see padding.
    lo = _clamp((g.pl + g.sw - 1) // g.sw, 0, g.ow)
    hi = _clamp((g.w + g.pl - g.kw) // g.sw + 1, lo, g.ow) if g.w + g.pl >= g.kw else lo
    rlo = _clamp((g.pt + g.sh - 1) // g.sh, 0, g.oh)
    rhi = _clamp((g.h + g.pt - g.kh) // g.sh + 1, rlo, g.oh) if g.h + g.pt >= g.kh else rlo
    for r in range(g.oh):
        if r < rlo or r >= rhi:
            for q in range(g.ow):
                _pool_border(g, kind, xp, tp, outp, ip, r, q)
        else:
            for q in range(lo):
                _pool_border(g, kind, xp, tp, outp, ip, r, q)
            for q in range(hi, g.ow):
                _pool_border(g, kind, xp, tp, outp, ip, r, q)
    if hi == lo:
        return
    if (g.kh - 1) * g.w + g.kw > (1 << 24):  # window offsets not exact as float32
        for r in range(rlo, rhi):
            for q in range(lo, hi):
                _pool_border(g, kind, xp, tp, outp, ip, r, q)
        return
    r = rlo
    while r < rhi:
        if hi - lo <= SPAN:  # whole rows, as many as fit a block
            nr = SPAN // (hi - lo)
            nr = nr if rhi - r > nr else rhi - r
            _pool_block(g, kind, xp, tp, outp, ip, r, nr, lo, hi - lo, tiled)
            r += nr
        else:
            q = lo
            while q < hi:
                nq = SPAN if hi - q > SPAN else hi - q
                _pool_block(g, kind, xp, tp, outp, ip, r, 1, q, nq, tiled)
                q += nq
            r += 1


cdef inline bint _pool2_fits(const ConvGeom* g) noexcept nogil:
    """2x2 windows, stride 2, no padding, even sizes (the windows tile the plane exactly) and
    at least 4 output columns (the width of the C kernels' smallest block)."""
    return (g.kh == 2 and g.kw == 2 and g.sh == 2 and g.sw == 2 and g.pt == 0 and g.pb == 0
            and g.pl == 0 and g.pr == 0 and g.h == 2 * g.oh and g.w == 2 * g.ow and g.ow >= 4)


cdef inline void _pool2_plane(int kind, const real* xp, const real* tp, real* outp,
                              uint8_t* ip, Py_ssize_t oh, Py_ssize_t ow,
                              bint accumulate) noexcept nogil:
    """A max-pool kind (POOL_MAX, POOL_MAX_INDEX, POOL_SELECT, POOL_SCATTER,
    POOL_SCATTER_INDEX) on a plane that _pool2_fits."""
    if real is float:
        fg_pool2_plane_f(kind, xp, tp, outp, ip, oh, ow, accumulate)
    else:
        fg_pool2_plane_d(kind, xp, tp, outp, ip, oh, ow, accumulate)


cdef void _scatter_index_plane(const ConvGeom* g, const uint8_t* ip, const real* gp,
                               real* dx, bint accumulate) noexcept nogil:
    """dx of one plane from the cotangent gp and the argmax slots ip of POOL_MAX_INDEX: the
    same sums as POOL_SCATTER, which finds each slot again from x."""
    cdef Py_ssize_t r, q, k, ih, iw
    if not accumulate and _pool2_fits(g):  # the windows tile dx: every element written
        _pool2_plane(POOL_SCATTER_INDEX, gp, gp, dx, <uint8_t*>ip, g.oh, g.ow, False)
        return
    if not accumulate:
        memset(dx, 0, g.h * g.w * sizeof(real))
    for r in range(g.oh):
        for q in range(g.ow):
            k = ip[r * g.ow + q]
            ih = r * g.sh - g.pt + k // g.kw
            iw = q * g.sw - g.pl + k % g.kw
            if k != NO_SLOT and 0 <= ih < g.h and 0 <= iw < g.w:  # (slots not made here)
                dx[ih * g.w + iw] += gp[r * g.ow + q]


cdef inline Py_ssize_t _clamp(Py_ssize_t v, Py_ssize_t lo, Py_ssize_t hi) noexcept nogil:
    return lo if v < lo else (hi if v > hi else v)


cdef int pool_kernel(int kind, const ConvGeom* g, const real* a, const real* b, real* out,
                     uint8_t* index, bint accumulate) noexcept nogil:
    """Runs kind over all n*c planes. a: x (or gy for POOL_AVG_T); b: t or gy for max kinds;
    index: the argmax slots the _INDEX kinds write or read (else unused)."""
    cdef Py_ssize_t planes, t, hw, pq, a_step, b_step, out_step
    if not geom_ok(g) or g.dh != 1 or g.dw != 1:
        return -1
    if (kind == POOL_MAX_INDEX or kind == POOL_SCATTER_INDEX) and g.kh * g.kw > NO_SLOT:
        return -1  # slots would not fit a byte
    planes = g.n * g.c
    hw = g.h * g.w
    pq = g.oh * g.ow
    if kind == POOL_AVG_T:
        a_step, b_step, out_step = pq, pq, hw
    elif kind == POOL_SCATTER:
        a_step, b_step, out_step = hw, pq, hw
    elif kind == POOL_SCATTER_INDEX:  # a is not read
        a_step, b_step, out_step = 0, pq, hw
    elif kind == POOL_SELECT:
        a_step, b_step, out_step = hw, hw, pq
    else:
        a_step, b_step, out_step = hw, 0, pq
    cdef int nt = max_threads()
    if nt > 1 and planes > 1 and planes * (hw + pq * g.kh * g.kw) >= PAR_MIN:
        for t in prange(planes, schedule="static", num_threads=nt):
            _pool_plane(g, kind, a + t * a_step, b + t * b_step, out + t * out_step,
                        index + t * pq if index != NULL else NULL, accumulate)
    else:
        for t in range(planes):
            _pool_plane(g, kind, a + t * a_step, b + t * b_step, out + t * out_step,
                        index + t * pq if index != NULL else NULL, accumulate)
    return 0


# im2col / col2im of one image: included into convolution.pyx (not a module of its own),
# because these loops run per plane and per row and their helpers must inline into them.
#
# im2col gives ``cols[(c, i, j), (oh, ow)]``: K = C*kh*kw rows of P = OH*OW columns
# (conv_numpy's per-image layout). col2im is its adjoint.

cdef inline void _valid_cols(const ConvGeom* g, Py_ssize_t j, Py_ssize_t* lo,
                             Py_ssize_t* hi) noexcept nogil:
    """Output columns [lo, hi) whose window offset j lands inside the input row."""
    cdef Py_ssize_t iw0 = j * g.dw - g.pl  # input column of output column 0
    if g.sw == 1:  # without divisions, which cost as much as a short row's copy
        lo[0] = -iw0 if iw0 < 0 else 0
        hi[0] = g.w - iw0 if g.w > iw0 else 0
    else:
        lo[0] = (-iw0 + g.sw - 1) // g.sw if iw0 < 0 else 0
        hi[0] = (g.w - iw0 + g.sw - 1) // g.sw if g.w > iw0 else 0
    if lo[0] > g.ow:
        lo[0] = g.ow
    if hi[0] > g.ow:
        hi[0] = g.ow
    if hi[0] < lo[0]:
        hi[0] = lo[0]


cdef inline bint _rows_contiguous(const ConvGeom* g) noexcept nogil:
    """Strides 1 and OW == W (e.g. SAME padding): output row r + 1 reads the input row after
    the one output row r reads, at the same columns, so a window offset's rows of cols are
    one contiguous run of the input plane, apart from the columns that fall in the padding."""
    return g.sh == 1 and g.sw == 1 and g.ow == g.w


cdef inline void _valid_rows(const ConvGeom* g, Py_ssize_t i, Py_ssize_t* r0,
                             Py_ssize_t* r1) noexcept nogil:
    """Output rows [r0, r1) whose window offset i lands inside the input (stride 1)."""
    cdef Py_ssize_t ih0 = i * g.dh - g.pt  # input row of output row 0
    r0[0] = -ih0 if ih0 < 0 else 0
    r1[0] = g.h - ih0 if g.h - ih0 < g.oh else g.oh
    if r0[0] > g.oh:
        r0[0] = g.oh
    if r1[0] < r0[0]:
        r1[0] = r0[0]


cdef inline Py_ssize_t _tap_offset(const ConvGeom* g, Py_ssize_t i, Py_ssize_t j) noexcept nogil:
    """When _rows_contiguous: entry q of window offset (i, j)'s row of cols is entry
    q + offset of the input plane (inside the run of _fill_outside_run)."""
    return (i * g.dh - g.pt) * g.ow + (j * g.dw - g.pl)


cdef inline void _fill_outside_run(const ConvGeom* g, real* row, Py_ssize_t lo, Py_ssize_t hi,
                                   Py_ssize_t r0, Py_ssize_t r1, real value) noexcept nogil:
    """value into the entries of a window offset's row of cols (output rows [r0, r1) and
    columns [lo, hi) valid, r0 < r1, lo < hi) that fall in the padding: before the run
    row[r0 * ow + lo:(r1 - 1) * ow + hi], after it, and the columns [hi, ow) of one output
    row and [0, lo) of the next inside it. Those last go column by column: GCC turns a loop
    along a row into a memset call, slower than the one or two stores of a SAME padding."""
    cdef Py_ssize_t q, t, ow = g.ow, end = (r1 - 1) * ow + hi
    for q in range(r0 * ow + lo):
        row[q] = value
    for q in range(end, g.oh * ow):
        row[q] = value
    for q in range(hi, ow + lo):
        for t in range(r0, r1 - 1):
            row[t * ow + q] = value


cdef void _im2col_plane_contiguous(const ConvGeom* g, const real* xin, real* cols,
                                   Py_ssize_t ld, Py_ssize_t ch) noexcept nogil:
    """_im2col_plane when _rows_contiguous: one memcpy per window offset (its run wraps
    around into the neighbouring input rows), then the padding zeroed (2x faster than row
    by row on the reference CNN, whose rows are short)."""
    cdef Py_ssize_t i, j, lo, hi, r0, r1, ow = g.ow, p = g.oh * g.ow
    cdef real* row
    for i in range(g.kh):
        _valid_rows(g, i, &r0, &r1)
        for j in range(g.kw):
            row = cols + ((ch * g.kh + i) * g.kw + j) * ld
            _valid_cols(g, j, &lo, &hi)
            if r0 == r1 or lo == hi:
                memset(row, 0, p * sizeof(real))
                continue
            memcpy(row + r0 * ow + lo, xin + r0 * ow + lo + _tap_offset(g, i, j),
                   ((r1 - 1 - r0) * ow + hi - lo) * sizeof(real))
            _fill_outside_run(g, row, lo, hi, r0, r1, 0)


cdef void _im2col_plane(const ConvGeom* g, const real* xin, real* cols, Py_ssize_t ld,
                        Py_ssize_t ch) noexcept nogil:
    """Rows (ch, i, j) of cols (ld apart) from one input plane; padding reads as 0."""
    cdef Py_ssize_t i, j, r, q, ih, lo, hi, iw0, sw = g.sw, ow = g.ow
    cdef real* row
    cdef real* dst
    cdef const real* src
    for i in range(g.kh):
        for j in range(g.kw):
            row = cols + ((ch * g.kh + i) * g.kw + j) * ld
            _valid_cols(g, j, &lo, &hi)
            iw0 = j * g.dw - g.pl
            for r in range(g.oh):
                ih = r * g.sh + i * g.dh - g.pt
                dst = row + r * ow
                if ih < 0 or ih >= g.h:
                    memset(dst, 0, ow * sizeof(real))
                    continue
                # Rows are short (OW ~ 14-28): inline loops beat libc calls here.
                src = xin + ih * g.w + iw0
                for q in range(lo):
                    dst[q] = 0
                if sw == 1:
                    for q in range(lo, hi):
                        dst[q] = src[q]
                else:
                    for q in range(lo, hi):
                        dst[q] = src[q * sw]
                for q in range(hi, ow):
                    dst[q] = 0


cdef enum:
    # Most window offsets (taps) that _col2im_plane_fused sums in one pass (5x5 windows).
    _MAX_TAPS = 25
    # Elements of dx per block there: several vectors, so that the CPU overlaps the chains
    # of dependent additions.
    _BLOCK = 16


cdef Py_ssize_t _col2im_halo(const ConvGeom* g) noexcept nogil:
    """Entries around each row of the input gradient's cols for _col2im_plane_fused, or -1
    where that path is not taken (strides > 1, OW != W, more than _MAX_TAPS taps, or a halo
    longer than a row, which would more than double the workspace)."""
    cdef Py_ssize_t i, j, lo, hi, r0, r1, off, halo = 0, p = g.oh * g.ow
    if not _rows_contiguous(g) or g.kh * g.kw > _MAX_TAPS:
        return -1
    for i in range(g.kh):
        _valid_rows(g, i, &r0, &r1)
        for j in range(g.kw):
            _valid_cols(g, j, &lo, &hi)
            if r0 == r1 or lo == hi:
                continue
            # Tap (i, j) adds row[t - off] onto dx[t] for t in [0, H*W), so reads as far as
            # off before its row and H*W - P - off after it.
            off = _tap_offset(g, i, j)
            halo = off if off > halo else halo
            halo = g.h * g.w - p - off if g.h * g.w - p - off > halo else halo
    return halo if halo <= p else -1


cdef void _col2im_plane_fused(const ConvGeom* g, real* cols, Py_ssize_t ld, real* xout,
                              Py_ssize_t ch) noexcept nogil:
    """_col2im_plane's additions on the layout of _col2im_halo: row m of cols at cols + m * ld,
    with -0.0 in the ld - P >= halo entries between rows (and before the first, after the
    last). Each block of dx is loaded once, gets one term from each tap (window offset) in
    window order and is stored once. Entries of a row outside its tap's run (padding) are set
    to -0.0 first, and -0.0 adds nothing to any value (not even to -0.0), so every element
    gets exactly the terms, in the order, of adding each tap's run one after the other.
    That order of work was 2x slower for the reference CNN: each run reloads dx one element
    off from the vector stores of the run before, which the CPU cannot forward from its
    store buffer."""
    cdef Py_ssize_t i, j, t, q, u, lo, hi, r0, r1, ntaps = 0, ow = g.ow
    cdef Py_ssize_t t_lo = g.h * g.w, t_hi = 0, start, end
    cdef Py_ssize_t offs[_MAX_TAPS]
    cdef real* rows[_MAX_TAPS]
    cdef real* row
    cdef const real* src
    cdef real acc[_BLOCK]
    cdef real nz = copysign(0.0, -1.0)
    for i in range(g.kh):
        _valid_rows(g, i, &r0, &r1)
        for j in range(g.kw):
            _valid_cols(g, j, &lo, &hi)
            if r0 == r1 or lo == hi:
                continue
            row = cols + ((ch * g.kh + i) * g.kw + j) * ld
            _fill_outside_run(g, row, lo, hi, r0, r1, nz)
            start = r0 * ow + lo  # the run: row[start:end] -> dx[start + off:end + off]
            end = (r1 - 1) * ow + hi
            rows[ntaps] = row
            offs[ntaps] = _tap_offset(g, i, j)
            t_lo = start + offs[ntaps] if start + offs[ntaps] < t_lo else t_lo
            t_hi = end + offs[ntaps] if end + offs[ntaps] > t_hi else t_hi
            ntaps += 1
    t = t_lo
    while t + _BLOCK <= t_hi:
        for u in range(_BLOCK):
            acc[u] = xout[t + u]
        for q in range(ntaps):
            src = rows[q] + (t - offs[q])
            for u in range(_BLOCK):
                acc[u] += src[u]
        for u in range(_BLOCK):
            xout[t + u] = acc[u]
        t += _BLOCK
    while t < t_hi:
        acc[0] = xout[t]
        for q in range(ntaps):
            acc[0] += rows[q][t - offs[q]]
        xout[t] = acc[0]
        t += 1


cdef void _col2im_plane(const ConvGeom* g, real* cols, Py_ssize_t ld, real* xout,
                        Py_ssize_t ch, bint accumulate, bint fused) noexcept nogil:
    """Adjoint of _im2col_plane: add rows (ch, i, j) of cols onto one plane of dx; fused:
    cols has the layout of _col2im_halo, whose padding entries this overwrites."""
    cdef Py_ssize_t i, j, r, q, ih, lo, hi, iw0
    cdef const real* row
    cdef const real* src
    cdef real* dst
    if not accumulate:
        memset(xout, 0, g.h * g.w * sizeof(real))
    if fused:
        _col2im_plane_fused(g, cols, ld, xout, ch)
        return
    for i in range(g.kh):
        for j in range(g.kw):
            row = cols + ((ch * g.kh + i) * g.kw + j) * ld
            _valid_cols(g, j, &lo, &hi)
            iw0 = j * g.dw - g.pl
            for r in range(g.oh):
                ih = r * g.sh + i * g.dh - g.pt
                if ih < 0 or ih >= g.h:
                    continue
                src = row + r * g.ow
                dst = xout + ih * g.w + iw0
                if g.sw == 1:
                    for q in range(lo, hi):
                        dst[q] += src[q]
                else:
                    for q in range(lo, hi):
                        dst[q * g.sw] += src[q]


cdef void _im2col(const ConvGeom* g, const real* x, real* cols, bint par) noexcept nogil:
    """cols (K, P) of one image; threaded over channels if par."""
    cdef Py_ssize_t p = g.oh * g.ow, hw = g.h * g.w, ch
    cdef bint contiguous = _rows_contiguous(g)
    cdef int nt = max_threads() if par else 1
    if nt > 1:
        for ch in prange(g.c, schedule="static", num_threads=nt):
            if contiguous:
                _im2col_plane_contiguous(g, x + ch * hw, cols, p, ch)
            else:
                _im2col_plane(g, x + ch * hw, cols, p, ch)
    elif contiguous:
        for ch in range(g.c):
            _im2col_plane_contiguous(g, x + ch * hw, cols, p, ch)
    else:
        for ch in range(g.c):
            _im2col_plane(g, x + ch * hw, cols, p, ch)


cdef void _col2im(const ConvGeom* g, real* cols, Py_ssize_t ld, real* dx, bint accumulate,
                  bint fused, bint par) noexcept nogil:
    """dx (C, H, W) of one image (+)= col2im of cols (K rows ld apart); threaded over channels
    if par."""
    cdef Py_ssize_t hw = g.h * g.w, ch
    cdef int nt = max_threads() if par else 1
    if nt > 1:
        for ch in prange(g.c, schedule="static", num_threads=nt):
            _col2im_plane(g, cols, ld, dx + ch * hw, ch, accumulate, fused)
    else:
        for ch in range(g.c):
            _col2im_plane(g, cols, ld, dx + ch * hw, ch, accumulate, fused)


cdef inline bint _big_image(const ConvGeom* g) noexcept nogil:
    """A single image worth threading its im2col/col2im over channels."""
    return g.c > 1 and g.c * g.kh * g.kw * g.oh * g.ow >= PAR_MIN


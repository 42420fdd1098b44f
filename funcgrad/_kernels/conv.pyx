# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled 2-D convolution and pooling kernels for Python (NCHW activations, OIHW weights).

The kernels are convolution.pyx's and pool.pyx's (what the executor calls: raw pointers, a
caller-owned workspace, no GIL). The functions here mirror funcgrad.conv_numpy's
signatures, validate everything they are given and allocate their own outputs; they exist
for tests, benchmarks and eager use. The thread settings (threads.pyx) are re-exported here,
where funcgrad.threads sets them.
"""

from libc.stdint cimport uint8_t

cimport numpy as cnp

from .convolution cimport (
    CONV_FILTER_GRAD, CONV_FORWARD, CONV_INPUT_GRAD, conv_kernel, conv_workspace_min,
    conv_workspace_size,
)
from .geometry cimport INT_MAX, ConvGeom, geom_init
from .pool cimport (
    NO_SLOT, POOL_AVG, POOL_AVG_T, POOL_MAX, POOL_MAX_INDEX, POOL_SCATTER, POOL_SCATTER_INDEX,
    POOL_SELECT, pool_kernel,
)

import numpy as np

from .threads import get_num_threads, set_blas_threaded, set_num_threads  # noqa: F401

cnp.import_array()

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _array(name, a, ndim, dtype=None):
    """Checks one array argument; returns it unchanged."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(a).__name__}")
    if a.dtype not in _FLOATS:
        raise TypeError(f"{name} must be float32 or float64 (native byte order), got {a.dtype}")
    if dtype is not None and a.dtype != dtype:
        raise TypeError(f"{name} has dtype {a.dtype} but the other operands are {dtype}")
    if a.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {a.shape}")
    if not (a.flags.c_contiguous and a.flags.aligned):
        raise ValueError(f"{name} must be C-contiguous and aligned (use numpy.ascontiguousarray)")
    return a


def _ints(name, v, n):
    """A length-n tuple of Python ints from v (a sequence of integers)."""
    try:
        items = tuple(v)
    except TypeError:
        raise TypeError(f"{name} must be a sequence of {n} ints, got {v!r}") from None
    if len(items) != n:
        raise ValueError(f"{name} must have {n} entries, got {v!r}")
    out = []
    for item in items:
        if isinstance(item, (bool, np.bool_)) or not hasattr(item, "__index__"):
            raise TypeError(f"{name} must contain ints, got {v!r}")
        out.append(item.__index__())
    return tuple(out)


cdef ConvGeom _geom(x_shape, Py_ssize_t o, window, stride, padding, dilation) except *:
    """Validated geometry, or ValueError/TypeError naming the offending parameter."""
    cdef ConvGeom g
    n, c, h, w = _ints("x shape", x_shape, 4)
    kh, kw = _ints("window", window, 2)
    sh, sw = _ints("stride", stride, 2)
    try:
        rows, cols = padding
    except (TypeError, ValueError):
        raise TypeError(f"padding must be ((top, bottom), (left, right)), got {padding!r}") from None
    (pt, pb), (pl, pr) = _ints("padding", rows, 2), _ints("padding", cols, 2)
    dh, dw = _ints("dilation", dilation, 2)
    if min(n, c, h, w) < 0:
        raise ValueError(f"x shape must be non-negative, got {tuple(x_shape)}")
    if kh < 1 or kw < 1:
        raise ValueError(f"window must be positive, got {(kh, kw)}")
    if sh < 1 or sw < 1:
        raise ValueError(f"stride must be positive, got {(sh, sw)}")
    if dh < 1 or dw < 1:
        raise ValueError(f"dilation must be positive, got {(dh, dw)}")
    if min(pt, pb, pl, pr) < 0:
        raise ValueError(f"padding must be non-negative, got {((pt, pb), (pl, pr))}")
    eh, ew = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    if eh > h + pt + pb or ew > w + pl + pr:
        raise ValueError(
            f"window {(kh, kw)} with dilation {(dh, dw)} spans {(eh, ew)}, larger than the "
            f"padded input {(h + pt + pb, w + pl + pr)}"
        )
    limit = INT_MAX
    if max(n, c, h, w, o, kh, kw, sh, sw, dh, dw, pt, pb, pl, pr) > limit:
        raise ValueError("convolution/pooling sizes must fit a 32-bit BLAS int")
    g.n, g.c, g.h, g.w, g.o = n, c, h, w, o
    g.kh, g.kw, g.sh, g.sw, g.dh, g.dw = kh, kw, sh, sw, dh, dw
    g.pt, g.pb, g.pl, g.pr = pt, pb, pl, pr
    if geom_init(&g) != 0:
        raise ValueError("convolution/pooling sizes must fit a 32-bit BLAS int")
    return g


def _output(name, out, shape, dtype, inputs):
    """out as given (checked) or a new array."""
    if out is None:
        return np.empty(shape, dtype)
    _array(name, out, len(shape), dtype)
    return _placed(name, out, shape, inputs, True)


def _placed(name, a, shape, others, written):
    """a, checked to have the shape, to be writeable if written, and to share no memory
    with the other arrays of the call."""
    if a.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {a.shape}")
    if written and not a.flags.writeable:
        raise ValueError(f"{name} must be writeable")
    for b in others:
        if np.may_share_memory(a, b):
            raise ValueError(f"{name} must not overlap the inputs")
    return a


cdef void* _ptr(a):
    return cnp.PyArray_DATA(<cnp.ndarray>a)


_KINDS = {"forward": CONV_FORWARD, "input_grad": CONV_INPUT_GRAD, "filter_grad": CONV_FILTER_GRAD}


def workspace_size(kind, x_shape, w_shape, stride, padding, dilation, minimum=False):
    """Workspace elements a conv kernel wants (or, with minimum=True, needs at least).

    kind is "forward", "input_grad" or "filter_grad"; the workspace has the kernel's dtype.
    """
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {sorted(_KINDS)}, got {kind!r}")
    o, c, kh, kw = _ints("w shape", w_shape, 4)
    if c != _ints("x shape", x_shape, 4)[1]:
        raise ValueError(f"w shape {tuple(w_shape)} does not match x channels {x_shape[1]}")
    if o < 0:
        raise ValueError(f"w shape must be non-negative, got {tuple(w_shape)}")
    cdef ConvGeom g = _geom(x_shape, o, (kh, kw), stride, padding, dilation)
    if minimum:
        return conv_workspace_min(&g, _KINDS[kind])
    return conv_workspace_size(&g, _KINDS[kind])


cdef _workspace(workspace, ConvGeom* g, int kind, dtype):
    if workspace is None:
        return np.empty(max(conv_workspace_size(g, kind), 1), dtype)
    _array("workspace", workspace, 1, dtype)
    if not workspace.flags.writeable:
        raise ValueError("workspace must be writeable")
    if workspace.shape[0] < conv_workspace_min(g, kind):
        raise ValueError(
            f"workspace has {workspace.shape[0]} elements, needs at least "
            f"{conv_workspace_min(g, kind)}"
        )
    return workspace


def _check_cotangent(g, shape, accumulate, out):
    """A gradient kernel's cotangent g must have the forward output's shape; accumulating
    needs the array to accumulate into."""
    if g.shape != shape:
        raise ValueError(f"g must have shape {shape}, got {g.shape}")
    if accumulate and out is None:
        raise ValueError("accumulate=True needs out")


def _check_rc(int rc):
    if rc != 0:  # unreachable after validation; kept so a kernel refusal is never silent
        raise RuntimeError("conv kernel rejected its arguments")


def _conv_geom(x_shape, w, stride, padding, dilation):
    o, c = w.shape[:2]
    if c != x_shape[1]:
        raise ValueError(
            f"w has {c} input channels (shape {w.shape}) but x has {x_shape[1]} "
            f"(shape {tuple(x_shape)})"
        )
    return _geom(x_shape, o, w.shape[2:], stride, padding, dilation)


cdef int _run_conv(int kind, ConvGeom* g, a, b, bias, out, ws, bint accumulate) except -2:
    """Runs a convolution kernel on checked arrays (a, b its operands: see convolution.pxd)."""
    cdef void* ap = _ptr(a)
    cdef void* bp = _ptr(b)
    cdef void* cp = NULL if bias is None else _ptr(bias)
    cdef void* op = _ptr(out)
    cdef void* sp = _ptr(ws)
    cdef Py_ssize_t ns = ws.shape[0]
    cdef int rc
    if a.dtype == np.float32:
        with nogil:
            rc = conv_kernel(kind, g, <float*>ap, <float*>bp, <float*>cp, <float*>op,
                             <float*>sp, ns, accumulate)
    else:
        with nogil:
            rc = conv_kernel(kind, g, <double*>ap, <double*>bp, <double*>cp, <double*>op,
                             <double*>sp, ns, accumulate)
    _check_rc(rc)
    return 0


cdef _gradient(int kind, ConvGeom* geo, a, b, shape, out, workspace, accumulate):
    """A gradient kernel's result (of ``shape``) from checked operands a and b (the
    cotangent g is a for CONV_INPUT_GRAD, b for CONV_FILTER_GRAD)."""
    _check_cotangent(a if kind == CONV_INPUT_GRAD else b, (geo.n, geo.o, geo.oh, geo.ow),
                     accumulate, out)
    res = _output("out", out, shape, a.dtype, (a, b))
    ws = _workspace(workspace, geo, kind, a.dtype)
    _run_conv(kind, geo, a, b, None, res, ws, bool(accumulate))
    return res


def conv2d(x, w, stride, padding, dilation, *, bias=None, out=None, workspace=None):
    """Cross-correlation of x (N, C, H, W) with w (O, C, kh, kw) [+ bias (O,)]."""
    _array("x", x, 4)
    _array("w", w, 4, x.dtype)
    if bias is not None:
        _array("bias", bias, 1, x.dtype)
        if bias.shape[0] != w.shape[0]:
            raise ValueError(f"bias must have shape ({w.shape[0]},), got {bias.shape}")
    cdef ConvGeom g = _conv_geom(x.shape, w, stride, padding, dilation)
    y = _output("out", out, (g.n, g.o, g.oh, g.ow), x.dtype, (x, w, bias))
    ws = _workspace(workspace, &g, CONV_FORWARD, x.dtype)
    _run_conv(CONV_FORWARD, &g, x, w, bias, y, ws, False)
    return y


def conv2d_input_grad(g, w, x_shape, stride, padding, dilation, *, out=None, workspace=None,
                      accumulate=False):
    """VJP of conv2d w.r.t. x for cotangent g (N, O, OH, OW); adds into out if accumulate."""
    _array("g", g, 4)
    _array("w", w, 4, g.dtype)
    x_shape = _ints("x_shape", x_shape, 4)
    cdef ConvGeom geo = _conv_geom(x_shape, w, stride, padding, dilation)
    return _gradient(CONV_INPUT_GRAD, &geo, g, w, x_shape, out, workspace, accumulate)


def conv2d_filter_grad(x, g, w_shape, stride, padding, dilation, *, out=None, workspace=None,
                       accumulate=False):
    """VJP of conv2d w.r.t. w, summed over the batch; adds into out if accumulate."""
    _array("x", x, 4)
    _array("g", g, 4, x.dtype)
    w_shape = _ints("w_shape", w_shape, 4)
    if w_shape[0] < 0:
        raise ValueError(f"w_shape must be non-negative, got {w_shape}")
    if w_shape[1] != x.shape[1]:
        raise ValueError(f"w_shape {w_shape} does not match x channels {x.shape[1]}")
    cdef ConvGeom geo = _geom(x.shape, w_shape[0], w_shape[2:], stride, padding, dilation)
    return _gradient(CONV_FILTER_GRAD, &geo, x, g, w_shape, out, workspace, accumulate)


cdef ConvGeom _pool_geom(x_shape, window, stride, padding) except *:
    return _geom(x_shape, x_shape[1], window, stride, padding, (1, 1))


cdef int _run_pool(int kind, ConvGeom* g, a, b, out, bint accumulate, index=None) except -2:
    cdef void* ap = _ptr(a)
    cdef void* bp = _ptr(b)
    cdef void* op = _ptr(out)
    cdef uint8_t* ip = <uint8_t*>_ptr(index) if index is not None else NULL
    cdef int rc
    if a.dtype == np.float32:
        with nogil:
            rc = pool_kernel(kind, g, <float*>ap, <float*>bp, <float*>op, ip, accumulate)
    else:
        with nogil:
            rc = pool_kernel(kind, g, <double*>ap, <double*>bp, <double*>op, ip, accumulate)
    _check_rc(rc)
    return 0


cdef _pooled(int kind, x, window, stride, padding, out):
    """A pooling of x alone (max or mean), into out or a new array."""
    _array("x", x, 4)
    cdef ConvGeom g = _pool_geom(x.shape, window, stride, padding)
    y = _output("out", out, (g.n, g.c, g.oh, g.ow), x.dtype, (x,))
    _run_pool(kind, &g, x, x, y, False)
    return y


def max_pool2d(x, window, stride, padding, *, out=None):
    """Max over each window of x (N, C, H, W); padding counts as -inf."""
    return _pooled(POOL_MAX, x, window, stride, padding, out)


def _slots(name, index, shape, window, others, written):
    """Checks an argmax-slot array (uint8, the pooled output's shape) or makes one."""
    if window[0] * window[1] > NO_SLOT:
        raise ValueError(f"saved argmax slots need windows of at most {NO_SLOT} elements, "
                         f"got {window[0]}x{window[1]}")
    if index is None and written:
        return np.empty(shape, np.uint8)
    if not isinstance(index, np.ndarray) or index.dtype != np.uint8:
        raise TypeError(f"{name} must be a uint8 numpy.ndarray")
    if not index.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous")
    return _placed(name, index, shape, others, written)


def max_pool2d_index(x, window, stride, padding, *, out=None, index=None):
    """max_pool2d that also returns each window's first argmax as a uint8 slot i * kw + j
    (255: only padding), for max_pool2d_scatter_index: ``(y, index)``."""
    _array("x", x, 4)
    cdef ConvGeom g = _pool_geom(x.shape, window, stride, padding)
    y = _output("out", out, (g.n, g.c, g.oh, g.ow), x.dtype, (x,))
    index = _slots("index", index, y.shape, (g.kh, g.kw), (x, y), True)
    _run_pool(POOL_MAX_INDEX, &g, x, x, y, False, index)
    return y, index


def max_pool2d_scatter_index(index, g, x_shape, window, stride, padding, *, out=None,
                             accumulate=False):
    """max_pool2d_scatter from the slots max_pool2d_index saved: x is not read again."""
    _array("g", g, 4)
    x_shape = _ints("x_shape", x_shape, 4)
    cdef ConvGeom geo = _pool_geom(x_shape, window, stride, padding)
    _check_cotangent(g, (geo.n, geo.c, geo.oh, geo.ow), accumulate, out)
    dx = _output("out", out, x_shape, g.dtype, (g,))
    index = _slots("index", index, g.shape, (geo.kh, geo.kw), (dx,), False)
    bad = index[(index != NO_SLOT) & (index >= geo.kh * geo.kw)]
    if bad.size:  # a slot past the window would write outside dx
        raise ValueError(f"index holds slot {int(bad[0])}, past a {geo.kh}x{geo.kw} window")
    _run_pool(POOL_SCATTER_INDEX, &geo, g, g, dx, bool(accumulate), index)
    return dx


def max_pool2d_select(x, t, window, stride, padding, *, out=None):
    """t at each window's first argmax of x (0 where that is a padding slot)."""
    _array("x", x, 4)
    _array("t", t, 4, x.dtype)
    if t.shape != x.shape:
        raise ValueError(f"t must have the shape of x {x.shape}, got {t.shape}")
    cdef ConvGeom g = _pool_geom(x.shape, window, stride, padding)
    y = _output("out", out, (g.n, g.c, g.oh, g.ow), x.dtype, (x, t))
    _run_pool(POOL_SELECT, &g, x, t, y, False)
    return y


def max_pool2d_scatter(x, g, window, stride, padding, *, out=None, accumulate=False):
    """Scatter-add g onto each window's first argmax of x (transpose of select in t)."""
    _array("x", x, 4)
    _array("g", g, 4, x.dtype)
    cdef ConvGeom geo = _pool_geom(x.shape, window, stride, padding)
    _check_cotangent(g, (geo.n, geo.c, geo.oh, geo.ow), accumulate, out)
    dx = _output("out", out, x.shape, x.dtype, (x, g))
    _run_pool(POOL_SCATTER, &geo, x, g, dx, bool(accumulate))
    return dx


def avg_pool2d(x, window, stride, padding, *, out=None):
    """Window mean of x with zero padding counted (count_include_pad=True)."""
    return _pooled(POOL_AVG, x, window, stride, padding, out)


def avg_pool2d_transpose(g, x_shape, window, stride, padding, *, out=None, accumulate=False):
    """Transpose of avg_pool2d: spread g / (kh*kw) over each window."""
    _array("g", g, 4)
    x_shape = _ints("x_shape", x_shape, 4)
    cdef ConvGeom geo = _pool_geom(x_shape, window, stride, padding)
    _check_cotangent(g, (geo.n, geo.c, geo.oh, geo.ow), accumulate, out)
    dx = _output("out", out, x_shape, g.dtype, (g,))
    _run_pool(POOL_AVG_T, &geo, g, g, dx, bool(accumulate))
    return dx

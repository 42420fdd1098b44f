"""Scaled dot-product attention (``jax.nn.dot_product_attention``'s signature and layout)
and a multi-head self-attention layer built on it.

The products are ``einsum``s, which run as batched GEMMs; the softmax over the keys is the
row kernel; a mask or bias broadcasts where it is used, never materialised per head.
"""

import math

import numpy as np

from .. import numpy as fnp
from ..errors import ShapeError, user_frame
from .functional import softmax
from .initializers import glorot_normal, zeros
from .layers import Layer, _require_key, _split


def _check(query, key, value):
    if fnp.ndim(query) not in (3, 4) or not fnp.ndim(query) == fnp.ndim(key) == fnp.ndim(value):
        raise ShapeError(
            f"dot_product_attention: query, key and value must all be [B, T, N, H] (or [T, N, "
            f"H]), got {fnp.shape(query)}, {fnp.shape(key)}, {fnp.shape(value)} at {user_frame()}"
        )
    *_, n, h = fnp.shape(query)
    *_, s, k, hk = fnp.shape(key)
    if fnp.shape(key) != fnp.shape(value) or hk != h or n % k:
        raise ShapeError(
            f"dot_product_attention: key and value must be [B, S, K, H] with the query's H and "
            f"K dividing its {n} heads, got query {fnp.shape(query)}, key {fnp.shape(key)}, "
            f"value {fnp.shape(value)} at {user_frame()}"
        )


def dot_product_attention(query, key, value, bias=None, mask=None, *, scale=None, is_causal=False):
    """``softmax(q k^T * scale + bias, masked) v`` per head, as ``jax.nn.dot_product_attention``.

    Shapes: query [B, T, N, H], key and value [B, S, K, H] with K dividing N (grouped-query
    attention when K < N); the batch axis may be left out. ``bias`` and ``mask`` (boolean,
    True keeps) broadcast to [B, N, T, S]; ``is_causal`` keeps key s for query t only when
    s <= t; ``scale`` defaults to 1 / sqrt(H). Returns [B, T, N, H].

    >>> import numpy as np
    >>> q = np.ones((1, 2, 1, 4)); v = np.arange(8.0).reshape(1, 2, 1, 4)
    >>> dot_product_attention(q, q, v, is_causal=True)[0, :, 0, 0].tolist()
    [0.0, 2.0]
    """
    _check(query, key, value)
    unbatched = fnp.ndim(query) == 3
    if unbatched:
        query, key, value = query[None], key[None], value[None]
    b, t, n, h = fnp.shape(query)
    s, k = fnp.shape(key)[1], fnp.shape(key)[2]
    scale = 1.0 / math.sqrt(h) if scale is None else scale
    grouped = fnp.reshape(query, (b, t, k, n // k, h))
    logits = fnp.einsum("btkgh,bskh->bkgts", grouped, key) * scale
    logits = fnp.reshape(logits, (b, n, t, s))
    if bias is not None:
        logits = logits + bias
    keep = mask
    if is_causal:
        causal = np.tril(np.ones((t, s), bool))
        keep = causal if keep is None else fnp.logical_and(keep, causal)
    if keep is not None:
        # (a large negative, not -inf: a row with every key masked stays finite)
        logits = fnp.where(keep, logits, -0.7 * float(np.finfo(logits.dtype).max))
    weights = fnp.reshape(softmax(logits, axis=-1), (b, k, n // k, t, s))
    out = fnp.reshape(fnp.einsum("bkgts,bskh->btkgh", weights, value), (b, t, n, h))
    return out[0] if unbatched else out


_W_INIT = glorot_normal()


def MultiHeadAttention(num_heads, head_dim=None, causal=False, W_init=_W_INIT, b_init=zeros):
    """Multi-head self-attention on [..., T, D] inputs: projections to ``num_heads`` heads
    of ``head_dim`` (default D // num_heads) for queries, keys and values,
    :func:`dot_product_attention` (``causal``: each position sees itself and earlier ones),
    and a projection back to D. Params ``{"q", "k", "v", "o"}``, each ``{"w", "b"}``."""

    def init(key, input_shape):
        key = _require_key("MultiHeadAttention", key)
        d = input_shape[-1]
        hd = head_dim or d // num_heads
        if hd * num_heads == 0:
            raise ShapeError(
                f"MultiHeadAttention: {num_heads} heads of a {d}-wide input leave no head "
                f"width; pass head_dim at {user_frame()}"
            )
        keys = _split(key, 4)
        shapes = {"q": (d, num_heads * hd), "k": (d, num_heads * hd), "v": (d, num_heads * hd)}
        shapes["o"] = (num_heads * hd, d)
        params = {
            name: {"w": W_init(kk, shape), "b": b_init(kk, shape[1:])}
            for kk, (name, shape) in zip(keys, shapes.items())
        }
        return tuple(input_shape), params

    def apply(params, x, *, rng=None, train=False):
        *lead, t, d = fnp.shape(x)
        hd = params["q"]["w"].shape[1] // num_heads

        def heads(name):
            p = params[name]
            return fnp.reshape(x @ p["w"] + p["b"], (-1, t, num_heads, hd))

        out = dot_product_attention(heads("q"), heads("k"), heads("v"), is_causal=causal)
        out = fnp.reshape(out, (*lead, t, num_heads * hd))
        return out @ params["o"]["w"] + params["o"]["b"]

    return Layer(init, apply)


__all__ = ["MultiHeadAttention", "dot_product_attention"]

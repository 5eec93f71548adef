"""Reference implementation: softmax attention, masks, multi-head attention and
positional encoding (float64).

A plain module with no autograder import: it is graded like a submission in
``autograder selftest`` and its mutants are patches of this source.

On the CPU it computes with NumPy, so that neither the grader nor a graded
worker pays for importing torch; with ``DEVICE`` set to a GPU (``autograder
grade --device cuda``) the very same lines run on float64 torch tensors there,
``xp`` being ``numpy`` or ``torch`` (both accept ``axis=``/``keepdims=`` and
share the functions used here). Every function returns NumPy arrays on the CPU.
"""

import math

import numpy as np

DEVICE = "cpu"
# The torch path on the CPU too: lets the tests cover that path without a GPU.
TORCH_ON_CPU = False


def _xp():
    if DEVICE == "cpu" and not TORCH_ON_CPU:
        return np
    import torch

    return torch


def _on_device(xp):
    return {} if xp is np else {"device": DEVICE}


def _host(x):
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


def _array(x, xp):
    """A float64 copy on the compute device."""
    x = np.array(_host(x), dtype=np.float64)
    return x if xp is np else xp.as_tensor(x, device=DEVICE)


def _numpy(x):
    return x if isinstance(x, np.ndarray) else x.detach().cpu().numpy()


def _softmax(x, axis, xp):
    shifted = x - xp.amax(x, axis=axis, keepdims=True)
    exps = xp.exp(shifted)
    return exps / xp.sum(exps, axis=axis, keepdims=True)


def softmax(x, axis=-1):
    xp = _xp()
    return _numpy(_softmax(_array(x, xp), axis, xp))


def _allowed(mask, shape, xp):
    # `!= 0` rather than a cast: the spec allows bool masks and 0/1 integer masks.
    allowed = _host(mask) != 0
    if xp is not np:
        allowed = xp.as_tensor(allowed, device=DEVICE)
    try:
        return xp.broadcast_to(allowed, shape)
    except (ValueError, RuntimeError):
        raise ValueError(f"mask of shape {tuple(allowed.shape)} does not broadcast to the "
                         f"scores' shape {tuple(shape)}") from None


def _attention(Q, K, V, mask, d_k, xp):
    scores = Q @ xp.swapaxes(K, -1, -2) / math.sqrt(d_k)
    if mask is not None:
        allowed = _allowed(mask, scores.shape, xp)
        if not bool(xp.all(xp.any(allowed, axis=-1))):
            raise ValueError("the mask leaves a query with no key to attend to (a fully "
                             "masked row); every row of the mask needs at least one True")
        scores = xp.where(allowed, scores, -math.inf)
    weights = _softmax(scores, -1, xp)
    return weights @ V, weights


def scaled_dot_product_attention(Q, K, V, mask=None):
    xp = _xp()
    Q, K, V = _array(Q, xp), _array(K, xp), _array(V, xp)
    out, weights = _attention(Q, K, V, mask, d_k=Q.shape[-1], xp=xp)
    return _numpy(out), _numpy(weights)


def causal_mask(T):
    xp = _xp()
    ones = xp.ones((T, T), dtype=bool, **_on_device(xp))
    return _numpy(xp.tril(ones))


def _split_heads(A, num_heads, xp):
    # (T, D) -> (num_heads, T, D // num_heads); head h owns columns h*dh .. (h+1)*dh - 1.
    T, D = A.shape
    return xp.swapaxes(xp.reshape(A, (T, num_heads, D // num_heads)), 0, 1)


def _merge_heads(A, xp):
    # (num_heads, T, dh) -> (T, num_heads * dh): the heads side by side, in order.
    num_heads, T, dh = A.shape
    return xp.reshape(xp.swapaxes(A, 0, 1), (T, num_heads * dh))


def multi_head_attention(X, W_q, W_k, W_v, W_o, num_heads, mask=None):
    xp = _xp()
    X = _array(X, xp)
    if X.ndim != 2:
        raise ValueError(f"X must be (T, D); got shape {tuple(X.shape)}")
    T, D = X.shape
    if num_heads < 1 or D % num_heads != 0:
        raise ValueError(f"D = {D} is not divisible by num_heads = {num_heads}")
    W_q, W_k, W_v, W_o = (_array(W, xp) for W in (W_q, W_k, W_v, W_o))
    Q, K, V = X @ W_q, X @ W_k, X @ W_v
    heads, _ = _attention(_split_heads(Q, num_heads, xp), _split_heads(K, num_heads, xp),
                          _split_heads(V, num_heads, xp), mask, d_k=D // num_heads, xp=xp)
    return _numpy(_merge_heads(heads, xp) @ W_o)


def positional_encoding(T, d):
    xp = _xp()
    t = xp.arange(T, dtype=float, **_on_device(xp))[:, None]
    two_i = xp.arange(0, d, 2, dtype=float, **_on_device(xp))
    # Columns 2i and 2i+1 share one angle; for odd d the last angle has no cos column.
    angles = t / 10000.0 ** (two_i / d)
    pe = xp.zeros((T, d), dtype=float, **_on_device(xp))
    pe[:, 0::2] = xp.sin(angles)
    pe[:, 1::2] = xp.cos(angles[:, : d // 2])
    return _numpy(pe)

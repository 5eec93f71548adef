"""Attention assignment: fill in each function. Do not change the signatures.

The grader passes float64 NumPy arrays (masks: bool or 0/1 int64 arrays) and
Python ints. Return NumPy arrays or torch tensors, in float64: torch's default
dtype is float32, which is not precise enough for the tests. You may use numpy,
math, the standard library and torch (not scipy or sklearn).
Grade your work with:  autograder grade attention attention.py
"""

import numpy as np


def softmax(x, axis=-1):
    """Numerically stable softmax of the array x along `axis`; same shape as x.

    exp(x - max) / sum(exp(x - max)), the max taken along `axis`, so that
    large inputs (say 1000) do not overflow.
    """
    raise NotImplementedError


def scaled_dot_product_attention(Q, K, V, mask=None):
    """Return (out, weights) for Q (..., M, d_k), K (..., N, d_k), V (..., N, d_v).

    weights = softmax(Q K^T / sqrt(d_k)) over the last axis (the N keys), shape
    (..., M, N); out = weights @ V, shape (..., M, d_v). The leading "..." axes
    are batch axes: transpose only the last two axes of K.

    mask (optional) broadcasts to (..., M, N); True or nonzero = may attend.
    Masked scores are set to -inf before the softmax. If a query row has no
    key it may attend to (a fully masked row), raise ValueError.
    """
    raise NotImplementedError


def causal_mask(T):
    """Return a (T, T) bool array: True on and below the diagonal (key j <= query i)."""
    raise NotImplementedError


def multi_head_attention(X, W_q, W_k, W_v, W_o, num_heads, mask=None):
    """Multi-head self-attention of X (T, D); returns (T, D).

    Q = X @ W_q, K = X @ W_k, V = X @ W_v (each W is (D, D); no biases). Head h
    uses the contiguous columns h*dh .. (h+1)*dh - 1 of Q, K and V, where
    dh = D // num_heads, and scales its scores by sqrt(dh). The heads' outputs
    are concatenated in order (T, D), then multiplied by W_o. mask (T, T)
    applies to every head. Raise ValueError if D is not divisible by num_heads.
    """
    raise NotImplementedError


def positional_encoding(T, d):
    """Sinusoidal positional encoding, a (T, d) array.

    PE[t, 2i] = sin(t / 10000**(2i/d)), PE[t, 2i+1] = cos(t / 10000**(2i/d)),
    for positions t = 0 .. T-1. For odd d the last column is a sin.
    """
    raise NotImplementedError

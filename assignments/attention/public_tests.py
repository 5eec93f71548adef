"""Public tests for attention: shipped with the handout, full feedback on failure.

Every value is float64 computed from float64 inputs, so results are compared to
rtol = 1e-9, atol = 1e-12 (room for a different summation order, not for float32).
"""

import numpy as np

from autograder.testing import case, check, check_exact, unpack

TIGHT = {"rtol": 1e-9, "atol": 1e-12}


def _compare_attention(sub, ref, *args):
    out, weights = unpack(sub.scaled_dot_product_attention(*args), 2,
                          "scaled_dot_product_attention")
    expected_out, expected_weights = ref.scaled_dot_product_attention(*args)
    check("weights returned by scaled_dot_product_attention", weights, expected_weights,
          **TIGHT)
    check("out returned by scaled_dot_product_attention", out, expected_out, **TIGHT)


@case
def public_softmax_rows(sub, ref):
    x = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]])
    check("softmax(x) of a (2, 3) array", sub.softmax(x), ref.softmax(x), **TIGHT)


@case
def public_sdpa_small(sub, ref):
    # M = 2 queries, N = 4 keys, d_k = 3, d_v = 2: no two sizes alike.
    Q = np.array([[1.0, 0.0, 1.0], [0.5, -1.0, 2.0]])
    K = np.array([[1.0, 2.0, 0.0], [0.0, 1.0, 1.0], [-1.0, 0.5, 1.5], [2.0, 0.0, -1.0]])
    V = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 2.0]])
    _compare_attention(sub, ref, Q, K, V)


@case
def public_sdpa_causal(sub, ref):
    X = np.array([[1.0, 0.5, -0.5, 0.0], [0.0, 1.0, 1.0, -1.0], [2.0, -1.0, 0.0, 0.5]])
    mask = np.array([[True, False, False], [True, True, False], [True, True, True]])
    _compare_attention(sub, ref, X, X, X[:, :2] * 3.0, mask)


@case
def public_causal_mask_4(sub, ref):
    check_exact("causal_mask(4)", sub.causal_mask(4), ref.causal_mask(4))


@case
def public_mha_two_heads(sub, ref):
    rng = np.random.default_rng(2024)
    T, D = 3, 6
    X = rng.normal(size=(T, D))
    W_q, W_k, W_v, W_o = (rng.normal(size=(D, D)) / np.sqrt(D) for _ in range(4))
    check("multi_head_attention(X, W_q, W_k, W_v, W_o, 2)",
          sub.multi_head_attention(X, W_q, W_k, W_v, W_o, 2),
          ref.multi_head_attention(X, W_q, W_k, W_v, W_o, 2), **TIGHT)


@case
def public_positional_encoding_small(sub, ref):
    check("positional_encoding(4, 6)", sub.positional_encoding(4, 6),
          ref.positional_encoding(4, 6), **TIGHT)

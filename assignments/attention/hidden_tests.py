"""Hidden tests for attention: seeded random inputs and purpose-built edge cases.

Tolerances: every input is float64 and every result is a short chain of
products, sums, exp, sin and cos, so values are compared to rtol = 1e-9,
atol = 1e-12. That leaves room for another summation order, for
exp(x - logsumexp) instead of exp(x - max) / sum, and for
exp(-2i ln(10000) / d) instead of 10000 ** (-2i/d) (measured: at most 2e-15 on
positional_encoding(50, 16)), but not for float32 (about 1e-7 relative), which
the handout rules out. No test needs a looser bound. Masks from causal_mask
are compared exactly (bool or 0/1). Expected exceptions pass only as ValueError.

Sizes are chosen so that a mistake cannot hide: M, N, d_k and d_v all differ
(a softmax over the wrong axis or a transpose of the wrong axes shows), d_k > 1
except in the test for d_k = 1 (where a missing sqrt hides and a d_k taken from
the wrong axis shows), and num_heads is > 1 with D / num_heads > 1 except in
the one-head test.
"""

import numpy as np

from autograder.testing import case, check, check_exact, expect_raises, unpack

TIGHT = {"rtol": 1e-9, "atol": 1e-12}


def _compare_attention(sub, ref, Q, K, V, mask=None, inputs=""):
    args = (Q, K, V) if mask is None else (Q, K, V, mask)
    out, weights = unpack(sub.scaled_dot_product_attention(*args), 2,
                          "scaled_dot_product_attention")
    expected_out, expected_weights = ref.scaled_dot_product_attention(*args)
    check(f"weights returned by scaled_dot_product_attention{inputs}", weights,
          expected_weights, **TIGHT)
    check(f"out returned by scaled_dot_product_attention{inputs}", out, expected_out, **TIGHT)


def _qkv(rng, batch, M, N, d_k, d_v, scale=1.0):
    return (scale * rng.normal(size=(*batch, M, d_k)), scale * rng.normal(size=(*batch, N, d_k)),
            rng.normal(size=(*batch, N, d_v)))


def _random_mask(rng, M, N):
    # Row 0 may attend to one key only, row 1 to every key, the others at random,
    # never to none.
    mask = rng.random((M, N)) < 0.5
    mask[0] = False
    mask[0, N // 2] = True
    mask[1] = True
    for row in mask:
        if not row.any():
            row[rng.integers(N)] = True
    return mask


def _weights(rng, D):
    return tuple(rng.normal(size=(D, D)) / np.sqrt(D) for _ in range(4))


# --- softmax -------------------------------------------------------------------------------

@case(hint="Subtract the maximum along the axis before exp, so that exp never overflows "
           "(inputs of 1000 or -1000 are fine for a stable softmax).")
def softmax_large_inputs_stable(sub, ref):
    x = np.array([[1000.0, 1001.0, 1002.0], [-1000.0, -1001.0, -999.0], [0.0, 800.0, -800.0]])
    check("softmax(x) with entries of size 1000", sub.softmax(x), ref.softmax(x), **TIGHT)


@case(hint="softmax(x, axis) normalises along the axis it is given, not always the last one; "
           "keep that axis (keepdims) when you subtract the max and divide by the sum.")
def softmax_axis_argument(sub, ref):
    rng = np.random.default_rng(31)
    x = rng.normal(size=(3, 5))
    check("softmax(x, axis=0) of a (3, 5) array", sub.softmax(x, axis=0),
          ref.softmax(x, axis=0), **TIGHT)
    y = rng.normal(size=(2, 3, 4))
    check("softmax(x, 1) of a (2, 3, 4) array", sub.softmax(y, 1), ref.softmax(y, 1), **TIGHT)


# --- scaled_dot_product_attention ----------------------------------------------------------

@case(hint="weights = softmax(Q K^T / sqrt(d_k)) with the softmax over the keys (the last "
           "axis, size N); out = weights @ V. Here M, N, d_k and d_v all differ.")
def sdpa_random_nonsquare(sub, ref):
    Q, K, V = _qkv(np.random.default_rng(41), (), M=5, N=7, d_k=4, d_v=3, scale=1.5)
    _compare_attention(sub, ref, Q, K, V)


@case(hint="d_k is the size of the last axis of Q and K (here 1), not the number of "
           "queries or keys.")
def sdpa_d_k_one(sub, ref):
    Q, K, V = _qkv(np.random.default_rng(42), (), M=3, N=5, d_k=1, d_v=2, scale=2.0)
    _compare_attention(sub, ref, Q, K, V)


@case(hint="Leading axes are batch axes: transpose only the last two axes of K "
           "(K.T reverses all of them on a 3-D or 4-D array).")
def sdpa_batched(sub, ref):
    rng = np.random.default_rng(43)
    Q, K, V = _qkv(rng, (2, 3), M=4, N=6, d_k=5, d_v=2)
    _compare_attention(sub, ref, Q, K, V, inputs=" for (2, 3, M, d) inputs")
    Q, K, V = _qkv(rng, (3,), M=2, N=5, d_k=3, d_v=4)
    _compare_attention(sub, ref, Q, K, V, inputs=" for (3, M, d) inputs")


@case(hint="True in the mask = may attend. Masked scores become -inf before the softmax, "
           "so masked keys get a weight of exactly 0 and each row still sums to 1.")
def sdpa_bool_mask(sub, ref):
    rng = np.random.default_rng(44)
    Q, K, V = _qkv(rng, (), M=4, N=6, d_k=3, d_v=2, scale=1.5)
    _compare_attention(sub, ref, Q, K, V, _random_mask(rng, 4, 6))


@case(hint="A mask may hold 0/1 integers: nonzero = may attend. Beware ~mask on an integer "
           "array: it is a bitwise not (~1 == -2), not a logical one.")
def sdpa_integer_mask(sub, ref):
    rng = np.random.default_rng(45)
    Q, K, V = _qkv(rng, (), M=5, N=3, d_k=2, d_v=4, scale=1.5)
    mask = _random_mask(rng, 5, 3).astype(np.int64)
    _compare_attention(sub, ref, Q, K, V, mask)


@case(hint="The mask broadcasts to (..., M, N) like any NumPy operand: an (M, N) mask "
           "applies to every batch item, a (B, 1, N) mask to every query of item b.")
def sdpa_mask_broadcasts_over_batch(sub, ref):
    rng = np.random.default_rng(46)
    Q, K, V = _qkv(rng, (3,), M=4, N=5, d_k=3, d_v=2, scale=1.5)
    _compare_attention(sub, ref, Q, K, V, _random_mask(rng, 4, 5),
                       inputs=" with an (M, N) mask on (3, M, d) inputs")
    padding = np.ones((3, 1, 5), dtype=bool)
    padding[0, 0, 3:] = False
    padding[2, 0, :4] = False
    _compare_attention(sub, ref, Q, K, V, padding,
                       inputs=" with a (3, 1, N) mask on (3, M, d) inputs")


@case(hint="Masked scores must be -inf before the softmax, not a large negative number such "
           "as -1e9: when the allowed scores are even more negative, a finite fill takes all "
           "the weight. The softmax must also subtract the row maximum, in float64.")
def sdpa_masked_scores_dominate(sub, ref):
    # Every allowed key scores -2e100; a masked key filled with any finite
    # number above that (-1e9, -1e30) outweighs them all, -inf never does.
    K = np.full((5, 4), -1e50)
    K[4] = np.random.default_rng(47).normal(size=4)
    Q = np.full((2, 4), 1e50)
    V = np.arange(10.0).reshape(5, 2)
    mask = np.array([[True, False, True, False, False], [False, True, True, True, False]])
    _compare_attention(sub, ref, Q, K, V, mask)


@case(hint="A query row that may attend to no key at all is the caller's error: raise "
           "ValueError (check the mask after broadcasting it).")
def sdpa_fully_masked_row_raises(sub, ref):
    rng = np.random.default_rng(48)
    Q, K, V = _qkv(rng, (), M=3, N=4, d_k=2, d_v=2)
    mask = np.ones((3, 4), dtype=bool)
    mask[1] = False
    with expect_raises(ValueError, "scaled_dot_product_attention(Q, K, V, mask) with row 1 "
                                   "of the mask all False"):
        sub.scaled_dot_product_attention(Q, K, V, mask)
    Q, K, V = _qkv(rng, (2,), M=3, N=4, d_k=2, d_v=2)
    padding = np.ones((2, 1, 4), dtype=np.int64)
    padding[1] = 0
    with expect_raises(ValueError, "scaled_dot_product_attention(Q, K, V, mask) with a "
                                   "(2, 1, N) 0/1 mask that hides every key of item 1"):
        sub.scaled_dot_product_attention(Q, K, V, padding)


# --- causal_mask ---------------------------------------------------------------------------

@case(hint="Query i may attend to keys j <= i: True on and below the diagonal, (T, T).")
def causal_mask_orientation(sub, ref):
    check_exact("causal_mask(5)", sub.causal_mask(5), ref.causal_mask(5))
    check_exact("causal_mask(1)", sub.causal_mask(1), ref.causal_mask(1))


# --- multi_head_attention ------------------------------------------------------------------

@case(hint="Project with X @ W (not W @ X, not X @ W.T); head h takes the contiguous columns "
           "h*dh .. (h+1)*dh - 1 and scales by sqrt(dh), dh = D / num_heads; put the heads "
           "back side by side in order, then multiply by W_o.")
def mha_random_heads(sub, ref):
    rng = np.random.default_rng(51)
    T, D = 5, 8
    X = rng.normal(size=(T, D))
    W = _weights(rng, D)
    for heads in (4, 2):
        check(f"multi_head_attention(X, W_q, W_k, W_v, W_o, {heads}) with T = 5, D = 8",
              sub.multi_head_attention(X, *W, heads), ref.multi_head_attention(X, *W, heads),
              **TIGHT)


@case(hint="With one head, multi-head attention is attention of X @ W_q, X @ W_k, X @ W_v "
           "scaled by sqrt(D), then @ W_o.")
def mha_one_head(sub, ref):
    rng = np.random.default_rng(52)
    T, D = 4, 5
    X = rng.normal(size=(T, D))
    W = _weights(rng, D)
    check("multi_head_attention(X, W_q, W_k, W_v, W_o, 1) with T = 4, D = 5",
          sub.multi_head_attention(X, *W, 1), ref.multi_head_attention(X, *W, 1), **TIGHT)


@case(hint="The (T, T) mask applies to every head, with the same meaning as in "
           "scaled_dot_product_attention (True = may attend).")
def mha_causal_mask(sub, ref):
    rng = np.random.default_rng(53)
    T, D = 7, 6
    X = rng.normal(size=(T, D))
    W = _weights(rng, D)
    mask = ref.causal_mask(T)
    check("multi_head_attention(X, W_q, W_k, W_v, W_o, 3, mask=causal_mask(7))",
          sub.multi_head_attention(X, *W, 3, mask=mask),
          ref.multi_head_attention(X, *W, 3, mask=mask), **TIGHT)


@case(hint="When D is not divisible by num_heads, raise ValueError.")
def mha_indivisible_raises(sub, ref):
    rng = np.random.default_rng(54)
    for T, D, heads in ((3, 6, 4), (2, 5, 2)):
        X = rng.normal(size=(T, D))
        W = _weights(rng, D)
        with expect_raises(ValueError, f"multi_head_attention with D = {D}, "
                                       f"num_heads = {heads}"):
            sub.multi_head_attention(X, *W, heads)


# --- positional_encoding -------------------------------------------------------------------

@case(hint="PE[t, 2i] = sin(t / 10000**(2i/d)) and PE[t, 2i+1] = cos of the same angle: "
           "columns 2i and 2i+1 share the exponent 2i/d.")
def pe_even_d(sub, ref):
    check("positional_encoding(50, 16)", sub.positional_encoding(50, 16),
          ref.positional_encoding(50, 16), **TIGHT)


@case(hint="For odd d there is one more sin column than cos columns: the last column is "
           "sin(t / 10000**((d-1)/d)).")
def pe_odd_d(sub, ref):
    check("positional_encoding(7, 5)", sub.positional_encoding(7, 5),
          ref.positional_encoding(7, 5), **TIGHT)
    check("positional_encoding(12, 9)", sub.positional_encoding(12, 9),
          ref.positional_encoding(12, 9), **TIGHT)


@case(hint="positional_encoding(T, d) is (T, d) for any T >= 1 and d >= 1; row t = 0 is "
           "sin(0) = 0, cos(0) = 1.")
def pe_edge_sizes(sub, ref):
    for T, d in ((1, 4), (5, 1), (3, 2)):
        check(f"positional_encoding({T}, {d})", sub.positional_encoding(T, d),
              ref.positional_encoding(T, d), **TIGHT)

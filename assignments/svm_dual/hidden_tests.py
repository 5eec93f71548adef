"""Hidden tests for svm_dual: seeded random inputs and purpose-built edge cases.

Tolerances (float64 throughout):

- Kernels, dual_objective, intercept and decision_function on given inputs:
  rtol = 1e-9, atol = 1e-12. Each value is a short sum of products (plus one
  exp); any sound order of operations, including ||x||^2 + ||z||^2 - 2<x, z>
  for the RBF kernel on these well-scaled inputs, stays far inside that.
- intercept on the reference's optimal alpha: rtol = atol = 1e-7. At the
  optimum every free support vector gives the same b up to the solver's KKT
  tolerance (1e-10 here), so any one of them, or their mean, is right.
- fit_dual: alpha is never compared, because the dual's optimum is unique in
  value, not always in alpha. As the spec states: each alpha within 1e-6 * C
  of [0, C], |sum(alpha * y)| <= 1e-6 * C, the dual objective within 1e-6
  relative of the optimum (the reference solved to a KKT violation of
  1e-10), the largest KKT violation <= 1e-3, and, on data with free support
  vectors, the decision values on unseen points within rtol = atol = 1e-3 of
  the optimum's (a looser bound: a KKT violation of 1e-3 moves b, and every
  decision value, by about that much).

Each function is tested on the reference's inputs: fit_dual gets the
reference's Gram matrices and is judged with the grader's own objective,
intercept and decision values (public_tests.judge_fit); intercept and
decision_function get purpose-built or reference alphas. A bug costs the
points of its own function.
"""

import functools

import numpy as np

from autograder.assignments.svm_dual.public_tests import judge_fit
from autograder.testing import case, check

TIGHT = {"rtol": 1e-9, "atol": 1e-12}
# The reference's optimum is solved this far past the default tol of 1e-6.
OPTIMUM_TOL = 1e-10
# Per call of fit_dual: a correct accelerated projected gradient in NumPy needs up to
# about 4 s on these problems on a loaded machine (SMO well under 1 s).
FIT_TIMEOUT_S = 20.0


def _blobs(seed, n_pos, n_neg, shift, d=2):
    """Two Gaussian clouds at +shift and -shift, shuffled, and 10 query points."""
    rng = np.random.default_rng(seed)
    shift = np.asarray(shift, dtype=np.float64)
    X = np.vstack([rng.normal(size=(n_pos, d)) + shift, rng.normal(size=(n_neg, d)) - shift])
    y = np.concatenate([np.ones(n_pos, dtype=np.int64), -np.ones(n_neg, dtype=np.int64)])
    order = rng.permutation(n_pos + n_neg)
    return X[order], y[order], rng.normal(size=(10, d)) * 1.5


def _problem(ref, X, y, Q, kernel, C):
    """(K, y, C, K_cross, optimal alpha) for a fit test; the optimum is solved tightly."""
    K, K_cross = kernel(X, X), kernel(X, Q)
    return K, y, C, K_cross, ref.fit_dual(K, y, C, tol=OPTIMUM_TOL)


# The datasets below are fixed by their seeds; caching saves solving each
# optimum again for every graded submission and every mutant replay.

@functools.cache
def _small_c(ref):
    # Linear kernel, C = 0.1: 18 alphas at C, 2 free, 20 at 0.
    X, y, Q = _blobs(1, 20, 20, [1.0, 0.5])
    return _problem(ref, X, y, Q, ref.linear_kernel, 0.1)


@functools.cache
def _rbf_overlap(ref):
    # Overlapping clouds, RBF(gamma = 0.5), C = 1: 27 at C, 9 free.
    X, y, Q = _blobs(2, 25, 25, [0.4, 0.4])
    return _problem(ref, X, y, Q, lambda A, B: ref.rbf_kernel(A, B, gamma=0.5), 1.0)


@functools.cache
def _unbalanced(ref):
    # 12 positives, 36 negatives: sum(alpha * y) = 0 is far from sum(alpha) = 0.
    X, y, Q = _blobs(3, 12, 36, [0.6, 0.6])
    return _problem(ref, 0.7 * X, y, 0.7 * Q,
                    lambda A, B: ref.polynomial_kernel(A, B, degree=2, coef0=1.0), 1.0)


@functools.cache
def _duplicates(ref):
    # Three points repeated with the opposite label, two with the same: pairs with
    # K_ii + K_jj - 2 K_ij = 0, where a naive SMO step divides by zero.
    X, y, Q = _blobs(4, 15, 15, [0.5, 0.5])
    X = np.vstack([X, X[:3], X[3:5]])
    y = np.concatenate([y, -y[:3], y[3:5]])
    return _problem(ref, X, y, Q, ref.linear_kernel, 0.5)


@functools.cache
def _rbf_overlap_for_intercept(ref):
    # Its own data: a fit_dual test never solves the problem whose optimal alpha an
    # intercept test hands to the submission, which could otherwise keep it for later.
    X, y, Q = _blobs(12, 25, 25, [0.4, 0.4])
    return _problem(ref, X, y, Q, lambda A, B: ref.rbf_kernel(A, B, gamma=0.5), 1.0)


@functools.cache
def _separable_large_c(ref):
    # Separable: with C = 100 no alpha reaches C (the largest is about 5).
    X, y, Q = _blobs(5, 15, 15, [2.0, 1.0])
    return _problem(ref, X, y, Q, ref.linear_kernel, 100.0)


def _random_points(seed, n, d):
    return np.random.default_rng(seed).normal(size=(n, d))


def _labels(seed, n):
    y = np.where(np.random.default_rng(seed).random(n) < 0.5, 1, -1).astype(np.int64)
    y[:2] = [1, -1]  # both classes, whatever the draw
    return y


def _gram(seed, n):
    X = _random_points(seed, n, 3)
    sq = np.sum((X[:, None, :] - X[None, :, :]) ** 2, axis=2)
    return np.exp(-0.5 * sq)


# --- kernels --------------------------------------------------------------------------------

@case(hint="<x_i, z_j> for every pair: the result has one row per row of X and one "
           "column per row of Z.")
def linear_kernel_rectangular(sub, ref):
    X, Z = _random_points(10, 5, 3), _random_points(11, 4, 3)
    check("linear_kernel(X, Z) with X (5, 3), Z (4, 3)", sub.linear_kernel(X, Z),
          ref.linear_kernel(X, Z), **TIGHT)


@case(hint="Check the default degree and coef0 in the signature: they differ from the "
           "perceptron assignment's.")
def polynomial_kernel_defaults(sub, ref):
    X, Z = _random_points(12, 4, 3), _random_points(13, 6, 3)
    check("polynomial_kernel(X, Z) with the default degree and coef0",
          sub.polynomial_kernel(X, Z), ref.polynomial_kernel(X, Z), **TIGHT)


@case(hint="The arguments come in the order (X, Z, degree, coef0); coef0 is added inside "
           "the power.")
def polynomial_kernel_positional_args(sub, ref):
    X, Z = _random_points(14, 3, 2), _random_points(15, 5, 2)
    check("polynomial_kernel(X, Z, 4, 0.5)", sub.polynomial_kernel(X, Z, 4, 0.5),
          ref.polynomial_kernel(X, Z, 4, 0.5), **TIGHT)


@case(hint="exp(-gamma * ||x - z||^2): gamma multiplies the squared Euclidean distance.")
def rbf_kernel_gamma(sub, ref):
    X, Z = 1.5 * _random_points(16, 5, 2), 1.5 * _random_points(17, 3, 2)
    check("rbf_kernel(X, Z, gamma=0.3)", sub.rbf_kernel(X, Z, gamma=0.3),
          ref.rbf_kernel(X, Z, gamma=0.3), **TIGHT)


@case(hint="Check the default gamma; a point's kernel with itself is exactly 1.")
def rbf_kernel_default_gamma_self(sub, ref):
    X = _random_points(18, 6, 3)
    check("rbf_kernel(X, X) with the default gamma", sub.rbf_kernel(X, X),
          ref.rbf_kernel(X, X), **TIGHT)


# --- dual objective -------------------------------------------------------------------------

@case(hint="sum(alpha) - 1/2 * sum_ij alpha_i alpha_j y_i y_j K_ij: the labels enter the "
           "quadratic term, and the result is one float.")
def dual_objective_random(sub, ref):
    rng = np.random.default_rng(20)
    alpha, y = rng.uniform(0.0, 2.0, size=9), _labels(21, 9)
    X = rng.normal(size=(9, 3))
    K = (X @ X.T + 1.0) ** 2
    check("dual_objective(alpha, y, K) on random inputs", sub.dual_objective(alpha, y, K),
          ref.dual_objective(alpha, y, K), **TIGHT)


# --- fit_dual -------------------------------------------------------------------------------

def _judge_fit_with_C(sub, ref, problem):
    K, y, C, K_cross, best = problem
    judge_fit(sub.fit_dual(K, y, C=C), y, K, C, K_cross, best,
              call=f"fit_dual(K, y, C={C})")


@case(hint="Every alpha must stay within [0, C] for the C passed in, while "
           "sum(alpha * y) stays 0.", timeout_s=FIT_TIMEOUT_S)
def fit_dual_small_C(sub, ref):
    _judge_fit_with_C(sub, ref, _small_c(ref))


@case(hint="Check the defaults C=1.0 and tol=1e-6, and that you iterate until the largest "
           "KKT violation is at most tol.", timeout_s=FIT_TIMEOUT_S)
def fit_dual_rbf_defaults(sub, ref):
    K, y, C, K_cross, best = _rbf_overlap(ref)
    judge_fit(sub.fit_dual(K, y), y, K, C, K_cross, best, call="fit_dual(K, y)")


@case(hint="sum(alpha * y) must be 0 at the end: start from a feasible alpha (alpha = 0) "
           "and keep every update on the constraint.", timeout_s=FIT_TIMEOUT_S)
def fit_dual_unbalanced_classes(sub, ref):
    _judge_fit_with_C(sub, ref, _unbalanced(ref))


@case(hint="Duplicate points make K_ii + K_jj - 2 K_ij = 0 for some pairs: the objective "
           "is then linear along the step, which goes to a bound (no division by zero).",
      timeout_s=FIT_TIMEOUT_S)
def fit_dual_duplicate_points(sub, ref):
    _judge_fit_with_C(sub, ref, _duplicates(ref))


@case(hint="The arguments come in the order (K, y, C, tol, max_iter); a large C may leave "
           "every alpha below C.", timeout_s=FIT_TIMEOUT_S)
def fit_dual_large_C_positional(sub, ref):
    K, y, C, K_cross, best = _separable_large_c(ref)
    judge_fit(sub.fit_dual(K, y, C, 1e-6, 100000), y, K, C, K_cross, best,
              call=f"fit_dual(K, y, {C}, 1e-6, 100000)")


# --- intercept ------------------------------------------------------------------------------

@case(hint="b is the mean of y_i - g_i over the free support vectors only "
           "(tol < alpha_i < C - tol), not over every alpha_i > 0.")
def intercept_mean_over_free_svs(sub, ref):
    K, y, C = _gram(30, 10), _labels(31, 10), 2.0
    alpha = np.array([0.0, 2.0, 0.7, 1.3, 0.0, 2.0, 0.2, 0.0, 1.9, 0.05])
    check("intercept with free and bound support vectors, C=2.0",
          sub.intercept(alpha, y, K, C=C), ref.intercept(alpha, y, K, C=C), **TIGHT)


@case(hint="An alpha_i <= tol = 1e-6 * C counts as 0 and one >= C - tol as C: "
           "solvers leave such leftovers.")
def intercept_tiny_alphas_are_zero(sub, ref):
    K, y = _gram(32, 10), _labels(33, 10)
    alpha = np.array([3e-9, 0.4, 1e-12, 0.8, 0.0, 1.0 - 2e-9, 1.0, 5e-10, 0.6, 0.0])
    check("intercept with alphas within 1e-6 * C of 0 and C, C=1.0",
          sub.intercept(alpha, y, K), ref.intercept(alpha, y, K), **TIGHT)


@case(hint="The tolerance is relative: tol = 1e-6 * C, not a fixed 1e-6.")
def intercept_tolerance_scales_with_C(sub, ref):
    K, y = _gram(34, 8), _labels(35, 8)
    # 5e-4 and 1000 - 5e-4 are within tol of the bounds; 5e-7 is below any tolerance.
    big = np.array([5e-4, 300.0, 1000.0 - 5e-4, 700.0, 5e-7, 1000.0, 450.0, 0.0])
    check("intercept with C=1000.0 (tol = 1e-3)", sub.intercept(big, y, K, C=1000.0),
          ref.intercept(big, y, K, C=1000.0), **TIGHT)
    small = np.array([5e-7, 2e-4, 1e-3 - 5e-7, 0.0, 1e-3, 6e-4, 0.0, 1e-3])
    check("intercept with C=0.001 (tol = 1e-9)", sub.intercept(small, y, K, C=1e-3),
          ref.intercept(small, y, K, C=1e-3), **TIGHT)


@case(hint="With no free support vector b is the midpoint (lo + hi) / 2 of the interval the "
           "KKT conditions allow; check which sets give lo and which give hi.")
def intercept_no_free_sv_midpoint(sub, ref):
    K, y = _gram(36, 10), _labels(37, 10)
    at = np.array([0, 1, 1, 0, 0, 1, 0, 1, 1, 0], dtype=np.float64)
    check("intercept with every alpha at 0 or C, default C", sub.intercept(at, y, K),
          ref.intercept(at, y, K), **TIGHT)
    check("intercept with every alpha at 0 or C, C=3.0", sub.intercept(3.0 * at, y, K, C=3.0),
          ref.intercept(3.0 * at, y, K, C=3.0), **TIGHT)


@case(hint="If one of the two sets that bound b is empty, b is the bound the other set "
           "gives (a finite number).")
def intercept_one_side_empty(sub, ref):
    K, y = _gram(38, 8), _labels(39, 8)
    positives_at_c = np.where(y > 0, 1.0, 0.0)  # no lower bound: b = hi
    check("intercept with no set giving a lower bound", sub.intercept(positives_at_c, y, K),
          ref.intercept(positives_at_c, y, K), **TIGHT)
    negatives_at_c = np.where(y < 0, 1.0, 0.0)  # no upper bound: b = lo
    check("intercept with no set giving an upper bound", sub.intercept(negatives_at_c, y, K),
          ref.intercept(negatives_at_c, y, K), **TIGHT)


@case(hint="At the optimum b comes from the free support vectors; those at C have "
           "y_i f(x_i) < 1.")
def intercept_reference_fit(sub, ref):
    K, y, C, _, best = _rbf_overlap_for_intercept(ref)
    check("intercept at the optimal alpha", sub.intercept(best, y, K, C),
          ref.intercept(best, y, K, C), rtol=1e-7, atol=1e-7)


# --- decision_function ----------------------------------------------------------------------

@case(hint="f(x) = sum_i alpha_i y_i K_cross[i, j] + b: K_cross is (n_train, m) and the "
           "result has one value per query point, not a label.")
def decision_function_rectangular(sub, ref):
    rng = np.random.default_rng(40)
    alpha, y = rng.uniform(0.0, 1.0, size=7), _labels(41, 7)
    K_cross = np.exp(-0.5 * rng.uniform(0.0, 4.0, size=(7, 4)))
    check("decision_function with K_cross (7, 4) and b=0.7",
          sub.decision_function(alpha, 0.7, y, K_cross),
          ref.decision_function(alpha, 0.7, y, K_cross), **TIGHT)


@case(hint="One query point still gives an array of shape (1,).")
def decision_function_single_query(sub, ref):
    rng = np.random.default_rng(42)
    alpha, y = rng.uniform(0.0, 1.0, size=6), _labels(43, 6)
    K_cross = rng.uniform(-1.0, 1.0, size=(6, 1))
    check("decision_function with one query point", sub.decision_function(alpha, -0.2, y, K_cross),
          ref.decision_function(alpha, -0.2, y, K_cross), **TIGHT)

"""Public tests for svm_dual: shipped with the handout, full feedback on failure.

fit_dual is judged as the hidden tests judge it (see :func:`judge_fit`): the
dual's optimum is unique in value, not always in alpha.
"""

import numpy as np

from autograder.testing import case, check, check_true, float_array

TIGHT = {"rtol": 1e-9, "atol": 1e-12}
# Bounds the spec states for fit_dual: objective within 1e-6 relative of the
# optimum, constraints within 1e-6 * C, KKT conditions within 1e-3.
OBJECTIVE_RTOL = 1e-6
KKT_ATOL = 1e-3
# A KKT violation of 1e-3 moves b, and so every decision value, by about as much.
DECISION = {"rtol": 1e-3, "atol": 1e-3}


# fit_dual is judged with the grader's own objective, intercept and decision values,
# computed here: a student kit replays the reference only on arguments known in
# advance, never on an alpha that a submission returned.

def objective(alpha, y, K):
    v = alpha * y
    return float(np.sum(alpha) - 0.5 * (v @ K @ v))


def _residuals(alpha, y, K, C):
    """y_i - g_i and the KKT bounds on b: (r, lower, upper) masks, free alphas in both."""
    tol = 1e-6 * C
    r = y - K.T @ (alpha * y)
    at_zero, at_c = alpha <= tol, alpha >= C - tol
    lower = ((y > 0) & ~at_c) | ((y < 0) & ~at_zero)
    upper = ((y > 0) & ~at_zero) | ((y < 0) & ~at_c)
    return r, lower, upper


def kkt_violation(alpha, y, K, C):
    """The largest KKT violation that the best intercept leaves, as the handout defines it.

    Every i gives b a bound: ``b >= y_i - g_i`` where alpha_i may still grow
    along y_i, ``b <= y_i - g_i`` where it may shrink (a free alpha gives
    both). The violation is half of how far the largest lower bound exceeds
    the smallest upper bound. alpha_i <= 1e-6 C counts as 0, >= C - 1e-6 C as C.
    """
    alpha, y = np.asarray(alpha, dtype=np.float64), np.asarray(y, dtype=np.float64)
    r, lower, upper = _residuals(alpha, y, np.asarray(K, dtype=np.float64), C)
    if not lower.any() or not upper.any():
        return 0.0
    return max(0.0, float(np.max(r[lower]) - np.min(r[upper])) / 2)


def intercept_of(alpha, y, K, C):
    """The spec's intercept: the mean over free alphas, else LIBSVM's midpoint."""
    r, lower, upper = _residuals(alpha, y, K, C)
    free = lower & upper
    if free.any():
        return float(np.mean(r[free]))
    if not lower.any():
        return float(np.min(r[upper]))
    if not upper.any():
        return float(np.max(r[lower]))
    return float((np.max(r[lower]) + np.min(r[upper])) / 2)


def judge_fit(got, y, K, C, K_cross, best, *, call):
    """Judge ``got``, what ``call`` returned, by what the optimum ``best`` fixes.

    ``call`` names the call in every label, so labels stay unique within a
    test. The order matters: the first check that fails names the mistake.
    """
    y, K = np.asarray(y, dtype=np.float64), np.asarray(K, dtype=np.float64)
    best, K_cross = np.asarray(best, dtype=np.float64), np.asarray(K_cross, dtype=np.float64)
    n = len(y)
    alpha = float_array(got, f"alpha returned by {call}")
    check_true(f"shape of alpha returned by {call}", alpha.shape == (n,),
               f"alpha has shape {alpha.shape}; expected ({n},)")
    check_true(f"alpha returned by {call} is finite", bool(np.all(np.isfinite(alpha))),
               "alpha contains NaN or infinity")
    outside = np.maximum(-alpha, 0.0) + np.maximum(alpha - C, 0.0)
    check(f"how far each alpha from {call} lies outside [0, C]", outside, np.zeros(n),
          rtol=0.0, atol=1e-6 * C)
    check(f"sum(alpha * y) for alpha from {call}", float(alpha @ y), 0.0,
          rtol=0.0, atol=1e-6 * C)
    check(f"dual objective at alpha from {call}", objective(alpha, y, K),
          objective(best, y, K), rtol=OBJECTIVE_RTOL, atol=0.0)
    check(f"largest KKT violation at alpha from {call}", kkt_violation(alpha, y, K, C), 0.0,
          rtol=0.0, atol=KKT_ATOL)
    check(f"decision values from alpha from {call} (with the grader's intercept)",
          (alpha * y) @ K_cross + intercept_of(alpha, y, K, C),
          (best * y) @ K_cross + intercept_of(best, y, K, C), **DECISION)


@case
def public_linear_kernel_example(sub, ref):
    X = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    Z = np.array([[1.0, -1.0], [2.0, 0.5]])
    check("linear_kernel(X, Z)", sub.linear_kernel(X, Z),
          np.array([[-1.0, 3.0], [-1.0, 8.0], [-1.0, 13.0]]), **TIGHT)


@case
def public_polynomial_kernel_example(sub, ref):
    X = np.array([[1.0, 2.0, 3.0]])
    Z = np.array([[4.0, 5.0, 6.0], [1.0, 0.0, -1.0]])
    check("polynomial_kernel(X, Z, degree=2, coef0=1.0)",
          sub.polynomial_kernel(X, Z, degree=2, coef0=1.0), np.array([[1089.0, 1.0]]), **TIGHT)


@case
def public_rbf_kernel_example(sub, ref):
    X = np.array([[0.0, 0.0], [1.0, 1.0]])
    Z = np.array([[1.0, 0.0], [3.0, 4.0]])
    # squared distances [[1, 25], [1, 13]]
    expected = np.exp(-0.1 * np.array([[1.0, 25.0], [1.0, 13.0]]))
    check("rbf_kernel(X, Z, gamma=0.1)", sub.rbf_kernel(X, Z, gamma=0.1), expected, **TIGHT)


@case
def public_dual_objective_example(sub, ref):
    alpha = np.array([0.5, 0.25, 0.25])
    y = np.array([1, -1, -1])
    K = np.array([[2.0, 1.0, 0.0], [1.0, 2.0, 1.0], [0.0, 1.0, 2.0]])
    # sum(alpha) = 1, v = alpha * y, v' K v = 0.625: 1 - 0.3125
    check("dual_objective(alpha, y, K)", sub.dual_objective(alpha, y, K), 0.6875, **TIGHT)


@case
def public_fit_two_points(sub, ref):
    # Two points 2 apart: alpha = 2 / ||x1 - x2||^2 = 0.5 each unless C is smaller.
    X = np.array([[2.0, 0.0], [0.0, 0.0]])
    y = np.array([1, -1])
    K = X @ X.T
    K_cross = X @ np.array([[1.0, 0.0], [3.0, 1.0], [-1.0, 2.0]]).T
    judge_fit(sub.fit_dual(K, y), y, K, 1.0, K_cross, np.array([0.5, 0.5]),
              call="fit_dual(K, y)")
    judge_fit(sub.fit_dual(K, y, C=0.25), y, K, 0.25, K_cross, np.array([0.25, 0.25]),
              call="fit_dual(K, y, C=0.25)")


@case
def public_intercept_free_svs(sub, ref):
    # Points 0 and 3 are free, point 1 sits at C, point 2 at 0: only 0 and 3 count.
    X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0], [-1.0, 0.0]])
    y = np.array([1, -1, 1, -1])
    alpha = np.array([0.5, 1.0, 0.0, 0.3])
    K = X @ X.T
    check("intercept(alpha, y, K, C=1.0)", sub.intercept(alpha, y, K, C=1.0),
          ref.intercept(alpha, y, K, C=1.0), **TIGHT)


@case
def public_decision_function_example(sub, ref):
    alpha, b, y = np.array([0.5, 0.5]), -1.0, np.array([1, -1])
    # K_cross[i, j] = <x_i, q_j> for x = (2, 0), (0, 1) and q = (1, 0), (3, 1), (-1, 2)
    K_cross = np.array([[2.0, 6.0, -2.0], [0.0, 1.0, 2.0]])
    check("decision_function(alpha, b, y, K_cross)",
          sub.decision_function(alpha, b, y, K_cross), np.array([0.0, 1.5, -3.0]), **TIGHT)

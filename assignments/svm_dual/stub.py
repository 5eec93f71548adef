"""Soft-margin SVM in the dual: fill in each function. Do not change the signatures.

Labels are in {-1, +1}. K is a Gram matrix, K[i, j] = k(x_i, x_j). You may
use numpy, math and the standard library (not sklearn, scipy or a QP solver).
Grade your work with:  autograder grade svm_dual svm_dual.py
"""

import numpy as np


def linear_kernel(X, Z):
    """Return the (n, m) matrix of <x_i, z_j>; X (n, d), Z (m, d)."""
    raise NotImplementedError


def polynomial_kernel(X, Z, degree=3, coef0=1.0):
    """Return the (n, m) matrix of (<x_i, z_j> + coef0) ** degree; X (n, d), Z (m, d)."""
    raise NotImplementedError


def rbf_kernel(X, Z, gamma=1.0):
    """Return the (n, m) matrix of exp(-gamma * ||x_i - z_j||^2); X (n, d), Z (m, d)."""
    raise NotImplementedError


def dual_objective(alpha, y, K):
    """Return sum(alpha) - 1/2 * sum_ij alpha_i alpha_j y_i y_j K_ij as a float."""
    raise NotImplementedError


def fit_dual(K, y, C=1.0, tol=1e-6, max_iter=100000):
    """Maximise the dual objective subject to sum(alpha * y) == 0 and 0 <= alpha <= C.

    K: (n, n) Gram matrix; y: (n,) labels in {-1, +1}. Any correct method
    (SMO, projected gradient, ...). Stop once the largest KKT violation is at
    most tol (see the handout), or after max_iter iterations.

    Returns alpha, an (n,) float array.
    """
    raise NotImplementedError


def intercept(alpha, y, K, C=1.0):
    """Return the bias b as a float.

    With g_i = sum_j alpha_j y_j K_ji and tol = 1e-6 * C: the mean of y_i - g_i
    over the free support vectors (tol < alpha_i < C - tol). With none, the
    midpoint (lo + hi) / 2 of the interval the KKT conditions allow, where
    alpha_i <= tol counts as 0 and alpha_i >= C - tol counts as C:
      lo = max of y_i - g_i over {alpha_i = 0, y_i = +1} and {alpha_i = C, y_i = -1}
      hi = min of y_i - g_i over {alpha_i = 0, y_i = -1} and {alpha_i = C, y_i = +1}
    If one of the two sets is empty, b is the bound the other one gives.
    """
    raise NotImplementedError


def decision_function(alpha, b, y, K_cross):
    """Return the (m,) values f(x) = sum_i alpha_i y_i K(x_i, x) + b.

    K_cross is (n_train, m): K_cross[i, j] = k(x_i, x_j) for training point i
    and query point j.
    """
    raise NotImplementedError

"""Perceptron assignment: fill in each function. Do not change the signatures.

Labels are in {-1, +1}; the score of a point is <w, x> + b. You may use
numpy, math and the standard library (not sklearn or scipy).
Grade your work with:  autograder grade perceptron perceptron.py
"""

import numpy as np


def perceptron_train(X, y, max_epochs=100):
    """Train a perceptron from w = 0, b = 0.

    X: (n, d) float array; y: (n,) labels in {-1, +1}.
    Each epoch visits i = 0 .. n-1 in order; if y[i] * (<w, X[i]> + b) <= 0 then
    w += y[i] * X[i], b += y[i], mistakes += 1. Stop after the first epoch with
    no update, or after max_epochs epochs.

    Returns (w, b, mistakes): w (d,), b a float, mistakes an int (all updates).
    """
    raise NotImplementedError


def perceptron_predict(X, w, b):
    """Return an (n,) array of +1 where <w, x> + b > 0, else -1."""
    raise NotImplementedError


def polynomial_kernel(X, Z, degree=2, coef0=0.0):
    """Return the (n, m) matrix of (<x_i, z_j> + coef0) ** degree; X (n, d), Z (m, d)."""
    raise NotImplementedError


def quadratic_features(X):
    """Map X (n, 2) to (n, 3): (x1**2, sqrt(2)*x1*x2, x2**2)."""
    raise NotImplementedError


def kernel_perceptron_train(K, y, max_epochs=100):
    """Train a kernel perceptron on the (n, n) Gram matrix K.

    f(x_i) = sum_j alpha[j] * y[j] * K[j, i] + b. Same visiting order and stop
    rule as perceptron_train; on y[i] * f(x_i) <= 0: alpha[i] += 1, b += y[i].

    Returns (alpha, b): alpha (n,) integer counts, b a float.
    """
    raise NotImplementedError

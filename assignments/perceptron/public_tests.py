"""Public tests for perceptron: shipped with the handout, full feedback on failure."""

import numpy as np

from autograder.testing import case, check, check_exact, unpack

TIGHT = {"rtol": 1e-9, "atol": 1e-9}


def _toy():
    X = np.array([[2.0, 1.0], [1.0, 3.0], [-1.0, -1.0], [-2.0, 0.5]])
    y = np.array([1, 1, -1, -1])
    return X, y


@case
def public_train_tiny(sub, ref):
    X, y = _toy()
    w, b, mistakes = unpack(sub.perceptron_train(X, y), 3, "perceptron_train")
    ew, eb, em = ref.perceptron_train(X, y)
    check("w returned by perceptron_train", w, ew, **TIGHT)
    check("b returned by perceptron_train", b, eb, **TIGHT)
    check_exact("mistakes returned by perceptron_train", mistakes, em)


@case
def public_predict_basic(sub, ref):
    X = np.array([[1.0, 2.0], [-3.0, 1.0], [0.5, -0.5]])
    w, b = np.array([1.0, -1.0]), 0.25
    check_exact("perceptron_predict(X, w, b)", sub.perceptron_predict(X, w, b),
                ref.perceptron_predict(X, w, b))


@case
def public_polynomial_kernel_example(sub, ref):
    X, Z = np.array([[1.0, 2.0, 3.0]]), np.array([[4.0, 5.0, 6.0]])
    check("polynomial_kernel([[1,2,3]], [[4,5,6]])", sub.polynomial_kernel(X, Z),
          np.array([[1024.0]]), **TIGHT)


@case
def public_quadratic_features_basic(sub, ref):
    X = np.array([[1.0, 2.0], [-1.5, 0.5]])
    check("quadratic_features(X)", sub.quadratic_features(X), ref.quadratic_features(X),
          **TIGHT)


@case
def public_kernel_train_tiny(sub, ref):
    X, y = _toy()
    K = X @ X.T
    alpha, b = unpack(sub.kernel_perceptron_train(K, y), 2, "kernel_perceptron_train")
    ea, eb = ref.kernel_perceptron_train(K, y)
    check_exact("alpha returned by kernel_perceptron_train", alpha, ea)
    check("b returned by kernel_perceptron_train", b, eb, **TIGHT)

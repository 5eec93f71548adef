"""Hidden tests for perceptron: seeded random inputs and purpose-built edge cases.

Tolerances: every quantity is a sum of products of float64 inputs computed in
the same order as the spec's update rule, so w, b and kernels are compared to
rtol = atol = 1e-9; counts, labels and alpha are compared exactly.
"""

import numpy as np

from autograder.testing import case, check, check_exact, unpack

TIGHT = {"rtol": 1e-9, "atol": 1e-9}


def _compare_train(sub, ref, X, y, **kwargs):
    w, b, mistakes = unpack(sub.perceptron_train(X, y, **kwargs), 3, "perceptron_train")
    ew, eb, em = ref.perceptron_train(X, y, **kwargs)
    check("w returned by perceptron_train", w, ew, **TIGHT)
    check("b returned by perceptron_train", b, eb, **TIGHT)
    check_exact("mistakes returned by perceptron_train", mistakes, em)


def _separable(seed, n, d):
    rng = np.random.default_rng(seed)
    w_true = rng.normal(size=d)
    X = rng.normal(size=(n, d))
    margin = X @ w_true + 0.3
    keep = np.abs(margin) > 0.2
    return X[keep], np.where(margin[keep] > 0, 1, -1)


def _xor(repeats=2):
    X = np.array([[1.0, 1.0], [-1.0, -1.0], [1.0, -1.0], [-1.0, 1.0]] * repeats)
    y = np.array([1, 1, -1, -1] * repeats)
    return X, y


@case(hint="A point whose score y*(<w, x> + b) is exactly 0 counts as a mistake.")
def train_boundary_counts_as_mistake(sub, ref):
    # Integer data: the second visit of x0 lands exactly on the boundary.
    X = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 1.0], [2.0, -1.0]])
    y = np.array([1, -1, -1, 1])
    _compare_train(sub, ref, X, y)


@case(hint="Visit the points in order 0..n-1 each epoch and update w, b and the count.")
def train_random_separable(sub, ref):
    X, y = _separable(seed=7, n=60, d=5)
    _compare_train(sub, ref, X, y)


@case(hint="On data that is not separable, stop after exactly max_epochs epochs; "
           "mistakes counts every update over all epochs.")
def train_nonseparable_stops_at_max_epochs(sub, ref):
    X, y = _xor()
    _compare_train(sub, ref, X, y, max_epochs=7)


@case(hint="Check the default value of max_epochs in the signature.")
def train_default_max_epochs(sub, ref):
    X, y = _xor(repeats=1)
    _compare_train(sub, ref, X, y)


@case(hint="The bias b is updated together with w.")
def train_needs_bias(sub, ref):
    rng = np.random.default_rng(3)
    X = rng.uniform(1.0, 3.0, size=(30, 2))
    y = np.where(X[:, 0] > 2.0, 1, -1)
    _compare_train(sub, ref, X, y, max_epochs=50)


@case(hint="A score of exactly 0 is predicted as -1; only a score > 0 gives +1.")
def predict_zero_score_is_negative(sub, ref):
    X = np.array([[1.0, 1.0], [2.0, -1.0], [0.0, 0.0], [3.0, 3.0]])
    w, b = np.array([1.0, -1.0]), 0.0
    check_exact("perceptron_predict on points with score 0", sub.perceptron_predict(X, w, b),
                ref.perceptron_predict(X, w, b))


@case
def predict_random(sub, ref):
    rng = np.random.default_rng(11)
    X, w = rng.normal(size=(50, 4)), rng.normal(size=4)
    check_exact("perceptron_predict(X, w, b)", sub.perceptron_predict(X, w, -0.3),
                ref.perceptron_predict(X, w, -0.3))


@case(hint="(<x_i, z_j> + coef0) ** degree, for every pair: the result is (n, m).")
def polynomial_kernel_coef0_and_degree(sub, ref):
    rng = np.random.default_rng(5)
    X, Z = rng.normal(size=(4, 3)), rng.normal(size=(6, 3))
    check("polynomial_kernel(X, Z, degree=3, coef0=1.5)",
          sub.polynomial_kernel(X, Z, degree=3, coef0=1.5),
          ref.polynomial_kernel(X, Z, degree=3, coef0=1.5), **TIGHT)


@case(hint="Check the default degree and coef0 in the signature.")
def polynomial_kernel_defaults(sub, ref):
    rng = np.random.default_rng(6)
    X, Z = rng.normal(size=(3, 2)), rng.normal(size=(5, 2))
    check("polynomial_kernel(X, Z)", sub.polynomial_kernel(X, Z), ref.polynomial_kernel(X, Z),
          **TIGHT)


@case(hint="phi(x) = (x1**2, sqrt(2)*x1*x2, x2**2), so that <phi(x), phi(z)> = (<x, z>)**2.")
def quadratic_features_matches_kernel(sub, ref):
    rng = np.random.default_rng(8)
    X = rng.normal(size=(7, 2))
    features = sub.quadratic_features(X)
    check("quadratic_features(X)", features, ref.quadratic_features(X), **TIGHT)


@case(hint="With a linear kernel the kernel perceptron makes exactly the primal perceptron's "
           "updates: alpha[i] counts the updates on point i.")
def kernel_train_matches_primal_linear(sub, ref):
    X, y = _separable(seed=21, n=40, d=3)
    alpha, b = unpack(sub.kernel_perceptron_train(X @ X.T, y), 2, "kernel_perceptron_train")
    ea, eb = ref.kernel_perceptron_train(X @ X.T, y)
    check_exact("alpha returned by kernel_perceptron_train", alpha, ea)
    check("b returned by kernel_perceptron_train", b, eb, **TIGHT)


@case(hint="Same visiting order and stop rule as the primal perceptron.")
def kernel_train_polynomial_nonseparable(sub, ref):
    X, y = _xor()
    X = X + np.array([[0.1, 0.0]] * len(X))
    K = (X @ X.T + 1.0) ** 2
    alpha, b = unpack(sub.kernel_perceptron_train(K, y, max_epochs=5), 2,
                      "kernel_perceptron_train")
    ea, eb = ref.kernel_perceptron_train(K, y, max_epochs=5)
    check_exact("alpha returned by kernel_perceptron_train", alpha, ea)
    check("b returned by kernel_perceptron_train", b, eb, **TIGHT)

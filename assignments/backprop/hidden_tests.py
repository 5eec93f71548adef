"""Hidden tests for backprop: seeded random inputs and purpose-built edge cases.

Tolerances (everything is float64):
- make_spiral with sigma = 0: atol = 1e-12, as the spec says; labels exactly.
- make_spiral with noise: statistics of the noise X - make_spiral(sigma=0) over
  6000 points, not the draws themselves (the spec fixes the generator, not the
  order of draws). Bounds are at least 5.4 standard errors, so a correct
  submission fails a check with probability below 1e-7: mean within 0.015 of 0
  (SE 0.0026 at sigma = 0.2); std within 5% of sigma per coordinate (SE 0.9%)
  and within 7% near the centre and near the rim (SE 1.1%); correlation
  between two classes' noise below 0.1 (SE 0.016). Over 2000 other seeds with
  another draw order (noise drawn as (2, m), transposed) none failed; the
  worst values were at most 61% of these bounds.
- relu: exact (max(z, 0) has no rounding).
- softmax, forward, backward: rtol = 1e-9, atol = 1e-12. Different but
  correct orders of summation differ by ~1e-15 relative; atol covers entries
  that are exactly 0 (dead units, zero gradients).
- cross_entropy: rtol = 1e-6, looser on purpose: a guard such as
  log(p + 1e-8) or clip(p, 1e-12, 1), which many courses teach, shifts these
  losses (true-class probabilities >= 0.01) by less than that, while every
  real mistake (sum instead of mean, wrong column, nan from 0 * log 0) is off
  by far more.
- train after 3 epochs of gradient descent: rtol = 1e-8, atol = 1e-10 (three
  compounded steps of float64 rounding).
- train's initial weights (epochs=0): their std within 10% of sqrt(2 / fan_in)
  (SE 1.1% for W_h, 1.6% for W_y); their mean within 0.12 std of 0 (SE 0.016
  and 0.022). Over 2000 other seeds with W_y drawn before W_h none failed; the
  worst values were at most 70% of these bounds.
- train on make_spiral(100, 3, 0.05): at least 90% training accuracy scored
  with the reference forward. The spec's budget is 20 s; each call here may
  take 40 s, because graders run on loaded machines. The reference takes
  about 0.2 s.
"""

import numpy as np

from autograder.assignments.backprop.public_tests import (KEYS, TIGHT, check_shape,
                                                           judge_backward, judge_forward,
                                                           params_dict)
from autograder.testing import case, check, check_exact, check_true, float_array, unpack

SPIRAL = {"rtol": 0.0, "atol": 1e-12}
LOSS = {"rtol": 1e-6, "atol": 0.0}


def _network(seed, m, n, d, C, scale=1.0):
    rng = np.random.default_rng(seed)
    params = {"W_h": scale * rng.normal(size=(d, n)), "b_h": scale * rng.normal(size=d),
              "W_y": scale * rng.normal(size=(C, d)), "b_y": scale * rng.normal(size=C)}
    return params, rng.normal(size=(m, n)), rng.integers(0, C, size=m)


def _spiral(sub, n, C, sigma, seed):
    """The student's spiral as float arrays of the right shapes."""
    call = f"make_spiral({n}, {C}, {sigma}, seed={seed})"
    X, labels = unpack(sub.make_spiral(n, C, sigma, seed=seed), 2, "make_spiral")
    X, labels = float_array(X, f"X from {call}"), float_array(labels, f"labels from {call}")
    check_shape(f"X from {call}", X, (C * n, 2))
    check_shape(f"labels from {call}", labels, (C * n,))
    check_true(f"X from {call}", bool(np.all(np.isfinite(X))), "it contains nan or inf")
    return X, labels


# --- make_spiral --------------------------------------------------------------------------

@case(hint="Class c uses the angle 2*pi/C*(2t + c) with C the number of classes, and "
           "X = t * (sin(angle), cos(angle)); rows are grouped by class in order 0..C-1.")
def spiral_exact_other_class_counts(sub, ref):
    for n, C in ((40, 5), (7, 2)):
        X, labels = unpack(sub.make_spiral(n, C), 2, "make_spiral")
        eX, elabels = ref.make_spiral(n, C)
        check(f"X returned by make_spiral({n}, {C})", X, eX, **SPIRAL)
        check_exact(f"labels returned by make_spiral({n}, {C})", labels, elabels)


@case(hint="Check the defaults in the signature: C=3, sigma=0.0, seed=0.")
def spiral_defaults(sub, ref):
    X, labels = unpack(sub.make_spiral(25), 2, "make_spiral")
    eX, elabels = ref.make_spiral(25)
    check("X returned by make_spiral(25)", X, eX, **SPIRAL)
    check_exact("labels returned by make_spiral(25)", labels, elabels)


@case(hint="The noise is added to X itself: independent N(0, sigma**2) on both coordinates "
           "of every point, from one default_rng(seed) created once.")
def spiral_noise_statistics(sub, ref):
    n, sigma = 2000, 0.2
    X, labels = _spiral(sub, n, 3, sigma, seed=5)
    clean, elabels = ref.make_spiral(n, 3)
    check_exact("labels returned by make_spiral with noise", labels, elabels)
    noise = X - clean
    check("mean of the noise in each coordinate", noise.mean(axis=0), [0.0, 0.0],
          rtol=0, atol=0.015)
    check("standard deviation of the noise in each coordinate", noise.std(axis=0),
          [sigma, sigma], rtol=0.05, atol=0)
    t = np.tile(np.linspace(0.0, 1.0, n), 3)
    check("standard deviation of the noise near the centre and near the rim",
          [noise[t < 1 / 3].std(), noise[t > 2 / 3].std()], [sigma, sigma], rtol=0.07, atol=0)
    by_class = noise.reshape(3, n * 2)
    check("correlation between the noise of classes 0 and 1, and of classes 1 and 2",
          [np.corrcoef(by_class[0], by_class[1])[0, 1],
           np.corrcoef(by_class[1], by_class[2])[0, 1]], [0.0, 0.0], rtol=0, atol=0.1)


@case(hint="Draw the noise from numpy.random.default_rng(seed): the same seed must give the "
           "same points, another seed other points.")
def spiral_noise_seeded(sub, ref):
    first, _ = _spiral(sub, 300, 3, 0.1, seed=11)
    again, _ = _spiral(sub, 300, 3, 0.1, seed=11)
    other, _ = _spiral(sub, 300, 3, 0.1, seed=12)
    check("make_spiral(300, 3, 0.1, seed=11) called twice", again, first, rtol=0, atol=0)
    check_true("make_spiral with seeds 11 and 12", not np.allclose(other, first),
               "seeds 11 and 12 gave the same points")


# --- relu and softmax ---------------------------------------------------------------------

@case(hint="relu(z) = max(z, 0) elementwise, keeping the shape; relu(0) = 0.")
def relu_zeros_and_negatives(sub, ref):
    rng = np.random.default_rng(13)
    Z = rng.normal(size=(6, 9))
    Z[::2, ::3] = 0.0
    Z[1, 1], Z[2, 2], Z[3, 3] = -0.0, 1e-300, -1e-300
    check_exact("relu(Z) for Z of shape (6, 9)", sub.relu(Z), ref.relu(Z))


@case(hint="softmax works row by row: each row of the (m, C) result sums to 1.")
def softmax_rows_non_square(sub, ref):
    rng = np.random.default_rng(17)
    L = 3.0 * rng.normal(size=(5, 3))
    check("softmax(L) for L of shape (5, 3)", sub.softmax(L), ref.softmax(L), **TIGHT)
    row = rng.normal(size=(1, 4))
    check("softmax(L) for a single row, L of shape (1, 4)", sub.softmax(row), ref.softmax(row),
          **TIGHT)


@case(hint="Subtract each row's own maximum before exp: exp(1000) overflows, and a single "
           "maximum over the whole array makes exp underflow to 0 in the other rows.")
def softmax_large_logits(sub, ref):
    big = np.array([[1000.0, 1001.0, 1002.0, 999.0],
                    [-1000.0, -1000.0, -1000.0, -1000.0],
                    [1000.0, 1000.0, 1000.0, 1000.0]])
    check("softmax of logits near +1000 and -1000", sub.softmax(big), ref.softmax(big), **TIGHT)
    offsets = np.array([[800.0, 801.0, 799.0, 800.0],
                        [-800.0, -799.0, -801.0, -800.0],
                        [0.5, -0.5, 1.5, 0.0]])
    check("softmax of rows with very different offsets", sub.softmax(offsets),
          ref.softmax(offsets), **TIGHT)


# --- cross_entropy ------------------------------------------------------------------------

def _probabilities(seed, m, C):
    """Softmax outputs whose every probability is >= 0.01 (see the tolerance note)."""
    rng = np.random.default_rng(seed)
    Y_hat = np.exp(rng.uniform(-1.5, 1.5, size=(m, C)))
    return Y_hat / Y_hat.sum(axis=1, keepdims=True), rng.integers(0, C, size=m)


@case(hint="The loss is the mean over the batch, not the sum, of -log of the probability of "
           "each row's own label.")
def cross_entropy_mean_not_sum(sub, ref):
    Y_hat, labels = _probabilities(19, 7, 4)
    check("cross_entropy(Y_hat, labels) for a batch of 7", sub.cross_entropy(Y_hat, labels),
          ref.cross_entropy(Y_hat, labels), **LOSS)


@case(hint="A batch of one row is still a batch: return a float.")
def cross_entropy_single_sample(sub, ref):
    Y_hat, labels = np.array([[0.2, 0.5, 0.3]]), np.array([1])
    check("cross_entropy(Y_hat, labels) for a batch of 1", sub.cross_entropy(Y_hat, labels),
          ref.cross_entropy(Y_hat, labels), **LOSS)


@case(hint="Take the log of the true class's probability only: other classes may have "
           "probability exactly 0, and 0 * log(0) is nan.")
def cross_entropy_zero_probability_elsewhere(sub, ref):
    Y_hat = np.array([[0.0, 1.0, 0.0], [0.25, 0.75, 0.0], [0.5, 0.0, 0.5], [0.0, 0.0, 1.0]])
    labels = np.array([1, 0, 2, 2])
    check("cross_entropy with zero probabilities outside the true class",
          sub.cross_entropy(Y_hat, labels), ref.cross_entropy(Y_hat, labels), **LOSS)


# --- forward and backward -----------------------------------------------------------------

@case(hint="h = relu(X @ W_h.T + b_h), logits = h @ W_y.T + b_y, Y_hat = softmax(logits) "
           "row-wise; W_h is (d, n) and W_y is (C, d).")
def forward_random(sub, ref):
    params, X, _ = _network(seed=23, m=6, n=4, d=5, C=3)
    judge_forward(sub, ref, params, X, "Y_hat returned by forward on a batch of 6")


@case(hint="forward must work for a batch of one row: Y_hat is then (1, C).")
def forward_single_sample(sub, ref):
    params, X, _ = _network(seed=29, m=1, n=3, d=4, C=3)
    judge_forward(sub, ref, params, X, "Y_hat returned by forward on a batch of 1")


@case(hint="The loss is a mean over the batch, so every gradient carries a factor 1/m; "
           "d loss/d logits = (Y_hat - onehot(labels)) / m.")
def backward_random(sub, ref):
    params, X, labels = _network(seed=31, m=8, n=4, d=5, C=3)
    judge_backward(sub, ref, params, X, labels, "backward on a batch of 8")


def zero_preactivation_network():
    """Integer data: many pre-activations are exactly 0, and unit 3 is 0 everywhere.

    Random inputs never land on ReLU's kink; ``tests/test_reference_backprop.py``
    checks that these do, and that the reference's gradient there matches autograd.
    """
    X = np.array([[1.0, -1.0, 2.0], [0.0, 1.0, -1.0], [2.0, 0.0, 1.0],
                  [-1.0, 1.0, 1.0], [1.0, 1.0, 0.0]])
    rng = np.random.default_rng(37)
    params = {"W_h": np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0], [1.0, 0.0, -1.0],
                               [0.0, 0.0, 0.0]]),
              "b_h": np.array([0.0, 0.0, -1.0, 0.0]),
              "W_y": rng.normal(size=(3, 4)), "b_y": rng.normal(size=3)}
    return params, X, np.array([0, 2, 1, 1, 0])


@case(hint="ReLU's derivative at exactly 0 is 0: mask with Z > 0, not Z >= 0.")
def backward_relu_derivative_at_zero(sub, ref):
    params, X, labels = zero_preactivation_network()
    judge_backward(sub, ref, params, X, labels, "backward with pre-activations exactly 0")


@case(hint="backward must work for a batch of one row (m = 1).")
def backward_single_sample(sub, ref):
    params, X, labels = _network(seed=41, m=1, n=3, d=4, C=3)
    judge_backward(sub, ref, params, X, labels, "backward on a batch of 1")


# --- train --------------------------------------------------------------------------------

def _train(sub, X, labels, n_hidden, n_classes, **kwargs):
    """Call train(X, labels, **kwargs); return its params as float arrays of the right shapes.

    ``n_hidden`` and ``n_classes`` are the sizes expected; pass ``hidden`` in
    ``kwargs`` too unless the default is under test.
    """
    call = "train(" + ", ".join(["X", "labels", *(f"{k}={v}" for k, v in kwargs.items())]) + ")"
    params = params_dict(sub.train(X, labels, **kwargs), call)
    n = X.shape[1]
    for key, shape in (("W_h", (n_hidden, n)), ("b_h", (n_hidden,)),
                       ("W_y", (n_classes, n_hidden)), ("b_y", (n_classes,))):
        check_shape(f"{key} returned by {call}", params[key], shape)
    check_true(f"params returned by {call}", all(np.all(np.isfinite(params[k])) for k in KEYS),
               "some values are nan or inf")
    return params


def _init_data():
    rng = np.random.default_rng(43)
    return rng.normal(size=(20, 8)), np.arange(20) % 4


@case(hint="He initialisation: W ~ N(0, 2 / fan_in), where fan_in is the number of inputs "
           "of the layer (n for W_h, hidden for W_y); biases start at 0.")
def train_he_init_statistics(sub, ref):
    X, labels = _init_data()
    params = _train(sub, X, labels, 500, 4, hidden=500, epochs=0, seed=1)
    for key, fan_in in (("W_h", 8), ("W_y", 500)):
        std = np.sqrt(2.0 / fan_in)
        check(f"standard deviation of the initial {key}", params[key].std(), std,
              rtol=0.1, atol=0)
        check(f"mean of the initial {key}, in units of sqrt(2/fan_in)",
              params[key].mean() / std, 0.0, rtol=0, atol=0.12)
    check_exact("initial b_h", params["b_h"], np.zeros(500))
    check_exact("initial b_y", params["b_y"], np.zeros(4))


@case(hint="Draw the initial weights from numpy.random.default_rng(seed): the same seed must "
           "give the same weights, another seed other weights; the default seed is 0.")
def train_seed_reproducible(sub, ref):
    X, labels = _init_data()
    first = _train(sub, X, labels, 30, 4, hidden=30, epochs=0, seed=0)
    default = _train(sub, X, labels, 30, 4, hidden=30, epochs=0)
    other = _train(sub, X, labels, 30, 4, hidden=30, epochs=0, seed=7)
    for key in ("W_h", "W_y"):
        check(f"initial {key} with the default seed and with seed=0", default[key], first[key],
              rtol=0, atol=0)
    check_true("initial W_h with seeds 0 and 7", not np.allclose(other["W_h"], first["W_h"]),
               "seeds 0 and 7 gave the same weights")


@case(hint="The number of classes is labels.max() + 1, even when a class in between has "
           "no example.")
def train_class_count(sub, ref):
    X = np.random.default_rng(47).normal(size=(6, 3))
    labels = np.array([0, 2, 0, 2, 2, 0])
    params = params_dict(sub.train(X, labels, hidden=4, epochs=0), "train")
    for key in ("W_y", "b_y"):
        rows = params[key].shape[0] if params[key].ndim else 0
        check_exact(f"number of classes: rows of {key} returned by train for labels in "
                    "{0, 2}", rows, 3)


@case(hint="Full-batch gradient descent: each epoch does one forward and one backward on the "
           "whole batch, then param -= lr * gradient for every parameter; nothing else "
           "(no regularisation, momentum or mini-batches).")
def train_gradient_descent_steps(sub, ref):
    rng = np.random.default_rng(53)
    X, labels = rng.normal(size=(12, 3)), np.arange(12) % 3
    start = _train(sub, X, labels, 6, 3, hidden=6, lr=0.5, epochs=0, seed=4)
    after = _train(sub, X, labels, 6, 3, hidden=6, lr=0.5, epochs=3, seed=4)
    expected = start
    for _ in range(3):
        _, cache = ref.forward(expected, X)
        grads = ref.backward(expected, cache, labels)
        expected = {k: expected[k] - 0.5 * grads[k] for k in KEYS}
    for key in KEYS:
        check(f"{key} after 3 epochs of gradient descent from the epochs=0 weights",
              after[key], expected[key], rtol=1e-8, atol=1e-10)


@case(hint="With the defaults (hidden=100, lr=1.0, epochs=1000) training on "
           "make_spiral(100, 3, 0.05) must reach 90% training accuracy within 20 s.",
      timeout_s=40.0, fingerprint=False)
def train_spiral_accuracy(sub, ref):
    X, labels = ref.make_spiral(100, 3, 0.05)
    params = _train(sub, X, labels, 100, 3)
    Y_hat, _ = ref.forward(params, X)
    accuracy = float(np.mean(Y_hat.argmax(axis=1) == labels))
    check_true("training accuracy on make_spiral(100, 3, 0.05)", accuracy >= 0.9,
               f"the returned params classify {accuracy:.1%} of the points; 90% is needed")

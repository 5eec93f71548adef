"""Public tests for backprop: shipped with the handout, full feedback on failure.

Tolerances as in the hidden tests: make_spiral atol 1e-12; relu exact;
softmax, forward and backward rtol 1e-9 / atol 1e-12; cross_entropy rtol 1e-6.
"""

import numpy as np

from autograder.compare import values_match
from autograder.proxy import StudentCallError
from autograder.testing import CheckFailure, case, check, check_exact, float_array, unpack

TIGHT = {"rtol": 1e-9, "atol": 1e-12}
KEYS = ("W_h", "b_h", "W_y", "b_y")


def params_dict(value, what):
    """A returned params/grads dict as float64 arrays, or a failure naming what is wrong."""
    if not isinstance(value, dict):
        raise CheckFailure(f"{what} returned a {type(value).__name__}; expected a dict with "
                           f"keys {', '.join(KEYS)}", what)
    missing = [k for k in KEYS if k not in value]
    if missing:
        raise CheckFailure(f"{what} returned a dict without the key(s) {', '.join(missing)}; "
                           f"expected keys {', '.join(KEYS)}", what)
    return {k: float_array(value[k], f"{what}[{k!r}]") for k in KEYS}


def check_shape(label, array, shape):
    """Fail with both shapes named; check_exact on shapes of other lengths reads badly."""
    if array.shape != tuple(shape):
        raise CheckFailure(f"{label} has shape {array.shape}; expected {tuple(shape)}", label)


def _network(seed, m, n, d, C):
    rng = np.random.default_rng(seed)
    params = {"W_h": rng.normal(size=(d, n)), "b_h": rng.normal(size=d),
              "W_y": rng.normal(size=(C, d)), "b_y": rng.normal(size=C)}
    return params, rng.normal(size=(m, n)), rng.integers(0, C, size=m)


def _finite_shaped(value, shape):
    """``value`` as a float array if it is finite and of ``shape``, else None."""
    try:
        array = float_array(value, "value")
    except CheckFailure:
        return None
    return array if array.shape == shape and np.all(np.isfinite(array)) else None


def _own(call, shape):
    """What one of the student's helpers returns, if usable; None if it fails or is not."""
    try:
        return _finite_shaped(call(), shape)
    except StudentCallError:
        return None


def _own_hidden(sub, cache):
    """The student's relu of the reference pre-activations (the reference's if unusable)."""
    h = _own(lambda: sub.relu(cache["Z"]), cache["h"].shape)
    return cache["h"] if h is None else h


# forward and backward use relu and softmax. So that one mistake costs its own
# points only, forward and backward are judged on top of the student's own relu
# and softmax: a mistake there is charged by the relu and softmax tests.

def judge_forward(sub, ref, params, X, label):
    """Check forward's Y_hat; a Y_hat equal to the student's own softmax(relu) of the
    reference's pre-activations passes too."""
    Y_hat, _ = unpack(sub.keeping(1).forward(params, X), 2, "forward")
    expected, cache = ref.forward(params, X)
    if not values_match(Y_hat, expected, **TIGHT):
        # A fresh worker: in the one that answered forward, softmax could return Y_hat again.
        sub = sub.fresh()
        logits = _own_hidden(sub, cache) @ params["W_y"].T + params["b_y"]
        theirs = _own(lambda: sub.softmax(logits), expected.shape)
        if theirs is not None and values_match(Y_hat, theirs, **TIGHT):
            return
    check(label, Y_hat, expected, **TIGHT)


def judge_backward(sub, ref, params, X, labels, what):
    """Check backward on the student's own cache, from their forward's Y_hat and their
    relu's h (where usable) rather than the reference's."""
    Y_hat, cache = unpack(sub.keeping(1).forward(params, X), 2, "forward")
    grads = params_dict(sub.backward(params, cache, labels), "backward")
    _, ref_cache = ref.forward(params, X)
    # A fresh worker: in the one that answered backward, relu could return an h
    # made to fit backward's gradient for W_y.
    theirs = {"h": _own_hidden(sub.fresh(), ref_cache),
              "Y_hat": _finite_shaped(Y_hat, ref_cache["Y_hat"].shape)}
    # Only values that differ replace the reference's: a student kit has recorded
    # ref.backward on the reference's own cache, and nothing else.
    changed = {k: v for k, v in theirs.items()
               if v is not None and not values_match(v, ref_cache[k], **TIGHT)}
    expected = ref.backward(params, dict(ref_cache, **changed), labels)
    for key in KEYS:
        check(f"{what}: gradient for {key}", grads[key], expected[key], **TIGHT)


@case
def public_make_spiral_small(sub, ref):
    X, labels = unpack(sub.make_spiral(5, 3), 2, "make_spiral")
    eX, elabels = ref.make_spiral(5, 3)
    check("X returned by make_spiral(5, 3)", X, eX, rtol=0, atol=1e-12)
    check_exact("labels returned by make_spiral(5, 3)", labels, elabels)


@case
def public_relu_basic(sub, ref):
    Z = np.array([[-2.0, 0.0, 3.5], [1e-3, -1e-3, 7.0]])
    check_exact("relu(Z)", sub.relu(Z), ref.relu(Z))


@case
def public_softmax_basic(sub, ref):
    L = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 0.0]])
    check("softmax(L) for L of shape (2, 3)", sub.softmax(L), ref.softmax(L), **TIGHT)


@case
def public_cross_entropy_basic(sub, ref):
    Y_hat = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.25, 0.5, 0.25]])
    labels = np.array([0, 2, 1])
    check("cross_entropy(Y_hat, labels)", sub.cross_entropy(Y_hat, labels),
          ref.cross_entropy(Y_hat, labels), rtol=1e-6, atol=0)


@case
def public_forward_small(sub, ref):
    params, X, _ = _network(seed=1, m=4, n=3, d=5, C=2)
    judge_forward(sub, ref, params, X, "Y_hat returned by forward on a batch of 4")


@case
def public_backward_small(sub, ref):
    params, X, labels = _network(seed=2, m=4, n=3, d=5, C=2)
    judge_backward(sub, ref, params, X, labels, "backward on a batch of 4")


@case
def public_train_shapes(sub, ref):
    X, labels = ref.make_spiral(4, 3)
    params = params_dict(sub.train(X, labels, hidden=5, epochs=0), "train")
    for key, shape in (("W_h", (5, 2)), ("b_h", (5,)), ("W_y", (3, 5)), ("b_y", (3,))):
        check_shape(f"{key} returned by train(X, labels, hidden=5, epochs=0)",
                    params[key], shape)
    check_exact("b_h before training", params["b_h"], np.zeros(5))
    check_exact("b_y before training", params["b_y"], np.zeros(3))

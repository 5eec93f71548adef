"""Reference implementation: spiral data and a two-layer ReLU network trained by backprop.

NumPy, float64. A plain module with no autograder import: it is graded like a
submission in ``autograder selftest`` and its mutants are patches of this source.
The cache of :func:`forward` is a dict; the hidden tests rely on its ``"Y_hat"``
key to judge ``backward`` given a student's own forward probabilities.
"""

import numpy as np


def make_spiral(n_per_class, C=3, sigma=0.0, seed=0):
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 1.0, n_per_class)
    X = np.zeros((C * n_per_class, 2))
    labels = np.zeros(C * n_per_class, dtype=np.int64)
    for c in range(C):
        angle = 2 * np.pi / C * (2 * t + c)
        rows = slice(c * n_per_class, (c + 1) * n_per_class)
        clean = np.stack([t * np.sin(angle), t * np.cos(angle)], axis=1)
        X[rows] = clean + sigma * rng.standard_normal((n_per_class, 2))
        labels[rows] = c
    return X, labels


def relu(Z):
    return np.maximum(np.asarray(Z, dtype=np.float64), 0.0)


def softmax(L):
    L = np.asarray(L, dtype=np.float64)
    shifted = L - L.max(axis=1, keepdims=True)
    E = np.exp(shifted)
    return E / E.sum(axis=1, keepdims=True)


def cross_entropy(Y_hat, labels):
    Y_hat = np.asarray(Y_hat, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    m = Y_hat.shape[0]
    p = Y_hat[np.arange(m), labels]
    return float(-np.mean(np.log(p)))


def _arrays(params):
    return {k: np.asarray(params[k], dtype=np.float64) for k in ("W_h", "b_h", "W_y", "b_y")}


def forward(params, X):
    p = _arrays(params)
    X = np.asarray(X, dtype=np.float64)
    Z = X @ p["W_h"].T + p["b_h"]
    h = relu(Z)
    logits = h @ p["W_y"].T + p["b_y"]
    Y_hat = softmax(logits)
    return Y_hat, {"X": X, "Z": Z, "h": h, "Y_hat": Y_hat}


def backward(params, cache, labels):
    p = _arrays(params)
    X, Z, h, Y_hat = cache["X"], cache["Z"], cache["h"], cache["Y_hat"]
    labels = np.asarray(labels, dtype=np.int64)
    m = X.shape[0]
    onehot = np.zeros_like(Y_hat)
    onehot[np.arange(m), labels] = 1.0
    dL = (Y_hat - onehot) / m
    dW_y = dL.T @ h
    db_y = dL.sum(axis=0)
    dZ = (dL @ p["W_y"]) * (Z > 0)
    dW_h = dZ.T @ X
    db_h = dZ.sum(axis=0)
    return {"W_h": dW_h, "b_h": db_h, "W_y": dW_y, "b_y": db_y}


def train(X, labels, hidden=100, lr=1.0, epochs=1000, seed=0):
    X = np.asarray(X, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    n = X.shape[1]
    C = int(labels.max()) + 1
    rng = np.random.default_rng(seed)
    params = {
        "W_h": rng.normal(0.0, np.sqrt(2.0 / n), size=(hidden, n)),
        "b_h": np.zeros(hidden),
        "W_y": rng.normal(0.0, np.sqrt(2.0 / hidden), size=(C, hidden)),
        "b_y": np.zeros(C),
    }
    for _ in range(epochs):
        _, cache = forward(params, X)
        grads = backward(params, cache, labels)
        params = {k: params[k] - lr * grads[k] for k in params}
    return params

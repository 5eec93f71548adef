"""Reference implementation: spiral data and a two-layer ReLU network trained by backprop.

NumPy, float64, with a torch path: with ``DEVICE`` set to a GPU (``autograder
grade --device cuda``) relu, softmax, the loss, forward, backward and train
compute in float64 torch on that device and still return NumPy arrays. A plain
module with no autograder import: it is graded like a submission in
``autograder selftest`` and its mutants are patches of the NumPy lines (they
run on the CPU, where mutants are replayed).
The cache of :func:`forward` is a dict; the hidden tests rely on its ``"Y_hat"``
key to judge ``backward`` given a student's own forward probabilities.
"""

import math

import numpy as np

DEVICE = "cpu"
# The torch path on the CPU too: lets the tests cover that path without a GPU.
TORCH_ON_CPU = False


def _use_torch():
    return DEVICE != "cpu" or TORCH_ON_CPU


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
    if _use_torch():
        return _torch.relu(Z)
    return np.maximum(np.asarray(Z, dtype=np.float64), 0.0)


def softmax(L):
    if _use_torch():
        return _torch.softmax(L)
    L = np.asarray(L, dtype=np.float64)
    shifted = L - L.max(axis=1, keepdims=True)
    E = np.exp(shifted)
    return E / E.sum(axis=1, keepdims=True)


def cross_entropy(Y_hat, labels):
    if _use_torch():
        return _torch.cross_entropy(Y_hat, labels)
    Y_hat = np.asarray(Y_hat, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    m = Y_hat.shape[0]
    p = Y_hat[np.arange(m), labels]
    return float(-np.mean(np.log(p)))


def _arrays(params):
    return {k: np.asarray(params[k], dtype=np.float64) for k in ("W_h", "b_h", "W_y", "b_y")}


def forward(params, X):
    if _use_torch():
        return _torch.forward(params, X)
    p = _arrays(params)
    X = np.asarray(X, dtype=np.float64)
    Z = X @ p["W_h"].T + p["b_h"]
    h = relu(Z)
    logits = h @ p["W_y"].T + p["b_y"]
    Y_hat = softmax(logits)
    return Y_hat, {"X": X, "Z": Z, "h": h, "Y_hat": Y_hat}


def backward(params, cache, labels):
    if _use_torch():
        return _torch.backward(params, cache, labels)
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
    if _use_torch():
        return _torch.train(X, labels, hidden, lr, epochs, seed)
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


def _he_init(fan_in, hidden, classes, seed):
    """train's initial draws, written apart from train's own lines (mutants patch those)."""
    rng = np.random.default_rng(seed)
    w_h = rng.normal(loc=0.0, scale=math.sqrt(2 / fan_in), size=(hidden, fan_in))
    w_y = rng.normal(loc=0.0, scale=math.sqrt(2 / hidden), size=(classes, hidden))
    return {"W_h": w_h, "b_h": np.zeros(hidden), "W_y": w_y, "b_y": np.zeros(classes)}


class _torch:
    """The same maths in float64 torch on DEVICE; inputs and outputs are NumPy."""

    @staticmethod
    def _t(x, dtype=None):
        import torch

        return torch.as_tensor(np.asarray(x, dtype=dtype or np.float64), device=DEVICE)

    @staticmethod
    def _np(t):
        return t.detach().cpu().numpy()

    @classmethod
    def relu(cls, Z):
        return cls._np(cls._t(Z).clamp_min(0.0))

    @classmethod
    def _softmax(cls, L):
        shifted = L - L.amax(dim=1, keepdim=True)
        E = shifted.exp()
        return E / E.sum(dim=1, keepdim=True)

    @classmethod
    def softmax(cls, L):
        return cls._np(cls._softmax(cls._t(L)))

    @classmethod
    def cross_entropy(cls, Y_hat, labels):
        Y_hat, labels = cls._t(Y_hat), cls._t(labels, np.int64)
        p = Y_hat[range(Y_hat.shape[0]), labels]
        return float(-p.log().mean())

    @classmethod
    def _forward(cls, p, X):
        pre = X @ p["W_h"].T + p["b_h"]
        h = pre.clamp_min(0.0)
        return cls._softmax(h @ p["W_y"].T + p["b_y"]), pre, h

    @classmethod
    def _backward(cls, p, X, Z, h, Y_hat, labels):
        import torch

        m = X.shape[0]
        onehot = torch.zeros_like(Y_hat)
        onehot[range(m), labels] = 1.0
        d_logits = (Y_hat - onehot) / m
        d_pre = (d_logits @ p["W_y"]) * Z.gt(0)
        return {"W_h": d_pre.T @ X, "b_h": d_pre.sum(dim=0),
                "W_y": d_logits.T @ h, "b_y": d_logits.sum(dim=0)}

    @classmethod
    def forward(cls, params, X):
        p = {k: cls._t(params[k]) for k in ("W_h", "b_h", "W_y", "b_y")}
        X = cls._t(X)
        Y_hat, Z, h = cls._forward(p, X)
        cache = {"X": X, "Z": Z, "h": h, "Y_hat": Y_hat}
        return cls._np(Y_hat), {k: cls._np(v) for k, v in cache.items()}

    @classmethod
    def backward(cls, params, cache, labels):
        p = {k: cls._t(params[k]) for k in ("W_h", "b_h", "W_y", "b_y")}
        c = {k: cls._t(cache[k]) for k in ("X", "Z", "h", "Y_hat")}
        grads = cls._backward(p, c["X"], c["Z"], c["h"], c["Y_hat"], cls._t(labels, np.int64))
        return {k: cls._np(v) for k, v in grads.items()}

    @classmethod
    def train(cls, X, labels, hidden, lr, epochs, seed):
        X, labels_np = cls._t(X), np.asarray(labels, dtype=np.int64)
        labels = cls._t(labels_np, np.int64)
        p = {k: cls._t(v) for k, v in
             _he_init(X.shape[1], hidden, int(labels_np.max()) + 1, seed).items()}
        for _ in range(epochs):
            Y_hat, Z, h = cls._forward(p, X)
            grads = cls._backward(p, X, Z, h, Y_hat, labels)
            p = {k: p[k] - lr * grads[k] for k in p}
        return {k: cls._np(v) for k, v in p.items()}

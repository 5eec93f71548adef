"""A student submission for perceptron, bundled as a demo: two realistic mistakes."""


import numpy as np


def perceptron_train(X, y, max_epochs=100):
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    n, d = X.shape
    w = np.zeros(d)
    b = 0.0
    mistakes = 0
    for _ in range(max_epochs):
        updated = False
        for i in range(n):
            if y[i] * (np.dot(w, X[i]) + b) <= 0:
                w = w + y[i] * X[i]
                b = b + y[i]
                mistakes += 1
                updated = True
        if not updated:
            break
    return w, float(b), int(mistakes)


def perceptron_predict(X, w, b):
    scores = np.asarray(X, dtype=np.float64) @ np.asarray(w, dtype=np.float64) + b
    return np.where(scores >= 0, 1, -1)


def polynomial_kernel(X, Z, degree=2, coef0=0.0):
    X = np.asarray(X, dtype=np.float64)
    Z = np.asarray(Z, dtype=np.float64)
    return (X @ Z.T + coef0) ** degree


def quadratic_features(X):
    X = np.asarray(X, dtype=np.float64)
    x1, x2 = X[:, 0], X[:, 1]
    return np.stack([x1 ** 2, np.sqrt(2.0) * x1 * x2, x2 ** 2], axis=1)


def kernel_perceptron_train(K, y, max_epochs=100):
    K = np.asarray(K, dtype=np.float64)
    y = np.asarray(y)
    n = K.shape[0]
    alpha = np.zeros(n, dtype=np.int64)
    b = 0.0
    for _ in range(max_epochs):
        updated = False
        for i in range(n):
            f = np.sum(alpha * y * K[:, i]) + b
            if y[i] * f <= 0:
                alpha[i] += y[i]
                b = b + y[i]
                updated = True
        if not updated:
            break
    return alpha, float(b)

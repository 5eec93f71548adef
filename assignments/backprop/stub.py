"""Backprop assignment: fill in each function. Do not change the signatures.

Network: h = relu(X @ W_h.T + b_h), logits = h @ W_y.T + b_y,
y_hat = softmax(logits) row-wise. Shapes: X (m, n), W_h (d, n), b_h (d,),
W_y (C, d), b_y (C,), labels (m,) integers in 0..C-1.
Loss: the mean over the batch of -log(y_hat[i, labels[i]]).

You may use numpy, math and the standard library. torch, jax, tensorflow,
autograd, scipy and sklearn are refused: derive the gradients yourself.
Grade your work with:  autograder grade backprop backprop.py
"""

import numpy as np


def make_spiral(n_per_class, C=3, sigma=0.0, seed=0):
    """Return (X, labels): C interleaved spiral arms of n_per_class points each.

    Class c = 0..C-1 takes t = linspace(0, 1, n_per_class) and
    X = t * (sin(2*pi/C*(2t + c)), cos(2*pi/C*(2t + c))), plus Gaussian noise of
    standard deviation sigma drawn from numpy.random.default_rng(seed).
    Rows are grouped by class in order: all of class 0, then class 1, ...

    Returns X (C*n_per_class, 2) floats and labels (C*n_per_class,) integers.
    """
    raise NotImplementedError


def relu(Z):
    """Return max(Z, 0) elementwise, same shape as Z."""
    raise NotImplementedError


def softmax(L):
    """Return the row-wise softmax of the (m, C) logits L, numerically stable.

    Each row of the result sums to 1. Logits of 1000 or -1000 must not give
    inf or nan.
    """
    raise NotImplementedError


def cross_entropy(Y_hat, labels):
    """Return the mean over rows i of -log(Y_hat[i, labels[i]]), as a float.

    Y_hat (m, C) probabilities, labels (m,) integers in 0..C-1.
    """
    raise NotImplementedError


def forward(params, X):
    """Run the network on X (m, n); return (Y_hat, cache).

    params is a dict with keys "W_h", "b_h", "W_y", "b_y". Y_hat is the (m, C)
    array of probabilities; cache is whatever backward needs (any Python
    value: the grader never looks inside it, it only hands it to backward).
    """
    raise NotImplementedError


def backward(params, cache, labels):
    """Return the gradients of the mean loss as a dict with keys W_h, b_h, W_y, b_y.

    cache is what forward returned; labels (m,) integers. Each gradient has
    the shape of its parameter. ReLU's derivative at 0 is taken as 0.
    """
    raise NotImplementedError


def train(X, labels, hidden=100, lr=1.0, epochs=1000, seed=0):
    """Train the network by full-batch gradient descent; return the params dict.

    Start from W_h ~ N(0, 2/n) of shape (hidden, n), W_y ~ N(0, 2/hidden) of
    shape (C, hidden) (He scaling: variance 2/fan_in), both drawn from
    numpy.random.default_rng(seed), and zero biases; C = labels.max() + 1.
    Then take `epochs` steps of  param -= lr * gradient  on the whole batch.
    """
    raise NotImplementedError

"""Optimizers assignment: fill in each function. Do not change the signatures.

Arrays arrive as float64 NumPy arrays of any shape; compute in float64 and
return new arrays (NumPy arrays, or float64 torch tensors). You may use numpy,
math, the standard library and torch (not scipy or sklearn).
Grade your work with:  autograder grade adam adam.py
"""

import math

import numpy as np


def sgd_momentum_step(w, dw, v, lr=0.01, beta=0.9):
    """One step of gradient descent with momentum (exponential-average form).

    v = beta * v + (1 - beta) * dw
    w = w - lr * v

    w, dw, v: arrays of the same shape. Returns (w, v), both new arrays.
    """
    raise NotImplementedError


def rmsprop_step(w, dw, s, lr=0.01, beta2=0.99, eps=1e-8):
    """One RMSprop step.

    s = beta2 * s + (1 - beta2) * dw**2
    w = w - lr * dw / (sqrt(s) + eps)

    w, dw, s: arrays of the same shape. Returns (w, s), both new arrays.
    """
    raise NotImplementedError


def adam_step(w, dw, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    """One Adam step (Kingma & Ba); t is the step number, counting from 1.

    m = beta1 * m + (1 - beta1) * dw
    v = beta2 * v + (1 - beta2) * dw**2
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    w = w - lr * m_hat / (sqrt(v_hat) + eps)

    w, dw, m, v: arrays of the same shape; t an int >= 1.
    Returns (w, m, v), all new arrays.
    """
    raise NotImplementedError


def adam_optimize(grad_fn, w0, steps, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    """Run `steps` Adam steps from w0, starting from zero moments m = v = 0.

    grad_fn(w) takes a float64 NumPy array of w0's shape and returns the
    gradient at w (array-like, same shape). Step t = 1, 2, ..., steps uses the
    gradient at the current w.

    Returns (w, history): w the final iterate, history the array of shape
    (steps + 1, *w0.shape) holding every iterate, w0 first.
    """
    raise NotImplementedError


def cosine_lr(step, total_steps, lr0):
    """The cosine schedule: lr0 / 2 * (1 + cos(pi * step / total_steps)), a float."""
    raise NotImplementedError

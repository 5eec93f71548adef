"""Reference implementation: momentum, RMSprop, Adam and a cosine schedule (float64).

A plain module with no autograder import: it is graded like a submission in
``autograder selftest`` and its mutants are patches of this source.

On the CPU it computes with NumPy, so that a graded worker never pays for
importing torch; with ``DEVICE`` set to a GPU (``autograder grade --device
cuda``) the same update lines run on float64 torch tensors there. Either way
every function returns NumPy arrays on the CPU.
"""

import math

import numpy as np

DEVICE = "cpu"
# The torch path on the CPU too: lets the tests cover that path without a GPU.
TORCH_ON_CPU = False


def _uses_torch():
    return DEVICE != "cpu" or TORCH_ON_CPU


def _array(x):
    """A float64 copy on the compute device: the caller's arrays are never written to."""
    if _uses_torch():
        import torch

        return torch.tensor(np.asarray(x, dtype=np.float64), dtype=torch.float64,
                            device=DEVICE)
    return np.array(x, dtype=np.float64)


def _numpy(x):
    if isinstance(x, np.ndarray):
        return x
    return x.detach().cpu().numpy()


def _sqrt(x):
    return np.sqrt(x) if isinstance(x, np.ndarray) else x.sqrt()


def _zeros_like(x):
    return np.zeros_like(x) if isinstance(x, np.ndarray) else x.new_zeros(x.shape)


def _stack(items):
    if isinstance(items[0], np.ndarray):
        return np.stack(items)
    import torch

    return torch.stack(items)


def sgd_momentum_step(w, dw, v, lr=0.01, beta=0.9):
    w, dw, v = _array(w), _array(dw), _array(v)
    v = beta * v + (1 - beta) * dw
    w = w - lr * v
    return _numpy(w), _numpy(v)


def rmsprop_step(w, dw, s, lr=0.01, beta2=0.99, eps=1e-8):
    w, dw, s = _array(w), _array(dw), _array(s)
    s = beta2 * s + (1 - beta2) * dw ** 2
    w = w - lr * dw / (_sqrt(s) + eps)
    return _numpy(w), _numpy(s)


def _adam_update(w, dw, m, v, t, lr, beta1, beta2, eps):
    """One Adam step on device arrays; shared by adam_step and adam_optimize."""
    m = beta1 * m + (1 - beta1) * dw
    v = beta2 * v + (1 - beta2) * dw ** 2
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    w = w - lr * m_hat / (_sqrt(v_hat) + eps)
    return w, m, v


def adam_step(w, dw, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    w, m, v = _adam_update(_array(w), _array(dw), _array(m), _array(v), t,
                           lr, beta1, beta2, eps)
    return _numpy(w), _numpy(m), _numpy(v)


def adam_optimize(grad_fn, w0, steps, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    w = _array(w0)
    m, v = _zeros_like(w), _zeros_like(w)
    history = [w]
    for t in range(1, steps + 1):
        # grad_fn gets its own copy: history keeps references to the iterates
        dw = _array(grad_fn(_numpy(w).copy())).reshape(w.shape)
        w, m, v = _adam_update(w, dw, m, v, t, lr, beta1, beta2, eps)
        history.append(w)
    return _numpy(w), _numpy(_stack(history))


def cosine_lr(step, total_steps, lr0):
    return lr0 / 2 * (1 + math.cos(math.pi * step / total_steps))

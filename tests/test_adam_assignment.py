"""adam's tests charge each realistic mistake to the function that makes it.

The submissions are written independently of the reference (in-place updates,
torch's way of folding the bias corrections), then broken one way each; none
of these mistakes is a shipped mutant.
"""

import pytest

STUDENT = '''
import math
import numpy as np


def sgd_momentum_step(w, dw, v, lr=0.01, beta=0.9):
    v *= beta
    v += (1 - beta) * dw
    w -= lr * v
    return w, v


def rmsprop_step(w, dw, s, lr=0.01, beta2=0.99, eps=1e-8):
    s *= beta2
    s += (1 - beta2) * dw * dw
    w -= lr * dw / (np.sqrt(s) + eps)
    return w, s


def adam_step(w, dw, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    m = m + (1 - beta1) * (dw - m)
    v = beta2 * v + (1 - beta2) * dw * dw
    step = lr / (1 - beta1 ** t)
    denom = np.sqrt(v) / math.sqrt(1 - beta2 ** t) + eps
    return w - step * m / denom, m, v


def adam_optimize(grad_fn, w0, steps, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    w = w0.copy()
    m = np.zeros_like(w0)
    v = np.zeros_like(w0)
    history = np.empty((steps + 1,) + w0.shape)
    history[0] = w0
    for t in range(1, steps + 1):
        w, m, v = adam_step(w, np.asarray(grad_fn(w)), m, v, t, lr, beta1, beta2, eps)
        history[t] = w
    return w, history


def cosine_lr(step, total_steps, lr0):
    return 0.5 * lr0 * (1 + math.cos(math.pi * step / total_steps))
'''

TORCH_STUDENT = '''
import math
import torch


def _t(x):
    return torch.as_tensor(x, dtype=torch.float64)


def sgd_momentum_step(w, dw, v, lr=0.01, beta=0.9):
    v = beta * _t(v) + (1 - beta) * _t(dw)
    return _t(w) - lr * v, v


def rmsprop_step(w, dw, s, lr=0.01, beta2=0.99, eps=1e-8):
    dw = _t(dw)
    s = beta2 * _t(s) + (1 - beta2) * dw ** 2
    return _t(w) - lr * dw / (s.sqrt() + eps), s


def adam_step(w, dw, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    dw = _t(dw)
    m = beta1 * _t(m) + (1 - beta1) * dw
    v = beta2 * _t(v) + (1 - beta2) * dw ** 2
    return _t(w) - lr * (m / (1 - beta1 ** t)) / ((v / (1 - beta2 ** t)).sqrt() + eps), m, v


def adam_optimize(grad_fn, w0, steps, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    w = _t(w0)
    m, v, history = torch.zeros_like(w), torch.zeros_like(w), [w]
    for t in range(1, steps + 1):
        w, m, v = adam_step(w, grad_fn(w.numpy()), m, v, t, lr, beta1, beta2, eps)
        history.append(w)
    return w, torch.stack(history)


def cosine_lr(step, total_steps, lr0):
    return lr0 / 2 * (1 + math.cos(math.pi * step / total_steps))
'''

# name -> (function it breaks, [(old, new), ...] applied to STUDENT)
WRONG = {
    # one bug in adam_step, which adam_optimize calls: only adam_step's tests may fail
    "adam_step_without_bias_correction": ("adam_step", [
        ("step = lr / (1 - beta1 ** t)", "step = lr"),
        ("np.sqrt(v) / math.sqrt(1 - beta2 ** t) + eps", "np.sqrt(v) + eps")]),
    # adam_step wrong (eps inside the sqrt) but adam_optimize does its own, correct maths
    "adam_step_eps_inside_sqrt_optimize_inlined": ("adam_step", [
        ("np.sqrt(v) / math.sqrt(1 - beta2 ** t) + eps",
         "np.sqrt(v / (1 - beta2 ** t) + eps)"),
        ("w, m, v = adam_step(w, np.asarray(grad_fn(w)), m, v, t, lr, beta1, beta2, eps)",
         "g = np.asarray(grad_fn(w))\n"
         "        m = beta1 * m + (1 - beta1) * g\n"
         "        v = beta2 * v + (1 - beta2) * g ** 2\n"
         "        w = w - lr * (m / (1 - beta1 ** t)) / (np.sqrt(v / (1 - beta2 ** t)) + eps)")]),
    # t from 0 in the loop and t + 1 in the step: the loop is right, the step is not
    "adam_step_counts_t_from_zero": ("adam_step", [
        ("1 - beta1 ** t", "1 - beta1 ** (t + 1)"), ("1 - beta2 ** t", "1 - beta2 ** (t + 1)"),
        ("for t in range(1, steps + 1):", "for t in range(steps):"),
        ("history[t] = w", "history[t + 1] = w")]),
    "adam_optimize_keeps_moments_between_calls": ("adam_optimize", [
        ("    m = np.zeros_like(w0)\n    v = np.zeros_like(w0)",
         "    global _M, _V\n"
         "    if '_M' not in globals():\n"
         "        _M, _V = np.zeros_like(w0), np.zeros_like(w0)\n"
         "    m, v = _M, _V"),
        ("    return w, history", "    _M, _V = m, v\n    return w, history")]),
    "adam_optimize_aliases_m_and_v": ("adam_optimize", [
        ("    m = np.zeros_like(w0)\n    v = np.zeros_like(w0)", "    m = v = np.zeros_like(w0)"),
        ("m = m + (1 - beta1) * (dw - m)", "m *= beta1\n    m += (1 - beta1) * dw"),
        ("v = beta2 * v + (1 - beta2) * dw * dw", "v *= beta2\n    v += (1 - beta2) * dw * dw")]),
    "adam_optimize_history_flattened": ("adam_optimize", [
        ("np.empty((steps + 1,) + w0.shape)", "np.empty((steps + 1, w0.size))"),
        ("history[0] = w0", "history[0] = w0.ravel()"),
        ("history[t] = w", "history[t] = w.ravel()")]),
    "sgd_momentum_step_returns_nothing": ("sgd_momentum_step", [
        ("    w -= lr * v\n    return w, v", "    w -= lr * v")]),
    "rmsprop_step_eps_inside_sqrt": ("rmsprop_step", [
        ("np.sqrt(s) + eps", "np.sqrt(s + eps)")]),
    "cosine_lr_returns_an_array": ("cosine_lr", [
        ("return 0.5 * lr0 * (1 + math.cos(math.pi * step / total_steps))",
         "return np.array([0.5 * lr0 * (1 + np.cos(np.pi * step / total_steps))])")]),
}

# Test names say which function they judge.
FUNCTION_OF_TEST = {"sgd": "sgd_momentum_step", "rmsprop": "rmsprop_step",
                    "adam_step": "adam_step", "adam_optimize": "adam_optimize",
                    "cosine": "cosine_lr"}


def _function_of(test_name):
    (function,) = {f for key, f in FUNCTION_OF_TEST.items() if key in test_name}
    return function


@pytest.fixture
def adam(registry):
    return registry.assignment("adam")


def _grade(adam, sandbox, path):
    from autograder.grading import grade_submission

    return grade_submission(assignment=adam, submission=path, sandbox=sandbox,
                            fingerprint=False)


def test_every_test_name_says_its_function(adam):
    assert {_function_of(c.name) for c in adam.cases()} == set(adam.functions)


def test_an_independent_numpy_solution_scores_full_marks(adam, sandbox, write_submission):
    result = _grade(adam, sandbox, write_submission(STUDENT))
    assert [t["name"] for t in result["tests"] if t["status"] == "failed"] == []
    assert result["score"] == 100


@pytest.mark.torch
def test_a_float64_torch_solution_returning_tensors_scores_full_marks(adam, sandbox,
                                                                      write_submission):
    result = _grade(adam, sandbox, write_submission(TORCH_STUDENT))
    assert [t["output"] for t in result["tests"] if t["status"] == "failed"] == []


@pytest.mark.parametrize("name", sorted(WRONG))
def test_a_mistake_costs_only_its_own_functions_tests(adam, sandbox, write_submission, name):
    function, patches = WRONG[name]
    source = STUDENT
    for old, new in patches:
        assert source.count(old) == 1, old
        source = source.replace(old, new)
    result = _grade(adam, sandbox, write_submission(source))
    failed = {t["name"] for t in result["tests"] if t["status"] == "failed"}
    assert failed, f"{name} cost no points"
    assert {_function_of(n) for n in failed} == {function}, failed

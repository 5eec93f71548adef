"""The adam reference against independent computations: torch.optim and closed forms.

Each check runs on every backend of the reference: NumPy (the CPU default),
its torch path on the CPU, and the torch path on CUDA (skipped without a GPU).
The torch optimizers step a float64 parameter on the same device with the same
gradients; the two sides differ only in rounding (torch's Adam uses lerp and
folds the bias corrections into the step size). Measured on the CPU (both
backends): every iterate within 4e-16 of its row's largest entry over 400
Adam steps (2.4e-13 entrywise), 8e-16 for 300 adam_optimize steps on a
quadratic, and RMSprop identical; the bounds below (1e-11, 1e-10 of the row's
scale) leave room for other BLAS/GPU rounding while any real mistake is off
by far more.
"""

import math

import numpy as np
import pytest

import autograder.reference.adam as ref

from conftest import reference_backends

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.torch

device = reference_backends(ref)


def _gradients(steps, shape, seed):
    """Gradients over eight decades, with exact zeros and tiny (1e-8) entries."""
    rng = np.random.default_rng(seed)
    scale = 10.0 ** rng.uniform(-4, 4, size=(steps, *shape))
    grads = rng.normal(size=(steps, *shape)) * scale
    grads[rng.random(size=grads.shape) < 0.05] = 0.0
    grads[:, 0] = 1e-8 * rng.choice([-1.0, 1.0], size=(steps, *shape[1:]))
    return grads


def _param(w0, device):
    return torch.tensor(w0, dtype=torch.float64, device=device, requires_grad=True)


def _torch_trajectory(optimizer_class, w0, grads, device, **options):
    p = _param(w0, device)
    optimizer = optimizer_class([p], **options)
    rows = [w0.copy()]
    for g in grads:
        p.grad = torch.tensor(g, dtype=torch.float64, device=device)
        optimizer.step()
        rows.append(p.detach().cpu().numpy().copy())
    return np.stack(rows)


def _assert_trajectory(got, expected, rtol):
    """Each iterate within ``rtol`` of the largest entry of its expected row."""
    assert got.shape == expected.shape
    scale = np.max(np.abs(expected), axis=tuple(range(1, expected.ndim)), keepdims=True)
    error = np.abs(got - expected) / scale
    assert np.max(error) <= rtol, f"largest error {np.max(error):.3g} of the row's scale"


@pytest.mark.parametrize("options", [
    {},
    {"lr": 0.05, "beta1": 0.8, "beta2": 0.95, "eps": 1e-6},
], ids=["defaults", "custom"])
def test_adam_step_matches_torch_adam(device, options):
    steps, shape = 400, (4, 3)
    w0 = np.random.default_rng(0).normal(size=shape)
    grads = _gradients(steps, shape, seed=1)
    torch_options = {"lr": options.get("lr", 1e-3),
                     "betas": (options.get("beta1", 0.9), options.get("beta2", 0.999)),
                     "eps": options.get("eps", 1e-8)}
    expected = _torch_trajectory(torch.optim.Adam, w0, grads, device, **torch_options)
    w, m, v = w0, np.zeros(shape), np.zeros(shape)
    rows = [w0]
    for t, g in enumerate(grads, start=1):
        w, m, v = ref.adam_step(w, g, m, v, t, **options)
        rows.append(w)
    got = np.stack(rows)
    assert isinstance(w, np.ndarray) and w.dtype == np.float64
    _assert_trajectory(got, expected, rtol=1e-11)


def test_rmsprop_step_matches_torch_rmsprop(device):
    # torch's RMSprop: alpha is the spec's beta2, eps is added outside the sqrt as in the spec.
    steps, shape, lr, beta2, eps = 400, (5,), 0.01, 0.9, 1e-8
    w0 = np.random.default_rng(2).normal(size=shape)
    grads = _gradients(steps, shape, seed=3)
    expected = _torch_trajectory(torch.optim.RMSprop, w0, grads, device, lr=lr, alpha=beta2,
                                 eps=eps)
    w, s = w0, np.zeros(shape)
    rows = [w0]
    for g in grads:
        w, s = ref.rmsprop_step(w, g, s, lr=lr, beta2=beta2, eps=eps)
        rows.append(w)
    _assert_trajectory(np.stack(rows), expected, rtol=1e-11)


def test_rmsprop_defaults_match_torch_rmsprop_defaults(device):
    w0 = np.array([0.5, -1.0, 2.0])
    grads = _gradients(50, (3,), seed=4)
    expected = _torch_trajectory(torch.optim.RMSprop, w0, grads, device)  # lr 0.01, alpha 0.99
    w, s = w0, np.zeros(3)
    rows = [w0]
    for g in grads:
        w, s = ref.rmsprop_step(w, g, s)
        rows.append(w)
    _assert_trajectory(np.stack(rows), expected, rtol=1e-11)


def test_sgd_momentum_matches_closed_form(device):
    # torch's SGD keeps v = beta*v + dw (and seeds v with the first gradient), so the
    # spec's exponential average is checked against its closed form instead:
    # v_t = (1-beta) * sum_k beta**(t-k) g_k and w_t = w_0 - lr * sum_{j<=t} v_j.
    steps, shape, lr, beta = 300, (2, 3), 0.05, 0.8
    w0 = np.random.default_rng(5).normal(size=shape)
    grads = np.random.default_rng(6).normal(size=(steps, *shape))
    t = np.arange(1, steps + 1)
    weights = np.where(t[:, None] >= t[None, :],
                       (1 - beta) * beta ** np.maximum(t[:, None] - t[None, :], 0), 0.0)
    velocities = (weights @ grads.reshape(steps, -1)).reshape(grads.shape)
    expected_w = w0 - lr * np.cumsum(velocities, axis=0)
    w, v = w0, np.zeros(shape)
    for k, g in enumerate(grads):
        w, v = ref.sgd_momentum_step(w, g, v, lr=lr, beta=beta)
        np.testing.assert_allclose(v, velocities[k], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(w, expected_w[k], rtol=1e-12, atol=1e-12)


def test_sgd_momentum_defaults_one_step(device):
    w, v = ref.sgd_momentum_step(np.array([1.0, 2.0]), np.array([10.0, -10.0]),
                                 np.array([1.0, 0.0]))
    np.testing.assert_allclose(v, [0.9 + 1.0, -1.0], rtol=1e-15)
    np.testing.assert_allclose(w, [1.0 - 0.019, 2.0 + 0.01], rtol=1e-15)


def test_adam_optimize_matches_torch_adam_on_a_quadratic(device):
    # gradient feedback: grad of 1/2 w'Aw + b'w on a (2, 3) parameter, flattened
    rng = np.random.default_rng(7)
    Q = rng.normal(size=(6, 6))
    A, b = Q @ Q.T / 6 + np.eye(6), rng.normal(size=6)
    w0 = rng.normal(size=(2, 3))
    steps, lr = 300, 0.05

    def grad(w):
        return (A @ np.asarray(w).reshape(-1) + b).reshape(np.shape(w))

    p = _param(w0, device)
    optimizer = torch.optim.Adam([p], lr=lr)
    At, bt = (torch.tensor(x, device=device) for x in (A, b))
    rows = [w0]
    for _ in range(steps):
        p.grad = (At @ p.detach().reshape(-1) + bt).reshape(p.shape)
        optimizer.step()
        rows.append(p.detach().cpu().numpy().copy())
    w, history = ref.adam_optimize(grad, w0, steps, lr=lr)
    assert history.shape == (steps + 1, 2, 3) and np.array_equal(history[0], w0)
    assert np.array_equal(w, history[-1])
    _assert_trajectory(history, np.stack(rows), rtol=1e-10)


def test_adam_optimize_zero_steps_returns_w0(device):
    w0 = np.array([[1.0, -2.0]])
    w, history = ref.adam_optimize(lambda w: w, w0, 0)
    assert history.shape == (1, 1, 2)
    assert np.array_equal(history[0], w0) and np.array_equal(w, w0)


@pytest.mark.parametrize("total_steps,lr0", [(100, 0.1), (7, 3.0), (1, 1e-3)])
def test_cosine_lr_matches_torch_scheduler(total_steps, lr0):
    p = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([p], lr=lr0)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps,
                                                           eta_min=0.0)
    for step in range(total_steps + 1):
        got = ref.cosine_lr(step, total_steps, lr0)
        # the scheduler updates its lr recursively: rounding grows with the step count
        assert got == pytest.approx(scheduler.get_last_lr()[0], rel=1e-12, abs=1e-15 * lr0)
        optimizer.step()
        scheduler.step()
    assert ref.cosine_lr(0, total_steps, lr0) == lr0
    assert abs(ref.cosine_lr(total_steps, total_steps, lr0)) <= 1e-15 * lr0
    assert isinstance(ref.cosine_lr(1, total_steps, lr0), float)


def test_cosine_lr_midpoint_is_half():
    assert ref.cosine_lr(50, 100, 0.2) == pytest.approx(0.1, rel=1e-15)
    assert ref.cosine_lr(math.pi, 2 * math.pi, 1.0) == pytest.approx(0.5, rel=1e-15)


def test_step_functions_leave_their_inputs_alone(device):
    rng = np.random.default_rng(8)
    w, dw, m, v = (rng.normal(size=4) for _ in range(4))
    v = np.abs(v)
    before = [x.copy() for x in (w, dw, m, v)]
    ref.sgd_momentum_step(w, dw, m)
    ref.rmsprop_step(w, dw, v)
    ref.adam_step(w, dw, m, v, 3)
    ref.adam_optimize(lambda x: 2 * x, w, 5)
    for x, x0 in zip((w, dw, m, v), before):
        assert np.array_equal(x, x0)

"""The backprop reference against independent computations in torch (float64).

Softmax and the loss against ``torch.softmax`` / ``F.cross_entropy``; every
gradient of ``backward`` against autograd on the same network; ``train``'s
gradient-descent steps against ``torch.optim.SGD``. The ``cuda`` variants
run the torch side on a GPU and skip where there is none.
"""

import numpy as np
import pytest

from autograder.assignments.backprop.hidden_tests import zero_preactivation_network
from autograder.reference import backprop as ref

from conftest import reference_backends

torch = pytest.importorskip("torch")
F = torch.nn.functional

KEYS = ("W_h", "b_h", "W_y", "b_y")
TOL = {"rtol": 1e-12, "atol": 1e-14}


device = reference_backends(ref)


def tensor(array, device, **kwargs):
    return torch.as_tensor(np.asarray(array), device=device, **kwargs)


def numpy(t):
    return t.detach().cpu().numpy()


def network(seed, m, n, d, C):
    rng = np.random.default_rng(seed)
    params = {"W_h": rng.normal(size=(d, n)), "b_h": rng.normal(size=d),
              "W_y": rng.normal(size=(C, d)), "b_y": rng.normal(size=C)}
    return params, rng.normal(size=(m, n)), rng.integers(0, C, size=m)




NETWORKS = {
    "batch_of_8": lambda: network(31, m=8, n=4, d=5, C=3),
    "batch_of_1": lambda: network(41, m=1, n=3, d=4, C=3),
    "zero_preactivations": zero_preactivation_network,
}


def torch_logits(params, X, device):
    p = {k: tensor(v, device, dtype=torch.float64).requires_grad_() for k, v in params.items()}
    h = torch.relu(tensor(X, device, dtype=torch.float64) @ p["W_h"].T + p["b_h"])
    return h @ p["W_y"].T + p["b_y"], p


def test_softmax_matches_torch(device):
    rng = np.random.default_rng(0)
    for L in (3 * rng.normal(size=(7, 4)),
              np.array([[1000.0, 1001.0, 1002.0], [-1000.0, -1000.0, -1000.0],
                        [800.0, -800.0, 0.0]])):
        expected = numpy(torch.softmax(tensor(L, device), dim=1))
        np.testing.assert_allclose(ref.softmax(L), expected, **TOL)


def test_cross_entropy_matches_torch(device):
    rng = np.random.default_rng(1)
    L, labels = rng.normal(size=(9, 4)), rng.integers(0, 4, size=9)
    expected = F.cross_entropy(tensor(L, device), tensor(labels, device)).item()
    assert ref.cross_entropy(ref.softmax(L), labels) == pytest.approx(expected, rel=1e-12)


def test_cross_entropy_with_zero_probabilities_elsewhere_matches_torch(device):
    Y_hat = np.array([[0.0, 1.0, 0.0], [0.25, 0.75, 0.0], [0.5, 0.0, 0.5]])
    labels = np.array([1, 0, 2])
    expected = F.nll_loss(torch.log(tensor(Y_hat, device)), tensor(labels, device)).item()
    assert ref.cross_entropy(Y_hat, labels) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_forward_matches_torch(device, name):
    params, X, _ = NETWORKS[name]()
    logits, _ = torch_logits(params, X, device)
    Y_hat, _ = ref.forward(params, X)
    np.testing.assert_allclose(Y_hat, numpy(torch.softmax(logits, dim=1)), **TOL)


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_backward_matches_autograd(device, name):
    params, X, labels = NETWORKS[name]()
    logits, p = torch_logits(params, X, device)
    F.cross_entropy(logits, tensor(labels, device)).backward()
    _, cache = ref.forward(params, X)
    grads = ref.backward(params, cache, labels)
    assert set(grads) == set(KEYS)
    for key in KEYS:
        np.testing.assert_allclose(grads[key], numpy(p[key].grad), **TOL, err_msg=key)


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_torch_path_matches_numpy_path(device, name, monkeypatch):
    params, X, labels = NETWORKS[name]()
    Y_hat, cache = ref.forward(params, X)
    grads = ref.backward(params, cache, labels)
    loss = ref.cross_entropy(Y_hat, labels)
    trained = ref.train(X, labels, hidden=4, lr=0.5, epochs=5, seed=2)
    monkeypatch.setattr(ref, "DEVICE", "cpu")
    monkeypatch.setattr(ref, "TORCH_ON_CPU", False)
    np.testing.assert_allclose(Y_hat, ref.forward(params, X)[0], **TOL)
    np.testing.assert_allclose(loss, ref.cross_entropy(Y_hat, labels), **TOL)
    for key in KEYS:
        np.testing.assert_allclose(grads[key], ref.backward(params, cache, labels)[key], **TOL)
        np.testing.assert_allclose(trained[key],
                                   ref.train(X, labels, hidden=4, lr=0.5, epochs=5, seed=2)[key],
                                   rtol=1e-10, atol=1e-12)


def test_zero_preactivations_really_hit_the_kink():
    params, X, _ = zero_preactivation_network()
    _, cache = ref.forward(params, X)
    assert np.sum(cache["Z"] == 0) >= 8


def test_train_steps_match_torch_sgd(device):
    rng = np.random.default_rng(53)
    X, labels = rng.normal(size=(12, 3)), np.arange(12) % 3
    start = ref.train(X, labels, hidden=6, lr=0.5, epochs=0, seed=4)
    after = ref.train(X, labels, hidden=6, lr=0.5, epochs=3, seed=4)
    p = {k: tensor(v, device, dtype=torch.float64).requires_grad_() for k, v in start.items()}
    optimizer = torch.optim.SGD(list(p.values()), lr=0.5)
    Xt, yt = tensor(X, device), tensor(labels, device)
    for _ in range(3):
        optimizer.zero_grad()
        h = torch.relu(Xt @ p["W_h"].T + p["b_h"])
        F.cross_entropy(h @ p["W_y"].T + p["b_y"], yt).backward()
        optimizer.step()
    for key in KEYS:
        np.testing.assert_allclose(after[key], numpy(p[key]), rtol=1e-10, atol=1e-12,
                                   err_msg=key)


def test_make_spiral_matches_the_formula_in_complex_form():
    n, C = 9, 4
    X, labels = ref.make_spiral(n, C)
    t = np.linspace(0, 1, n)
    for c in range(C):
        z = t * np.exp(1j * 2 * np.pi / C * (2 * t + c))  # (cos, sin) = (real, imag)
        np.testing.assert_allclose(X[c * n:(c + 1) * n], np.stack([z.imag, z.real], axis=1),
                                   rtol=0, atol=1e-12)
    np.testing.assert_array_equal(labels, np.repeat(np.arange(C), n))
    assert labels.dtype == np.int64


def test_make_spiral_noise_has_the_asked_std():
    clean, _ = ref.make_spiral(3000, 3)
    noisy, _ = ref.make_spiral(3000, 3, sigma=0.3, seed=2)
    noise = noisy - clean
    assert np.allclose(noise.std(axis=0), 0.3, rtol=0.05)
    assert np.allclose(noise.mean(axis=0), 0.0, atol=0.02)
    by_class = noise.reshape(3, -1)
    assert abs(np.corrcoef(by_class[0], by_class[1])[0, 1]) < 0.1


def test_train_init_is_he_scaled():
    X, labels = np.random.default_rng(3).normal(size=(10, 8)), np.arange(10) % 4
    params = ref.train(X, labels, hidden=800, epochs=0, seed=5)
    assert params["W_h"].shape == (800, 8) and params["W_y"].shape == (4, 800)
    assert params["W_h"].std() == pytest.approx(np.sqrt(2 / 8), rel=0.05)
    assert params["W_y"].std() == pytest.approx(np.sqrt(2 / 800), rel=0.05)
    assert not params["b_h"].any() and not params["b_y"].any()


def test_train_counts_classes_as_labels_max_plus_one():
    X, labels = np.zeros((4, 2)), np.array([0, 2, 2, 0])
    params = ref.train(X, labels, hidden=3, epochs=0)
    assert params["W_y"].shape == (3, 3) and params["b_y"].shape == (3,)


def test_train_reaches_90_percent_on_the_spiral():
    X, labels = ref.make_spiral(100, 3, 0.05)
    Y_hat, _ = ref.forward(ref.train(X, labels), X)
    assert np.mean(Y_hat.argmax(axis=1) == labels) >= 0.9

"""Cross-checks of the svm_dual reference against computations that share none of its code.

- kernels, dual_objective, intercept and decision_function against per-pair
  Python loops written from the spec;
- fit_dual against scipy's SLSQP on the same QP, against a duality-gap
  certificate (any feasible alpha has W(alpha) <= optimum <= primal(w, b), so
  a gap near 0 proves optimality without trusting any solver) and against the
  KKT conditions checked point by point;
- the datasets of the hidden tests against the properties their tests rely on,
  and the hidden tests' judge against optimal alphas that differ from the
  reference's.

The torch variants repeat the direct computations on each available device;
CUDA ones skip where torch sees no GPU.
"""

import math

import numpy as np
import pytest

from autograder.assignments.svm_dual import hidden_tests, public_tests
from autograder.compare import CheckFailure
from autograder.reference import svm_dual as ref

DATASETS = ["_small_c", "_rbf_overlap", "_unbalanced", "_duplicates", "_separable_large_c"]


def _dataset(name):
    K, y, C, K_cross, best = getattr(hidden_tests, name)(ref)
    return K, y.astype(np.float64), C, K_cross, best


def _problem(seed, n, kernel, C):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = np.where(X[:, 0] + 0.8 * rng.normal(size=n) > 0, 1.0, -1.0)
    y[:2] = [1.0, -1.0]
    return kernel(X, X), y, C


PROBLEMS = [
    (0, 40, ref.linear_kernel, 1.0),
    (1, 60, lambda A, B: ref.rbf_kernel(A, B, gamma=0.7), 3.0),
    (2, 50, lambda A, B: ref.polynomial_kernel(A, B, degree=2, coef0=1.0), 0.2),
    (3, 30, ref.linear_kernel, 50.0),
    (4, 2, ref.linear_kernel, 1.0),
]


# --- direct computations from the spec ------------------------------------------------------

def _loop_kernel(X, Z, k):
    return np.array([[k(x, z) for z in Z] for x in X])


def _dot(x, z):
    return math.fsum(a * b for a, b in zip(x, z))


def _loop_objective(alpha, y, K):
    n = len(alpha)
    quad = math.fsum(alpha[i] * alpha[j] * y[i] * y[j] * K[i, j]
                     for i in range(n) for j in range(n))
    return math.fsum(alpha) - 0.5 * quad


def _loop_g(alpha, y, K):
    n = len(alpha)
    return np.array([math.fsum(alpha[j] * y[j] * K[j, i] for j in range(n)) for i in range(n)])


def _loop_intercept(alpha, y, K, C):
    tol = 1e-6 * C
    g = _loop_g(alpha, y, K)
    free = [y[i] - g[i] for i in range(len(alpha)) if tol < alpha[i] < C - tol]
    if free:
        return math.fsum(free) / len(free)
    lower, upper = [], []
    for i in range(len(alpha)):
        zero, at_c = alpha[i] <= tol, alpha[i] >= C - tol
        if (zero and y[i] > 0) or (at_c and y[i] < 0):
            lower.append(y[i] - g[i])
        if (zero and y[i] < 0) or (at_c and y[i] > 0):
            upper.append(y[i] - g[i])
    if not lower:
        return min(upper)
    if not upper:
        return max(lower)
    return (max(lower) + min(upper)) / 2


def _primal(alpha, y, K, C, b):
    """1/2 ||w||^2 + C * sum of hinge losses, for w = sum_i alpha_i y_i phi(x_i)."""
    v = alpha * y
    g = K @ v
    return 0.5 * v @ K @ v + C * np.sum(np.maximum(0.0, 1.0 - y * (g + b)))


def _best_primal(alpha, y, K, C):
    # Piecewise linear and convex in b: its minimum is at a kink, b = y_i - g_i.
    g = K @ (alpha * y)
    return min(_primal(alpha, y, K, C, b) for b in y - g)


def _scipy_optimum(K, y, C):
    from scipy.optimize import minimize

    Q = np.outer(y, y) * K
    n = len(y)
    result = minimize(lambda a: 0.5 * a @ Q @ a - a.sum(), np.zeros(n),
                      jac=lambda a: Q @ a - 1.0, method="SLSQP", bounds=[(0.0, C)] * n,
                      constraints=[{"type": "eq", "fun": lambda a: a @ y, "jac": lambda a: y}],
                      options={"ftol": 1e-15, "maxiter": 2000})
    return result.x


# --- kernels, objective, intercept, decision function ---------------------------------------

def test_kernels_match_per_pair_loops():
    rng = np.random.default_rng(0)
    X, Z = rng.normal(size=(5, 3)), rng.normal(size=(4, 3))
    np.testing.assert_allclose(ref.linear_kernel(X, Z), _loop_kernel(X, Z, _dot), rtol=1e-13)
    np.testing.assert_allclose(ref.polynomial_kernel(X, Z),
                               _loop_kernel(X, Z, lambda x, z: (_dot(x, z) + 1.0) ** 3),
                               rtol=1e-12)
    np.testing.assert_allclose(ref.polynomial_kernel(X, Z, 4, 0.5),
                               _loop_kernel(X, Z, lambda x, z: (_dot(x, z) + 0.5) ** 4),
                               rtol=1e-12)

    def rbf(gamma):
        return lambda x, z: math.exp(-gamma * math.fsum((a - b) ** 2 for a, b in zip(x, z)))

    np.testing.assert_allclose(ref.rbf_kernel(X, Z), _loop_kernel(X, Z, rbf(1.0)), rtol=1e-14)
    np.testing.assert_allclose(ref.rbf_kernel(X, Z, gamma=0.3), _loop_kernel(X, Z, rbf(0.3)),
                               rtol=1e-14)
    assert np.all(np.diag(ref.rbf_kernel(X, X)) == 1.0)


def test_polynomial_defaults_are_3_and_1():
    X, Z = np.array([[1.0, 2.0, 3.0]]), np.array([[4.0, 5.0, 6.0]])
    assert ref.polynomial_kernel(X, Z)[0, 0] == 33.0 ** 3


def test_dual_objective_matches_double_loop():
    rng = np.random.default_rng(1)
    alpha, y = rng.uniform(0, 2, size=8), np.where(rng.random(8) < 0.5, 1.0, -1.0)
    X = rng.normal(size=(8, 2))
    K = ref.rbf_kernel(X, X, gamma=0.4)
    assert ref.dual_objective(alpha, y, K) == pytest.approx(_loop_objective(alpha, y, K),
                                                            rel=1e-13)
    assert isinstance(ref.dual_objective(alpha, y, K), float)


INTERCEPT_CASES = [
    # (alpha, C): free SVs; none free; no lower set; no upper set; leftovers near the bounds
    (np.array([0.0, 2.0, 0.7, 1.3, 0.0, 2.0, 0.2, 0.0]), 2.0),
    (np.array([0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0, 1.0]), 1.0),
    (np.array([1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0]), 1.0),
    (np.array([0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0]), 1.0),
    (np.array([3e-9, 0.4, 1e-12, 0.8, 0.0, 1.0 - 2e-9, 1.0, 5e-10]), 1.0),
    (np.array([5e-4, 300.0, 1000.0 - 5e-4, 700.0, 5e-7, 1000.0, 450.0, 0.0]), 1000.0),
]


@pytest.mark.parametrize("alpha, C", INTERCEPT_CASES)
def test_intercept_matches_loop_of_the_spec_rule(alpha, C):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(8, 2))
    y = np.array([1.0, -1.0, 1.0, -1.0, 1.0, -1.0, 1.0, -1.0])
    K = ref.rbf_kernel(X, X, gamma=0.5)
    expected = _loop_intercept(alpha, y, K, C)
    assert np.isfinite(expected)
    assert ref.intercept(alpha, y, K, C) == pytest.approx(expected, rel=1e-12, abs=1e-14)


@pytest.mark.parametrize("alpha, C", INTERCEPT_CASES)
def test_the_judges_own_formulas_match_the_reference(alpha, C):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(8, 2))
    y = np.array([1.0, 1.0, -1.0, -1.0, 1.0, -1.0, -1.0, 1.0])
    K = ref.polynomial_kernel(X, X, degree=2)
    assert public_tests.intercept_of(alpha, y, K, C) == pytest.approx(
        ref.intercept(alpha, y, K, C), rel=1e-12, abs=1e-14)
    assert public_tests.objective(alpha, y, K) == pytest.approx(
        ref.dual_objective(alpha, y, K), rel=1e-12)


def test_decision_function_matches_loop():
    rng = np.random.default_rng(3)
    alpha, y = rng.uniform(0, 1, size=6), np.where(rng.random(6) < 0.5, 1.0, -1.0)
    K_cross = rng.normal(size=(6, 3))
    expected = [math.fsum(alpha[i] * y[i] * K_cross[i, j] for i in range(6)) + 0.3
                for j in range(3)]
    got = ref.decision_function(alpha, 0.3, y, K_cross)
    assert got.shape == (3,)
    np.testing.assert_allclose(got, expected, rtol=1e-13)
    assert ref.decision_function(alpha, 0.3, y, K_cross[:, :1]).shape == (1,)


# --- fit_dual -------------------------------------------------------------------------------

@pytest.mark.parametrize("seed, n, kernel, C", PROBLEMS)
def test_fit_dual_is_optimal(seed, n, kernel, C):
    K, y, C = _problem(seed, n, kernel, C)
    alpha = ref.fit_dual(K, y, C)
    assert alpha.shape == (n,) and alpha.dtype == np.float64
    assert np.all(alpha >= 0) and np.all(alpha <= C)
    assert abs(alpha @ y) <= 1e-12 * C * n
    assert public_tests.kkt_violation(alpha, y, K, C) <= 1e-6
    objective = ref.dual_objective(alpha, y, K)
    # Independent solver: SLSQP on the same QP does no better.
    scipy_alpha = _scipy_optimum(K, y, C)
    assert ref.dual_objective(scipy_alpha, y, K) <= objective + 1e-9 * abs(objective)
    assert ref.dual_objective(scipy_alpha, y, K) == pytest.approx(objective, rel=1e-7)
    # Certificate: primal minus dual bounds the suboptimality from above.
    tight = ref.fit_dual(K, y, C, tol=1e-10)
    gap = _best_primal(tight, y, K, C) - ref.dual_objective(tight, y, K)
    assert -1e-9 * abs(objective) <= gap <= 1e-8 * max(1.0, abs(objective))
    assert ref.dual_objective(tight, y, K) - objective <= 1e-6 * abs(objective)


@pytest.mark.parametrize("seed, n, kernel, C", PROBLEMS)
def test_fit_dual_kkt_point_by_point_and_primal_optimal_intercept(seed, n, kernel, C):
    K, y, C = _problem(seed, n, kernel, C)
    alpha = ref.fit_dual(K, y, C, tol=1e-10)
    b = ref.intercept(alpha, y, K, C)
    g = _loop_g(alpha, y, K)
    for i in range(n):
        margin = y[i] * (g[i] + b)
        if alpha[i] <= 1e-6 * C:
            assert margin >= 1 - 1e-8, i
        elif alpha[i] >= C - 1e-6 * C:
            assert margin <= 1 + 1e-8, i
        else:
            assert margin == pytest.approx(1.0, abs=1e-8), i
    # b from intercept() is a best b of the primal too.
    assert _primal(alpha, y, K, C, b) <= _best_primal(alpha, y, K, C) + 1e-9 * max(1.0, C)


def test_fit_dual_honours_tol_max_iter_and_labels_as_int():
    K, y, C = _problem(1, 60, lambda A, B: ref.rbf_kernel(A, B, gamma=0.7), 3.0)
    loose = ref.fit_dual(K, y.astype(np.int64), C, tol=1e-2)
    assert 1e-6 < public_tests.kkt_violation(ref.fit_dual(K, y, C, max_iter=3), y, K, C)
    assert public_tests.kkt_violation(loose, y, K, C) <= 1e-2


def test_fit_dual_duplicates_with_opposite_labels_go_to_C():
    X = np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 1.0], [-1.0, -1.0]])
    y = np.array([1.0, -1.0, 1.0, -1.0])
    K = ref.linear_kernel(X, X)
    alpha = ref.fit_dual(K, y, 0.5)
    assert alpha[0] == alpha[1] == 0.5
    assert public_tests.kkt_violation(alpha, y, K, 0.5) <= 1e-6


# --- the hidden tests' datasets and judge ---------------------------------------------------

@pytest.mark.parametrize("name", DATASETS)
def test_hidden_datasets_have_free_support_vectors_and_agree_with_scipy(name):
    K, y, C, _, best = _dataset(name)
    tol = 1e-6 * C
    assert np.any((best > tol) & (best < C - tol)), "decision values need free SVs"
    assert public_tests.kkt_violation(best, y, K, C) <= 1e-10
    objective = ref.dual_objective(best, y, K)
    assert ref.dual_objective(_scipy_optimum(K, y, C), y, K) == pytest.approx(objective,
                                                                             rel=1e-9)


def test_hidden_datasets_show_the_mistakes_they_target():
    K, y, C, _, best = _dataset("_small_c")
    assert np.sum(best >= C * (1 - 1e-6)) >= 5  # many bound SVs: C matters
    K, y, C, _, best = _dataset("_separable_large_c")
    assert 1.0 < best.max() < C  # C = 1 would clip; C = 100 does not
    _, y, _, _, _ = _dataset("_unbalanced")
    assert abs(np.sum(y)) >= 20
    K, y, _, _, _ = _dataset("_duplicates")
    curvature = np.diag(K)[:, None] + np.diag(K)[None, :] - 2 * K
    opposite = (curvature == 0) & (y[:, None] != y[None, :])
    assert opposite.sum() >= 6


@pytest.mark.parametrize("name", DATASETS)
def test_judge_accepts_any_optimal_alpha_and_the_default_tolerance(name):
    K, y, C, K_cross, best = _dataset(name)
    judge = public_tests.judge_fit
    judge(ref.fit_dual(K, y, C), y, K, C, K_cross, best, call="default tol")
    judge(_scipy_optimum(K, y, C), y, K, C, K_cross, best, call="SLSQP's alpha")
    judge(ref.fit_dual(K, y, C, tol=1e-4), y, K, C, K_cross, best, call="tol=1e-4")


def test_judge_accepts_a_different_optimal_alpha():
    K, y, C, K_cross, _ = _dataset("_rbf_overlap")
    # Repeat a free support vector: its weight may be split between the twins at will.
    optimum = _dataset("_rbf_overlap")[4]
    i = int(np.flatnonzero((optimum > 1e-3) & (optimum < C - 1e-3))[0])
    K2 = np.vstack([np.hstack([K, K[:, [i]]]), np.append(K[i], K[i, i])])
    y2, K_cross2 = np.append(y, y[i]), np.vstack([K_cross, K_cross[i]])
    best = ref.fit_dual(K2, y2, C, tol=1e-10)
    total = best[i] + best[-1]
    # Shares 0 and 1 differ by total > 1e-3 in two alphas: comparing alpha would fail one.
    assert 1e-3 < total < C - 1e-3
    for share in (0.0, 0.3, 1.0):
        other = best.copy()
        other[i], other[-1] = share * total, (1 - share) * total
        public_tests.judge_fit(other, y2, K2, C, K_cross2, best, call=f"share {share}")


@pytest.mark.parametrize("name", DATASETS)
def test_judge_rejects_a_suboptimal_alpha(name):
    K, y, C, K_cross, best = _dataset(name)
    with pytest.raises(CheckFailure):
        public_tests.judge_fit(0.98 * best, y, K, C, K_cross, best, call="shrunk")


# --- torch: the same direct computations on each device -------------------------------------

def _devices():
    return ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
        not _cuda_available(), reason="torch sees no CUDA device"))]


def _cuda_available():
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


@pytest.mark.torch
@pytest.mark.parametrize("device", _devices())
def test_kernels_objective_and_certificate_on_device(device):
    torch = pytest.importorskip("torch")
    K_np, y_np, C, K_cross_np, best_np = _dataset("_rbf_overlap")
    rng = np.random.default_rng(5)
    X_np, Z_np = rng.normal(size=(7, 3)), rng.normal(size=(5, 3))
    X = torch.tensor(X_np, dtype=torch.float64, device=device)
    Z = torch.tensor(Z_np, dtype=torch.float64, device=device)
    np.testing.assert_allclose(ref.linear_kernel(X_np, Z_np), (X @ Z.T).cpu().numpy(),
                               rtol=1e-12)
    np.testing.assert_allclose(ref.polynomial_kernel(X_np, Z_np),
                               ((X @ Z.T + 1.0) ** 3).cpu().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ref.rbf_kernel(X_np, Z_np, gamma=0.3),
                               torch.exp(-0.3 * torch.cdist(X, Z) ** 2).cpu().numpy(),
                               rtol=1e-10)
    K = torch.tensor(K_np, dtype=torch.float64, device=device)
    y = torch.tensor(y_np, dtype=torch.float64, device=device)
    alpha = torch.tensor(best_np, dtype=torch.float64, device=device)
    v = alpha * y
    dual = float(alpha.sum() - 0.5 * v @ K @ v)
    assert ref.dual_objective(best_np, y_np, K_np) == pytest.approx(dual, rel=1e-12)
    g = K @ v
    b = float(ref.intercept(best_np, y_np, K_np, C))
    primal = float(0.5 * v @ K @ v + C * torch.clamp(1 - y * (g + b), min=0).sum())
    assert 0 <= primal - dual <= 1e-8 * abs(dual)
    K_cross = torch.tensor(K_cross_np, dtype=torch.float64, device=device)
    np.testing.assert_allclose(ref.decision_function(best_np, b, y_np, K_cross_np),
                               (v @ K_cross + b).cpu().numpy(), rtol=1e-10, atol=1e-12)

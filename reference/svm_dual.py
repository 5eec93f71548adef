"""Reference implementation: the soft-margin SVM in its dual form (NumPy, float64).

A plain module with no autograder import: it is graded like a submission in
``autograder selftest`` and its mutants are patches of this source.

fit_dual is SMO with LIBSVM's second-order working-set selection (Fan, Chen
and Lin, JMLR 2005). Its stopping rule is the handout's KKT violation,
``(m - M) / 2`` with ``m`` the largest ``y_i - g_i`` over the indices whose
alpha may move up along ``y_i`` and ``M`` the smallest over those that may
move down: the smallest largest violation any intercept b allows. Every 50
steps an active-set solve on the current free set (:func:`_polish`) finishes
what SMO alone converges to slowly on ill-conditioned kernels;
``benchmarks/bench_svm_dual.py`` shows both.
"""

import numpy as np

# A pair whose curvature K_ii + K_jj - 2 K_ij vanishes (duplicate points) would divide
# by zero; LIBSVM's TAU turns the step into "go to the bound".
_TAU = 1e-12
# How often SMO tries to finish with an exact solve on its current free set.
_POLISH_EVERY = 50


def linear_kernel(X, Z):
    X = np.asarray(X, dtype=np.float64)
    Z = np.asarray(Z, dtype=np.float64)
    return X @ Z.T


def polynomial_kernel(X, Z, degree=3, coef0=1.0):
    X = np.asarray(X, dtype=np.float64)
    Z = np.asarray(Z, dtype=np.float64)
    return (X @ Z.T + coef0) ** degree


def rbf_kernel(X, Z, gamma=1.0):
    X = np.asarray(X, dtype=np.float64)
    Z = np.asarray(Z, dtype=np.float64)
    # Differences, not ||x||^2 + ||z||^2 - 2<x, z>: no cancellation for nearby points.
    diff = X[:, None, :] - Z[None, :, :]
    sq = np.sum(diff * diff, axis=2)
    return np.exp(-gamma * sq)


def dual_objective(alpha, y, K):
    alpha = np.asarray(alpha, dtype=np.float64)
    K = np.asarray(K, dtype=np.float64)
    v = alpha * np.asarray(y, dtype=np.float64)
    return float(np.sum(alpha) - 0.5 * (v @ K @ v))


def _movable(alpha, y, C):
    """Indices whose alpha_i may move along +y_i (up) and along -y_i (down)."""
    up = ((y > 0) & (alpha < C)) | ((y < 0) & (alpha > 0))
    down = ((y > 0) & (alpha > 0)) | ((y < 0) & (alpha < C))
    return up, down


def _polish(K, y, C, alpha):
    """Maximise the dual over the face SMO is on, by exact solves (an active-set method).

    SMO finds which alphas sit at 0 and at C long before it pins down the free
    ones when the free block of K is ill-conditioned or singular (polynomial
    kernels, large C). Each step solves the free set's KKT equations
    ``g_F + b = y_F`` with ``sum(alpha * y)`` held, and moves towards that
    solution until it arrives or an alpha reaches a bound (which leaves the
    free set). Where the equations have no solution the objective grows without
    limit along the least-squares residual, so the step follows that ray to a
    bound. Every step keeps alpha feasible and does not lower the objective.
    """
    alpha = alpha.copy()
    for _ in range(len(alpha)):
        free = (alpha > 0) & (alpha < C)
        if not free.any():
            break
        F = np.flatnonzero(free)
        v = alpha * y
        v_bound = np.where(free, 0.0, v)
        A = np.ones((F.size + 1, F.size + 1))
        A[:-1, :-1] = K[np.ix_(F, F)]
        A[-1, -1] = 0.0
        rhs = np.append(y[F] - K[F] @ v_bound, np.sum(v) - np.sum(v_bound))
        solution = np.linalg.lstsq(A, rhs, rcond=None)[0]
        residual = rhs - A @ solution
        arrives = np.max(np.abs(residual)) <= 1e-9 * (1.0 + np.max(np.abs(rhs)))
        step = solution[:-1] - v[F] if arrives else residual[:-1]
        # The exact step keeps sum(alpha * y); rounding in the solve must not move it.
        direction = (step - np.mean(step)) * y[F]
        with np.errstate(divide="ignore", invalid="ignore"):
            room = np.where(direction > 0, (C - alpha[F]) / direction,
                            np.where(direction < 0, -alpha[F] / direction, np.inf))
        k = int(np.argmin(room))
        if arrives and room[k] >= 1.0:
            alpha[F] += direction
            break
        if not np.isfinite(room[k]):
            break
        alpha[F] += room[k] * direction
        alpha[F[k]] = C if direction[k] > 0 else 0.0
        np.clip(alpha, 0.0, C, out=alpha)
    return alpha


def fit_dual(K, y, C=1.0, tol=1e-6, max_iter=100000):
    K = np.asarray(K, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    C = float(C)
    n = len(y)
    diag = np.diag(K).copy()
    alpha = np.zeros(n)
    g = K @ (alpha * y)  # g_i = sum_j alpha_j y_j K_ji
    fresh = True
    for iteration in range(max_iter):
        if iteration % _POLISH_EVERY == _POLISH_EVERY - 1:
            # Rounding could undo the gain of a step; keep the better point.
            polished = _polish(K, y, C, alpha)
            if dual_objective(polished, y, K) >= dual_objective(alpha, y, K):
                alpha = polished
            g, fresh = K @ (alpha * y), True
        r = y - g
        up, down = _movable(alpha, y, C)
        if not up.any() or not down.any():
            break
        i = int(np.flatnonzero(up)[np.argmax(r[up])])
        m = r[i]
        if m - np.min(r[down]) <= 2 * tol:
            if fresh:
                break
            # g drifts when updated step by step: judge convergence on a recomputed one.
            g, fresh = K @ (alpha * y), True
            continue
        fresh = False
        # Second-order choice of j: the largest guaranteed gain among violating partners.
        gain = m - r
        candidates = down & (gain > 0)
        candidates[i] = False
        curvature = diag[i] + diag - 2 * K[i]
        curvature = np.where(curvature > _TAU, curvature, _TAU)
        score = np.where(candidates, gain * gain / curvature, -np.inf)
        j = int(np.argmax(score))
        # Move along d = (+y_i at i, -y_j at j): sum(alpha * y) stays put.
        t = gain[j] / curvature[j]
        room_i = C - alpha[i] if y[i] > 0 else alpha[i]
        room_j = alpha[j] if y[j] > 0 else C - alpha[j]
        t = min(t, room_i, room_j)
        old_i, old_j = alpha[i], alpha[j]
        alpha[i] = old_i + t * y[i]
        alpha[j] = old_j - t * y[j]
        # Land exactly on a bound the step reached, so 0 and C stay exact.
        if t == room_i:
            alpha[i] = C if y[i] > 0 else 0.0
        if t == room_j:
            alpha[j] = 0.0 if y[j] > 0 else C
        np.clip(alpha, 0.0, C, out=alpha)
        g += K[i] * ((alpha[i] - old_i) * y[i]) + K[j] * ((alpha[j] - old_j) * y[j])
    return alpha


def intercept(alpha, y, K, C=1.0):
    alpha = np.asarray(alpha, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    K = np.asarray(K, dtype=np.float64)
    tol = 1e-6 * C
    r = y - K.T @ (alpha * y)  # y_i - g_i, g_i = sum_j alpha_j y_j K_ji
    free = (alpha > tol) & (alpha < C - tol)
    if free.any():
        return float(np.mean(r[free]))
    at_zero = alpha <= tol
    at_c = alpha >= C - tol
    lower = (at_zero & (y > 0)) | (at_c & (y < 0))
    upper = (at_zero & (y < 0)) | (at_c & (y > 0))
    lo = np.max(r[lower]) if lower.any() else -np.inf
    hi = np.min(r[upper]) if upper.any() else np.inf
    if not lower.any():
        return float(hi)
    if not upper.any():
        return float(lo)
    return float((lo + hi) / 2)


def decision_function(alpha, b, y, K_cross):
    alpha = np.asarray(alpha, dtype=np.float64)
    K_cross = np.asarray(K_cross, dtype=np.float64)
    return (alpha * np.asarray(y, dtype=np.float64)) @ K_cross + b

"""Speed and accuracy of the svm_dual reference's fit_dual, with and without its exact solves.

    .venv/bin/python benchmarks/bench_svm_dual.py            # the table below
    .venv/bin/python benchmarks/bench_svm_dual.py --seeds 1  # a quick look

For each kernel and C, solves random two-class problems of 20, 40 and 60
points to the default tol (1e-6) and prints the median and largest time per
fit and the largest KKT violation at return (the handout's measure, which
must stay <= tol). "SMO only" turns off the active-set solves that
fit_dual makes every 50 SMO steps, to show what they buy on ill-conditioned
kernels (polynomial, large C).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from autograder.assignments.svm_dual.public_tests import kkt_violation
from autograder.reference import svm_dual as ref

KERNELS = {
    "linear": ref.linear_kernel,
    "poly(2, 1)": lambda A, B: ref.polynomial_kernel(A, B, degree=2, coef0=1.0),
    "rbf(0.5)": lambda A, B: ref.rbf_kernel(A, B, gamma=0.5),
}


def problems(seeds):
    for seed in range(seeds):
        for n in (20, 40, 60):
            rng = np.random.default_rng(seed * 100 + n)
            X = rng.normal(size=(n, 3))
            y = np.where(X[:, 0] + 0.5 * rng.normal(size=n) > 0, 1.0, -1.0)
            y[:2] = [1.0, -1.0]
            yield X, y


def measure(kernel, C, seeds):
    times, worst = [], 0.0
    for X, y in problems(seeds):
        K = kernel(X, X)
        start = time.perf_counter()
        alpha = ref.fit_dual(K, y, C)
        times.append(time.perf_counter() - start)
        worst = max(worst, kkt_violation(alpha, y, K, C))
    return np.median(times) * 1e3, max(times) * 1e3, worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="problems per size (default 3)")
    args = parser.parse_args()
    print(f"{'kernel':<11} {'C':>6}  {'variant':<9} {'median ms':>10} {'max ms':>8} "
          f"{'max KKT viol.':>14}")
    every = ref._POLISH_EVERY
    for name, kernel in KERNELS.items():
        for C in (0.1, 1.0, 10.0, 100.0):
            for variant, polish in (("default", every), ("SMO only", 10**9)):
                ref._POLISH_EVERY = polish
                try:
                    median, largest, worst = measure(kernel, C, args.seeds)
                finally:
                    ref._POLISH_EVERY = every
                print(f"{name:<11} {C:>6g}  {variant:<9} {median:>10.1f} {largest:>8.1f} "
                      f"{worst:>14.2e}")


if __name__ == "__main__":
    main()

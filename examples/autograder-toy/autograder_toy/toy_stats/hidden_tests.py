import numpy as np

from autograder.testing import case, check, unpack


@case(hint="The population standard deviation divides by n, not n - 1.")
def population_std(sub, ref):
    x = np.array([2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0])
    _, std = unpack(sub.mean_and_std(x), 2, "mean_and_std")
    check("std", std, ref.mean_and_std(x)[1], rtol=1e-12, atol=1e-12)


@case
def zscore_random(sub, ref):
    x = np.random.default_rng(0).normal(size=20)
    check("zscore(x)", sub.zscore(x), ref.zscore(x), rtol=1e-10, atol=1e-12)

import numpy as np

from autograder.testing import case, check, unpack


@case
def public_mean_and_std(sub, ref):
    x = np.array([1.0, 2.0, 3.0, 4.0])
    mean, std = unpack(sub.mean_and_std(x), 2, "mean_and_std")
    check("mean", mean, ref.mean_and_std(x)[0], rtol=1e-12, atol=1e-12)

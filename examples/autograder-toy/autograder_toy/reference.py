import numpy as np


def mean_and_std(x):
    x = np.asarray(x, dtype=np.float64)
    return float(x.mean()), float(x.std())


def zscore(x):
    x = np.asarray(x, dtype=np.float64)
    return (x - x.mean()) / x.std()

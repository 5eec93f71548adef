def mean_and_std(x):
    """Return (mean, population standard deviation) of the 1-D array x, as floats."""
    raise NotImplementedError


def zscore(x):
    """Return (x - mean) / std for the 1-D array x (population std)."""
    raise NotImplementedError

"""Comparison of a student's values with expected ones, in the grader's process.

Values arrive here already decoded from the wire (plain numbers, NumPy arrays,
lists, tuples, dicts), so no student object can run code during a comparison.
Everything is converted to float64, the shape is checked first, then values
against an explicit tolerance; each failure says what differs and where.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class CheckFailure(AssertionError):
    """A check did not hold. ``message`` is written for the student."""

    def __init__(self, message: str, label: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.label = label
        self.got: object = None
        self.tolerance: tuple[float, float] | None = None


def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of {len(value)} items"
    return f"a {type(value).__name__}"


def as_float64(value: Any, label: str) -> np.ndarray:
    """Convert a returned value to a float64 array or fail with a message naming ``label``."""
    if isinstance(value, bool) or value is None or isinstance(value, (str, dict)):
        if isinstance(value, bool):
            return np.asarray(float(value))
        raise CheckFailure(f"{label} is {_describe(value)}; expected numbers", label)
    if isinstance(value, (int, float)):
        try:
            return np.asarray(float(value))
        except OverflowError:  # an int past float64's range: the wire carries 400 digits
            raise CheckFailure(f"{label} is an integer too large for a float64 "
                               f"({len(str(abs(value)))} digits)", label) from None
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "c":
            if np.any(value.imag != 0):
                raise CheckFailure(f"{label} has complex values; expected real numbers", label)
            value = value.real
        if value.dtype.kind not in "biuf":
            raise CheckFailure(f"{label} has dtype {value.dtype}; expected numbers", label)
        return value.astype(np.float64)
    if isinstance(value, (list, tuple)):
        if value and all(type(v) is float or type(v) is int for v in value):
            # Plain numbers in one C pass: per item, a 190,000-number list takes seconds.
            try:
                return np.array(value, dtype=np.float64)
            except OverflowError:
                pass  # an int past float64's range: the item by item path names it
        parts = [as_float64(v, f"{label}[{i}]") for i, v in enumerate(value)]
        shapes = {p.shape for p in parts}
        if len(shapes) > 1:
            raise CheckFailure(f"{label} is a ragged {type(value).__name__} (item shapes "
                               f"{sorted(shapes)}); expected a rectangular array", label)
        return np.stack(parts) if parts else np.zeros((0,))
    raise CheckFailure(f"{label} is {_describe(value)}; expected numbers", label)


def _fmt_index(index: tuple) -> str:
    return "" if index == () else f" at index {tuple(int(i) for i in index)}"


def _check_shape(label: str, got: np.ndarray, expected: np.ndarray) -> None:
    if got.shape != expected.shape:
        noun = "a scalar" if got.shape == () else f"shape {got.shape}"
        want = "a scalar, shape ()" if expected.shape == () else f"shape {expected.shape}"
        raise CheckFailure(f"{label} has {noun}; expected {want}", label)


def _shape_first(label: str, got: Any, expected: np.ndarray) -> None:
    # Before the float64 copy: a 64 MB array of bools of the wrong shape would
    # cost half a gigabyte to convert only to fail here.
    if isinstance(got, np.ndarray) and got.dtype.kind in "biufc":
        _check_shape(label, got, expected)


def _nonfinite_failure(label: str, got: np.ndarray, expected: np.ndarray) -> None:
    # Either side: a finite value where NaN or inf was expected passes no tolerance test.
    bad = ((~np.isfinite(got) | ~np.isfinite(expected)) & ~(np.isnan(got) & np.isnan(expected))
           & ~(got == expected))
    if np.any(bad):
        index = tuple(np.argwhere(bad)[0])
        raise CheckFailure(f"{label} contains {float(got[index])}{_fmt_index(index)} where "
                           f"{float(expected[index])!r} was expected", label)


def assert_close(label: str, got: Any, expected: Any, *, rtol: float, atol: float) -> None:
    """Shape first, then ``|got - expected| <= atol + rtol * |expected|`` everywhere."""
    expected_array = np.asarray(expected, dtype=np.float64)
    _shape_first(label, got, expected_array)
    got_array = as_float64(got, label)
    _check_shape(label, got_array, expected_array)
    _nonfinite_failure(label, got_array, expected_array)
    with np.errstate(invalid="ignore", over="ignore"):
        error = np.abs(got_array - expected_array)
        allowed = atol + rtol * np.abs(expected_array)
        same_special = (got_array == expected_array) | (np.isnan(got_array) & np.isnan(expected_array))
        bad = (error > allowed) & ~same_special
    if not np.any(bad):
        return
    index = tuple(np.unravel_index(np.argmax(np.where(bad, error, -1)), bad.shape)) if bad.ndim else ()
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = error / np.abs(expected_array)
    max_rel = float(np.nanmax(np.where(bad, rel, np.nan)))
    count = int(bad.sum())
    where = f"{count} of {bad.size} values differ" if bad.size > 1 else "the value differs"
    raise CheckFailure(
        f"{label}: {where}; largest error {float(error[index]):.3g}{_fmt_index(index)} "
        f"(got {float(got_array[index])!r}, expected {float(expected_array[index])!r}); "
        f"largest relative "
        f"error {max_rel:.3g}; tolerance rtol={rtol:g}, atol={atol:g}", label)


def assert_exact(label: str, got: Any, expected: Any) -> None:
    """Integers, labels, counts and masks: integer-valued floats and bools are fine, else exact."""
    expected_array = np.asarray(expected, dtype=np.float64)
    _shape_first(label, got, expected_array)
    got_array = as_float64(got, label)
    _check_shape(label, got_array, expected_array)
    _nonfinite_failure(label, got_array, expected_array)
    bad = got_array != expected_array
    if np.any(bad):
        index = tuple(np.argwhere(bad)[0]) if bad.ndim else ()
        where = f"{int(bad.sum())} of {bad.size} values differ" if bad.size > 1 else "wrong value"
        raise CheckFailure(f"{label}: {where}; first{_fmt_index(index)}: got "
                           f"{got_array[index]:g}, expected {expected_array[index]:g}", label)


def values_match(got: Any, expected: Any, *, rtol: float, atol: float) -> bool:
    """True when ``got`` would pass ``assert_close``; used to match mutants' outputs."""
    try:
        assert_close("value", got, as_float64(expected, "value"), rtol=rtol, atol=atol)
    except (CheckFailure, ValueError, TypeError):
        return False
    return True

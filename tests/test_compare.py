import numpy as np
import pytest

from autograder.compare import CheckFailure, as_float64, assert_close, assert_exact, values_match


def failure(fn, *args, **kwargs) -> str:
    with pytest.raises(CheckFailure) as info:
        fn(*args, **kwargs)
    return info.value.message


def test_shape_is_checked_before_values():
    message = failure(assert_close, "w", np.zeros((3, 1)), np.zeros(3), rtol=0, atol=0)
    assert message == "w has shape (3, 1); expected shape (3,)"


def test_scalar_against_array_names_both():
    assert "expected a scalar, shape ()" in failure(assert_close, "b", np.zeros(1), 0.0,
                                                   rtol=0, atol=0)


def test_value_failure_gives_location_and_errors():
    expected = np.array([[1.0, 2.0], [3.0, 4.0]])
    got = expected.copy()
    got[1, 0] = 3.5
    message = failure(assert_close, "K", got, expected, rtol=1e-9, atol=1e-9)
    assert "1 of 4 values differ" in message
    assert "at index (1, 0)" in message
    assert "got 3.5, expected 3.0" in message
    assert "rtol=1e-09" in message


def test_within_tolerance_passes():
    assert_close("x", [1.0 + 1e-10, 2.0], np.array([1.0, 2.0]), rtol=1e-9, atol=0)


def test_nan_fails_even_with_huge_tolerance():
    message = failure(assert_close, "x", np.array([np.nan, 1.0]), np.array([0.0, 1.0]),
                      rtol=1e9, atol=1e9)
    assert "nan at index (0,)" in message


def test_inf_fails_unless_expected():
    failure(assert_close, "x", np.array([np.inf]), np.array([1.0]), rtol=1, atol=1)
    assert_close("x", np.array([np.inf]), np.array([np.inf]), rtol=0, atol=0)


@pytest.mark.parametrize("value,expect", [
    ("1.0", "is a str"), (None, "is a NoneType"), ({"a": 1}, "is a dict"),
    ([[1.0], [1.0, 2.0]], "ragged"), (np.array(["a"]), "dtype <U1"),
    (np.array([1 + 1j]), "complex"),
])
def test_non_numbers_are_refused_with_a_message(value, expect):
    assert expect in failure(as_float64, value, "out")


def test_exact_accepts_integer_valued_floats_and_bools():
    assert_exact("labels", np.array([1.0, -1.0]), np.array([1, -1]))
    assert_exact("mask", np.array([True, False]), np.array([1, 0]))
    assert "got 2, expected 1" in failure(assert_exact, "count", 2.0, 1)


def test_exact_rejects_nearly_integer():
    failure(assert_exact, "count", 1.0000001, 1)


def test_values_match_is_a_predicate():
    assert values_match(np.ones(2), (1.0, 1.0), rtol=0, atol=0)
    assert not values_match(np.ones(2), np.ones(3), rtol=1, atol=1)
    assert not values_match("x", np.ones(1), rtol=1, atol=1)


def test_finite_value_where_nan_or_inf_expected_fails():
    # A mutant that returns NaN must not match every wrong answer in fingerprinting.
    assert "where nan was expected" in failure(assert_close, "x", np.array([0.5, 1.0]),
                                               np.array([np.nan, 1.0]), rtol=1e9, atol=1e9)
    failure(assert_close, "x", np.array([0.5]), np.array([np.inf]), rtol=1, atol=1)
    assert not values_match(np.array([0.5]), np.array([np.nan]), rtol=1e-9, atol=1e-12)
    assert values_match(np.array([np.nan, 1.0]), np.array([np.nan, 1.0]), rtol=0, atol=0)

"""The test-author API (autograder.testing) in grading mode and in mutant-replay mode."""

import types

import numpy as np
import pytest

from autograder.compare import CheckFailure
from autograder.proxy import LocalSubmission
from autograder.testing import (case, check, check_exact, check_true, expect_raises,
                                recording, unpack)


def namespace(**functions):
    return LocalSubmission(types.SimpleNamespace(**functions))


def raise_value_error(n):
    raise ValueError(f"layer {n} is not possible")


def test_case_decorator_keeps_name_and_options():
    @case(hint="h", timeout_s=3, fingerprint=False)
    def my_test(sub, ref):
        pass

    assert (my_test.name, my_test.hint, my_test.timeout_s, my_test.fingerprint) == \
        ("my_test", "h", 3, False)
    assert case(my_test.function).hint == ""


def test_failures_carry_the_value_and_tolerance_for_fingerprints():
    with pytest.raises(CheckFailure) as info:
        check("w", np.ones(2), np.zeros(2), rtol=1e-6, atol=1e-8)
    assert info.value.label == "w" and info.value.tolerance == (1e-6, 1e-8)
    assert np.array_equal(info.value.got, np.ones(2))
    with pytest.raises(CheckFailure) as info:
        check_exact("n", 3, 2)
    assert info.value.tolerance == (0.0, 0.0)


def test_recording_records_every_check_and_the_first_failure():
    with recording() as record:
        check("a", 1.0, 1.0, rtol=0, atol=0)
        check("b", 2.0, 1.0, rtol=0, atol=0)
        check_exact("c", 5, 4)
        check_true("d", False, "never")
    assert list(record.values) == ["a", "b", "c", "d"]
    assert record.first_failure == "b"
    assert record.values["c"] == (5, 0.0, 0.0)


def test_check_true_fails_with_its_message():
    with pytest.raises(CheckFailure, match="accuracy: only 40% of points"):
        check_true("accuracy", False, "only 40% of points")


@pytest.mark.parametrize("function,match,outcome,message", [
    (raise_value_error, None, 1.0, None),
    (lambda n: n, None, 0.0, "returned normally; expected it to raise ValueError"),
    (lambda n: 1 / 0, None, 3.0, "raised ZeroDivisionError: division by zero; expected ValueError"),
    (raise_value_error, "layer 9", 2.0, "expected its message to contain 'layer 9'"),
    (lambda n: (_ for _ in ()).throw(NotImplementedError()), None, 3.0, "NotImplementedError"),
])
def test_expect_raises_outcomes(function, match, outcome, message):
    sub = namespace(f=function)
    if message is None:
        with expect_raises(ValueError, "f(2)", match=match):
            sub.f(2)
    else:
        with pytest.raises(CheckFailure, match=message):
            with expect_raises(ValueError, "f(2)", match=match):
                sub.f(2)
    with recording() as record:
        with expect_raises(ValueError, "f(2)", match=match):
            sub.f(2)
    assert record.values["f(2)"][0] == outcome
    assert record.first_failure == (None if message is None else "f(2)")


def test_unpack_names_what_came_back():
    assert unpack((1, 2), 2, "f") == (1, 2)
    with pytest.raises(CheckFailure, match="f returned a tuple of 3 items; expected a tuple of 2"):
        unpack((1, 2, 3), 2, "f")
    with pytest.raises(CheckFailure, match="f returned a single float"):
        unpack(1.0, 2, "f")


def test_local_submission_keeps_opaque_items_and_normalises_values():
    sub = namespace(forward=lambda x: (x * 2, object()), backward=lambda c: 7)
    value, handle = sub.keeping(1).forward(np.float64(1.5))
    assert type(value) is float and value == 3.0  # NumPy scalars travel as plain numbers
    assert sub.backward(handle) == 7

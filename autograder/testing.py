"""The API for writing an assignment's tests.

A test is a function decorated with :func:`case` that takes ``sub`` (the
student's functions, each call run in the sandbox) and ``ref`` (the reference
module, in the grader's process), calls both on the same inputs and checks
the student's values with :func:`check`, :func:`check_exact` or
:func:`expect_raises`. Its points live in the assignment's metadata under
the function's name. Example::

    @case(hint="Re-read the update condition: a point on the boundary is a mistake.")
    def train_counts_boundary_mistakes(sub, ref):
        X, y = np.array([[1.0, 0.0]]), np.array([1])
        w, b, mistakes = unpack(sub.perceptron_train(X, y), 3, "perceptron_train")
        ew, eb, em = ref.perceptron_train(X, y)
        check("w", w, ew, rtol=0, atol=1e-12)
        check_exact("mistakes", mistakes, em)

Every check has a ``label``, unique within the test: a failure names it,
and mutant fingerprints are matched on it.
"""

from __future__ import annotations

import contextlib
import contextvars
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from autograder.compare import CheckFailure, assert_close, assert_exact, as_float64
from autograder.proxy import StudentCallError
from autograder.transport import FunctionSpec

__all__ = ["Case", "CheckFailure", "FunctionSpec", "as_callable", "case", "check", "check_exact",
           "check_true", "expect_raises", "unpack"]


@dataclass
class Case:
    """One named, scored test. ``visibility`` is set by the file it lives in."""

    name: str
    function: Callable[[Any, Any], None]
    hint: str = ""
    timeout_s: float | None = None
    fingerprint: bool = True
    visibility: str = "visible"
    points: float = 0.0

    def __call__(self, sub: Any, ref: Any) -> None:
        self.function(sub, ref)


def case(function: Callable | None = None, *, hint: str = "",
         timeout_s: float | None = None, fingerprint: bool = True) -> Any:
    """Mark a function as a test; usable bare (``@case``) or with options.

    :param hint: shown when the test fails as a hidden test, instead of any detail.
    :param timeout_s: the wall-clock limit for each student call in this test,
        overriding the assignment's ``limits.call_timeout_s``.
    :param fingerprint: replay the test against the assignment's mutants on failure to
        name the likely mistake; turn off for tests too slow to replay (training loops).
    """
    def wrap(fn: Callable) -> Case:
        return Case(name=fn.__name__, function=fn, hint=hint, timeout_s=timeout_s,
                    fingerprint=fingerprint)
    return wrap(function) if function is not None else wrap


@dataclass
class Recording:
    """Values seen at each check label while replaying a test against a mutant."""

    values: dict[str, tuple[Any, float, float]] = field(default_factory=dict)
    first_failure: str | None = None


_recording: contextvars.ContextVar[Recording | None] = contextvars.ContextVar(
    "autograder_recording", default=None)


@contextlib.contextmanager
def recording() -> Iterator[Recording]:
    """Within this block checks record their values instead of failing."""
    record = Recording()
    token = _recording.set(record)
    try:
        yield record
    finally:
        _recording.reset(token)


def _verify(label: str, got: Any, tolerance: tuple[float, float],
            assertion: Callable[[], None]) -> None:
    """Run ``assertion``; when replaying a mutant, record instead of failing."""
    record = _recording.get()
    if record is None:
        try:
            assertion()
        except CheckFailure as failure:
            failure.got, failure.tolerance = got, tolerance
            raise
        return
    try:
        assertion()
    except CheckFailure:
        if record.first_failure is None:
            record.first_failure = label
    record.values[label] = (got, *tolerance)


def check(label: str, got: Any, expected: Any, *, rtol: float, atol: float) -> None:
    """Fail unless ``got`` has ``expected``'s shape and is within ``atol + rtol*|expected|``."""
    _verify(label, got, (rtol, atol),
            lambda: assert_close(label, got, expected, rtol=rtol, atol=atol))


def check_exact(label: str, got: Any, expected: Any) -> None:
    """Fail unless ``got`` equals ``expected`` exactly (integers, labels, masks, shapes)."""
    _verify(label, got, (0.0, 0.0), lambda: assert_exact(label, got, expected))


def check_true(label: str, condition: bool, message: str) -> None:
    """Fail with ``message`` unless ``condition`` (a property, not a value comparison)."""
    def assertion() -> None:
        if not condition:
            raise CheckFailure(f"{label}: {message}", label)
    _verify(label, float(bool(condition)), (0.0, 0.0), assertion)


def unpack(value: Any, count: int, what: str) -> tuple:
    """Split a returned tuple/list of ``count`` items, or fail saying what came back."""
    if not isinstance(value, (tuple, list)) or len(value) != count:
        got = (f"a {type(value).__name__} of {len(value)} items"
               if isinstance(value, (tuple, list)) else f"a single {type(value).__name__}")
        raise CheckFailure(f"{what} returned {got}; expected a tuple of {count}", what)
    return tuple(value)


# What a call did, as a number, so raise-type mistakes can be matched to mutants too.
_RETURNED, _RAISED_AS_EXPECTED, _WRONG_MESSAGE, _OTHER_EXCEPTION = 0.0, 1.0, 2.0, 3.0


@contextlib.contextmanager
def expect_raises(exception: type[BaseException], what: str, *,
                  match: str | None = None) -> Iterator[None]:
    """Pass only if the block's student call raises ``exception`` (or a subclass).

    :param what: the call as the student would write it, for messages; also the check's label.
    :param match: a substring the exception message must contain.
    """
    wanted = f"{exception.__module__}.{exception.__qualname__}"
    try:
        yield
    except StudentCallError as error:
        if not error.exception_names and _recording.get() is None:
            raise  # a timeout or crash: report it as such
        message = error.outcome.message
        if wanted not in error.exception_names:
            outcome, failure = _OTHER_EXCEPTION, (f"{what} raised {message}; expected "
                                                  f"{exception.__name__}")
        elif match is not None and match not in message:
            outcome, failure = _WRONG_MESSAGE, (f"{what} raised {message}; expected its "
                                                f"message to contain {match!r}")
        else:
            outcome, failure = _RAISED_AS_EXPECTED, ""
    else:
        outcome, failure = _RETURNED, (f"{what} returned normally; expected it to raise "
                                       f"{exception.__name__}")

    def assertion() -> None:
        if failure:
            raise CheckFailure(failure, what)
    _verify(what, outcome, (0.0, 0.0), assertion)


def as_callable(spec: FunctionSpec) -> Callable:
    """The callable the worker builds from ``spec``, for computing expected values with it."""
    from autograder.worker import materialise

    return materialise(spec)


def float_array(value: Any, label: str):
    """A returned value as a float64 array, for tests that compute with it."""
    return as_float64(value, label)

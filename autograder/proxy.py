"""What a test holds as ``sub``: the student's functions, called at arm's length.

:class:`SubmissionProxy` forwards each call to a sandbox session; the values
that come back are plain decoded data. :class:`LocalSubmission` runs trusted
code (a reference, a mutant) in this process through the same conversion, so
that tests see the same kinds of values either way.
"""

from __future__ import annotations

import builtins
import copy
from typing import Any, Callable

from autograder import transport
from autograder.sandbox.session import CallOutcome, Session

_KIND_SUMMARY = {
    "timeout": "did not finish in time",
    "output": "printed or returned too much",
    "crash": "crashed the process running it",
    "exit": "called sys.exit",
    "import": "could not be imported",
    "missing": "is not defined",
    "return_type": "returned a value of the wrong type",
    "protocol": "interfered with the grader's channel",
}


# The only exception names a hidden test repeats: a submission names its own classes
# (``type(repr(X), (ValueError,), {})``), so any other name could carry a hidden
# test's inputs out.
_BUILTIN_EXCEPTIONS = frozenset(
    name for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, BaseException))


class StudentCallError(Exception):
    """A call of a student function did not return a value."""

    def __init__(self, function: str, outcome: CallOutcome) -> None:
        super().__init__(outcome.message)
        self.function = function
        self.outcome = outcome

    @property
    def exception_names(self) -> list[str]:
        return self.outcome.exc_mro if self.outcome.kind == "exception" else []

    def public_message(self) -> str:
        """Everything the student may see: their exception, their frames, their output."""
        parts = [f"{self.function}() failed: {self.outcome.message}"]
        if self.outcome.traceback:
            parts.append("Traceback (your code only):\n" + self.outcome.traceback.rstrip())
        if self.outcome.output.strip():
            parts.append("Your code printed:\n" + self.outcome.output.rstrip()[-1000:])
        return "\n".join(parts)

    def hidden_message(self) -> str:
        """No message text: a student's exception could carry a hidden test's inputs out."""
        if self.outcome.kind == "exception":
            if self.outcome.exc_type in _BUILTIN_EXCEPTIONS:
                return f"{self.function}() raised {self.outcome.exc_type}"
            return f"{self.function}() raised an exception that is not a Python built-in"
        if self.outcome.kind == "import":
            return "your submission could not be imported"
        summary = _KIND_SUMMARY.get(self.outcome.kind, "failed")
        return f"{self.function}() {summary}"


CallObserver = Callable[[str], None]


class SubmissionProxy:
    """Attribute access gives a callable that runs the student's function in the worker."""

    def __init__(self, session: Session, *, timeout_s: float | None = None,
                 observer: CallObserver | None = None, opaque: tuple[int, ...] = ()) -> None:
        self._session = session
        self._timeout_s = timeout_s
        self._observer = observer
        self._opaque = opaque

    def keeping(self, *positions: int) -> SubmissionProxy:
        """The same proxy, but items ``positions`` of a returned tuple stay in the worker.

        ``Y_hat, cache = sub.keeping(1).forward(params, X)`` leaves the student's
        cache opaque; ``sub.backward(params, cache, labels)`` hands it back.
        """
        return SubmissionProxy(self._session, timeout_s=self._timeout_s,
                               observer=self._observer, opaque=positions)

    def fresh(self) -> SubmissionProxy:
        """The same proxy, its next call in a new worker with nothing remembered.

        A test that judges ``f`` by the submission's own helpers calls
        ``sub.fresh()`` before calling the helpers: in the worker that answered
        ``f`` they could just return ``f``'s answer again.
        """
        self._session.restart()
        return self

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):
            raise AttributeError(name)

        def call(*args: Any, **kwargs: Any) -> Any:
            if self._observer is not None:
                self._observer(name)
            outcome = self._session.call(name, args, kwargs, timeout_s=self._timeout_s,
                                         opaque=self._opaque)
            if not outcome.ok:
                raise StudentCallError(name, outcome)
            return outcome.value

        call.__name__ = name
        return call


class LocalSubmission:
    """Trusted code (reference or mutant) called in-process, with wire-shaped results."""

    def __init__(self, namespace: Any, opaque: tuple[int, ...] = ()) -> None:
        self._namespace = namespace
        self._opaque = opaque
        self._kept: dict[int, Any] = {}

    def keeping(self, *positions: int) -> LocalSubmission:
        twin = LocalSubmission(self._namespace, positions)
        twin._kept = self._kept
        return twin

    def fresh(self) -> LocalSubmission:
        """Trusted code keeps no state to forget: the same object."""
        return self

    def _keep(self, value: Any) -> Any:
        if not self._opaque:
            return value
        items = list(value)
        for position in self._opaque:
            ident = len(self._kept) + 1
            self._kept[ident] = items[position]
            items[position] = transport.Handle(ident)
        return tuple(items)

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, transport.Handle):
            return self._kept[value.ident]
        if isinstance(value, (list, tuple)):
            return type(value)(self._resolve(v) for v in value)
        if isinstance(value, dict):
            return {k: self._resolve(v) for k, v in value.items()}
        return value

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):
            raise AttributeError(name)
        from autograder.worker import ReturnTypeError, materialise, to_plain

        def call(*args: Any, **kwargs: Any) -> Any:
            function = getattr(self._namespace, name, None)
            if not callable(function):
                raise StudentCallError(name, CallOutcome(False, kind="missing",
                                                         message=f"{name} is not defined"))
            args, kwargs = materialise(copy.deepcopy(self._resolve((args, kwargs))))
            try:
                value = to_plain(self._keep(function(*args, **kwargs)))
                return transport.decode(transport.encode(value)[4:])
            except (ReturnTypeError, transport.WireError) as exc:
                raise StudentCallError(name, CallOutcome(False, kind="return_type",
                                                         message=str(exc))) from None
            except Exception as exc:  # noqa: BLE001 - mirrors what the worker reports
                mro = [f"{c.__module__}.{c.__qualname__}" for c in type(exc).__mro__]
                raise StudentCallError(name, CallOutcome(
                    False, kind="exception", exc_type=type(exc).__name__, exc_mro=mro,
                    message=f"{type(exc).__name__}: {exc}")) from None

        return call

"""The grader's side of a worker: framing, deadlines, output caps and restarts."""

from __future__ import annotations

import os
import re
import selectors
import shutil
import signal
import tempfile
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder import transport
from autograder.processes import process_exists


@dataclass(frozen=True)
class Limits:
    """Per-call limits, from the assignment's metadata."""

    call_timeout_s: float = 10.0
    import_timeout_s: float = 60.0
    output_bytes: int = 1 << 16
    result_bytes: int = 64 << 20
    # Every import and call of one submission together; None: import + 10 calls' worth.
    total_timeout_s: float | None = None

    @property
    def total_s(self) -> float:
        """The wall-clock time one submission's imports and calls may take in all.

        Without it a submission that sleeps just under the import limit and
        never returns would cost (import + call timeout) per call, since each
        timed-out call starts a fresh worker: half an hour for 30 tests.
        """
        if self.total_timeout_s is not None:
            return self.total_timeout_s
        return self.import_timeout_s + 10 * self.call_timeout_s


@dataclass
class CallOutcome:
    """What one call of a student function came to.

    ``kind`` is empty when ``ok``; otherwise one of ``exception``, ``import``,
    ``missing``, ``return_type``, ``exit``, ``timeout``, ``output``, ``crash``,
    ``protocol``.
    """

    ok: bool
    value: Any = None
    kind: str = ""
    message: str = ""
    exc_type: str = ""
    exc_mro: list[str] = field(default_factory=list)
    traceback: str = ""
    output: str = ""
    seq: int | None = None


@dataclass
class LayerStatus:
    """One isolation layer of a backend, as ``autograder doctor`` shows it."""

    name: str
    available: bool
    active: bool
    detail: str
    required: bool = False

    def as_json(self) -> dict:
        return {"name": self.name, "available": self.available, "active": self.active,
                "detail": self.detail, "required": self.required}


class WorkerProcess(ABC):
    """A started worker: three pipe ends and a way to kill its whole process tree.

    ``exit_fd``, when a backend can offer one (a pidfd), becomes readable as
    soon as the worker process ends: a grandchild still holding the pipes
    open then cannot make the grader wait for EOF until the deadline.
    """

    request_fd: int
    response_fd: int
    output_fd: int
    exit_fd: int | None = None

    @abstractmethod
    def kill(self) -> None:
        """Kill the worker and everything it started; must not raise."""

    @abstractmethod
    def exit_description(self) -> str:
        """After kill or EOF: how the worker ended, for a message ("exited with code 3")."""


class Sandbox(ABC):
    """A backend that starts workers. Subclasses implement :meth:`spawn`."""

    name: str = "base"

    def layers(self) -> list[str]:
        """The isolation layers this backend applies, for results and ``doctor``."""
        return []

    def statuses(self) -> list[LayerStatus]:
        """Every layer this backend knows: available here, active, and why not."""
        return [LayerStatus(name, True, True, "always on in this backend")
                for name in self.layers()]

    @abstractmethod
    def spawn(self, workdir: Path, submission: Path, forbidden: list[str]) -> WorkerProcess:
        """Start a worker that imports ``submission`` (a path inside ``workdir``)."""

    def open(self, submission: Path, *, forbidden: list[str], limits: Limits) -> Session:
        """Open a grading session for one submission."""
        return Session(self, Path(submission), forbidden=list(forbidden), limits=limits)

    def close(self) -> None:
        """Release whatever the backend holds between submissions (warm workers...)."""


def _signal_name(returncode: int) -> str:
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


def describe_returncode(returncode: int | None) -> str:
    if returncode is None:
        return "was still running"
    if returncode < 0:
        return f"was killed by {_signal_name(returncode)}"
    return f"exited with code {returncode}"


class Session:
    """Calls into one submission's worker; restarts it after a crash or a kill.

    Each call is bounded by a wall-clock deadline and an output cap. When a
    call breaks either, the worker is killed and the next call starts a fresh
    one, so answers already returned keep counting.
    """

    def __init__(self, sandbox: Sandbox, submission: Path, *, forbidden: list[str],
                 limits: Limits) -> None:
        self.sandbox = sandbox
        self.submission = submission
        self.forbidden = forbidden
        self.limits = limits
        self._worker: WorkerProcess | None = None
        self._workdir: Path | None = None
        self._import_failure: CallOutcome | None = None
        self._seq = 0
        self._spent = 0.0
        self.worker_starts = 0

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._stop_worker()

    def restart(self) -> None:
        """End the worker: the next call runs in a fresh one that remembers nothing.

        For tests that judge one function by what the submission's other functions
        return: called in the same worker, those could replay the first answer.
        """
        self._stop_worker()

    def _stop_worker(self) -> None:
        if self._worker is not None:
            self._worker.kill()
            for fd in (self._worker.request_fd, self._worker.response_fd, self._worker.output_fd,
                       self._worker.exit_fd):
                if fd is None:
                    continue
                try:
                    os.close(fd)
                except OSError:
                    pass
            self._worker = None
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def _start_worker(self) -> CallOutcome | None:
        _sweep_orphaned_workdirs()
        self._workdir = Path(tempfile.mkdtemp(prefix=f"{_WORKDIR_PREFIX}{os.getpid()}-"))
        target = self._workdir / self.submission.name
        if self.submission.is_dir():
            # Links stay links: following one would copy, say, a key file the
            # link points at into the worker's folder with the grader's rights.
            shutil.copytree(self.submission, target, symlinks=True)
        else:
            shutil.copy2(self.submission, target)
        self.worker_starts += 1
        self._worker = self.sandbox.spawn(self._workdir, target, self.forbidden)
        ready = self._timed_exchange(None, self.limits.import_timeout_s,
                                     "importing your submission")
        if ready.ok:
            return None
        self._stop_worker()
        if ready.kind == "exception":
            ready.kind = "import"
        if self._spent < self.limits.total_s:  # else the message says the time ran out
            ready.message = "your submission could not be imported: " + ready.message
        return ready

    def call(self, function: str, args: tuple = (), kwargs: dict | None = None, *,
             timeout_s: float | None = None, opaque: tuple[int, ...] = ()) -> CallOutcome:
        """Run ``function(*args, **kwargs)`` in the worker and return what came of it.

        :param opaque: positions in a returned tuple that stay in the worker; the
            value carries a :class:`~autograder.transport.Handle` there instead,
            which later calls may pass back as an argument.
        """
        if self._import_failure is not None:
            return self._import_failure
        if self._spent >= self.limits.total_s:
            return CallOutcome(False, kind="timeout", message=self._out_of_time(
                f"{function}() was not run"))
        if self._worker is None:
            failure = self._start_worker()
            if failure is not None:
                # An import that fails once fails every time: don't pay for it per call.
                self._import_failure = failure
                return failure
        self._seq += 1
        request = {"fn": function, "seq": self._seq, "args": list(args), "kwargs": kwargs or {},
                   "opaque": list(opaque)}
        outcome = self._timed_exchange(request, timeout_s or self.limits.call_timeout_s,
                                       f"{function}()")
        if outcome.seq != self._seq and outcome.kind not in ("timeout", "output", "crash", "protocol"):
            outcome = CallOutcome(False, kind="protocol",
                                  message=f"{function}() answered out of turn")
        if not outcome.ok and outcome.kind in ("timeout", "output", "crash", "protocol", "exit"):
            self._stop_worker()
        return outcome

    def _timed_exchange(self, request: dict | None, timeout_s: float, what: str) -> CallOutcome:
        """:meth:`_exchange`, within what is left of the submission's total time."""
        left = self.limits.total_s - self._spent
        start = time.monotonic()
        try:
            outcome = self._exchange(request, min(timeout_s, left), what)
        finally:
            self._spent += time.monotonic() - start
        if outcome.kind == "timeout" and left < timeout_s:
            outcome.message = self._out_of_time(f"{what} was stopped")
        return outcome

    def _out_of_time(self, what: str) -> str:
        return (f"{what}: the submission used up the {self.limits.total_s:g} s (wall clock) "
                "that its imports and calls may take together")

    def _exchange(self, request: dict | None, timeout_s: float, what: str) -> CallOutcome:
        worker = self._worker
        assert worker is not None
        if request is not None:
            try:
                data = transport.encode(request)
            except transport.WireError as exc:
                raise ValueError(f"a test sent an argument that cannot be sent: {exc}") from None
            try:
                _write_all(worker.request_fd, data)
            except (BrokenPipeError, OSError):
                return self._crashed(what, b"")
        deadline = time.monotonic() + timeout_s
        response, output = bytearray(), bytearray()
        selector = selectors.DefaultSelector()
        selector.register(worker.response_fd, selectors.EVENT_READ, "response")
        selector.register(worker.output_fd, selectors.EVENT_READ, "output")
        if worker.exit_fd is not None:
            selector.register(worker.exit_fd, selectors.EVENT_READ, "exit")
        exited = False
        try:
            while True:
                frame = _complete_frame(response)
                if frame is not None:
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    worker.kill()
                    return CallOutcome(False, kind="timeout", output=_tail(output),
                                       message=f"{what} did not finish within {timeout_s:g} s "
                                               "(wall clock); it was stopped")
                # Once the worker has ended, read only what it already wrote.
                events = selector.select(0 if exited else remaining)
                if exited and not events:
                    return self._crashed(what, output)
                for key, _ in events:
                    if key.data == "exit":
                        exited = True
                        selector.unregister(key.fd)
                        continue
                    chunk = os.read(key.fd, 1 << 20)
                    if key.data == "output":
                        if not chunk:
                            selector.unregister(key.fd)
                            continue
                        output += chunk
                        if len(output) > self.limits.output_bytes:
                            worker.kill()
                            return CallOutcome(
                                False, kind="output", output=_tail(output),
                                message=f"{what} printed more than {self.limits.output_bytes} "
                                        "bytes; it was stopped")
                    else:
                        if not chunk:
                            return self._crashed(what, output)
                        response += chunk
                        if len(response) > self.limits.result_bytes + 8:
                            worker.kill()
                            return CallOutcome(
                                False, kind="output", output=_tail(output),
                                message=f"{what} returned more than "
                                        f"{self.limits.result_bytes} bytes")
        finally:
            selector.close()
        if len(response) > 4 + len(frame):
            # Bytes after the answer: student code is writing to the channel itself.
            return CallOutcome(False, kind="protocol", output=_tail(output),
                               message=f"{what} wrote extra data to the grader's channel")
        try:
            # As many numbers as result_bytes holds in float64, whatever the dtype sent.
            message = transport.decode(frame, max_elements=self.limits.result_bytes // 8)
        except transport.WireError as exc:
            return CallOutcome(False, kind="protocol", output=_tail(output),
                               message=f"{what} sent back something that is not a valid "
                                       f"answer ({exc})")
        return _outcome_from_message(message, output)

    def _crashed(self, what: str, output: bytes) -> CallOutcome:
        worker = self._worker
        worker.kill()
        return CallOutcome(False, kind="crash", output=_tail(output),
                           message=f"the process running your code {worker.exit_description()} "
                                   f"during {what}")


_WORKDIR_PREFIX = "autograder-work-"
_swept = False


def _sweep_orphaned_workdirs() -> None:
    """Once per process: remove work folders whose grading process died (SIGKILL, OOM)."""
    global _swept
    if _swept:
        return
    _swept = True
    pattern = re.compile(re.escape(_WORKDIR_PREFIX) + r"(\d+)-\w+")
    try:
        entries = list(os.scandir(tempfile.gettempdir()))
    except OSError:
        return
    for entry in entries:
        match = pattern.fullmatch(entry.name)
        if match and not process_exists(int(match.group(1))):
            shutil.rmtree(entry.path, ignore_errors=True)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _complete_frame(buffer: bytearray) -> bytes | None:
    if len(buffer) < 4:
        return None
    length = int.from_bytes(buffer[:4], "big")
    if len(buffer) < 4 + length:
        return None
    return bytes(buffer[4:4 + length])


def _tail(output: bytes | bytearray, limit: int = 2000) -> str:
    text = bytes(output[-limit:]).decode("utf-8", errors="replace")
    return ("..." + text) if len(output) > limit else text


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _outcome_from_message(message: Any, output: bytes) -> CallOutcome:
    if not isinstance(message, dict) or not isinstance(message.get("ok"), bool):
        return CallOutcome(False, kind="protocol", output=_tail(output),
                           message="the worker sent back a malformed answer")
    if message["ok"]:
        outcome = CallOutcome(True, value=message.get("value"), output=_tail(output))
    else:
        outcome = CallOutcome(
            False, kind=str(message.get("kind", "exception")),
            message=str(message.get("message", "")), exc_type=str(message.get("type", "")),
            exc_mro=[m for m in _as_list(message.get("mro")) if isinstance(m, str)],
            traceback=str(message.get("traceback", "")), output=_tail(output))
        if outcome.kind == "exception" and outcome.exc_type:
            outcome.message = f"{outcome.exc_type}: {outcome.message}"
    if isinstance(message.get("seq"), int):
        outcome.seq = message["seq"]
    return outcome

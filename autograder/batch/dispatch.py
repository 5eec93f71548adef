"""Where a batch's gradings run: the dispatcher interface and the local process pool.

A dispatcher takes :class:`GradeTask` objects and yields a
:class:`GradeOutcome` for each as it finishes, in any order. Whatever runs
the task calls :func:`grade_task` in a process of its own: it keeps one
registry and one sandbox backend per process (warm workers, when the backend
has them) and turns every failure into an outcome. Only the batch's parent
process writes to the gradebook, so a dispatcher needs no database access:
the local pool below, or a Dask cluster registered by a plugin through
``register_dispatchers``.
"""

from __future__ import annotations

import atexit
import collections
import multiprocessing
import os
import signal
import sys
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autograder.errors import GraderError
from autograder.gradebook.records import CRASHED, ERROR, GRADED, INVALID

# A pool worker is replaced after this many gradings, so nothing a grading
# leaves behind (caches, fragmentation) can grow without bound over a big batch.
TASKS_PER_WORKER = 500


@dataclass(frozen=True)
class DispatchConfig:
    """How to grade: the same for every task of a batch.

    :param jobs: how many gradings run at once.
    :param sandbox: the sandbox backend's registered name.
    :param device: where torch references compute expected values.
    :param load_entrypoints: whether workers load installed plugins (as the parent did).
    """

    jobs: int
    sandbox: str
    device: str = "cpu"
    load_entrypoints: bool = True


@dataclass(frozen=True)
class GradeTask:
    """One submission to grade. ``key`` is the gradebook's submission id."""

    key: int
    assignment_id: str
    path: str


@dataclass
class GradeOutcome:
    """What grading one task came to: ``graded`` with a results document, or why not.

    ``status`` is ``graded``, ``invalid`` (the submission cannot be graded:
    not Python...), ``crashed`` (grading it killed the grader's process) or
    ``error`` (the grader failed: retried by the next batch).
    """

    key: int
    status: str
    document: dict[str, Any] | None = None
    message: str = ""
    seconds: float = 0.0


class Dispatcher(ABC):
    """Runs grading tasks somewhere and hands back their outcomes as they finish."""

    name = "base"

    def __init__(self, config: DispatchConfig) -> None:
        self.config = config

    @abstractmethod
    def run(self, tasks: Iterable[GradeTask]) -> Iterator[GradeOutcome]:
        """Yield one outcome per task, in completion order; never raise for one task's failure."""

    def close(self) -> None:
        """Release workers; called once when the batch ends, however it ends."""


# --- the grading itself, in whatever process runs it ----------------------------------------------

_STATE: dict[str, Any] = {}


def _worker_state(config: DispatchConfig):
    if _STATE.get("config") != config:
        from autograder.plugins import get_registry

        if "sandbox" in _STATE:
            _STATE["sandbox"].close()
        registry = get_registry(load_entrypoints=config.load_entrypoints)
        _STATE.update(config=config, registry=registry, sandbox=registry.sandbox(config.sandbox))
        atexit.register(_close_state)
    return _STATE["registry"], _STATE["sandbox"]


def _close_state(timeout_s: float = 5.0) -> None:
    backend = _STATE.pop("sandbox", None)
    if backend is None:
        return
    # Bounded: a backend whose helper process is already gone may wait on it forever,
    # and a worker that never exits is worse than a helper left to notice EOF.
    closer = threading.Thread(target=backend.close, daemon=True)
    closer.start()
    closer.join(timeout_s)


def grade_task(task: GradeTask, config: DispatchConfig) -> GradeOutcome:
    """Grade one task in this process. A student's failure is in the document, not raised."""
    from autograder.errors import AutograderError, SubmissionError
    from autograder.grading import grade_submission
    from autograder.results import validate_result

    start = time.perf_counter()
    _GRADING.set()
    try:
        registry, backend = _worker_state(config)
        assignment = registry.assignment(task.assignment_id)
        document = grade_submission(assignment=assignment, submission=Path(task.path),
                                    sandbox=backend, device=config.device)
        validate_result(document, source=f"the result for {task.path}")
        return GradeOutcome(task.key, GRADED, document, seconds=time.perf_counter() - start)
    except SubmissionError as exc:
        return GradeOutcome(task.key, INVALID, message=str(exc),
                            seconds=time.perf_counter() - start)
    except AutograderError as exc:
        return GradeOutcome(task.key, ERROR, message=str(exc), seconds=time.perf_counter() - start)
    except Exception as exc:  # noqa: BLE001 - a grader bug on one submission must not stop a batch
        return GradeOutcome(task.key, ERROR, message=f"the grader failed: "
                            f"{type(exc).__name__}: {exc}", seconds=time.perf_counter() - start)
    except SystemExit as stop:
        if not _IN_POOL:
            raise
        # Raised by _stop: the grading has unwound (its sandbox session is closed). Leave now;
        # the pool's worker loop would otherwise catch this and take the next task.
        _close_state()
        os._exit(stop.code if isinstance(stop.code, int) else 1)
    finally:
        _GRADING.clear()


# --- the local process pool -----------------------------------------------------------------------

_GRADING = threading.Event()
_IN_POOL = False  # set in the local pool's worker processes only


def _stop(signum, frame):
    if _GRADING.is_set():
        # Unwind the grading in progress, so its sandbox session kills the student's worker
        # (it runs in a session of its own and would outlive us, looping forever);
        # grade_task then leaves.
        raise SystemExit(128 + signum)
    _close_state()
    os._exit(128 + signum)


def _watch_parent(parent: int) -> None:
    # PDEATHSIG misses a parent that died before it was set (while this worker started);
    # polling catches that too, and a worker blocked on the pool's queue lock.
    while os.getppid() == parent:
        time.sleep(1.0)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(10.0)
    os._exit(1)


def _init_pool_worker(parent: int) -> None:
    global _IN_POOL
    _IN_POOL = True
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    # Ctrl-C is the parent's to handle; a worker must not die half-way through a result.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The pool terminates its other workers (SIGTERM) when one dies.
    signal.signal(signal.SIGTERM, _stop)
    # Own session: a submission that signals its parent's process group reaches only this worker.
    try:
        os.setsid()
    except OSError:
        pass
    if sys.platform.startswith("linux"):
        import ctypes

        # Stop with the parent: a SIGKILLed batch leaves no worker grading into the void.
        pr_set_pdeathsig = 1
        try:
            ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
        except (OSError, AttributeError):
            pass


class LocalPoolDispatcher(Dispatcher):
    """``jobs`` worker processes on this machine, each holding its own sandbox backend.

    A task whose grading kills its worker process (a submission attacking the
    grader) breaks the pool: every task in flight then is retried alone in a
    fresh worker, and the one that breaks it again is recorded as ``crashed``.
    """

    name = "local"

    def __init__(self, config: DispatchConfig) -> None:
        super().__init__(config)
        self._executor: ProcessPoolExecutor | None = None

    def _pool(self, workers: int) -> ProcessPoolExecutor:
        # spawn, not fork: the parent may run threads (a progress bar) and torch.
        return ProcessPoolExecutor(max_workers=workers,
                                   mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_init_pool_worker, initargs=(os.getpid(),),
                                   max_tasks_per_child=TASKS_PER_WORKER)

    def run(self, tasks: Iterable[GradeTask]) -> Iterator[GradeOutcome]:
        pending = collections.deque(tasks)
        in_flight: dict[Future, GradeTask] = {}
        window = max(1, self.config.jobs) * 2
        self._executor = self._pool(max(1, self.config.jobs))
        while pending or in_flight:
            broken = False
            while pending and len(in_flight) < window:
                try:
                    future = self._executor.submit(grade_task, pending[0], self.config)
                except BrokenProcessPool:
                    broken = True
                    break
                in_flight[future] = pending.popleft()
            suspects: list[GradeTask] = []
            if in_flight:
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    task = in_flight.pop(future)
                    try:
                        outcome = future.result()
                    except BrokenProcessPool:
                        suspects.append(task)
                        continue
                    except Exception as exc:  # noqa: BLE001 - e.g. an outcome that cannot be sent back
                        outcome = GradeOutcome(task.key, ERROR, message=f"the grader failed: "
                                               f"{type(exc).__name__}: {exc}")
                    yield outcome
            if suspects or broken:
                suspects += list(in_flight.values())
                in_flight.clear()
                self._executor.shutdown(wait=True, cancel_futures=True)
                for task in suspects:
                    yield self._alone(task)
                self._executor = self._pool(max(1, self.config.jobs))

    def _alone(self, task: GradeTask) -> GradeOutcome:
        executor = self._pool(1)
        try:
            try:
                executor.submit(os.getpid).result()
            except BrokenProcessPool:
                # Not the submission: no worker process starts at all here.
                raise GraderError("cannot start the grader's worker processes (see the messages "
                                  "above); nothing is lost, run the batch again") from None
            return executor.submit(grade_task, task, self.config).result()
        except BrokenProcessPool:
            return GradeOutcome(task.key, CRASHED, message=(
                "grading this submission killed the grader's worker process, twice; "
                "it scores 0 (a submission must not attack the grader)"))
        finally:
            executor.shutdown(wait=True, cancel_futures=True)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

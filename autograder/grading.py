"""Grading one submission: run each test in this process against the sandboxed worker."""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import logging
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from autograder.assignment import Assignment
from autograder.compare import CheckFailure, as_float64, values_match
from autograder.errors import GraderError, SubmissionError
from autograder.mutants import Mutant, load_mutants, mutant_module
from autograder.proxy import LocalSubmission, StudentCallError, SubmissionProxy
from autograder.results import build_result
from autograder.sandbox import Sandbox, Session
from autograder.testing import Case, recording

logger = logging.getLogger(__name__)

_REPORTED_MUTANTS: set[tuple[str, str]] = set()

HIDDEN_DEFAULT_HINT = "re-read the handout's rules for {functions}."


def submission_digest(path: Path) -> str:
    """sha256 of a file, or of a folder's relative paths and contents in sorted order.

    A link in a folder counts by where it points, never by what it points at: read
    with the grader's rights, a link to /proc/kcore would never end.
    """
    digest = hashlib.sha256()
    if path.is_symlink():  # refused by check_submission_path; a batch hashes it first
        digest.update(b"link\0" + os.fsencode(os.readlink(path)))
        return digest.hexdigest()
    if path.is_file():
        _hash_file(digest, path)
        return digest.hexdigest()
    for file in sorted(p for p in path.rglob("*")
                       if (p.is_symlink() or p.is_file()) and "__pycache__" not in p.parts):
        digest.update(str(file.relative_to(path)).encode() + b"\0")
        if file.is_symlink():
            digest.update(b"link\0" + os.fsencode(os.readlink(file)))
        else:
            _hash_file(digest, file)
    return digest.hexdigest()


def _hash_file(digest: Any, path: Path) -> None:
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)


def check_submission_path(path: Path) -> Path:
    """Refuse what cannot be a submission, with the fix in the message."""
    path = Path(path)
    if path.is_symlink():
        # Resolved here, a link to the reference would be graded as the student's work,
        # read with the grader's rights before any sandbox exists.
        raise SubmissionError(f"submission {path} is a symbolic link; pass the file or "
                              "folder it points to instead")
    if not path.exists():
        raise SubmissionError(f"submission {path} does not exist")
    if path.is_dir():
        entry = [path / name for name in ("__init__.py", "main.py")
                 if (path / name).is_file() or (path / name).is_symlink()]
        if not entry:
            raise SubmissionError(f"submission folder {path} has neither __init__.py nor "
                                  "main.py; put your functions in one of them")
        links = [p.name for p in entry if p.is_symlink()]
        if links:
            raise SubmissionError(f"{links[0]} in submission folder {path} is a symbolic "
                                  "link; the sandbox copies no links: put the code itself there")
        odd = [p for p in path.rglob("*") if not (p.is_symlink() or p.is_file() or p.is_dir())]
        if odd:
            # Opening a named pipe blocks the grader; a device may never end.
            raise SubmissionError(f"{odd[0].relative_to(path)} in submission folder {path} is "
                                  "not a regular file (a named pipe, socket or device); "
                                  "remove it")
    elif path.suffix != ".py":
        raise SubmissionError(f"submission {path} is not a Python file (.py)")
    elif not path.is_file():
        raise SubmissionError(f"submission {path} is not a regular file (a named pipe, socket "
                              "or device); pass the file itself")
    return path.resolve()


@dataclass
class CaseResult:
    name: str
    passed: bool
    points: float
    visibility: str
    message: str
    functions: list[str]
    seconds: float
    mistake: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "score": self.points if self.passed else 0.0,
            "max_score": self.points, "status": "passed" if self.passed else "failed",
            "visibility": self.visibility, "output": self.message,
            "functions": self.functions, "execution_time": round(self.seconds, 6),
            "mistake": self.mistake,
        }


class Fingerprinter:
    """Names the likely mistake by replaying a failed test against each mutant."""

    def __init__(self, assignment: Assignment, reference: Any) -> None:
        self.assignment = assignment
        self.reference = reference

    @functools.cached_property
    def _mutants(self) -> list[tuple[Mutant, Any]]:
        mutants = load_mutants(self.assignment.folder)
        if not mutants:
            return []
        path = self.assignment.reference_path()
        usable = []
        for mutant in mutants:
            try:
                usable.append((mutant, LocalSubmission(mutant_module(path, mutant))))
            except Exception as exc:  # noqa: BLE001 - feedback is a bonus; grading goes on
                # selftest reports the broken mutant; grading must not stop for it.
                key = (self.assignment.id, mutant.name)
                if key not in _REPORTED_MUTANTS:
                    _REPORTED_MUTANTS.add(key)
                    logger.warning("mutant %s of %s is unusable: %s", mutant.name,
                                   self.assignment.id, exc)
        return usable

    def match(self, case: Case, failure: CheckFailure) -> str | None:
        """The hint of a mutant whose value at the failing check is the student's.

        A mutant that first fails at that same check is preferred: another one may
        reach it with an equal value only after failing earlier.
        """
        if not case.fingerprint or failure.tolerance is None:
            return None
        try:
            # Once, not once per mutant: the student's value may be a huge nested list.
            got = as_float64(failure.got, failure.label)
        except CheckFailure:
            return None  # not numbers: no mutant's value can match it
        rtol, atol = failure.tolerance
        fallback = None
        for mutant, local in self._mutants:
            # Mutants are wrong on purpose: their overflow warnings are noise here.
            with recording() as record, warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                try:
                    case(local, self.reference)
                except Exception:  # noqa: BLE001 - a mutant may break later checks
                    pass
            seen = record.values.get(failure.label)
            if seen is None or not values_match(got, seen[0], rtol=max(rtol, 1e-9),
                                                atol=max(atol, 1e-12)):
                continue
            if record.first_failure == failure.label:
                return mutant.hint
            fallback = fallback or mutant.hint
        return fallback


def run_case(case: Case, session: Session, reference: Any,
             fingerprinter: Fingerprinter | None) -> CaseResult:
    called: list[str] = []
    proxy = SubmissionProxy(session, timeout_s=case.timeout_s,
                            observer=lambda name: called.append(name) if name not in called else None)
    hidden = case.visibility == "hidden"
    start = time.perf_counter()
    mistake, hidden_detail = None, ""
    try:
        case(proxy, reference)
        passed, message = True, ""
    except CheckFailure as failure:
        passed, message = False, failure.message
        mistake = fingerprinter.match(case, failure) if fingerprinter else None
    except StudentCallError as error:
        passed, message = False, error.public_message()
        hidden_detail = error.hidden_message()
    except Exception as exc:  # noqa: BLE001 - one broken test must not stop a batch
        # A bug in the test or the reference, or a value the test failed to check first.
        passed = False
        message = (f"the grader could not finish this test ({type(exc).__name__}: {exc}); "
                   "this is a problem in the grader, please report it")
        hidden_detail = "the grader could not finish this test"
        logger.exception("test %s raised", case.name)
    seconds = time.perf_counter() - start
    if not passed and hidden:
        # Never the check's message: it carries expected values.
        functions = ", ".join(f"{f}()" for f in called) or "the functions it tests"
        hint = case.hint or HIDDEN_DEFAULT_HINT.format(functions=functions)
        message = "Hidden test failed" + (f": {hidden_detail}" if hidden_detail else "")
        message += f". Hint: {hint}"
    if mistake:
        message += f"\nLikely mistake: {mistake}"
    return CaseResult(case.name, passed, case.points, case.visibility, message, called,
                      seconds, mistake)


def configure_reference(reference: Any, device: str) -> None:
    """Point a reference that declares ``DEVICE`` at ``device`` ("cpu", "cuda", "cuda:1")."""
    if device == "cpu":
        if hasattr(reference, "DEVICE"):
            reference.DEVICE = "cpu"
        return
    if not hasattr(reference, "DEVICE"):
        raise GraderError(f"the reference {reference.__name__} runs on the CPU only "
                          f"(it has no DEVICE setting); drop --device {device}")
    import torch

    if device.startswith("cuda") and not torch.cuda.is_available():
        raise GraderError(f"--device {device} asked for, but torch sees no CUDA device here")
    # TF32 would make GPU expected values disagree with float64 CPU ones.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    reference.DEVICE = device


def grade_submission(*, assignment: Assignment, submission: Path, sandbox: Sandbox,
                     public_only: bool = False, fingerprint: bool = True,
                     device: str = "cpu") -> dict[str, Any]:
    """Grade ``submission`` and return a results document (see ``result.v1.json``).

    A student's wrong answer, exception, timeout or attack is a failed test in
    the result, never an exception from here.
    """
    path = check_submission_path(submission)
    digest = submission_digest(path)
    cases = assignment.cases(public_only=public_only)
    reference = assignment.reference_module()
    configure_reference(reference, device)
    fingerprinter = Fingerprinter(assignment, reference) if fingerprint else None
    started_at = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    start = time.perf_counter()
    with sandbox.open(path, forbidden=assignment.forbidden_modules,
                      limits=assignment.limits) as session:
        results = [run_case(case, session, reference, fingerprinter) for case in cases]
    return build_result(assignment=assignment, submission=path, digest=digest,
                        cases=[r.as_json() for r in results], started_at=started_at,
                        seconds=time.perf_counter() - start, public_only=public_only,
                        sandbox=sandbox, device=device)

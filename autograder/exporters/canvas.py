"""Pushing grades and comments to Canvas through its REST API, with ``canvasapi``.

One ``PUT /api/v1/courses/:course/assignments/:assignment/submissions/:user``
per student (``submission[posted_grade]``, ``comment[text_comment]``), one at
a time: Canvas throttles parallel clients, answering ``403 Forbidden (Rate
Limit Exceeded)``, which is retried after a pause. Before anything is sent,
the course, the assignment and the (paginated) list of its submissions are
read: a bad token, URL or id stops the upload there, having changed nothing.
A grade is sent when Canvas's differs; a comment when neither the ledger nor
Canvas's comments already hold it (Canvas appends every comment).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from autograder.errors import UploadError
from autograder.exporters import GradeRecord, StudentOutcome, UploadReport, require_https
from autograder.exporters.ledger import comment_sha256

RETRIES = 5


def _is_throttled(exc: Exception) -> bool:
    from canvasapi.exceptions import Forbidden

    return isinstance(exc, Forbidden) and "rate limit exceeded" in str(exc).lower()


def _with_retries(call: Callable[[], Any], *, pause_s: float, sleep=time.sleep) -> Any:
    for attempt in range(RETRIES + 1):
        try:
            return call()
        except Exception as exc:
            if not _is_throttled(exc) or attempt == RETRIES:
                raise
            sleep(pause_s * 2 ** attempt)


def _explain(exc: Exception, *, url: str, what: str) -> str:
    """A message naming the fix for what Canvas (or the network) answered."""
    import requests
    from canvasapi import exceptions as ce

    if isinstance(exc, ce.InvalidAccessToken):
        return (f"Canvas at {url} rejected the token (401 invalid access token); create a new "
                "one (Account > Settings > New access token) and set CANVAS_API_TOKEN")
    if isinstance(exc, ce.Unauthorized):
        return (f"Canvas at {url} says the token's user may not {what} (401 unauthorized); "
                "use a teacher's or TA's token for this course")
    if isinstance(exc, ce.ResourceDoesNotExist):
        return f"Canvas at {url} has no {what} (404); check the id in the Canvas URL"
    if _is_throttled(exc):
        return f"Canvas at {url} kept throttling the requests (403 Rate Limit Exceeded)"
    if isinstance(exc, ce.Forbidden):
        return f"Canvas at {url} forbids {what} (403): {str(exc)[:200]}"
    if isinstance(exc, ce.CanvasException):
        return f"Canvas at {url} failed on {what}: {str(exc)[:200]}"
    if isinstance(exc, requests.RequestException):
        return f"cannot reach Canvas at {url}: {type(exc).__name__}: {exc}"
    return f"Canvas at {url}: {type(exc).__name__}: {exc}"


def _connect(url: str, token: str):
    from canvasapi import Canvas

    if not token:
        raise UploadError("no Canvas token: set CANVAS_API_TOKEN to an access token "
                          "(Canvas: Account > Settings > New access token)")
    if not url:
        raise UploadError("no Canvas address: pass --url https://canvas.example.edu "
                          "or set CANVAS_URL")
    base = url.rstrip("/").removesuffix("/api/v1")
    require_https(base, "the Canvas address")
    with warnings.catch_warnings():
        # canvasapi warns about http:// addresses; ours may be a test server on 127.0.0.1.
        warnings.simplefilter("ignore", UserWarning)
        return Canvas(base, token), base


def _index(submissions) -> dict[str, Any]:
    """Canvas submissions keyed by every id a student of ours may be known by."""
    keys: dict[str, Any] = {}
    for sub in submissions:
        user = getattr(sub, "user", None) or {}
        for key in (f"canvas:{sub.user_id}", f"sis:{user.get('sis_user_id') or ''}",
                    f"login:{user.get('login_id') or ''}",
                    f"email:{(user.get('email') or '').lower()}"):
            if not key.endswith(":"):
                keys.setdefault(key, sub)
    return keys


def _find(index: dict[str, Any], record: GradeRecord) -> Any:
    # A Canvas user id must never be matched as someone's SIS id or login.
    ours = "" if record.student_is_canvas_id else record.student
    for key in (f"canvas:{record.lms_ids.get('canvas', '')}",
                f"sis:{record.sis_user_id or ours}",
                f"login:{record.sis_login_id or ours}",
                f"email:{record.email.lower()}"):
        if not key.endswith(":") and key in index:
            return index[key]
    return None


def _has_comment(sub: Any, text: str) -> bool:
    return any((c.get("comment") or "").strip() == text.strip()
               for c in getattr(sub, "submission_comments", None) or [])


def push(grades: Sequence[GradeRecord], *, dry_run: bool, ledger, url: str, course: str,
         assignment: str, token: str, pause_s: float = 2.0, sleep=time.sleep) -> UploadReport:
    """Push ``grades`` to one Canvas assignment; see the module docstring."""
    canvas, base = _connect(url, token)
    target = f"canvas {base}/courses/{course}/assignments/{assignment}"
    try:
        course_obj = _with_retries(lambda: canvas.get_course(course), pause_s=pause_s,
                                   sleep=sleep)
    except Exception as exc:  # noqa: BLE001 - every failure here is a configuration problem
        raise UploadError(_explain(exc, url=base, what=f"course {course}")) from None
    try:
        assignment_obj = _with_retries(lambda: course_obj.get_assignment(assignment),
                                       pause_s=pause_s, sleep=sleep)
        submissions = _with_retries(lambda: list(assignment_obj.get_submissions(
            include=["submission_comments", "user"], per_page=100)), pause_s=pause_s,
            sleep=sleep)
    except Exception as exc:  # noqa: BLE001
        raise UploadError(_explain(exc, url=base, what=f"assignment {assignment} in course "
                                                        f"{course}")) from None
    index = _index(submissions)
    report = UploadReport(target=target, dry_run=dry_run)
    for record in grades:
        report.outcomes.append(_push_one(record, index, ledger, target, dry_run, base,
                                         pause_s, sleep))
    return report


def _push_one(record: GradeRecord, index, ledger, target: str, dry_run: bool, base: str,
              pause_s: float, sleep) -> StudentOutcome:
    if record.score is None:
        return StudentOutcome(record.student, "skipped", "no usable result in the gradebook")
    sub = _find(index, record)
    if sub is None:
        return StudentOutcome(record.student, "not found",
                              "no Canvas student with this SIS id, login, email or canvas_id")
    last = ledger.last(target, record.student)
    send_comment = bool(record.summary) and not _has_comment(sub, record.summary) and not (
        last is not None and last.comment_sha256 == comment_sha256(record.summary))
    current = getattr(sub, "score", None)
    send_grade = current is None or round(float(current), 2) != round(record.score, 2)
    if not (send_grade or send_comment):
        return StudentOutcome(record.student, "unchanged", f"{record.score:g} already in Canvas")
    had = "none" if current is None else f"{current:g}"
    plan = ", ".join(part for part, wanted in
                     ((f"grade {record.score:g} (Canvas has {had})", send_grade),
                      ("comment", send_comment)) if wanted)
    if dry_run:
        return StudentOutcome(record.student, "would push", plan)
    fields: dict[str, Any] = {}
    if send_grade:
        fields["submission"] = {"posted_grade": f"{round(record.score, 2):g}"}
    if send_comment:
        fields["comment"] = {"text_comment": record.summary}
    try:
        _with_retries(lambda: sub.edit(**fields), pause_s=pause_s, sleep=sleep)
    except Exception as exc:  # noqa: BLE001 - one student's failure is reported, not raised
        return StudentOutcome(record.student, "failed",
                              _explain(exc, url=base, what=f"grading user {sub.user_id}"))
    ledger.record(target, record, response=f"canvas user {sub.user_id}")
    return StudentOutcome(record.student, "pushed", plan)


__all__ = ["push"]

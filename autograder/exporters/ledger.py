"""What was pushed to which LMS: the gradebook's ``lms_pushes`` table.

An LMS appends a comment on every push, so an upload asks the ledger what
it already sent to a target (a Canvas assignment, an LTI line item) and
sends only what changed. A row is written the moment the LMS accepts a push,
never for a dry run or a refused one.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
from dataclasses import dataclass

from autograder.exporters import GradeRecord


def comment_sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Push:
    score: float | None
    comment_sha256: str
    pushed_at: str


class PushLedger:
    """Reads and writes ``lms_pushes`` in an open :class:`~autograder.gradebook.store.Gradebook`."""

    def __init__(self, gradebook) -> None:
        self.gradebook = gradebook

    def last(self, target: str, student: str) -> Push | None:
        row = self.gradebook.conn.execute(
            "SELECT score, comment_sha256, pushed_at FROM lms_pushes WHERE target = ? AND "
            "student_id = ? ORDER BY id DESC LIMIT 1", (target, student)).fetchone()
        return Push(*row) if row else None

    def unchanged(self, target: str, record: GradeRecord) -> bool:
        """Whether this exact score and comment already went to ``target``."""
        last = self.last(target, record.student)
        return (last is not None and last.comment_sha256 == comment_sha256(record.summary)
                and last.score is not None and record.score is not None
                and round(last.score, 2) == round(record.score, 2))

    def record(self, target: str, record: GradeRecord, *, pushed_at: str | None = None,
               response: str = "") -> None:
        stamp = pushed_at or _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds")
        with self.gradebook.transaction() as conn:
            conn.execute(
                "INSERT INTO lms_pushes (target, student_id, assignment_id, score, "
                "comment_sha256, pushed_at, response) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (target, record.student, record.assignment, record.score,
                 comment_sha256(record.summary), stamp, response))

    def count(self, target: str | None = None) -> int:
        return self.gradebook.conn.execute(
            "SELECT COUNT(*) FROM lms_pushes WHERE ? IS NULL OR target = ?",
            (target, target)).fetchone()[0]


__all__ = ["Push", "PushLedger", "comment_sha256"]

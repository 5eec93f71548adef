"""The SQLite gradebook: every write one short transaction, every read a snapshot.

WAL mode lets readers run while a batch writes; ``BEGIN IMMEDIATE`` plus a
busy timeout makes two writers (two batches, a batch and an override) queue
instead of failing or corrupting anything. A result is committed the moment
it arrives, so a killed batch loses at most the submissions still in flight.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import socket
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from autograder.errors import GradebookError
from autograder.gradebook import finals, schema
from autograder.gradebook.records import (
    CRASHED, GRADED, INVALID, Adjustment, AdjustmentRecord, AssignmentRecord, FinalGrade,
    ResultRecord, StudentRecord, SubmissionHistory, SubmissionRecord,
)
from autograder.processes import process_exists

DEFAULT_GRADEBOOK = Path("gradebook.db")
BUSY_TIMEOUT_S = 60.0
# Results that stand until --regrade. An ``error`` (the grader's fault) is retried by the next run.
FINAL_STATUSES = (GRADED, INVALID, CRASHED)


def now(timespec: str = "seconds") -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec=timespec)


class Gradebook:
    """An open gradebook. Use :meth:`open`; close it, or use it as a context manager."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path

    # --- opening --------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path | str = DEFAULT_GRADEBOOK, *, create: bool = False) -> Gradebook:
        """Open (and upgrade) the gradebook at ``path``.

        :param create: make a new gradebook when there is none; otherwise a
            missing file is an error naming the fix.
        """
        path = Path(path)
        if not path.exists() and not create:
            raise GradebookError(f"no gradebook at {path}; grade a batch first "
                                 "(autograder batch ASSIGNMENT SOURCE) or pass --gradebook PATH")
        if path.is_dir():
            raise GradebookError(f"{path} is a folder; --gradebook takes a file path "
                                 f"such as {path / DEFAULT_GRADEBOOK}")
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None,
                               check_same_thread=False)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            foreign = _foreign_tables(conn)
            if foreign:
                raise GradebookError(
                    f"{path} is an SQLite database but not an autograder gradebook (it has "
                    f"tables {', '.join(sorted(foreign)[:5])}); choose another --gradebook path")
            conn.execute("PRAGMA journal_mode = WAL")
            # NORMAL is durable against a killed process (the WAL is in the OS); only
            # a power cut can lose the last commits, and never corrupts the file.
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            schema.migrate(conn, path=str(path))
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise GradebookError(f"{path} is not an autograder gradebook ({exc}); "
                                 "choose another --gradebook path") from None
        except BaseException:
            conn.close()
            raise
        return cls(conn, path)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Gradebook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken before the first read so writers never deadlock."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # --- writes used by a batch -----------------------------------------------------------------

    def start_run(self, *, assignment_id: str, title: str, version: str, max_score: float,
                  source: str, layout: str, sandbox: str, environment: dict[str, Any],
                  options: dict[str, Any], late_policy: dict | None) -> int:
        """Record the start of a batch; mark runs whose process died as interrupted."""
        with self.transaction() as conn:
            self._mark_dead_runs(conn)
            conn.execute(
                "INSERT INTO assignments (id, title, version, max_score, late_policy) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET title = excluded.title, "
                "version = excluded.version, max_score = excluded.max_score, "
                "late_policy = excluded.late_policy",
                (assignment_id, title, version, max_score,
                 json.dumps(late_policy) if late_policy else None))
            cursor = conn.execute(
                "INSERT INTO runs (assignment_id, assignment_version, source, layout, started_at, "
                "status, host, pid, environment, sandbox, options) "
                "VALUES (?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?)",
                (assignment_id, version, source, layout, now(), socket.gethostname(),
                 os.getpid(), json.dumps(environment), sandbox, json.dumps(options)))
            return cursor.lastrowid

    def _mark_dead_runs(self, conn: sqlite3.Connection) -> None:
        host = socket.gethostname()
        for run_id, pid in conn.execute(
                "SELECT id, pid FROM runs WHERE status = 'running' AND host = ?", (host,)):
            if not process_exists(pid):
                conn.execute("UPDATE runs SET status = 'interrupted' WHERE id = ?", (run_id,))

    def finish_run(self, run_id: int, *, status: str, graded: int, skipped: int, failed: int,
                   sandbox_layers: list[str] | None) -> None:
        """Close a run as ``finished`` or ``interrupted`` (Ctrl-C, an error) with its counts."""
        with self.transaction() as conn:
            conn.execute(
                "UPDATE runs SET status = ?, finished_at = ?, graded = ?, skipped = ?, "
                "failed = ?, sandbox_layers = COALESCE(?, sandbox_layers) WHERE id = ?",
                (status, now(), graded, skipped, failed,
                 json.dumps(sandbox_layers) if sandbox_layers is not None else None, run_id))

    def add_students(self, students: Iterable[tuple[str, str | None, str | None]], *,
                     in_roster: bool) -> None:
        """Insert or update ``(id, name, email)`` rows; a known name is never blanked.

        A roster's name and email replace what is stored; a layout's (``in_roster``
        False: "smithjane" from a Canvas file name) only fill what is missing.
        """
        stamp = now()
        new, old = ("excluded.", "") if in_roster else ("", "excluded.")
        with self.transaction() as conn:
            conn.executemany(
                "INSERT INTO students (id, name, email, in_roster, added_at) VALUES (?, ?, ?, ?, ?) "
                f"ON CONFLICT (id) DO UPDATE SET name = COALESCE({new}name, {old}name), "
                f"email = COALESCE({new}email, {old}email), "
                "in_roster = MAX(in_roster, excluded.in_roster)",
                [(sid, name, email, int(in_roster), stamp) for sid, name, email in students])

    def add_submissions(self, *, assignment_id: str, version: str, regrade: bool,
                        rows: list[tuple[str, str, str, str | None, bool]]) -> list[tuple[int, bool]]:
        """Record ``(student, sha256, path, submitted_at, late)`` rows as seen now.

        Returns ``(submission_id, needs_grading)`` per row, in order: a
        submission needs grading unless it already has a standing result for
        this assignment version (or ``regrade`` is asked for).
        """
        # The newest last_seen_at is the current submission: a student who goes back to an
        # earlier file within the same second must still replace the one seen before.
        stamp = now("microseconds")
        out = []
        with self.transaction() as conn:
            for student_id, sha256, path, submitted_at, late in rows:
                conn.execute(
                    "INSERT INTO submissions (student_id, assignment_id, sha256, path, "
                    "submitted_at, late, last_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (student_id, assignment_id, sha256) DO UPDATE SET "
                    "path = excluded.path, submitted_at = excluded.submitted_at, "
                    "late = excluded.late, last_seen_at = excluded.last_seen_at",
                    (student_id, assignment_id, sha256, path, submitted_at, int(late), stamp))
                submission_id = conn.execute(
                    "SELECT id FROM submissions WHERE student_id = ? AND assignment_id = ? "
                    "AND sha256 = ?", (student_id, assignment_id, sha256)).fetchone()[0]
                done = not regrade and self._has_standing_result(conn, submission_id, version)
                out.append((submission_id, not done))
        return out

    @staticmethod
    def _has_standing_result(conn: sqlite3.Connection, submission_id: int, version: str) -> bool:
        return conn.execute(
            f"SELECT 1 FROM results WHERE submission_id = ? AND assignment_version = ? "
            f"AND status IN ({', '.join('?' * len(FINAL_STATUSES))}) LIMIT 1",
            (submission_id, version, *FINAL_STATUSES)).fetchone() is not None

    def record_result(self, *, run_id: int, submission_id: int, version: str, status: str,
                      document: dict[str, Any] | None = None, message: str = "",
                      seconds: float | None = None, guard: bool = True) -> bool:
        """Store one submission's outcome, its tests and the raw results document, atomically.

        :param guard: skip the write when a standing result for this version
            already exists (two batches racing on one gradebook then never store
            the same grading twice, nor the loser's ``error`` over the winner's
            grade, since the newest result is the one that counts); ``--regrade``
            turns it off.
        :returns: whether the result was written.
        """
        with self.transaction() as conn:
            if guard and self._has_standing_result(conn, submission_id, version):
                return False
            score = max_score = None
            if document is not None:
                score, max_score = document["score"], document["max_score"]
            elif status in (INVALID, CRASHED):
                score = 0.0
            cursor = conn.execute(
                "INSERT INTO results (submission_id, run_id, assignment_version, status, score, "
                "max_score, message, graded_at, seconds, document) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (submission_id, run_id, version, status, score, max_score, message, now(),
                 seconds, json.dumps(document) if document is not None else None))
            if document is not None:
                conn.executemany(
                    "INSERT INTO test_results (result_id, name, score, max_score, status, "
                    "visibility, output, mistake) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [(cursor.lastrowid, t["name"], t["score"], t["max_score"], t["status"],
                      t["visibility"], t["output"], t.get("mistake")) for t in document["tests"]])
            return True

    def set_adjustments(self, *, submission_id: int, author: str,
                        adjustments: list[Adjustment]) -> int:
        """Make ``adjustments`` the active ones ``author`` holds on a submission.

        An identical active adjustment is kept as it is (a rerun duplicates
        nothing); a changed one supersedes the old row; a kind the author no
        longer returns is superseded. Returns the number of rows written.
        """
        wanted = {a.kind: a for a in adjustments}
        written = 0
        with self.transaction() as conn:
            student_id, assignment_id = conn.execute(
                "SELECT student_id, assignment_id FROM submissions WHERE id = ?",
                (submission_id,)).fetchone()
            active = conn.execute(
                "SELECT id, kind, points, reason FROM adjustments WHERE submission_id = ? "
                "AND author = ? AND superseded_at IS NULL", (submission_id, author)).fetchall()
            stamp = now()
            for row_id, kind, points, reason in active:
                new = wanted.get(kind)
                if new is not None and _same(points, new.points) and reason == new.reason:
                    del wanted[kind]
                    continue
                conn.execute("UPDATE adjustments SET superseded_at = ? WHERE id = ?",
                             (stamp, row_id))
                written += 1
            for adjustment in wanted.values():
                conn.execute(
                    "INSERT INTO adjustments (student_id, assignment_id, submission_id, kind, "
                    "points, reason, author, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (student_id, assignment_id, submission_id, adjustment.kind,
                     float(adjustment.points), adjustment.reason, author, stamp))
                written += 1
        return written

    def adjusted_submissions(self, *, assignment_id: str) -> dict[int, set[str]]:
        """Submission id -> the authors holding active adjustments on it."""
        held: dict[int, set[str]] = {}
        for sub_id, author in self.conn.execute(
                "SELECT submission_id, author FROM adjustments WHERE assignment_id = ? AND "
                "submission_id IS NOT NULL AND superseded_at IS NULL", (assignment_id,)):
            held.setdefault(sub_id, set()).add(author)
        return held

    def result_document(self, submission_id: int, version: str) -> dict[str, Any] | None:
        """The newest graded results document of a submission for ``version``."""
        row = self.conn.execute(
            "SELECT document FROM results WHERE submission_id = ? AND assignment_version = ? "
            "AND status = 'graded' ORDER BY id DESC LIMIT 1", (submission_id, version)).fetchone()
        return json.loads(row[0]) if row and row[0] else None

    # --- manual changes -------------------------------------------------------------------------

    def add_override(self, *, student_id: str, assignment_id: str, score: float, reason: str,
                     author: str) -> AdjustmentRecord:
        """Set a student's final grade by hand; the autograded score stays as it was."""
        if not reason.strip():
            raise GradebookError("an override needs a reason (--reason TEXT): it is shown "
                                 "to whoever reads the gradebook later")
        if score < 0:
            raise GradebookError(f"score {score:g} is negative; give a score of 0 or more")
        assignment = self.assignment(assignment_id)
        self.student(student_id)
        # Final grades are read per submission: an override without one would be
        # stored, reported as set, and then shown, exported and uploaded nowhere.
        if self.conn.execute("SELECT 1 FROM submissions WHERE student_id = ? AND "
                             "assignment_id = ? LIMIT 1",
                             (student_id, assignment.id)).fetchone() is None:
            raise GradebookError(f"{student_id} has no submission of {assignment.id!r} in the "
                                 f"gradebook {self.path}; an override sets the grade of a "
                                 "submission: grade theirs with `autograder batch` first")
        stamp = now()
        with self.transaction() as conn:
            conn.execute("UPDATE adjustments SET superseded_at = ? WHERE student_id = ? AND "
                         "assignment_id = ? AND kind = 'override' AND superseded_at IS NULL",
                         (stamp, student_id, assignment.id))
            cursor = conn.execute(
                "INSERT INTO adjustments (student_id, assignment_id, kind, score, reason, author, "
                "created_at) VALUES (?, ?, 'override', ?, ?, ?, ?)",
                (student_id, assignment.id, float(score), reason.strip(), author, stamp))
        return AdjustmentRecord(cursor.lastrowid, "override", None, float(score), reason.strip(),
                                author, stamp)

    # --- reads ----------------------------------------------------------------------------------

    def assignments(self) -> list[AssignmentRecord]:
        return [_assignment(row) for row in self.conn.execute(
            "SELECT id, title, version, max_score, late_policy FROM assignments ORDER BY id")]

    def assignment(self, assignment_id: str) -> AssignmentRecord:
        row = self.conn.execute("SELECT id, title, version, max_score, late_policy FROM "
                                "assignments WHERE id = ?", (assignment_id,)).fetchone()
        if row is None:
            known = ", ".join(a.id for a in self.assignments()) or "none yet"
            raise GradebookError(f"the gradebook {self.path} has no assignment "
                                 f"{assignment_id!r}; graded assignments: {known}")
        return _assignment(row)

    def students(self) -> list[StudentRecord]:
        return [StudentRecord(r[0], r[1], r[2], bool(r[3])) for r in self.conn.execute(
            "SELECT id, name, email, in_roster FROM students ORDER BY id")]

    def student(self, student_id: str) -> StudentRecord:
        row = self.conn.execute("SELECT id, name, email, in_roster FROM students WHERE id = ?",
                                (student_id,)).fetchone()
        if row is None:
            raise GradebookError(f"no student {student_id!r} in the gradebook {self.path}; "
                                 "`autograder gradebook show` lists them")
        return StudentRecord(row[0], row[1], row[2], bool(row[3]))

    def final_grades(self, *, assignment_id: str | None = None,
                     student_id: str | None = None) -> list[FinalGrade]:
        """Each student's grade per assignment, from their current submission.

        The current submission is the one the latest batch saw (a resubmission
        replaces the earlier one); its newest result is the autograded score.
        Sorted by assignment, then student.

        :param assignment_id: only this assignment (an unknown id is an error).
        :param student_id: only this student.
        """
        if assignment_id is not None:
            self.assignment(assignment_id)
        return finals.final_grades(self.conn, assignment_id=assignment_id,
                                   student_id=student_id)

    def history(self, *, student_id: str) -> list[SubmissionHistory]:
        """Every submission of a student, newest first per assignment, with all its results."""
        self.student(student_id)
        current = {(g.assignment_id, g.submission.id) for g in
                   self.final_grades(student_id=student_id)}
        out = []
        for row in self.conn.execute(
                "SELECT id, assignment_id, sha256, path, submitted_at, late FROM submissions "
                "WHERE student_id = ? ORDER BY assignment_id, last_seen_at DESC, id DESC",
                (student_id,)).fetchall():
            results = tuple(ResultRecord(*r) for r in self.conn.execute(
                "SELECT id, run_id, assignment_version, status, score, max_score, message, "
                "graded_at FROM results WHERE submission_id = ? ORDER BY id", (row[0],)))
            out.append(SubmissionHistory(row[1], SubmissionRecord(row[0], *row[2:5], bool(row[5])),
                                         results, (row[1], row[0]) in current))
        return out

    def adjustment_history(self, *, student_id: str) -> list[tuple[str, AdjustmentRecord]]:
        """All adjustments of a student, superseded ones too: ``(assignment_id, record)``."""
        return [(row[8], AdjustmentRecord(*row[:8])) for row in self.conn.execute(
            "SELECT id, kind, points, score, reason, author, created_at, superseded_at, "
            "assignment_id FROM adjustments WHERE student_id = ? ORDER BY id", (student_id,))]

    def table(self, name: str) -> list[dict[str, Any]]:
        """Every row of one table as dicts (for the JSON export)."""
        if name not in _TABLES:
            raise GradebookError(f"no table {name!r}")
        cursor = self.conn.execute(f"SELECT * FROM {name} ORDER BY rowid")
        columns = [c[0] for c in cursor.description]
        return [dict(zip(columns, row)) for row in cursor]

    def counts(self) -> dict[str, int]:
        return {name: self.conn.execute(f"SELECT COUNT(*) FROM {name}").fetchone()[0]
                for name in _TABLES}


_TABLES = ("students", "assignments", "runs", "submissions", "results", "test_results",
           "adjustments", "lms_pushes")



def _assignment(row) -> AssignmentRecord:
    return AssignmentRecord(row[0], row[1], row[2], row[3], json.loads(row[4]) if row[4] else None)


def _same(a: float | None, b: float | None) -> bool:
    return a is not None and b is not None and abs(a - b) < 1e-9


def _foreign_tables(conn: sqlite3.Connection) -> set[str]:
    if schema.schema_version(conn) != 0:
        return set()
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return names - set(_TABLES)


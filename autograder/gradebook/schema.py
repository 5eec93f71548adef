"""The gradebook's SQLite schema, versioned with ``PRAGMA user_version``.

Each entry of :data:`MIGRATIONS` takes a database from version ``n - 1`` to
``n``; :func:`migrate` applies the missing ones in one transaction each, so a
crash mid-upgrade leaves the previous version intact. A database written by a
newer autograder is refused, never "upgraded" backwards.
"""

from __future__ import annotations

import sqlite3

from autograder.errors import SchemaVersionError

_V1 = """
CREATE TABLE students (
    id          TEXT PRIMARY KEY,
    name        TEXT,
    email       TEXT,
    in_roster   INTEGER NOT NULL DEFAULT 0,
    added_at    TEXT NOT NULL
);
CREATE TABLE assignments (
    id          TEXT PRIMARY KEY,
    title       TEXT NOT NULL,
    version     TEXT NOT NULL,
    max_score   REAL NOT NULL,
    late_policy TEXT            -- JSON: the policy the last batch applied, reused by the next
);
-- One `autograder batch` invocation: when, where, with what, and how it ended.
CREATE TABLE runs (
    id                 INTEGER PRIMARY KEY,
    assignment_id      TEXT NOT NULL REFERENCES assignments(id),
    assignment_version TEXT NOT NULL,
    source             TEXT NOT NULL,
    layout             TEXT NOT NULL,
    started_at         TEXT NOT NULL,
    finished_at        TEXT,
    status             TEXT NOT NULL CHECK (status IN ('running', 'finished', 'interrupted')),
    host               TEXT NOT NULL,
    pid                INTEGER NOT NULL,
    environment        TEXT NOT NULL,
    sandbox            TEXT NOT NULL,
    sandbox_layers     TEXT,
    options            TEXT NOT NULL,
    graded             INTEGER NOT NULL DEFAULT 0,
    skipped            INTEGER NOT NULL DEFAULT 0,
    failed             INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE submissions (
    id            INTEGER PRIMARY KEY,
    student_id    TEXT NOT NULL REFERENCES students(id),
    assignment_id TEXT NOT NULL REFERENCES assignments(id),
    sha256        TEXT NOT NULL,
    path          TEXT NOT NULL,
    submitted_at  TEXT,
    late          INTEGER NOT NULL DEFAULT 0,
    last_seen_at  TEXT NOT NULL,
    UNIQUE (student_id, assignment_id, sha256)
);
CREATE TABLE results (
    id                 INTEGER PRIMARY KEY,
    submission_id      INTEGER NOT NULL REFERENCES submissions(id),
    run_id             INTEGER NOT NULL REFERENCES runs(id),
    assignment_version TEXT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('graded', 'invalid', 'crashed', 'error')),
    score              REAL,
    max_score          REAL,
    message            TEXT NOT NULL DEFAULT '',
    graded_at          TEXT NOT NULL,
    seconds            REAL,
    document           TEXT
);
CREATE INDEX results_by_submission ON results (submission_id, assignment_version);
CREATE TABLE test_results (
    result_id  INTEGER NOT NULL REFERENCES results(id),
    name       TEXT NOT NULL,
    score      REAL NOT NULL,
    max_score  REAL NOT NULL,
    status     TEXT NOT NULL,
    visibility TEXT NOT NULL,
    output     TEXT NOT NULL,
    mistake    TEXT,
    PRIMARY KEY (result_id, name)
);
-- Late penalties, plugin adjustments and manual overrides. Rows are never
-- updated except to mark them superseded: the history is the audit trail.
CREATE TABLE adjustments (
    id            INTEGER PRIMARY KEY,
    student_id    TEXT NOT NULL REFERENCES students(id),
    assignment_id TEXT NOT NULL REFERENCES assignments(id),
    submission_id INTEGER REFERENCES submissions(id),
    kind          TEXT NOT NULL,
    points        REAL,
    score         REAL,
    reason        TEXT NOT NULL,
    author        TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    superseded_at TEXT,
    CHECK ((kind = 'override') = (score IS NOT NULL))
);
CREATE INDEX adjustments_by_student ON adjustments (student_id, assignment_id);
"""

# Version 2 (autograder.exporters.ledger): every grade an upload pushed to an LMS, so that a
# rerun sends only what changed (an LMS appends a comment per push).
_V2 = """
CREATE TABLE lms_pushes (
    id             INTEGER PRIMARY KEY,
    target         TEXT NOT NULL,      -- e.g. 'canvas https://host/courses/1/assignments/2'
    student_id     TEXT NOT NULL REFERENCES students(id),
    assignment_id  TEXT NOT NULL REFERENCES assignments(id),
    score          REAL,
    comment_sha256 TEXT NOT NULL,
    pushed_at      TEXT NOT NULL,
    response       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX lms_pushes_by_target ON lms_pushes (target, student_id);
"""

MIGRATIONS: list[str] = [_V1, _V2]
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]


def migrate(conn: sqlite3.Connection, *, path: str,
            migrations: list[str] | None = None) -> int:
    """Bring ``conn`` to the newest schema; return the version it was at.

    :param migrations: the steps to apply (tests pass extra ones); defaults to
        :data:`MIGRATIONS`.
    """
    steps = MIGRATIONS if migrations is None else migrations
    found = schema_version(conn)
    if found > len(steps):
        raise SchemaVersionError(
            path, f"gradebook schema version {found} is newer than this autograder "
                  f"understands ({len(steps)}); upgrade autograder to read it")
    for version in range(found + 1, len(steps) + 1):
        # executescript() would COMMIT first; run statement by statement inside one transaction.
        conn.execute("BEGIN IMMEDIATE")
        try:
            if schema_version(conn) >= version:  # another process migrated meanwhile
                conn.execute("ROLLBACK")
                continue
            for statement in _statements(steps[version - 1]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return found


def _statements(script: str) -> list[str]:
    statements, current = [], []
    for line in script.splitlines():
        code = line.split("--", 1)[0]
        current.append(code)
        if code.rstrip().endswith(";"):
            statement = "\n".join(current).strip()
            if sqlite3.complete_statement(statement):
                statements.append(statement)
                current = []
    leftover = "\n".join(current).strip()
    if leftover:
        statements.append(leftover)
    return statements

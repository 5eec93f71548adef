"""How a final grade is made from what the gradebook holds.

A student's grade for an assignment comes from their current submission: the
one the latest batch saw (a resubmission replaces the earlier one). Its newest
result gives the autograded score (none while it is pending or the grader's
``error``); the active adjustments on that submission are added to it, the sum
kept within ``[0, max_score]``; an active override, whichever submission it was
made on, sets the final grade instead.
"""

from __future__ import annotations

import json
import sqlite3

from autograder.gradebook.records import (
    ERROR, PENDING, AdjustmentRecord, FinalGrade, ResultRecord, SubmissionRecord, TestDetail,
)

_FINAL_SQL = """
WITH current AS (
    SELECT s.*, ROW_NUMBER() OVER (PARTITION BY s.student_id, s.assignment_id
                                   ORDER BY s.last_seen_at DESC, s.id DESC) AS rank
    FROM submissions s
    WHERE (:a IS NULL OR s.assignment_id = :a) AND (:s IS NULL OR s.student_id = :s)
)
SELECT c.id, c.student_id, c.assignment_id, c.sha256, c.path, c.submitted_at, c.late,
       st.name, st.email, a.title, a.max_score,
       r.id, r.run_id, r.assignment_version, r.status, r.score, r.max_score, r.message, r.graded_at
FROM current c
JOIN students st ON st.id = c.student_id
JOIN assignments a ON a.id = c.assignment_id
LEFT JOIN results r ON r.id = (SELECT MAX(id) FROM results WHERE submission_id = c.id)
WHERE c.rank = 1
ORDER BY c.assignment_id, c.student_id
"""


def final_grades(conn: sqlite3.Connection, *, assignment_id: str | None,
                 student_id: str | None) -> list[FinalGrade]:
    """Final grades sorted by assignment, then student; ``None`` filters mean every one."""
    rows = conn.execute(_FINAL_SQL, {"a": assignment_id, "s": student_id}).fetchall()
    result_ids = [r[11] for r in rows if r[11] is not None]
    tests: dict[int, list[TestDetail]] = {}
    for row in conn.execute(
            "SELECT result_id, name, score, max_score, status, visibility, output, mistake "
            "FROM test_results WHERE result_id IN (SELECT value FROM json_each(?)) "
            "ORDER BY result_id, rowid", (json.dumps(result_ids),)):
        tests.setdefault(row[0], []).append(TestDetail(*row[1:]))
    adjustments: dict[tuple[str, str], list[AdjustmentRecord]] = {}
    submission_of: dict[int, int | None] = {}
    for row in conn.execute(
            "SELECT id, kind, points, score, reason, author, created_at, superseded_at, "
            "student_id, assignment_id, submission_id FROM adjustments "
            "WHERE superseded_at IS NULL AND (:a IS NULL OR assignment_id = :a) "
            "AND (:s IS NULL OR student_id = :s) ORDER BY id",
            {"a": assignment_id, "s": student_id}):
        adjustments.setdefault((row[8], row[9]), []).append(AdjustmentRecord(*row[:8]))
        submission_of[row[0]] = row[10]
    grades = []
    for row in rows:
        (sub_id, sid, aid, sha, path, submitted_at, late, name, email, title, max_score,
         rid, run_id, version, status, score, r_max, message, graded_at) = row
        submission = SubmissionRecord(sub_id, sha, path, submitted_at, bool(late))
        result = None if rid is None else ResultRecord(
            rid, run_id, version, status, score, r_max, message, graded_at)
        mine = adjustments.get((sid, aid), [])
        override = next((a for a in reversed(mine) if a.kind == "override"), None)
        active = tuple(a for a in mine
                       if a.kind != "override" and submission_of[a.id] == sub_id)
        top = r_max if r_max is not None else max_score
        autograded = score if result is not None and status != ERROR else None
        if override is not None:
            final = override.score
        elif autograded is None:
            final = None
        else:
            final = min(top, max(0.0, autograded + sum(a.points or 0.0 for a in active)))
        grades.append(FinalGrade(
            student_id=sid, student_name=name, student_email=email, assignment_id=aid,
            assignment_title=title, max_score=top,
            status=status if result is not None else PENDING, autograded_score=autograded,
            final_score=None if final is None else round(final, 6), submission=submission,
            result=result, adjustments=active, override=override,
            tests=tuple(tests.get(rid, ()))))
    return grades

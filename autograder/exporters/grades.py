"""Final grades for exporters and uploaders: the gradebook's, plus each student's LMS ids.

:func:`load_grades` reads :meth:`autograder.gradebook.Gradebook.final_grades`
(late penalties and overrides applied) and turns each into a
:class:`~autograder.exporters.GradeRecord`. The gradebook knows a student's
id, name and email; the ids an LMS needs (Canvas user id, SIS ids, section,
LTI ``sub``, Moodle id) come from an optional accounts CSV.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path

from autograder.errors import AutograderError
from autograder.exporters import GradeRecord

ID_COLUMNS = ("student", "id", "student_id", "student id", "sid")
# accounts CSV column -> GradeRecord field, or lms_ids key for the per-LMS ids.
FIELD_COLUMNS = {"name": "name", "email": "email", "sis_user_id": "sis_user_id",
                 "sis_login_id": "sis_login_id", "section": "section"}
LMS_COLUMNS = {"canvas_id": "canvas", "lti_sub": "lti", "moodle_id": "moodle"}


def load_accounts(path: Path) -> dict[str, dict[str, str]]:
    """Read an accounts CSV: a ``student`` column plus any of the known id columns."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise AutograderError(f"cannot read the accounts file {path}: {exc}") from None
    reader = csv.DictReader(text.splitlines())
    header = {h.strip().lower(): h for h in reader.fieldnames or []}
    id_column = next((header[c] for c in ID_COLUMNS if c in header), None)
    known = set(FIELD_COLUMNS) | set(LMS_COLUMNS)
    if id_column is None or not known & set(header):
        raise AutograderError(
            f"the accounts file {path} needs a header with a student column ({ID_COLUMNS[0]}) "
            f"and at least one of {', '.join(sorted(known))}; it has "
            f"{', '.join(reader.fieldnames or []) or 'no header'}")
    accounts: dict[str, dict[str, str]] = {}
    for line, row in enumerate(reader, start=2):
        student = (row.get(id_column) or "").strip()
        if not student:
            continue
        if student in accounts:
            raise AutograderError(f"the accounts file {path} lists {student!r} twice (line "
                                  f"{line}); keep one line per student")
        accounts[student] = {column: (row.get(header[column]) or "").strip()
                             for column in known if column in header}
    return accounts


def comment_for(grade) -> str:
    """The text a student reads in the LMS: score, tests passed, what failed, adjustments."""
    if grade.final_score is None:
        return f"{grade.assignment_title}: not graded yet ({grade.status})."
    lines = [f"{grade.assignment_title}: {grade.final_score:g}/{grade.max_score:g} points."]
    tests = grade.tests
    if tests:
        passed = sum(t.status == "passed" for t in tests)
        failed = [t.name for t in tests if t.status != "passed" and t.visibility == "visible"]
        hidden = sum(t.status != "passed" and t.visibility != "visible" for t in tests)
        line = f"{passed} of {len(tests)} tests passed."
        if failed:
            line += f" Failed: {', '.join(failed)}."
        if hidden:
            line += f" {hidden} hidden test{'s' if hidden > 1 else ''} failed."
        lines.append(line)
    for adjustment in grade.adjustments:
        lines.append(adjustment.reason)
    if grade.override is not None:
        lines.append(f"Grade set by hand: {grade.override.reason}")
    return "\n".join(lines)


def to_record(grade, account: Mapping[str, str] | None = None, *,
              canvas_user_id: bool = False) -> GradeRecord:
    """A gradebook :class:`~autograder.gradebook.records.FinalGrade` as a GradeRecord.

    :param canvas_user_id: the student id is a Canvas user id (the batch read a Canvas
        download), so it is Canvas's ``ID``, never an SIS id.
    """
    account = account or {}
    fields = {attr: account.get(column, "") for column, attr in FIELD_COLUMNS.items()}
    fields["name"] = fields["name"] or grade.student_name or ""
    fields["email"] = fields["email"] or grade.student_email or ""
    lms_ids = {lms: account[column] for column, lms in LMS_COLUMNS.items() if account.get(column)}
    if canvas_user_id:
        lms_ids.setdefault("canvas", grade.student_id)
    return GradeRecord(
        student=grade.student_id, assignment=grade.assignment_id, title=grade.assignment_title,
        score=grade.final_score, max_score=grade.max_score, summary=comment_for(grade),
        lms_ids=lms_ids, student_is_canvas_id=canvas_user_id,
        graded_at=grade.result.graded_at if grade.result is not None else None, **fields)


def load_grades(*, gradebook: Path, assignment_id: str,
                accounts: Path | None = None) -> list[GradeRecord]:
    """Every student's final grade for ``assignment_id``, sorted by student id."""
    from autograder.gradebook.store import Gradebook

    table = load_accounts(accounts) if accounts is not None else {}
    with Gradebook.open(gradebook) as book:
        finals = book.final_grades(assignment_id=assignment_id)
        layouts = {run["id"]: run["layout"] for run in book.table("runs")}
    if not finals:
        raise AutograderError(f"the gradebook {gradebook} has no graded submission of "
                              f"{assignment_id!r} yet; run `autograder batch` first")
    return [to_record(grade, table.get(grade.student_id),
                      canvas_user_id=grade.result is not None
                      and layouts.get(grade.result.run_id) == "canvas")
            for grade in finals]


__all__ = ["comment_for", "load_accounts", "load_grades", "to_record"]

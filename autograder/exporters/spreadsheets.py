"""Grade-import CSVs: Canvas's gradebook import and Moodle's CSV grade import.

Canvas (``lib/gradebook_importer.rb``) reads a header of student columns
ending in ``Section`` (``Student, ID, SIS User ID, SIS Login ID, Section``
is one of the accepted prefixes), then one column per assignment titled
``Title (canvas_assignment_id)``; a title without the id makes Canvas
create a new assignment, so the id is required. A ``Points Possible`` row
is accepted and skipped. Students are matched by Canvas ID, then SIS ids,
then name; a blank score leaves the grade alone.

Moodle's import is mapped by hand ("Map from" an identity column to
email, ID number or username; each other column to a grade item or its
feedback), so the header names are free: one identity column, one grade
column, one feedback column, UTF-8, comma-separated.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from autograder.errors import AutograderError
from autograder.exporters import GradeRecord

CANVAS_STUDENT_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
STUDENT_ID_AS = ("sis_user_id", "sis_login_id")
MOODLE_IDENTITIES = {"email": "Email address", "idnumber": "ID number", "username": "Username"}


def _points(score: float | None) -> str:
    # Canvas compares at 2 decimals; a blank cell leaves the grade as it is.
    return "" if score is None else f"{round(score, 2):g}"


def _text(value: str) -> str:
    """A text cell a spreadsheet will not run: a student can choose their name (OWASP CSV
    injection), and =, +, -, @ or a tab/return in front would make it a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def canvas_csv(grades: Sequence[GradeRecord], *, canvas_assignment_id: str,
               title: str | None = None, student_id_as: str = "sis_user_id",
               points_possible: bool = True) -> str:
    """Canvas's gradebook-import CSV for one assignment column.

    :param canvas_assignment_id: the assignment's id in Canvas (the number in its URL).
    :param student_id_as: which Canvas column holds our student id when the accounts
        file gives none (``sis_user_id`` or ``sis_login_id``).
    """
    if not str(canvas_assignment_id).strip().isdigit():
        raise AutograderError(f"--canvas-assignment-id must be the number in the Canvas "
                              f"assignment's URL, not {canvas_assignment_id!r}")
    if student_id_as not in STUDENT_ID_AS:
        raise AutograderError(f"--student-id-as must be one of {', '.join(STUDENT_ID_AS)}")
    title = title or (grades[0].title if grades else "Assignment")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*CANVAS_STUDENT_COLUMNS, f"{title} ({str(canvas_assignment_id).strip()})"])
    if points_possible:
        most = max((g.max_score for g in grades), default=0.0)
        writer.writerow(["Points Possible", "", "", "", "", _points(most)])
    for grade in grades:
        # Our id stands in for an SIS id only when it is not Canvas's own user id.
        ours = "" if grade.student_is_canvas_id else grade.student
        sis_user = grade.sis_user_id or (ours if student_id_as == "sis_user_id" else "")
        sis_login = grade.sis_login_id or (ours if student_id_as == "sis_login_id" else "")
        writer.writerow([_text(grade.name or grade.student), grade.lms_ids.get("canvas", ""),
                         sis_user, sis_login, _text(grade.section), _points(grade.score)])
    return out.getvalue()


def moodle_csv(grades: Sequence[GradeRecord], *, identity: str = "email",
               title: str | None = None) -> str:
    """A CSV for Moodle's grade import: identity, grade and feedback columns.

    :param identity: what Moodle maps students by: ``email`` (the gradebook's email),
        ``idnumber`` (the SIS user id, else our student id) or ``username``
        (the SIS login id, else our student id).
    """
    if identity not in MOODLE_IDENTITIES:
        raise AutograderError(f"--identity must be one of {', '.join(MOODLE_IDENTITIES)}")
    if identity == "email":
        missing = [g.student for g in grades if not g.email]
        if missing:
            shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
            raise AutograderError(
                f"{len(missing)} student(s) have no email in the gradebook or accounts file "
                f"({shown}); add emails to the roster or pass --identity idnumber or username")
    title = title or (grades[0].title if grades else "Assignment")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([MOODLE_IDENTITIES[identity], title, f"{title} (feedback)"])
    for grade in grades:
        who = {"email": grade.email, "idnumber": grade.sis_user_id or grade.student,
               "username": grade.sis_login_id or grade.student}[identity]
        # One line per cell: Moodle shows feedback as a paragraph anyway.
        writer.writerow([_text(who), _points(grade.score),
                         _text(" ".join(grade.summary.split("\n")))])
    return out.getvalue()


__all__ = ["canvas_csv", "moodle_csv"]

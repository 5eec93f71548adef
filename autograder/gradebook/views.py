"""The gradebook as text: what ``autograder gradebook show`` and ``student`` print."""

from __future__ import annotations

from autograder.gradebook.store import Gradebook


def _points(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "-" * max(len(line) for line in lines))
    return "\n".join(lines)


def render_grades(book: Gradebook, *, assignment_id: str | None = None) -> str:
    """Final grades: per student for ``assignment_id``, or students x assignments."""
    if assignment_id is None:
        ids = [a.id for a in book.assignments()]
        finals = {(g.student_id, g.assignment_id): g for g in book.final_grades()}
        rows = [["student", "name", *ids]]
        for student in book.students():
            rows.append([student.id, student.name or "", *(
                _points(finals[(student.id, a)].final_score) if (student.id, a) in finals
                else "missing" for a in ids)])
        return _table(rows)
    grades = book.final_grades(assignment_id=assignment_id)
    rows = [["student", "name", "status", "autograded", "late", "override", "final",
             "submitted"]]
    for g in grades:
        late = f"-{g.late_penalty:g}" if g.late_penalty else ("late" if g.submission.late
                                                             else "")
        rows.append([g.student_id, g.student_name or "", g.status,
                     _points(g.autograded_score), late,
                     _points(g.override.score) if g.override else "",
                     f"{_points(g.final_score)}/{g.max_score:g}",
                     g.submission.submitted_at or ""])
    graded = {g.student_id for g in grades}
    for student in book.students():
        if student.in_roster and student.id not in graded:
            rows.append([student.id, student.name or "", "missing", "", "", "", "", ""])
    return _table(rows)


def render_student(book: Gradebook, *, student_id: str) -> str:
    """A student's history: submissions, results, adjustments and per-test detail."""
    student = book.student(student_id)
    who = ", ".join(x for x in (student.name, student.email) if x)
    has_roster = any(s.in_roster for s in book.students())
    lines = [f"{student.id}" + (f" ({who})" if who else "")
             + ("  [not in the roster]" if has_roster and not student.in_roster else "")]
    grades = {g.assignment_id: g for g in book.final_grades(student_id=student_id)}
    history = book.history(student_id=student_id)
    adjustments = book.adjustment_history(student_id=student_id)
    for assignment_id, grade in grades.items():
        lines.append(f"\n{assignment_id}: final {_points(grade.final_score)}/"
                     f"{grade.max_score:g} ({grade.status}, autograded "
                     f"{_points(grade.autograded_score)})")
        for item in history:
            if item.assignment_id != assignment_id:
                continue
            sub = item.submission
            lines.append(f"  submission {sub.sha256[:12]}{' (current)' if item.current else ''}"
                         f"  submitted {sub.submitted_at or 'unknown'}"
                         f"{'  LATE' if sub.late else ''}  {sub.path}")
            for result in item.results:
                lines.append(f"    {result.graded_at}  v{result.assignment_version}  "
                             f"{result.status}  {_points(result.score)}/"
                             f"{_points(result.max_score)}"
                             + (f"  {result.message.splitlines()[0]}" if result.message else ""))
        for aid, record in adjustments:
            if aid != assignment_id:
                continue
            change = (f"set to {record.score:g}" if record.kind == "override"
                      else f"{record.points:+g}")
            gone = f"  [superseded {record.superseded_at}]" if record.superseded_at else ""
            lines.append(f"  {record.kind} {change} by {record.author} at {record.created_at}: "
                         f"{record.reason}{gone}")
        if grade.tests:
            rows = [["test", "points", "status", "message"]]
            for test in grade.tests:
                hidden = " (hidden)" if test.visibility == "hidden" else ""
                first = test.output.splitlines()[0] if test.output else ""
                rows.append([test.name, f"{test.score:g}/{test.max_score:g}",
                             ("PASS" if test.status == "passed" else "FAIL") + hidden,
                             first[:70]])
            lines.extend("  " + line for line in _table(rows).splitlines())
    if not grades:
        lines.append("no submissions")
    return "\n".join(lines)

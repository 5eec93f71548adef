"""``autograder gradebook ...``: inspect, correct and export the gradebook."""

from __future__ import annotations

import getpass
from pathlib import Path

import click

from autograder.commands.batch import gradebook_option


def _open(path: Path):
    from autograder.gradebook.store import Gradebook

    return Gradebook.open(path)


def _points(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "-" * max(len(line) for line in lines))
    return "\n".join(lines)


@click.group()
def gradebook() -> None:
    """Inspect, correct and export the gradebook that `autograder batch` fills.

    \b
    autograder gradebook show perceptron
    autograder gradebook student 1042
    autograder gradebook override 1042 perceptron 85 --reason "regrade request #12"
    autograder gradebook stats perceptron --plot perceptron.png
    autograder gradebook export --format csv -o grades.csv
    """


@gradebook.command(name="show")
@click.argument("assignment", required=False)
@gradebook_option
def gradebook_show(assignment: str | None, gradebook_path: Path) -> None:
    """A table of final grades: per student for ASSIGNMENT, or students x assignments."""
    with _open(gradebook_path) as book:
        if assignment is None:
            ids = [a.id for a in book.assignments()]
            finals = {(g.student_id, g.assignment_id): g for g in book.final_grades()}
            rows = [["student", "name", *ids]]
            for student in book.students():
                rows.append([student.id, student.name or "", *(
                    _points(finals[(student.id, a)].final_score) if (student.id, a) in finals
                    else "missing" for a in ids)])
            click.echo(_table(rows))
            return
        grades = book.final_grades(assignment_id=assignment)
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
        click.echo(_table(rows))


@gradebook.command(name="student")
@click.argument("student_id")
@gradebook_option
def gradebook_student(student_id: str, gradebook_path: Path) -> None:
    """A student's history: submissions, results, adjustments and per-test detail."""
    with _open(gradebook_path) as book:
        student = book.student(student_id)
        who = ", ".join(x for x in (student.name, student.email) if x)
        has_roster = any(s.in_roster for s in book.students())
        click.echo(f"{student.id}" + (f" ({who})" if who else "")
                   + ("  [not in the roster]" if has_roster and not student.in_roster else ""))
        grades = {g.assignment_id: g for g in book.final_grades(student_id=student_id)}
        adjustments = book.adjustment_history(student_id=student_id)
        for assignment_id, grade in grades.items():
            click.echo(f"\n{assignment_id}: final {_points(grade.final_score)}/"
                       f"{grade.max_score:g} ({grade.status}, autograded "
                       f"{_points(grade.autograded_score)})")
            for item in book.history(student_id=student_id):
                if item.assignment_id != assignment_id:
                    continue
                sub = item.submission
                click.echo(f"  submission {sub.sha256[:12]}{' (current)' if item.current else ''}"
                           f"  submitted {sub.submitted_at or 'unknown'}"
                           f"{'  LATE' if sub.late else ''}  {sub.path}")
                for result in item.results:
                    click.echo(f"    {result.graded_at}  v{result.assignment_version}  "
                               f"{result.status}  {_points(result.score)}/"
                               f"{_points(result.max_score)}"
                               + (f"  {result.message.splitlines()[0]}" if result.message else ""))
            for aid, record in adjustments:
                if aid != assignment_id:
                    continue
                change = (f"set to {record.score:g}" if record.kind == "override"
                          else f"{record.points:+g}")
                gone = f"  [superseded {record.superseded_at}]" if record.superseded_at else ""
                click.echo(f"  {record.kind} {change} by {record.author} at {record.created_at}: "
                           f"{record.reason}{gone}")
            if grade.tests:
                rows = [["test", "points", "status", "message"]]
                for test in grade.tests:
                    hidden = " (hidden)" if test.visibility == "hidden" else ""
                    first = test.output.splitlines()[0] if test.output else ""
                    rows.append([test.name, f"{test.score:g}/{test.max_score:g}",
                                 ("PASS" if test.status == "passed" else "FAIL") + hidden,
                                 first[:70]])
                click.echo("\n".join("  " + line for line in _table(rows).splitlines()))
        if not grades:
            click.echo("no submissions")


@gradebook.command(name="override")
@click.argument("student_id")
@click.argument("assignment")
@click.argument("score", type=float)
@click.option("--reason", required=True, help="Why: kept with the override, shown in history.")
@click.option("--by", "author", default=None, help="Who overrides.  [default: your user name]")
@gradebook_option
def gradebook_override(student_id: str, assignment: str, score: float, reason: str,
                       author: str | None, gradebook_path: Path) -> None:
    """Set STUDENT_ID's final grade on ASSIGNMENT to SCORE; the autograded score is kept."""
    with _open(gradebook_path) as book:
        record = book.add_override(student_id=student_id, assignment_id=assignment, score=score,
                                   reason=reason, author=author or _user())
        top = book.assignment(assignment).max_score
    click.echo(f"{student_id} {assignment}: final grade set to {record.score:g}/{top:g} by "
               f"{record.author} ({record.reason})")
    if record.score > top:
        click.echo(f"note: {record.score:g} is above the maximum {top:g} (extra credit)", err=True)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@gradebook.command(name="stats")
@click.argument("assignment")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also save the distribution and pass rates as a PNG figure.")
@gradebook_option
def gradebook_stats(assignment: str, plot_path: Path | None, gradebook_path: Path) -> None:
    """Score distribution and per-test pass rates of ASSIGNMENT."""
    from autograder.gradebook.stats import compute_stats, plot_stats, render_stats

    with _open(gradebook_path) as book:
        stats = compute_stats(book, assignment_id=assignment)
    click.echo(render_stats(stats))
    if plot_path is not None:
        click.echo(f"figure written to {plot_stats(stats, plot_path)}")


@gradebook.command(name="export")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv",
              show_default=True, help="csv: final grades, a row per student and a column per "
                                      "assignment; json: everything.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of stdout.")
@gradebook_option
def gradebook_export(fmt: str, output: Path | None, gradebook_path: Path) -> None:
    """Export final grades (csv) or the whole gradebook (json)."""
    from autograder.gradebook.export import EXPORTERS

    with _open(gradebook_path) as book:
        text = EXPORTERS[fmt](book)
    if output is None:
        click.echo(text, nl=False)
        return
    tmp = output.with_name(output.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(output)
    click.echo(f"wrote {output}", err=True)

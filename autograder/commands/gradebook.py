"""``autograder gradebook ...``: inspect, correct and export the gradebook."""

from __future__ import annotations

import getpass
from pathlib import Path

import click

from autograder.commands.batch import gradebook_option


def _open(path: Path):
    from autograder.gradebook.store import Gradebook

    return Gradebook.open(path)


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
    from autograder.gradebook.views import render_grades

    with _open(gradebook_path) as book:
        click.echo(render_grades(book, assignment_id=assignment))


@gradebook.command(name="student")
@click.argument("student_id")
@gradebook_option
def gradebook_student(student_id: str, gradebook_path: Path) -> None:
    """A student's history: submissions, results, adjustments and per-test detail."""
    from autograder.gradebook.views import render_student

    with _open(gradebook_path) as book:
        click.echo(render_student(book, student_id=student_id))


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
    from autograder.api import write_text

    click.echo(f"wrote {write_text(output, text)}", err=True)

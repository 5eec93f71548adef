"""``autograder batch``: grade a folder or zip of submissions into the gradebook."""

from __future__ import annotations

from pathlib import Path

import click

GRADEBOOK_HELP = "The gradebook file (SQLite), or $AUTOGRADER_GRADEBOOK; batch creates it."


def gradebook_option(function):
    return click.option("--gradebook", "gradebook_path", type=click.Path(path_type=Path),
                        default="gradebook.db", show_default=True, envvar="AUTOGRADER_GRADEBOOK",
                        help=GRADEBOOK_HELP)(function)


@click.command()
@click.argument("assignment")
@click.argument("source", type=click.Path(path_type=Path))
@gradebook_option
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Submissions graded at once.  [default: the number of cores]")
@click.option("--regrade", is_flag=True,
              help="Grade again submissions whose content and assignment version are unchanged.")
@click.option("--roster", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="CSV with an id column (and name, email): flags unknown and missing students.")
@click.option("--layout", help="Force a layout (gradescope, canvas, per-student, or a "
                               "plugin's) instead of detecting it.")
@click.option("--sandbox", default=None,
              help="The sandbox backend.  [default: autograder's default backend]")
@click.option("--dispatcher", default="local", show_default=True,
              help="Where gradings run: 'local' is a process pool on this machine.")
@click.option("--device", default="cpu", show_default=True,
              help="Where torch references compute expected values.")
@click.option("--course", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Course file (TOML) with [late] rules and [assignments.ID] due dates.")
@click.option("--due", help="Deadline, ISO 8601 (2025-03-01T23:59:00-05:00; no zone = local).")
@click.option("--grace", help="Grace period after the deadline (15m, 2h, 1d).")
@click.option("--penalty", type=click.FloatRange(0, 100),
              help="Percent of the points taken off per started day/hour late.")
@click.option("--per", type=click.Choice(["day", "hour"]), help="The late period. [default: day]")
@click.option("--cap", type=click.FloatRange(0, 100),
              help="The most a late submission loses, in percent.  [default: 100]")
def batch(assignment: str, source: Path, gradebook_path: Path, jobs: int | None, regrade: bool,
          roster: Path | None, layout: str | None, sandbox: str | None, dispatcher: str,
          device: str, course: Path | None, due: str | None, grace: str | None,
          penalty: float | None, per: str | None, cap: float | None) -> None:
    """Grade every submission in SOURCE (a folder or .zip) for ASSIGNMENT into the gradebook.

    Results are committed one by one: stop it at any point and run it again to
    resume. Submissions already graded (same content, same assignment version)
    are skipped unless --regrade.

    \b
    autograder batch perceptron submissions.zip --roster roster.csv
    autograder batch perceptron gradescope_export/ --due 2025-03-01T23:59 --penalty 10 --cap 50
    """
    from autograder.batch.progress import progress_for
    from autograder.batch.run import run_batch

    summary = run_batch(
        assignment_id=assignment, source=source, gradebook=gradebook_path, jobs=jobs,
        regrade=regrade, roster=roster, layout=layout, sandbox=sandbox, dispatcher=dispatcher,
        device=device, course=course, progress=progress_for(),
        late={"due": due, "grace": grace, "penalty": penalty, "per": per, "cap": cap})
    click.echo(summary.render(gradebook_path))

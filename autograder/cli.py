"""The ``autograder`` command. Each command is a thin wrapper over :mod:`autograder.api`.

Exit codes: 0 the command did its job (for ``grade``: grading completed,
whatever the score); 1 the grader could not do it (a clear message on
stderr); 2 a usage error; 3 ``grade --fail-under`` and the score is lower.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from autograder import api
from autograder.errors import AutograderError

EXIT_BELOW_THRESHOLD = 3


class _Group(click.Group):
    """Turns the engine's errors into one-line messages: the only place that does."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except AutograderError as exc:
            raise click.ClickException(str(exc)) from None
        except OSError as exc:
            if exc.filename is None:
                raise
            # A path given on the command line that cannot be written or read (a missing
            # folder, no permission, a full disk): the path and the reason say it all.
            raise click.ClickException(f"{exc.filename}: {exc.strerror or exc}") from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="autograder")
def cli() -> None:
    """Grade machine-learning assignments without trusting the submission.

    \b
    autograder list
    autograder stub perceptron -o perceptron.py
    autograder grade perceptron perceptron.py --json results.json
    """


@cli.command(name="list")
def list_assignments() -> None:
    """List installed assignments, and plugins that failed to load."""
    from autograder.plugins import get_registry

    registry = get_registry()
    for assignment in sorted(registry.assignments.values(), key=lambda a: a.id):
        click.echo(f"{assignment.id:<14} {assignment.version:<8} {assignment.title}  "
                   f"[{assignment.plugin}]")
    for problem in registry.problems:
        click.echo(f"warning: {problem}", err=True)
    if not registry.assignments:
        narrowed = os.environ.get("AUTOGRADER_LOAD_PLUGINS")
        why = (f" (AUTOGRADER_LOAD_PLUGINS={narrowed!r} narrows the plugins loaded)"
               if narrowed is not None else "")
        click.echo(f"no assignments are installed{why}", err=True)


@cli.command()
@click.argument("assignment")
@click.option("--json", "as_json", is_flag=True, help="Print the facts as JSON.")
def info(assignment: str, as_json: bool) -> None:
    """Show an assignment's functions, limits and points per test."""
    facts = api.describe(assignment_id=assignment)
    if as_json:
        click.echo(json.dumps(facts, indent=2))
        return
    click.echo(f"{facts['title']} ({facts['id']} {facts['version']}, plugin {facts['plugin']})")
    click.echo(f"functions: {', '.join(facts['functions'])}")
    click.echo(f"forbidden modules: {', '.join(facts['forbidden_modules']) or 'none'}")
    limits = facts["limits"]
    click.echo(f"limits: {limits['call_timeout_s']:g} s per call, "
               f"{limits['output_bytes']} bytes of output per call")
    click.echo(f"handout: {facts['handout']}")
    click.echo("tests (points):")
    for name, points in facts["points"].items():
        click.echo(f"  {name:<44} {points:g}")


@cli.command()
@click.argument("assignment")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="Where to write the stub (a file, or a folder to put ASSIGNMENT.py in).")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def stub(assignment: str, output: Path, force: bool) -> None:
    """Write the student stub of ASSIGNMENT: the exact signatures to fill in."""
    written = api.write_stub(assignment_id=assignment, output=output, force=force)
    click.echo(f"wrote {written}")


@cli.command()
@click.argument("assignment")
@click.argument("submission", type=click.Path(exists=True, path_type=Path))
@click.option("--json", "json_path", metavar="PATH|-",
              help="Write the results JSON to PATH, or to stdout with '-'.")
@click.option("--public-only", is_flag=True, help="Run the public tests only.")
@click.option("--sandbox", default=api.DEFAULT_SANDBOX, show_default=True,
              help="The sandbox backend that runs the submission: zygote (every layer this "
                   "machine has), strict (refuse to grade without the server layers), "
                   "subprocess (portable). See `autograder doctor`.")
@click.option("--device", default="cpu", show_default=True,
              help="Where torch references compute expected values (cpu, cuda, cuda:N).")
@click.option("--fail-under", type=click.FloatRange(0, 100), metavar="PCT",
              help=f"Exit with code {EXIT_BELOW_THRESHOLD} when the score is below PCT percent.")
@click.option("--format", "output_format", type=click.Choice(["table", "github"]),
              default="table", show_default=True,
              help="github: also print GitHub Classroom's 'Points X/Y' notices and write "
                   "$GITHUB_STEP_SUMMARY and $GITHUB_OUTPUT when set.")
@click.option("--junit", "junit_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the results as JUnit XML to FILE.")
def grade(assignment: str, submission: Path, json_path: str | None, public_only: bool,
          sandbox: str, device: str, fail_under: float | None, output_format: str,
          junit_path: Path | None) -> None:
    """Grade SUBMISSION (a .py file or a folder) for ASSIGNMENT and print a table.

    ASSIGNMENT is an installed assignment's id, or a student kit folder
    (`autograder release`), which runs the public tests only.
    """
    result = api.grade(assignment_id=assignment, submission=submission,
                       public_only=public_only, sandbox=sandbox, device=device)
    from autograder.results import dump, render_table

    if json_path == "-":
        click.echo(render_table(result), err=True)
        sys.stdout.write(dump(result))
    else:
        click.echo(render_table(result))
        if json_path:
            api.write_result(result, Path(json_path))
            click.echo(f"results written to {json_path}")
    if junit_path:
        from autograder.exporters.junit import to_junit

        api.write_text(junit_path, to_junit([result]))
    if output_format == "github":
        from autograder.exporters import github

        github.publish(result, echo=lambda line: click.echo(line, err=json_path == "-"))
    percent = 100 * result["score"] / result["max_score"] if result["max_score"] else 0.0
    if fail_under is not None and percent < fail_under:
        click.echo(f"score {percent:.1f}% is below --fail-under {fail_under:g}%", err=True)
        sys.exit(EXIT_BELOW_THRESHOLD)


@cli.command()
@click.argument("results", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def validate(results: Path) -> None:
    """Check that RESULTS.json matches the results schema."""
    document = api.validate_file(path=results)
    click.echo(f"{results}: valid (schema_version {document['schema_version']}, "
               f"score {document['score']:g}/{document['max_score']:g})")


@cli.command()
@click.argument("assignments", nargs=-1)
@click.option("--sandbox", default=api.DEFAULT_SANDBOX, show_default=True,
              help="The sandbox backend that grades the reference, stub and mutants.")
def selftest(assignments: tuple[str, ...], sandbox: str) -> None:
    """Check ASSIGNMENTS (default: all) before students see them.

    Points add up to 100, the reference scores 100 and the stub 0, at least 6 mutants
    each lose points on their tests and are named in the feedback, and grading twice
    gives the same scores. Exits with code 1 when a check fails.
    """
    from autograder.selftest import render_rows

    rows = api.selftest(assignment_ids=list(assignments), sandbox=sandbox)
    click.echo(render_rows(rows))
    if not rows or not all(row.ok for row in rows):
        sys.exit(1)


@cli.command()
def plugins() -> None:
    """Show installed plugins as JSON: what each registers, and load failures."""
    from autograder.plugins import get_registry

    registry = get_registry()
    report = {"assignments": {a.id: a.plugin for a in registry.assignments.values()}}
    for kind in ("sandboxes", "dispatchers", "layouts", "exporters", "uploaders"):
        report[kind] = {name: plugin for name, (plugin, _) in getattr(registry, kind).items()}
    report["problems"] = [str(p) for p in registry.problems]
    click.echo(json.dumps(report, indent=2))


@cli.command()
@click.option("--sandbox", default=api.DEFAULT_SANDBOX, show_default=True,
              help="The backend to check: zygote, strict or subprocess.")
@click.option("--json", "as_json", is_flag=True, help="Print the layers as JSON.")
def doctor(sandbox: str, as_json: bool) -> None:
    """Show each isolation layer of the sandbox: available here, active, and why not.

    Exits with code 1 when a layer that --sandbox strict requires is missing.
    """
    report = api.doctor(sandbox=sandbox)
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        rows = report["layers"]
        width = max((len(r["name"]) for r in rows), default=5)
        click.echo(f"sandbox {report['backend']}")
        for row in rows:
            state = "active" if row["active"] else (
                "available" if row["available"] else "missing")
            mark = " (required)" if row["required"] else ""
            click.echo(f"  {row['name']:<{width}}  {state:<9}  {row['detail']}{mark}")
        if report["missing_required"]:
            click.echo(f"strict mode would refuse to grade: missing "
                       f"{', '.join(report['missing_required'])}", err=True)
    if report["missing_required"]:
        sys.exit(1)


# Batch grading and the gradebook live in autograder/commands/ (each imports only click here).
from autograder.commands.batch import batch as _batch_command  # noqa: E402
from autograder.commands.gradebook import gradebook as _gradebook_group  # noqa: E402

cli.add_command(_batch_command)
cli.add_command(_gradebook_group)


# Where grades go: student kits, Gradescope, export formats and LMS uploads.
from autograder.commands.lms import export as _export_group  # noqa: E402
from autograder.commands.lms import gradescope as _gradescope_group  # noqa: E402
from autograder.commands.lms import release as _release_command  # noqa: E402
from autograder.commands.lms import upload as _upload_group  # noqa: E402

for _command in (_release_command, _gradescope_group, _export_group, _upload_group):
    cli.add_command(_command)


def main() -> None:
    cli()

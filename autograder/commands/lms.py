"""Where grades go: ``release``, ``gradescope build``, ``export FORMAT`` and ``upload LMS``.

``export`` and ``upload`` have one subcommand per registered exporter or
uploader, made from its options when asked for, so a plugin's format gets
``--help`` and options like a built-in one.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from autograder.commands.batch import gradebook_option
from autograder.gradescope import DEFAULT_HIDDEN_VISIBILITY, VISIBILITIES


@click.command()
@click.argument("assignment")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="The kit folder to write (new or empty).")
@click.option("--zip", "make_zip", is_flag=True, help="Also write OUTPUT.zip.")
@click.option("--force", is_flag=True, help="Replace a kit already in OUTPUT.")
@click.option("--with-engine", is_flag=True,
              help="Add engine/: the grading engine alone, installable with "
                   "`pip install KIT/engine`, holding no assignment, reference or hidden test.")
def release(assignment: str, output: Path, make_zip: bool, force: bool,
            with_engine: bool) -> None:
    """Build the student kit of ASSIGNMENT: stub, handout, public tests, expected values.

    The kit holds no reference code, hidden test or mutant. A student grades
    against its public tests with only the engine installed:

    \b
    autograder release perceptron -o perceptron-kit --zip --with-engine
    pip install ./perceptron-kit/engine          # the student: engine only
    autograder grade perceptron-kit perceptron.py
    """
    from autograder import api

    written = api.release(assignment_id=assignment, output=output, make_zip=make_zip,
                          force=force, with_engine=with_engine)
    click.echo(f"wrote the student kit {written}"
               + (f" and {written.with_name(written.name + '.zip')}" if make_zip else ""))


@click.group()
def gradescope() -> None:
    """Gradescope autograders.

    \b
    autograder gradescope build perceptron -o autograder.zip
    """


@gradescope.command(name="build")
@click.argument("assignment")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              default="autograder.zip", show_default=True, help="The zip to write.")
@click.option("--hidden-visibility", type=click.Choice(VISIBILITIES),
              default=DEFAULT_HIDDEN_VISIBILITY, show_default=True,
              help="When students see hidden tests' results on Gradescope.")
def gradescope_build(assignment: str, output: Path, hidden_visibility: str) -> None:
    """Write the autograder zip for ASSIGNMENT to upload to Gradescope.

    It holds setup.sh (installs Python 3.11+, this engine and its pinned
    dependencies) and run_autograder (grades /autograder/submission and always
    writes /autograder/results/results.json).
    """
    from autograder import api

    written = api.gradescope_zip(assignment_id=assignment, output=output,
                                 hidden_visibility=hidden_visibility)
    click.echo(f"wrote {written}: upload it as the Gradescope autograder (zip files, not a "
               "folder of them)")


def _registry(ctx: click.Context):
    from autograder.plugins import get_registry

    meta = ctx.find_root().meta
    if "autograder.registry" not in meta:
        meta["autograder.registry"] = get_registry()
    return meta["autograder.registry"]


def _click_options(options) -> list[click.Option]:
    params = []
    for option in options:
        flag = "--" + option.name.replace("_", "-")
        if option.is_flag:
            params.append(click.Option([flag, option.name], is_flag=True,
                                       default=bool(option.default), help=option.help))
            continue
        # Only a real default: click counts an explicit default=None as a given value.
        extra = {} if option.default is None else {"default": option.default}
        params.append(click.Option(
            [flag, option.name], required=option.required, envvar=option.envvar,
            show_envvar=option.envvar is not None, help=option.help,
            show_default=not option.secret and option.default not in (None, ""), **extra))
    return params


class _PluginCommands(click.Group):
    """A group whose subcommands are the registry's exporters or uploaders."""

    def __init__(self, *args, table: str, make, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.table, self.make = table, make

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(getattr(_registry(ctx), self.table))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        entry = getattr(_registry(ctx), self.table).get(name)
        return None if entry is None else self.make(name, entry[1])


def _export_command(name: str, exporter) -> click.Command:
    from autograder.exporters import GRADES

    def callback(output, inputs, gradebook_path=None, accounts=None, **options):
        from autograder.exporters.actions import export

        if exporter.source == GRADES:
            text = export(format=name, assignment_id=inputs, gradebook=gradebook_path,
                          accounts=accounts, options=options)
        else:
            text = export(format=name, results=inputs, options=options)
        if output is None or str(output) == "-":
            sys.stdout.write(text)
            return
        from autograder.api import write_text

        click.echo(f"wrote {write_text(output, text)}", err=True)

    params: list[click.Parameter] = [click.Option(
        ["-o", "--output"], type=click.Path(dir_okay=False, path_type=Path),
        help=f"The file to write (a {exporter.suffix} file); stdout when left out.")]
    if exporter.source == GRADES:
        params += [click.Argument(["inputs"], metavar="ASSIGNMENT"),
                   click.Option(["--accounts"], type=click.Path(exists=True, dir_okay=False,
                                                                path_type=Path),
                                help="CSV of LMS ids per student (student, canvas_id, "
                                     "sis_user_id, sis_login_id, section, lti_sub, ...).")]
        command = click.Command(name, callback=callback, help=exporter.help, params=params)
        command = gradebook_option(command)
    else:
        params.append(click.Argument(["inputs"], nargs=-1, required=True, metavar="RESULTS...",
                                     type=click.Path(exists=True, dir_okay=False,
                                                     path_type=Path)))
        command = click.Command(name, callback=callback, help=exporter.help, params=params)
    command.params += _click_options(exporter.options)
    return command


def _upload_command(name: str, uploader) -> click.Command:
    def callback(assignment_id, gradebook_path, accounts, yes, **options):
        from autograder.exporters.actions import upload

        report = upload(target=name, assignment_id=assignment_id, gradebook=gradebook_path,
                        accounts=accounts, dry_run=not yes, options=options)
        click.echo(report.render())
        if report.failed:
            click.echo(f"{len(report.failed)} student(s) not pushed; fix what is named above "
                       "and run again (what was pushed is not sent twice)", err=True)
            sys.exit(1)

    params: list[click.Parameter] = [
        click.Argument(["assignment_id"], metavar="ASSIGNMENT"),
        click.Option(["--accounts"], type=click.Path(exists=True, dir_okay=False,
                                                     path_type=Path),
                     help="CSV of LMS ids per student (student, canvas_id, sis_user_id, "
                          "sis_login_id, lti_sub, ...)."),
        click.Option(["--yes"], is_flag=True,
                     help="Really push. Without it, show what would be pushed (a dry run)."),
    ]
    command = gradebook_option(click.Command(name, callback=callback, params=params,
                                             help=uploader.help + " A dry run unless --yes."))
    command.params += _click_options(uploader.options)
    return command


export = _PluginCommands("export", table="exporters", make=_export_command, help="""\
Write grades in another system's format.

\b
autograder export junit results.json -o report.xml
autograder export gradescope results.json -o results.json
autograder export canvas-csv perceptron --canvas-assignment-id 1234 -o canvas.csv
autograder export moodle-csv perceptron -o moodle.csv
""")

upload = _PluginCommands("upload", table="uploaders", make=_upload_command, help="""\
Push final grades from the gradebook to an LMS (a dry run unless --yes).

\b
CANVAS_API_TOKEN=... autograder upload canvas perceptron \\
    --url https://canvas.example.edu --course 101 --assignment 2002 --yes
autograder upload lti perceptron --lineitem URL --client-id ID --token-url URL \\
    --issuer URL --private-key tool.pem --accounts accounts.csv --yes
""")


__all__ = ["export", "gradescope", "release", "upload"]

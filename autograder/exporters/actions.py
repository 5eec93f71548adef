"""Keyword-only functions behind ``autograder export`` and ``autograder upload``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from autograder.errors import AutograderError
from autograder.exporters import GRADES, UploadReport


def export(*, format: str, results: Sequence[Path] = (), assignment_id: str | None = None,
           gradebook: Path | None = None, accounts: Path | None = None,
           options: dict[str, Any] | None = None, registry=None) -> str:
    """The text of the ``format`` file: from results files, or from the gradebook's grades.

    :param results: results JSON files (``grade --json``), for ``results`` formats.
    :param assignment_id: the assignment whose final grades to read, for ``grades`` formats.
    """
    from autograder.plugins import get_registry
    from autograder.results import load_result

    exporter = (registry or get_registry()).exporter(format)
    options = {k: v for k, v in (options or {}).items() if v is not None}
    if exporter.source == GRADES:
        if not assignment_id:
            raise AutograderError(f"export {format} reads final grades from the gradebook: "
                                  "name the ASSIGNMENT")
        from autograder.exporters.grades import load_grades

        grades = load_grades(gradebook=Path(gradebook or "gradebook.db"),
                             assignment_id=assignment_id, accounts=accounts)
        return exporter.write(grades, **options)
    if not results:
        raise AutograderError(f"export {format} reads results files: give one or more "
                              "RESULTS.json written by `autograder grade --json`")
    return exporter.write([load_result(Path(p)) for p in results], **options)


def upload(*, target: str, assignment_id: str, gradebook: Path, accounts: Path | None = None,
           dry_run: bool = True, options: dict[str, Any] | None = None,
           registry=None) -> UploadReport:
    """Push ``assignment_id``'s final grades to the LMS ``target``; a dry run by default."""
    from autograder.exporters.grades import load_grades
    from autograder.exporters.ledger import PushLedger
    from autograder.gradebook.store import Gradebook
    from autograder.plugins import get_registry

    uploader = (registry or get_registry()).uploader(target)
    grades = load_grades(gradebook=Path(gradebook), assignment_id=assignment_id,
                         accounts=accounts)
    with Gradebook.open(gradebook) as book:
        return uploader.push(grades, dry_run=dry_run, ledger=PushLedger(book),
                             **{k: v for k, v in (options or {}).items() if v is not None})


__all__ = ["export", "upload"]

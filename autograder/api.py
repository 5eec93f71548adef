"""Keyword-only entry points behind each CLI command; usable from Python as they are."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path
from typing import Any

from autograder.errors import AutograderError
from autograder.plugins import Registry, get_registry
from autograder.results import dump, validate_result

# The fork-server backend with every isolation layer this machine offers
# (``autograder doctor``); ``subprocess`` is the portable one, ``strict`` the
# server mode that refuses to grade when a required layer is missing.
DEFAULT_SANDBOX = "zygote"


def grade(*, assignment_id: str, submission: Path, public_only: bool = False,
          sandbox: str = DEFAULT_SANDBOX, device: str = "cpu",
          registry: Registry | None = None) -> dict[str, Any]:
    """Grade one submission and return its validated results document.

    ``assignment_id`` may also be a student kit folder (see :mod:`autograder.kit`):
    its public tests run against recorded reference values.
    """
    from autograder.grading import grade_submission
    from autograder.kit import is_kit, load_kit

    registry = registry or get_registry()
    if is_kit(assignment_id):
        assignment, public_only = load_kit(assignment_id), True
    elif str(assignment_id).endswith(".zip") and Path(assignment_id).is_file():
        folder = Path(assignment_id).with_suffix("")
        raise AutograderError(f"{assignment_id} is a zip file; unzip it first and grade with "
                              f"its folder: autograder grade {folder} {submission}")
    else:
        assignment = registry.assignment(assignment_id)
    backend = registry.sandbox(sandbox)
    try:
        result = grade_submission(assignment=assignment, submission=Path(submission),
                                  sandbox=backend, public_only=public_only, device=device)
    finally:
        backend.close()
    validate_result(result, source="the result just computed")
    return result


def selftest(*, assignment_ids: list[str] | None = None, sandbox: str = DEFAULT_SANDBOX,
             registry: Registry | None = None) -> list:
    """Run the assignment-author checks (see :mod:`autograder.selftest`) and return their rows."""
    from autograder.selftest import selftest_assignment

    registry = registry or get_registry()
    ids = assignment_ids or sorted(registry.assignments)
    assignments = [registry.assignment(i) for i in ids]
    rows = []
    for assignment in assignments:
        backend = registry.sandbox(sandbox)
        try:
            rows += selftest_assignment(assignment=assignment, sandbox=backend)
        finally:
            backend.close()
    return rows


def write_text(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` (UTF-8), making its folder; never leaves half a file there."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise AutograderError(f"cannot write {path} ({exc.strerror or exc}: {exc.filename}); "
                              "choose a path in a folder you can write to") from None
    return path


def write_result(result: dict[str, Any], path: Path) -> None:
    write_text(path, dump(result))


def write_stub(*, assignment_id: str, output: Path, force: bool = False,
               registry: Registry | None = None) -> Path:
    """Copy the assignment's student stub to ``output``, never over a student's work."""
    assignment = (registry or get_registry()).assignment(assignment_id)
    output = Path(output)
    if output.is_dir():
        output = output / f"{assignment.id}.py"
    if output.exists() and not force:
        raise AutograderError(f"{output} already exists; choose another path or pass --force "
                              "to overwrite it")
    output.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(assignment.stub_path, output)
    return output


def describe(*, assignment_id: str, registry: Registry | None = None) -> dict[str, Any]:
    """The facts about an assignment that ``autograder info`` shows."""
    assignment = (registry or get_registry()).assignment(assignment_id)
    return {
        "id": assignment.id, "title": assignment.title, "version": assignment.version,
        "plugin": assignment.plugin, "functions": assignment.functions,
        "forbidden_modules": assignment.forbidden_modules,
        "limits": dict(assignment.metadata["limits"]), "points": assignment.points,
        "handout": str(assignment.handout_path), "stub": str(assignment.stub_path),
    }


def doctor(*, sandbox: str = DEFAULT_SANDBOX, registry: Registry | None = None) -> dict[str, Any]:
    """Which isolation layers backend ``sandbox`` has on this machine, and why the others not.

    Returns ``{"backend", "layers": [{"name", "available", "active", "detail",
    "required"}], "missing_required": [...]}``; a strict backend lists the
    required layers it lacks instead of refusing.
    """
    backend = (registry or get_registry()).sandbox(sandbox)
    try:
        rows = [row.as_json() for row in backend.statuses()]
    finally:
        backend.close()
    return {"backend": sandbox, "layers": rows,
            "missing_required": [r["name"] for r in rows if r["required"] and not r["active"]]}


def validate_file(*, path: Path) -> dict[str, Any]:
    """Load and validate a results JSON file; raises MetadataError naming what is wrong."""
    from autograder.results import load_result

    return load_result(Path(path))


def release(*, assignment_id: str, output: Path, make_zip: bool = False, force: bool = False,
            with_engine: bool = False, registry: Registry | None = None) -> Path:
    """Build an assignment's student kit in the folder ``output`` (see :mod:`autograder.kit`)."""
    from autograder.kit import build_kit

    assignment = (registry or get_registry()).assignment(assignment_id)
    return build_kit(assignment=assignment, output=Path(output), make_zip=make_zip, force=force,
                     with_engine=with_engine)


def gradescope_zip(*, assignment_id: str, output: Path, hidden_visibility: str = "after_due_date",
                   registry: Registry | None = None) -> Path:
    """Write the Gradescope autograder zip of an assignment (see :mod:`autograder.gradescope`)."""
    from autograder.gradescope.build import build_gradescope_zip

    assignment = (registry or get_registry()).assignment(assignment_id)
    return build_gradescope_zip(assignment=assignment, output=Path(output),
                                hidden_visibility=hidden_visibility)


__all__ = ["describe", "doctor", "grade", "gradescope_zip", "release", "selftest",
           "validate_file", "write_result", "write_stub", "write_text"]

"""Reading a batch's SOURCE: a folder or a zip, in one of the layouts instructors get.

A layout turns the source's root folder into :class:`Found` submissions, one
per student. The built-in layouts (registered by
:mod:`autograder.batch.default_plugin`) are ``gradescope`` (an "Export
Submissions" folder with ``submission_metadata.yml``), ``canvas`` ("Download
Submissions" file names) and ``per-student`` (``<student>.py`` files and/or
``<student>/`` folders). A course adds its own with ``register_layouts``.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from autograder.errors import AutograderError, SourceError

# Noise that archivers and operating systems add; never a student's submission.
IGNORED = re.compile(r"^(__MACOSX|__pycache__|\.DS_Store|Thumbs\.db|desktop\.ini|\..*)$")
MAX_UNZIPPED_BYTES = 4 << 30


@dataclass
class Found:
    """One student's submission as a layout identified it.

    :param student_id: the id the gradebook keys the student by.
    :param path: the ``.py`` file or the folder to grade.
    :param submitted_at: when it was submitted, where the layout records it.
    :param late: the layout marks it late (Canvas's ``late`` in a file name).
    :param name: the student's name, where the layout has it.
    :param email: the student's email, where the layout has it.
    :param problem: why it cannot be graded (no Python file...); it is
        recorded as ``invalid`` and the batch goes on.
    """

    student_id: str
    path: Path
    submitted_at: _dt.datetime | None = None
    late: bool = False
    name: str | None = None
    email: str | None = None
    problem: str | None = None


Identify = Callable[[Path, str], "list[Found] | None"]


def entries(folder: Path) -> list[Path]:
    """A folder's entries minus OS and archiver noise, sorted by name."""
    return sorted(p for p in folder.iterdir() if not IGNORED.match(p.name))


@contextlib.contextmanager
def open_source(source: Path) -> Iterator[Path]:
    """Yield the root folder of ``source``; a zip is unpacked to a temporary folder first."""
    source = Path(source)
    if not source.exists():
        raise SourceError(f"{source} does not exist; give the folder or .zip of submissions")
    if source.is_dir():
        if not entries(source):
            raise SourceError(f"{source} is empty: there are no submissions to grade")
        yield source
        return
    if not zipfile.is_zipfile(source):
        hint = ("it is not a zip file" if source.suffix.lower() != ".zip"
                else "it is corrupt or truncated; download it again")
        raise SourceError(f"cannot read {source} as a batch of submissions: {hint}. "
                          "SOURCE is a folder or a .zip")
    tmp = Path(tempfile.mkdtemp(prefix="autograder-batch-"))
    try:
        _unzip(source, tmp)
        root = tmp
        inside = entries(root)
        # A zip usually wraps everything in one folder (Gradescope's assignment_N_export/).
        if len(inside) == 1 and inside[0].is_dir():
            root = inside[0]
        if not entries(root):
            raise SourceError(f"{source} holds no files: there are no submissions to grade")
        yield root
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _unzip(source: Path, target: Path) -> None:
    try:
        with zipfile.ZipFile(source) as archive:
            members = archive.infolist()
            if sum(m.file_size for m in members) > MAX_UNZIPPED_BYTES:
                raise SourceError(f"{source} unpacks to more than {MAX_UNZIPPED_BYTES >> 30} GiB; "
                                  "unpack it yourself and pass the folder")
            root = target.resolve()
            for member in members:
                destination = (target / member.filename).resolve()
                if root not in destination.parents and destination != root:
                    raise SourceError(f"{source} contains {member.filename!r}, which would be "
                                      "written outside the folder it unpacks to; refusing it")
            archive.extractall(target)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise SourceError(f"cannot unpack {source}: {exc}; it is corrupt or truncated, "
                          "download it again") from None


def pick_entry(folder: Path, assignment_id: str, *,
               recursive: bool = False) -> tuple[Path | None, str | None]:
    """Which part of a student's folder to grade: ``(path, None)`` or ``(None, problem)``.

    ``<assignment>.py`` first, then the folder itself when it is a package
    (``__init__.py`` or ``main.py``), then its only ``.py`` file.

    :param recursive: look for that only ``.py`` file in subfolders too (an upload
        unzipped with its folder, as Gradescope does).
    """
    named = folder / f"{assignment_id}.py"
    if named.is_file():
        return named, None
    if (folder / "__init__.py").is_file() or (folder / "main.py").is_file():
        return folder, None
    if recursive:
        python = sorted(p for p in folder.rglob("*.py") if p.is_file() and not any(
            IGNORED.match(part) for part in p.relative_to(folder).parts))
    else:
        python = [p for p in entries(folder) if p.is_file() and p.suffix == ".py"]
    if len(python) == 1:
        return python[0], None
    if not python:
        found = ", ".join(p.name for p in entries(folder)[:5]) or "nothing"
        return None, (f"no Python file in {folder.name}/ (found {found}); "
                      f"expected one Python file ({assignment_id}.py)")
    names = ", ".join(str(p.relative_to(folder)) for p in python[:5])
    return None, (f"{len(python)} Python files in {folder.name}/ (found {names}) and none "
                  f"is {assignment_id}.py, __init__.py or main.py; cannot tell which to grade")


def not_python(path: Path, assignment_id: str) -> str:
    return f"{path.name} is not a Python file (.py); expected {assignment_id}.py"


# --- built-in layouts ----------------------------------------------------------------------------

def identify_per_student(root: Path, assignment_id: str) -> list[Found] | None:
    """``<student>.py`` files and ``<student>/`` folders, one per student."""
    found = []
    for entry in entries(root):
        if entry.is_dir():
            path, problem = pick_entry(entry, assignment_id)
            found.append(Found(entry.name, path or entry, problem=problem))
        elif entry.suffix == ".py":
            found.append(Found(entry.stem, entry))
        else:
            found.append(Found(entry.stem or entry.name, entry,
                               problem=not_python(entry, assignment_id)))
    return found


# lastfirst[_late]_<user id>_<submission id>_<original name>; a resubmitted file
# gets "-N" before its extension. Anonymous grading puts "anon" for the user id.
_CANVAS = re.compile(r"^(?P<name>[^_]+?)(?P<late>_late)?_(?P<user>\d+|anon\w*?)_(?P<sub>\d+)_"
                     r"(?P<file>.+)$", re.IGNORECASE)
_RESUBMITTED = re.compile(r"^(?P<stem>.+?)-\d+(?P<ext>\.[^.]+)?$")


def canvas_original_name(filename: str) -> str:
    match = _RESUBMITTED.match(filename)
    return match.group("stem") + (match.group("ext") or "") if match else filename


def identify_canvas(root: Path, assignment_id: str) -> list[Found] | None:
    """Canvas's "Download Submissions": ``lastfirst[_late]_<userid>_<subid>_<file>``."""
    files = entries(root)
    matched = [(p, _CANVAS.match(p.name)) for p in files]
    if not files or not all(m and p.is_file() for p, m in matched):
        return None
    by_student: dict[str, list[tuple[Path, re.Match]]] = {}
    for path, match in matched:
        by_student.setdefault(match.group("user"), []).append((path, match))
    found = []
    for user, items in by_student.items():
        name, late = items[0][1].group("name"), any(m.group("late") for _, m in items)
        python = [(p, m) for p, m in items if p.suffix == ".py"]
        wanted = [p for p, m in python
                  if canvas_original_name(m.group("file")) == f"{assignment_id}.py"]
        if len(wanted) == 1 or len(python) == 1:
            found.append(Found(user, (wanted or [python[0][0]])[0], late=late, name=name))
        elif not python:
            found.append(Found(user, items[0][0], late=late, name=name,
                               problem=not_python(items[0][0], assignment_id)))
        else:
            names = ", ".join(m.group("file") for _, m in python[:5])
            which = (f"{len(wanted)} of them are" if wanted else "none is")
            found.append(Found(user, python[0][0], late=late, name=name, problem=(
                f"{len(python)} Python files ({names}) and {which} {assignment_id}.py; "
                "cannot tell which to grade")))
    return found


def identify_gradescope(root: Path, assignment_id: str) -> list[Found] | None:
    """Gradescope's "Export Submissions": ``submission_metadata.yml`` + a folder per submission."""
    inside = entries(root)
    if len(inside) == 1 and inside[0].is_dir():  # the unpacked assignment_N_export/ folder
        root = inside[0]
    metadata_path = root / "submission_metadata.yml"
    if not metadata_path.is_file():
        return None
    metadata = _load_gradescope_yaml(metadata_path)
    found = []
    listed = set()
    for key, record in metadata.items():
        listed.add(str(key))
        record = record if isinstance(record, dict) else {}
        folder = root / str(key)
        submitted_at = _as_time(_field(record, "created_at"))
        submitters = _field(record, "submitters") or []
        if not isinstance(submitters, list) or not submitters:
            raise SourceError(f"{metadata_path}: {key} lists no submitters; is this file "
                              "from Gradescope's Export Submissions?")
        if folder.is_dir():
            path, problem = pick_entry(folder, assignment_id)
        else:
            path, problem = None, f"{key} is in submission_metadata.yml but has no folder"
        # A group submission counts for each member.
        for person in submitters:
            person = person if isinstance(person, dict) else {}
            sid = _field(person, "sid") or _field(person, "email")
            if sid in (None, ""):
                raise SourceError(f"{metadata_path}: a submitter of {key} has neither :sid: "
                                  "nor :email:; add student ids in Gradescope and export again")
            found.append(Found(str(sid), path or folder, submitted_at=submitted_at,
                               name=_field(person, "name"), email=_field(person, "email"),
                               problem=problem))
    for entry in entries(root):
        if entry.is_dir() and entry.name not in listed:
            found.append(Found(entry.name, entry, problem=(
                f"folder {entry.name}/ is not listed in submission_metadata.yml, so its "
                "student is unknown")))
    return found


def _field(record: dict, name: str):
    # Gradescope writes Ruby symbols: ":sid:" loads as the key ":sid".
    return record.get(f":{name}", record.get(name))


def _as_time(value) -> _dt.datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, _dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=_dt.timezone.utc)
    from autograder.gradebook.late import parse_time

    try:
        return parse_time(str(value).replace(" -", "-").replace(" +", "+"), what="created_at")
    except AutograderError:  # an unreadable time is no time, not a failed batch
        return None


def _load_gradescope_yaml(path: Path) -> dict:
    import yaml

    class _Loader(yaml.SafeLoader):
        """Safe loading, with Ruby's tags (``!ruby/object:BigDecimal``...) read as plain data."""

    def _untagged(loader, suffix, node):
        if isinstance(node, yaml.MappingNode):
            return loader.construct_mapping(node, deep=True)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node, deep=True)
        return loader.construct_scalar(node)

    _Loader.add_multi_constructor("!", _untagged)
    try:
        data = yaml.load(path.read_text(encoding="utf-8", errors="replace"), Loader=_Loader)
    except yaml.YAMLError as exc:
        raise SourceError(f"{path} is not readable YAML ({exc}); export the submissions "
                          "from Gradescope again") from None
    if not isinstance(data, dict):
        raise SourceError(f"{path} does not map submission folders to their submitters; "
                          "is it Gradescope's submission_metadata.yml?")
    return data

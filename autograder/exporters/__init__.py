"""Where grades go: exporters write files, uploaders push to an LMS. Both are plugins.

An :class:`Exporter` turns either results documents (one per graded
submission, ``result.v1.json``) or final grades (:class:`GradeRecord`, one
per student, from the gradebook) into the text of a file. An
:class:`Uploader` pushes final grades through an LMS's API and reports what
happened to each student. The built-in ones are registered by
:mod:`autograder.exporters.default_plugin` through the same hooks a
third-party plugin implements (``register_exporters``, ``register_uploaders``).

Nothing here imports an LMS client library: uploaders import theirs when they run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

RESULTS = "results"
GRADES = "grades"


@dataclass(frozen=True)
class Option:
    """A setting an exporter or uploader takes: ``--NAME`` on the command line.

    :param name: a Python identifier; the command line spells it with dashes.
    :param envvar: read from this environment variable when not given (tokens, keys).
    :param secret: never echoed back (a token).
    """

    name: str
    help: str
    required: bool = False
    default: Any = None
    envvar: str | None = None
    secret: bool = False
    is_flag: bool = False


@dataclass(frozen=True)
class GradeRecord:
    """One student's final grade for one assignment, as exporters and uploaders see it.

    :param student: the gradebook's key for the student (also the default LMS login).
    :param score: points after late penalties and overrides; ``None`` when nothing was graded.
    :param summary: the per-test summary a student reads in the LMS comment.
    :param lms_ids: the student's id in each LMS (``canvas``, ``lti``, ``moodle``), when known.
    """

    student: str
    name: str
    assignment: str
    title: str
    score: float | None
    max_score: float
    summary: str = ""
    email: str = ""
    sis_user_id: str = ""
    sis_login_id: str = ""
    section: str = ""
    lms_ids: Mapping[str, str] = field(default_factory=dict)
    graded_at: str | None = None
    #: ``student`` is a Canvas user id (from a Canvas download), not an SIS id or login.
    student_is_canvas_id: bool = False


@dataclass(frozen=True)
class Exporter:
    """A file format.

    :param source: ``"results"``: ``write(results, **options)`` gets a list of results
        documents; ``"grades"``: ``write(grades, **options)`` gets a list of
        :class:`GradeRecord`. Either returns the file's text.
    :param suffix: the usual file extension, for the default output name.
    """

    source: Literal["results", "grades"]
    write: Callable[..., str]
    help: str
    suffix: str
    options: tuple[Option, ...] = ()


@dataclass
class StudentOutcome:
    """What an upload did (or, in a dry run, would do) for one student."""

    student: str
    status: Literal["pushed", "would push", "unchanged", "failed", "not found", "skipped"]
    detail: str = ""


@dataclass
class UploadReport:
    """The per-student account of an upload, printed by ``autograder upload``."""

    target: str
    dry_run: bool
    outcomes: list[StudentOutcome] = field(default_factory=list)

    @property
    def failed(self) -> list[StudentOutcome]:
        return [o for o in self.outcomes if o.status in ("failed", "not found")]

    def render(self) -> str:
        width = max([len(o.student) for o in self.outcomes] + [7])
        lines = [f"{o.student:<{width}}  {o.status:<10}  {o.detail}".rstrip()
                 for o in self.outcomes]
        counts: dict[str, int] = {}
        for outcome in self.outcomes:
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
        tally = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "nothing"
        lines.append(f"{self.target}: {tally}.")
        if self.dry_run:
            lines.append("Dry run: nothing was sent. Pass --yes to push.")
        return "\n".join(lines)


@dataclass(frozen=True)
class Uploader:
    """An LMS's grade API.

    :param push: ``push(grades, *, dry_run, ledger, **options) -> UploadReport``. It must
        raise :class:`~autograder.errors.UploadError` before changing anything when the
        configuration is wrong (missing token, unknown course, 401/404), report each
        student's failure in the report otherwise, and call ``ledger.record(...)`` only
        for what the LMS accepted.
    """

    push: Callable[..., UploadReport]
    help: str
    options: tuple[Option, ...] = ()


def require_https(url: str, what: str) -> None:
    """Refuse to send a token or a signed assertion in clear text, except to this machine."""
    from urllib.parse import urlsplit

    from autograder.errors import UploadError

    parts = urlsplit(url)
    if parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in
                                   ("127.0.0.1", "localhost", "::1")):
        return
    raise UploadError(f"{what} {url!r} is not an https:// address; credentials are only "
                      "sent over https (or http to this machine, for testing)")


__all__ = ["GRADES", "RESULTS", "Exporter", "GradeRecord", "Option", "StudentOutcome",
           "UploadReport", "Uploader", "require_https"]

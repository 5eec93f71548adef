"""``autograder batch``: grade a folder or zip of submissions into the gradebook.

The parent process reads the source, decides what needs grading, hands the
work to a dispatcher and commits each outcome the moment it arrives. Being
the only writer, it can be killed at any instant: a rerun finds every
committed result by the submission's sha256 and assignment version, and
grades only what is missing.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder.batch.dispatch import DispatchConfig, GradeTask
from autograder.batch.progress import Progress
from autograder.batch.roster import RosterEntry, load_roster
from autograder.batch.sources import Found, open_source
from autograder.errors import AutograderError, PluginError, SourceError
from autograder.gradebook.late import load_course, resolve_policy
from autograder.gradebook.records import GRADED, INVALID, Adjustment, SubmissionFacts
from autograder.gradebook.store import DEFAULT_GRADEBOOK, Gradebook
from autograder.plugins import Registry, get_registry


@dataclass
class BatchSummary:
    """What a batch did. ``failures`` are ``(student, status, message)`` triples."""

    run_id: int
    assignment_id: str
    layout: str
    found: int = 0
    graded: int = 0
    skipped: int = 0
    failed: int = 0
    wall_s: float = 0.0
    failures: list[tuple[str, str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    unknown_students: list[str] = field(default_factory=list)
    missing_students: list[str] = field(default_factory=list)
    adjustments_written: int = 0
    sandbox_layers: list[str] | None = None

    @property
    def per_second(self) -> float:
        """Submissions graded per second of wall time (unchanged ones not counted)."""
        return self.graded / self.wall_s if self.wall_s > 0 else 0.0

    def render(self, gradebook: Path) -> str:
        """What ``autograder batch`` prints when it ends."""
        lines = [f"{self.assignment_id}: {self.found} submissions ({self.layout} layout) "
                 f"-> {gradebook}",
                 f"graded {self.graded}, skipped as unchanged {self.skipped}, failed "
                 f"{self.failed}; wall time {self.wall_s:.1f} s, "
                 f"{self.per_second:.1f} submissions/s"]
        for student, status, message in self.failures:
            lines.append(f"  {status}: {student}: {message.splitlines()[0] if message else ''}")
        for warning in self.warnings:
            lines.append(f"  warning: {warning}")
        if self.unknown_students:
            lines.append(f"not in the roster ({len(self.unknown_students)}): "
                         f"{', '.join(self.unknown_students)}")
        if self.missing_students:
            lines.append(f"in the roster, no submission ({len(self.missing_students)}): "
                         f"{', '.join(self.missing_students)}")
        if self.adjustments_written:
            lines.append(f"adjustments written or withdrawn: {self.adjustments_written}")
        return "\n".join(lines)


def default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def run_batch(*, assignment_id: str, source: Path, gradebook: Path = DEFAULT_GRADEBOOK,
              jobs: int | None = None, regrade: bool = False, roster: Path | None = None,
              layout: str | None = None, sandbox: str | None = None,
              dispatcher: str = "local", device: str = "cpu", course: Path | None = None,
              late: dict[str, Any] | None = None, progress: Progress | None = None,
              registry: Registry | None = None) -> BatchSummary:
    """Grade every submission in ``source`` into ``gradebook``; see the module docstring.

    :param late: CLI late-policy values (``due``, ``grace``, ``penalty``, ``per``,
        ``cap``), None where not given; they override the course file.
    """
    from autograder import api
    from autograder.results import environment

    started = time.perf_counter()
    registry = registry or get_registry()
    assignment = registry.assignment(assignment_id)
    sandbox = sandbox or api.DEFAULT_SANDBOX
    registry.sandbox_factory(sandbox)  # an unknown name fails here, before the gradebook opens
    make_dispatcher = registry.dispatcher(dispatcher)
    roster_entries = load_roster(roster) if roster else None
    course_data = load_course(course) if course else {}
    progress = progress or Progress()
    with open_source(source) as root, Gradebook.open(gradebook, create=True) as book:
        layout_name, found = _identify(registry, root, assignment.id, layout, source)
        found, warnings = _one_per_student(found)
        stored = next((a.late_policy for a in book.assignments() if a.id == assignment.id), None)
        policy = resolve_policy(assignment_id=assignment.id, options=late or {},
                                course=course_data, stored=stored,
                                source=str(course or "course file"))
        max_score = float(sum(assignment.points.values()))
        jobs = max(1, jobs or default_jobs())
        run_id = book.start_run(
            assignment_id=assignment.id, title=assignment.title, version=assignment.version,
            max_score=max_score, source=str(source), layout=layout_name, sandbox=sandbox,
            environment=environment(device), late_policy=policy.as_json() if policy else None,
            options={"jobs": jobs, "regrade": regrade, "dispatcher": dispatcher,
                     "roster": str(roster) if roster else None,
                     "course": str(course) if course else None})
        summary = BatchSummary(run_id, assignment.id, layout_name, found=len(found),
                               warnings=warnings)
        status = "interrupted"
        try:
            _grade_all(book=book, registry=registry, summary=summary, found=found, root=root,
                       source=Path(source), assignment=assignment, regrade=regrade,
                       roster=roster_entries, policy=policy, course=course_data,
                       config=DispatchConfig(jobs=jobs, sandbox=sandbox, device=device),
                       make_dispatcher=make_dispatcher, progress=progress)
            status = "finished"
        finally:
            summary.wall_s = time.perf_counter() - started
            book.finish_run(run_id, status=status, graded=summary.graded,
                            skipped=summary.skipped, failed=summary.failed,
                            sandbox_layers=summary.sandbox_layers)
    return summary


def _identify(registry: Registry, root: Path, assignment_id: str, layout: str | None,
              source: Path) -> tuple[str, list[Found]]:
    if layout is not None:
        if layout not in registry.layouts:
            raise AutograderError(f"unknown layout {layout!r}; available: "
                                  f"{', '.join(registry.layout_order())}")
        found = _call_layout(registry, layout, root, assignment_id)
        if found is None:
            raise SourceError(f"{source} is not in the {layout!r} layout; leave out --layout "
                              "to detect it")
    else:
        for layout in registry.layout_order():
            found = _call_layout(registry, layout, root, assignment_id)
            if found is not None:
                break
        else:
            raise SourceError(f"no layout recognises {source}; known layouts: "
                              f"{', '.join(registry.layout_order())}")
    if not found:
        raise SourceError(f"{source} ({layout} layout) holds no submissions")
    return layout, found


def _call_layout(registry: Registry, name: str, root: Path, assignment_id: str):
    plugin, identify = registry.layouts[name]
    try:
        found = identify(root, assignment_id)
    except AutograderError:
        raise
    except Exception as exc:  # noqa: BLE001 - a layout plugin's bug is named, not a traceback
        raise PluginError(plugin, f"layout {name!r} failed: {type(exc).__name__}: {exc}") from exc
    if found is not None and not all(isinstance(f, Found) for f in found):
        raise PluginError(plugin, f"layout {name!r} must return a list of Found or None")
    for item in found or ():
        if item.submitted_at is None:
            continue
        if not isinstance(item.submitted_at, datetime.datetime):
            raise PluginError(plugin, f"layout {name!r}: submitted_at of {item.student_id} is "
                                      f"{item.submitted_at!r}, not a datetime or None")
        if item.submitted_at.tzinfo is None:
            # Read as --due reads a time without a zone; a late policy compares aware times.
            item.submitted_at = item.submitted_at.astimezone()
    return found


def _one_per_student(found: list[Found]) -> tuple[list[Found], list[str]]:
    kept: dict[str, Found] = {}
    warnings = []
    for item in found:
        other = kept.get(item.student_id)
        if other is None:
            kept[item.student_id] = item
            continue
        newer = (item.submitted_at and other.submitted_at and item.submitted_at > other.submitted_at)
        keep, drop = (item, other) if newer else (other, item)
        kept[item.student_id] = keep
        warnings.append(f"student {item.student_id} has two submissions; graded "
                        f"{keep.path.name}, ignored {drop.path.name}")
    return list(kept.values()), warnings


def _digest(item: Found) -> str:
    from autograder.grading import submission_digest

    if item.path.exists():
        return submission_digest(item.path)
    return hashlib.sha256(f"missing:{item.path}".encode()).hexdigest()


def _display_path(path: Path, root: Path, source: Path) -> str:
    if source.is_dir():
        return str(path.resolve())
    return f"{source}:{path.relative_to(root)}"


def _grade_all(*, book: Gradebook, registry: Registry, summary: BatchSummary, found: list[Found],
               root: Path, source: Path, assignment, regrade: bool,
               roster: dict[str, RosterEntry] | None, policy, course: dict,
               config: DispatchConfig, make_dispatcher, progress: Progress) -> None:
    version = assignment.version
    if roster is not None:
        book.add_students(((e.student_id, e.name, e.email) for e in roster.values()),
                          in_roster=True)
        seen = {f.student_id for f in found}
        summary.unknown_students = sorted(seen - set(roster))
        summary.missing_students = sorted(set(roster) - seen)
    book.add_students(((f.student_id, f.name, f.email) for f in found), in_roster=False)
    ids = book.add_submissions(assignment_id=assignment.id, version=version, regrade=regrade, rows=[
        (f.student_id, _digest(f), _display_path(f.path, root, source),
         f.submitted_at.isoformat() if f.submitted_at else None, f.late) for f in found])
    by_key = {sub_id: item for (sub_id, _), item in zip(ids, found)}
    todo = [(sub_id, by_key[sub_id]) for sub_id, needed in ids if needed]
    summary.skipped = len(found) - len(todo)
    progress.start(len(todo))

    def record(sub_id: int, status: str, document=None, message: str = "", seconds=None):
        item = by_key[sub_id]
        written = book.record_result(run_id=summary.run_id, submission_id=sub_id,
                                     version=version, status=status, document=document,
                                     message=message, seconds=seconds, guard=not regrade)
        if not written:
            summary.skipped += 1
        elif status == GRADED:
            summary.graded += 1
            summary.sandbox_layers = summary.sandbox_layers or document["sandbox"]["layers"]
        else:
            summary.failed += 1
            summary.failures.append((item.student_id, status, message))
        progress.advance(student_id=item.student_id, status=status,
                         score=document["score"] if document else None,
                         max_score=document["max_score"] if document else None)

    tasks = []
    for sub_id, item in todo:
        if item.problem:
            record(sub_id, INVALID, message=item.problem)
        else:
            tasks.append(GradeTask(sub_id, assignment.id, str(item.path)))
    runner = make_dispatcher(config)
    try:
        for outcome in runner.run(tasks):
            record(outcome.key, outcome.status, outcome.document, outcome.message,
                   outcome.seconds)
    finally:
        runner.close()
        progress.close()
    held = book.adjusted_submissions(assignment_id=assignment.id)
    for sub_id, item in by_key.items():
        document = book.result_document(sub_id, version)
        if document is not None:
            summary.adjustments_written += _apply_adjustments(
                book, registry, sub_id, item, assignment.id, document, policy, course,
                held.get(sub_id, set()))


def _apply_adjustments(book: Gradebook, registry: Registry, sub_id: int, item: Found,
                       assignment_id: str, document: dict, policy, course: dict,
                       held: set[str]) -> int:
    facts = SubmissionFacts(item.student_id, assignment_id, document["submission"]["sha256"],
                            str(item.path), item.submitted_at, item.late)
    arguments = {"submission": facts, "result": document, "policy": policy, "course": course}
    written = 0
    for impl in registry.pm.hook.adjust_score.get_hookimpls():
        try:
            returned = impl.function(**{name: arguments[name] for name in impl.argnames})
        except Exception as exc:  # noqa: BLE001 - named, with the plugin to blame
            raise PluginError(impl.plugin_name, f"adjust_score failed on {item.student_id}'s "
                                                f"submission: {type(exc).__name__}: {exc}") from exc
        returned = list(returned or [])
        if not all(isinstance(a, Adjustment) for a in returned):
            raise PluginError(impl.plugin_name, "adjust_score must return a list of "
                                                "autograder.gradebook.Adjustment")
        if returned or impl.plugin_name in held:  # no write transaction when nothing changes
            written += book.set_adjustments(submission_id=sub_id, author=impl.plugin_name,
                                            adjustments=returned)
    return written

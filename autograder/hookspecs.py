"""The hooks that plugins implement. This module is the whole plugin contract.

Registration hooks are called once when the registry is built; each takes a
``register`` callback through which the host validates every object and
rejects duplicates, naming both plugins. A plugin implements only the hooks
it needs; arguments may be appended in later versions, never renamed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import pluggy

if TYPE_CHECKING:
    from autograder.batch.dispatch import DispatchConfig, Dispatcher
    from autograder.batch.sources import Found
    from autograder.exporters import Exporter, Uploader
    from autograder.gradebook.late import LatePolicy
    from autograder.gradebook.records import Adjustment, SubmissionFacts
    from autograder.sandbox import Sandbox

hookspec = pluggy.HookspecMarker("autograder")
hookimpl = pluggy.HookimplMarker("autograder")


# --- registration hooks: called once when the registry is built --------------------------------

@hookspec
def register_assignments(register: Callable[[Path], None]) -> None:
    """Register assignments: call ``register(folder)`` once per assignment.

    :param register: takes the path of an assignment folder (``assignment.toml``,
        ``stub.py``, ``handout.md``, ``public_tests.py``, ``hidden_tests.py``);
        the host reads and validates its metadata at once and raises
        :class:`~autograder.errors.PluginError` naming both plugins when the id
        is already registered.
    """


@hookspec
def register_sandboxes(register: Callable[[str, Callable[[], Sandbox]], None]) -> None:
    """Register sandbox backends: call ``register(name, factory)`` once per backend.

    :param register: takes the backend's name (``--sandbox NAME``) and a
        zero-argument factory returning a :class:`~autograder.sandbox.Sandbox`;
        a name already registered raises :class:`~autograder.errors.PluginError`
        naming both plugins.
    """


@hookspec
def register_dispatchers(register: Callable[[str, Callable[[DispatchConfig], Dispatcher]],
                                            None]) -> None:
    """Register batch dispatchers: call ``register(name, factory)`` once per dispatcher.

    :param register: takes the dispatcher's name (``batch --dispatcher NAME``)
        and a factory called with a
        :class:`~autograder.batch.dispatch.DispatchConfig` (jobs, sandbox,
        device) that returns a :class:`~autograder.batch.dispatch.Dispatcher`.
        Its ``run(tasks)`` yields a ``GradeOutcome`` per task as each finishes,
        by calling :func:`autograder.batch.dispatch.grade_task` wherever it
        runs; only the batch's parent writes to the gradebook. A name already
        registered raises :class:`~autograder.errors.PluginError` naming both plugins.
    """


@hookspec
def register_layouts(register: Callable[[str, Callable[[Path, str], list[Found] | None]],
                                        None]) -> None:
    """Register submission layouts: call ``register(name, identify)`` once per layout.

    :param register: takes the layout's name (``batch --layout NAME``) and
        ``identify(root, assignment_id)``, which returns the
        :class:`~autograder.batch.sources.Found` submissions in the folder
        ``root`` (a student id and a path each; ``problem`` set on one that
        cannot be graded) or None when ``root`` is not in this layout. Without
        ``--layout`` a batch tries the layouts newest plugin first, so a
        course's layout wins over the built-in ``gradescope``, ``canvas`` and
        ``per-student``. A name already registered raises
        :class:`~autograder.errors.PluginError` naming both plugins.
    """


@hookspec
def register_exporters(register: Callable[[str, Exporter], None]) -> None:
    """Register file formats for grades: call ``register(name, exporter)`` once per format.

    :param register: takes the format's name (``autograder export NAME``) and an
        :class:`~autograder.exporters.Exporter`: its ``source`` (``"results"``:
        ``write(results, **options)`` gets results documents; ``"grades"``:
        ``write(grades, **options)`` gets the gradebook's final grades as
        :class:`~autograder.exporters.GradeRecord`), the ``write`` function returning
        the file's text, a one-line ``help``, the file ``suffix`` and its
        ``options`` (each becomes ``--option`` on the command line). A name
        already registered raises :class:`~autograder.errors.PluginError` naming
        both plugins.
    """


@hookspec
def register_uploaders(register: Callable[[str, Uploader], None]) -> None:
    """Register LMS grade pushes: call ``register(name, uploader)`` once per LMS.

    :param register: takes the LMS's name (``autograder upload NAME``) and an
        :class:`~autograder.exporters.Uploader`: ``push(grades, *, dry_run, ledger,
        **options)`` returning an :class:`~autograder.exporters.UploadReport` with
        one outcome per student, a one-line ``help`` and its ``options``. ``push``
        raises :class:`~autograder.errors.UploadError` before sending anything when
        the configuration is wrong, and records in ``ledger``
        (:class:`~autograder.exporters.ledger.PushLedger`) only what the LMS
        accepted. A name already registered raises
        :class:`~autograder.errors.PluginError` naming both plugins.
    """


# --- grading hooks: called by a batch once per graded submission ------------------------------

@hookspec
def adjust_score(submission: SubmissionFacts, result: dict[str, Any],
                 policy: LatePolicy | None, course: dict[str, Any]) -> list[Adjustment] | None:
    """Return the adjustments (late penalty, bonus...) this plugin makes to one submission.

    Called by ``autograder batch`` after grading, for every submission in the
    source that has a graded result, unchanged ones included, so a changed
    policy applies on the next run. What a plugin returns replaces what it
    returned before for that submission (one active adjustment per ``kind``);
    an empty list withdraws its earlier ones. The gradebook records the plugin
    as the author, with the reason and the time; the autograded score itself
    is never changed. The built-in late policy is the plugin
    ``autograder.gradebook.late``.

    :param submission: the student id, assignment id, sha256, path,
        ``submitted_at`` (None when the layout does not record it) and the
        layout's ``late`` flag, as :class:`~autograder.gradebook.records.SubmissionFacts`.
    :param result: the submission's results document (``result.v1.json``).
    :param policy: the built-in late policy in force for the assignment
        (``--due``/``--grace``/``--penalty``/``--per``/``--cap`` or the course
        file), or None when none is configured.
    :param course: the parsed course file (TOML), ``{}`` without one: a plugin
        reads its own settings from it.
    """

"""Every exception the engine raises for a user to read. The CLI turns them into messages."""

from __future__ import annotations


class AutograderError(Exception):
    """Base class: the message is written for the person at the terminal."""


class PluginError(AutograderError):
    """A plugin failed to load or registered something invalid."""

    def __init__(self, plugin: str, message: str) -> None:
        super().__init__(f"plugin {plugin!r}: {message}")
        self.plugin = plugin


class MetadataError(AutograderError):
    """An assignment's metadata or a results file does not match its schema."""

    def __init__(self, path: str, message: str, pointer: str = "") -> None:
        where = f"{path} at {pointer}" if pointer else path
        super().__init__(f"{where}: {message}")
        self.path, self.pointer = path, pointer


class SchemaVersionError(MetadataError):
    """A file written by a newer (or too old) version of the format."""


class UnknownAssignmentError(AutograderError):
    """No installed plugin registers an assignment with that id."""


class SubmissionError(AutograderError):
    """The submission path cannot be graded at all (missing, empty, not Python)."""


class GraderError(AutograderError):
    """The grader itself failed: a bug in a test or a reference, never a student's error."""


class SandboxError(GraderError):
    """The sandbox could not start or run a worker (never a student's error)."""


class SandboxUnavailableError(SandboxError):
    """``--sandbox strict`` asked for a layer this machine cannot provide."""


class GradebookError(AutograderError):
    """The gradebook cannot be opened or does not hold what was asked for."""


class SourceError(AutograderError):
    """A batch's SOURCE (folder, zip, roster) cannot be read as submissions."""


class UploadError(AutograderError):
    """An LMS upload cannot start: no token, a wrong address or id, or the LMS refused it."""

"""Sandbox backends: where and how the worker that runs student code is started.

A backend turns a submission into a :class:`Session` whose ``call`` runs one
student function in a worker process and returns a :class:`CallOutcome`.
Backends are plugins (``register_sandboxes``); the protocol, deadlines and
output caps live in :mod:`autograder.sandbox.session` and are shared by all.
"""

from autograder.sandbox.session import (
    CallOutcome,
    LayerStatus,
    Limits,
    Sandbox,
    Session,
    WorkerProcess,
)

__all__ = ["CallOutcome", "LayerStatus", "Limits", "Sandbox", "Session", "WorkerProcess"]

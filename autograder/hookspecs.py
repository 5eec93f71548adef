"""The hooks that plugins implement. This module is the whole plugin contract.

Registration hooks are called once when the registry is built; each takes a
``register`` callback through which the host validates every object and
rejects duplicates, naming both plugins. A plugin implements only the hooks
it needs; arguments may be appended in later versions, never renamed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable

import pluggy

if TYPE_CHECKING:
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

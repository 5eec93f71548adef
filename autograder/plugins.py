"""Building the plugin manager and the registry of what plugins provide.

Nothing happens at import: :func:`make_plugin_manager` adds the hookspecs,
registers the engine's own default plugins, loads the ``autograder`` entry
points one by one (a plugin that fails to import is recorded by name and the
others still load) and calls ``check_pending()``. :func:`build_registry`
then calls each plugin's registration hooks separately, so one plugin's bad
registration names that plugin and leaves the rest working.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pluggy

from autograder import hookspecs
from autograder.assignment import Assignment, load_assignment
from autograder.errors import AutograderError, PluginError, UnknownAssignmentError
from autograder.exporters import Exporter, Uploader
from autograder.sandbox import Sandbox

ENTRY_POINT_GROUP = "autograder"
DEFAULT_PLUGINS = ("autograder.sandbox.default_plugin", "autograder.batch.default_plugin",
                   "autograder.gradebook.late", "autograder.exporters.default_plugin")


def make_plugin_manager(*, load_entrypoints: bool = True,
                        problems: list[PluginError] | None = None) -> pluggy.PluginManager:
    """A plugin manager with the hookspecs, the default plugins and (optionally) entry points.

    :param load_entrypoints: load installed plugins from the ``autograder`` entry-point
        group; ``AUTOGRADER_LOAD_PLUGINS`` (comma-separated entry-point names, ``""`` for
        none) narrows the set.
    :param problems: receives a :class:`PluginError` per plugin that could not be loaded.
    """
    pm = pluggy.PluginManager("autograder")
    pm.add_hookspecs(hookspecs)
    for name in DEFAULT_PLUGINS:
        pm.register(importlib.import_module(name), name=name)
    pm.check_pending()
    if load_entrypoints:
        for problem in _load_entrypoints(pm):
            if problems is not None:
                problems.append(problem)
    return pm


def _load_entrypoints(pm: pluggy.PluginManager) -> list[PluginError]:
    wanted = os.environ.get("AUTOGRADER_LOAD_PLUGINS")
    allowed = None if wanted is None else {n.strip() for n in wanted.split(",") if n.strip()}
    problems = []
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if allowed is not None and entry_point.name not in allowed:
            continue
        if pm.get_plugin(entry_point.name) is not None:
            continue  # the same distribution seen twice on sys.path
        try:
            plugin = entry_point.load()
        except Exception as exc:  # noqa: BLE001 - any import failure is that plugin's problem
            problems.append(PluginError(entry_point.name, f"could not be imported from "
                                        f"{entry_point.value}: {type(exc).__name__}: {exc}"))
            continue
        pm.register(plugin, name=entry_point.name)
        try:
            pm.check_pending()
        except pluggy.PluginValidationError as exc:
            pm.unregister(name=entry_point.name)
            problems.append(PluginError(entry_point.name, f"implements an unknown hook: {exc}"))
    return problems


@dataclass
class Registry:
    """What the installed plugins provide, and what went wrong loading them."""

    assignments: dict[str, Assignment] = field(default_factory=dict)
    sandboxes: dict[str, tuple[str, Callable[[], Sandbox]]] = field(default_factory=dict)
    problems: list[PluginError] = field(default_factory=list)
    # Batch grading: name -> (plugin, factory or identify function); see register_dispatchers
    # and register_layouts. ``pm`` calls the non-registration hooks (adjust_score).
    dispatchers: dict[str, tuple[str, Callable]] = field(default_factory=dict)
    layouts: dict[str, tuple[str, Callable]] = field(default_factory=dict)
    # Where grades go: name -> (plugin, Exporter or Uploader); see register_exporters.
    exporters: dict[str, tuple[str, Exporter]] = field(default_factory=dict)
    uploaders: dict[str, tuple[str, Uploader]] = field(default_factory=dict)
    pm: pluggy.PluginManager | None = field(default=None, repr=False)

    def layout_order(self) -> list[str]:
        """Layout names in the order a batch tries them: newest plugin first, so a
        course's own layout wins over the built-in ones; in registration order within one."""
        groups: list[list[str]] = []
        previous = None
        for name, (plugin, _) in self.layouts.items():
            if plugin != previous:
                groups.append([])
                previous = plugin
            groups[-1].append(name)
        return [name for group in reversed(groups) for name in group]

    def assignment(self, assignment_id: str) -> Assignment:
        try:
            return self.assignments[assignment_id]
        except KeyError:
            known = ", ".join(sorted(self.assignments)) or "none"
            broken = "".join(f"\n  {p}" for p in self.problems)
            raise UnknownAssignmentError(
                f"unknown assignment {assignment_id!r}; installed assignments: {known}"
                + (f"\nPlugins that failed to load:{broken}" if broken else "")) from None

    def exporter(self, name: str) -> Exporter:
        return _lookup(self.exporters, name, "export format")

    def uploader(self, name: str) -> Uploader:
        return _lookup(self.uploaders, name, "upload target")

    def dispatcher(self, name: str) -> Callable:
        """The factory of dispatcher ``name``; see ``register_dispatchers``."""
        return _lookup(self.dispatchers, name, "dispatcher")

    def sandbox_factory(self, name: str) -> Callable[[], Sandbox]:
        """The factory of sandbox ``name``: checks the name without starting a backend."""
        return _lookup(self.sandboxes, name, "sandbox")

    def sandbox(self, name: str) -> Sandbox:
        """A new backend ``name``; the caller closes it."""
        return self.sandbox_factory(name)()


def _lookup(table: dict, name: str, kind: str):
    try:
        return table[name][1]
    except KeyError:
        raise AutograderError(f"unknown {kind} {name!r}; available: "
                              f"{', '.join(sorted(table)) or 'none'}") from None


def _call_each(pm: pluggy.PluginManager, hook_name: str, make_register, problems) -> None:
    for impl in getattr(pm.hook, hook_name).get_hookimpls():
        register = make_register(impl.plugin_name)
        try:
            impl.function(**{arg: register for arg in impl.argnames})
        except PluginError as exc:
            problems.append(exc)
        except Exception as exc:  # noqa: BLE001 - a plugin's bug is reported, not raised
            problems.append(PluginError(impl.plugin_name, f"{hook_name} failed: "
                                        f"{type(exc).__name__}: {exc}"))


def build_registry(pm: pluggy.PluginManager,
                   problems: list[PluginError] | None = None) -> Registry:
    """Call every registration hook, validating and de-duplicating what is registered."""
    registry = Registry(problems=list(problems or []))

    def assignment_register(plugin: str):
        def register(folder: Path) -> None:
            try:
                assignment = load_assignment(Path(folder), plugin=plugin)
            except AutograderError as exc:
                raise PluginError(plugin, f"bad assignment: {exc}") from None
            other = registry.assignments.get(assignment.id)
            if other is not None:
                raise PluginError(plugin, f"assignment id {assignment.id!r} is already "
                                          f"registered by plugin {other.plugin!r}")
            assignment.plugin = plugin
            registry.assignments[assignment.id] = assignment
        return register

    def named_register(kind: str, table: dict, valid: Callable = callable,
                       invalid: str = "not callable"):
        def make(plugin: str):
            def register(name: str, function: Callable) -> None:
                if name in table:
                    raise PluginError(plugin, f"{kind} {name!r} is already registered by "
                                              f"plugin {table[name][0]!r}")
                if not valid(function):
                    raise PluginError(plugin, f"{kind} {name!r}: {invalid}")
                table[name] = (plugin, function)
            return register
        return make

    _call_each(pm, "register_assignments", assignment_register, registry.problems)
    _call_each(pm, "register_sandboxes", named_register(
        "sandbox", registry.sandboxes, invalid="factory is not callable"), registry.problems)
    _call_each(pm, "register_dispatchers", named_register("dispatcher", registry.dispatchers),
               registry.problems)
    _call_each(pm, "register_layouts", named_register("layout", registry.layouts),
               registry.problems)
    _call_each(pm, "register_exporters", named_register(
        "exporter", registry.exporters, lambda x: isinstance(x, Exporter),
        "not an autograder.exporters.Exporter"), registry.problems)
    _call_each(pm, "register_uploaders", named_register(
        "uploader", registry.uploaders, lambda x: isinstance(x, Uploader),
        "not an autograder.exporters.Uploader"), registry.problems)
    registry.pm = pm
    return registry


def get_registry(*, load_entrypoints: bool = True) -> Registry:
    """The registry for a command: a fresh plugin manager, entry points loaded."""
    problems: list[PluginError] = []
    pm = make_plugin_manager(load_entrypoints=load_entrypoints, problems=problems)
    return build_registry(pm, problems)

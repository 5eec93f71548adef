"""The plugin system: discovery, registration hooks, and plugins that are broken."""

import importlib.metadata
import inspect
import re
import shutil

import pluggy
import pytest

from autograder import hookimpl, hookspecs
from autograder.errors import AutograderError, UnknownAssignmentError
from autograder.plugins import get_registry, make_plugin_manager
from autograder.sandbox.subprocess_backend import SubprocessSandbox

from conftest import REPO

HOOKS = sorted(name for name, fn in vars(hookspecs).items()
               if callable(fn) and hasattr(fn, "autograder_spec"))


def copy_assignment(tmp_path, new_id="perceptron_copy", edit=None):
    folder = tmp_path / new_id
    shutil.copytree(REPO / "assignments" / "perceptron", folder,
                    ignore=shutil.ignore_patterns("__pycache__", "__init__.py"))
    toml = folder / "assignment.toml"
    text = toml.read_text().replace('id = "perceptron"', f'id = "{new_id}"')
    toml.write_text(edit(text) if edit else text)
    return folder


class FolderPlugin:
    def __init__(self, *folders):
        self.folders = folders

    @hookimpl
    def register_assignments(self, register):
        for folder in self.folders:
            register(folder)


# --- register_assignments ----------------------------------------------------------------------

def test_hook_register_assignments_adds_an_assignment(with_plugin, tmp_path):
    registry = with_plugin(FolderPlugin(copy_assignment(tmp_path)), "course-extra")
    assignment = registry.assignment("perceptron_copy")
    assert assignment.plugin == "course-extra"
    assert registry.assignment("perceptron").plugin == "perceptron"
    assert registry.problems == []


def test_hook_register_assignments_duplicate_id_names_both_plugins(with_plugin):
    registry = with_plugin(FolderPlugin(REPO / "assignments" / "perceptron"), "copycat")
    assert [str(p) for p in registry.problems] == [
        "plugin 'copycat': assignment id 'perceptron' is already registered by plugin "
        "'perceptron'"]
    assert registry.assignment("perceptron").plugin == "perceptron"


@pytest.mark.parametrize("edit,message", [
    (lambda t: t.replace("public_train_tiny = 8", "public_train_tiny = 9"),
     "points add up to 101; they must add up to 100"),
    (lambda t: t.replace('version = "1.0.0"', 'version = "one"'), "at /version"),
    (lambda t: t.replace("schema_version = 1", "schema_version = 7"),
     "schema_version 7 is newer than this autograder understands"),
    (lambda t: "surprise = 1\n" + t, "'surprise' was unexpected"),
    (lambda t: t.replace("[limits]", "[limits"), "not valid TOML"),
])
def test_hook_register_assignments_bad_metadata_names_plugin_and_problem(
        with_plugin, tmp_path, edit, message):
    registry = with_plugin(FolderPlugin(copy_assignment(tmp_path, edit=edit)), "broken-course")
    assert len(registry.problems) == 1
    problem = str(registry.problems[0])
    assert problem.startswith("plugin 'broken-course': bad assignment:")
    assert message in problem
    assert "perceptron" in registry.assignments  # the other plugins still work


def test_hook_register_assignments_missing_files_are_named(with_plugin, tmp_path):
    folder = copy_assignment(tmp_path)
    (folder / "stub.py").unlink()
    registry = with_plugin(FolderPlugin(folder), "no-stub")
    assert "missing stub.py" in str(registry.problems[0])


def test_hook_register_assignments_a_crashing_plugin_is_reported(with_plugin):
    class Crashing:
        @hookimpl
        def register_assignments(self, register):
            raise RuntimeError("boom")

    registry = with_plugin(Crashing(), "crashing")
    assert str(registry.problems[0]) == \
        "plugin 'crashing': register_assignments failed: RuntimeError: boom"
    assert "perceptron" in registry.assignments


def test_unknown_assignment_lists_what_is_installed(registry):
    with pytest.raises(UnknownAssignmentError, match="installed assignments: .*perceptron"):
        registry.assignment("percepton")


# --- register_sandboxes ------------------------------------------------------------------------

def test_hook_register_sandboxes_adds_a_backend(with_plugin):
    class Extra:
        @hookimpl
        def register_sandboxes(self, register):
            register("extra", SubprocessSandbox)

    registry = with_plugin(Extra(), "extra-sandbox")
    assert isinstance(registry.sandbox("extra"), SubprocessSandbox)
    assert registry.sandboxes["extra"][0] == "extra-sandbox"


def test_hook_register_sandboxes_duplicate_name_names_both_plugins(with_plugin):
    class Clash:
        @hookimpl
        def register_sandboxes(self, register):
            register("subprocess", SubprocessSandbox)

    registry = with_plugin(Clash(), "clash")
    assert "sandbox 'subprocess' is already registered by plugin " \
           "'autograder.sandbox.default_plugin'" in str(registry.problems[0])


def test_hook_register_sandboxes_a_failing_factory_is_not_an_unknown_name(with_plugin):
    class Broken:
        @hookimpl
        def register_sandboxes(self, register):
            register("broken", lambda: {}["missing setting"])

    registry = with_plugin(Broken(), "broken-sandbox")
    with pytest.raises(KeyError, match="missing setting"):
        registry.sandbox("broken")
    with pytest.raises(AutograderError, match="unknown sandbox 'nope'; available: .*broken"):
        registry.sandbox("nope")


# --- loading -----------------------------------------------------------------------------------

def test_an_impl_of_an_unknown_hook_fails_check_pending():
    pm = make_plugin_manager(load_entrypoints=False)

    class Typo:
        @hookimpl
        def register_assignment(self, register):  # missing "s"
            pass

    pm.register(Typo(), name="typo")
    with pytest.raises(pluggy.PluginValidationError):
        pm.check_pending()


class FakeEntryPoint:
    def __init__(self, name, value, plugin=None, error=None):
        self.name, self.value, self.group = name, value, "autograder"
        self._plugin, self._error = plugin, error

    def load(self):
        if self._error:
            raise self._error
        return self._plugin


def test_an_entry_point_that_fails_to_import_is_named_and_others_load(monkeypatch):
    class Typo:
        @hookimpl
        def register_assignment(self, register):
            pass

    points = [
        FakeEntryPoint("broken", "autograder_broken", error=ImportError("no module named x")),
        FakeEntryPoint("typo", "autograder_typo", plugin=Typo()),
        *[ep for ep in importlib.metadata.entry_points(group="autograder")
          if ep.name == "perceptron"],
    ]
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: points)
    monkeypatch.delenv("AUTOGRADER_LOAD_PLUGINS", raising=False)
    registry = get_registry()
    problems = [str(p) for p in registry.problems]
    assert problems[0] == ("plugin 'broken': could not be imported from autograder_broken: "
                           "ImportError: no module named x")
    assert problems[1].startswith("plugin 'typo': implements an unknown hook")
    assert list(registry.assignments) == ["perceptron"]


def test_load_plugins_variable_narrows_entry_points(monkeypatch):
    monkeypatch.setenv("AUTOGRADER_LOAD_PLUGINS", "")
    assert get_registry().assignments == {}
    monkeypatch.setenv("AUTOGRADER_LOAD_PLUGINS", "perceptron")
    assert list(get_registry().assignments) == ["perceptron"]


def test_builtin_assignments_are_entry_points_like_any_plugin():
    folders = sorted(p.name for p in (REPO / "assignments").iterdir()
                     if p.is_dir() and not p.name.startswith("_"))
    declared = sorted(ep.name for ep in importlib.metadata.distribution("autograder").entry_points
                      if ep.group == "autograder")
    assert folders == declared
    pyproject = (REPO / "pyproject.toml").read_text()
    for name in folders:
        assert f'"autograder.assignments.{name}"' in pyproject


# --- meta: every hook is typed, documented and tested ------------------------------------------

@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_documents_each_argument(hook):
    spec = getattr(hookspecs, hook)
    doc = inspect.getdoc(spec) or ""
    for arg in inspect.signature(spec).parameters:
        assert f":param {arg}:" in doc, f"{hook} does not document {arg}"
        assert inspect.signature(spec).parameters[arg].annotation is not inspect._empty


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_in_the_plugin_docs(hook):
    spec = getattr(hookspecs, hook)
    args = ", ".join(inspect.signature(spec).parameters)
    assert f"{hook}({args})" in (REPO / "docs" / "plugins.md").read_text()


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_tests(hook):
    sources = "\n".join(p.read_text() for p in (REPO / "tests").rglob("test_*.py"))
    assert re.search(rf"def test_hook_{hook}\w*\(", sources), f"no test_hook_{hook}_* test"

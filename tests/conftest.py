import importlib.metadata
import sys
from pathlib import Path

import pytest

from autograder.plugins import build_registry, make_plugin_manager

REPO = Path(__file__).resolve().parent.parent


def pytest_configure(config):
    sys._called_from_test = True


def builtin_entry_points():
    """The assignments this distribution ships, as its own entry points declare them."""
    dist = importlib.metadata.distribution("autograder")
    return [ep for ep in dist.entry_points if ep.group == "autograder"]


@pytest.fixture
def pm():
    """A plugin manager with the default plugins and the built-in assignments only.

    Third-party plugins installed on the machine stay out of the test run.
    """
    manager = make_plugin_manager(load_entrypoints=False)
    for entry_point in builtin_entry_points():
        manager.register(entry_point.load(), name=entry_point.name)
    return manager


@pytest.fixture
def registry(pm):
    return build_registry(pm)


@pytest.fixture
def with_plugin(pm):
    """Register fake plugins for one test and always unregister them."""
    names = []

    def add(plugin, name):
        pm.register(plugin, name=name)
        names.append(name)
        return build_registry(pm)

    yield add
    for name in names:
        pm.unregister(name=name)


@pytest.fixture
def sandbox(registry):
    backend = registry.sandbox("subprocess")
    yield backend
    backend.close()


@pytest.fixture(params=["subprocess", "zygote"])
def any_sandbox(registry, request):
    """Each backend in turn: grading results must not depend on the sandbox."""
    backend = registry.sandbox(request.param)
    yield backend
    backend.close()


@pytest.fixture
def perceptron(registry):
    return registry.assignment("perceptron")


@pytest.fixture
def write_submission(tmp_path):
    """Write a submission file from source text and return its path."""
    def write(source: str, name: str = "submission.py") -> Path:
        path = tmp_path / name
        path.write_text(source)
        return path
    return write

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


def reference_backends(reference):
    """A ``device`` fixture running ``reference`` on NumPy, on its torch path on the CPU,
    and on CUDA (skipped where torch sees none), as ``grade --device`` would: TF32 off.

    Returns the device name for the independent torch side of a comparison.
    """
    @pytest.fixture(params=[("cpu", False), ("cpu", True), ("cuda", True)],
                    ids=["numpy", "torch-cpu", "cuda"])
    def device(request, monkeypatch):
        torch = pytest.importorskip("torch")
        name, torch_on_cpu = request.param
        if name == "cuda":
            if not torch.cuda.is_available():
                pytest.skip("torch sees no CUDA device here")
            monkeypatch.setattr(torch.backends.cuda.matmul, "allow_tf32", False)
            monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
        monkeypatch.setattr(reference, "DEVICE", name)
        monkeypatch.setattr(reference, "TORCH_ON_CPU", torch_on_cpu)
        return name

    return device

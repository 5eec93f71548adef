"""The engine as an installable source folder, without any assignment or reference.

Used where the engine travels on its own: a student kit (``release
--with-engine``), so that a student installs only the engine, and the
Gradescope zip, which adds back the one assignment it grades.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
import shutil
from pathlib import Path

import autograder
from autograder import __version__

# The built-in assignments and references install inside the engine package;
# they must never travel with it.
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", "assignments", "reference")


def copy_engine(target: Path) -> Path:
    """Copy the ``autograder`` package into ``target/autograder``, minus assignments."""
    destination = Path(target) / "autograder"
    shutil.copytree(Path(autograder.__file__).parent, destination, ignore=SKIP)
    return destination


def pinned_requirements(*, include_torch: bool) -> tuple[list[str], str | None]:
    """The engine's runtime requirements pinned to what is installed here, and torch's pin.

    Pinning keeps NumPy (and so expected values) the same where the engine is installed.
    """
    pins, torch_pin = [], None
    for requirement in importlib.metadata.requires("autograder") or []:
        if "extra ==" in requirement:
            continue
        name = re.match(r"[A-Za-z0-9_.\-]+", requirement).group(0)
        try:
            version = importlib.metadata.version(name).split("+")[0]
        except importlib.metadata.PackageNotFoundError:
            pins.append(requirement)
            continue
        if name.lower() == "torch":
            if include_torch:
                torch_pin = f"torch=={version}"
            continue
        pins.append(f"{name}=={version}")
    return pins, torch_pin


def engine_pyproject(*, pins: list[str], packages: list[str],
                     entry_points: dict[str, str] | None = None) -> str:
    """A ``pyproject.toml`` installing ``packages`` as the ``autograder`` distribution."""
    include = ", ".join(json.dumps(p) for name in packages for p in (name, f"{name}.*"))
    dependencies = "".join(f"    {json.dumps(pin)},\n" for pin in pins)
    points = "".join(f"{name} = {json.dumps(target)}\n"
                     for name, target in (entry_points or {}).items())
    return (f'[build-system]\nrequires = ["setuptools>=61"]\n'
            f'build-backend = "setuptools.build_meta"\n\n'
            f'[project]\nname = "autograder"\nversion = "{__version__}"\n'
            f'requires-python = ">=3.11"\ndependencies = [\n{dependencies}]\n\n'
            f'[project.scripts]\nautograder = "autograder.cli:main"\n\n'
            + (f'[project.entry-points.autograder]\n{points}\n' if points else "")
            + f'[tool.setuptools.packages.find]\nwhere = ["."]\ninclude = [{include}]\n\n'
            f'[tool.setuptools.package-data]\n"*" = ["*.toml", "*.md", "*.json"]\n')


def write_engine(target: Path) -> Path:
    """An engine-only installable folder at ``target`` (``pip install target``)."""
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    copy_engine(target)
    pins, _ = pinned_requirements(include_torch=False)
    (target / "pyproject.toml").write_text(engine_pyproject(pins=pins, packages=["autograder"]))
    return target

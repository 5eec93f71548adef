"""The Gradescope autograder zip: ``setup.sh``, ``run_autograder`` and the engine they install.

Gradescope unzips the upload into ``/autograder/source`` and runs ``setup.sh``
once when it builds the image. The zip carries this engine's own source with
one assignment and its reference (so the image needs nothing but PyPI), a
generated ``pyproject.toml`` pinning the dependencies to the versions
installed here (so expected values are computed by the same NumPy), and a
``run_autograder`` that grades ``/autograder/submission``.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import tempfile
from pathlib import Path

from autograder import __version__
from autograder.assignment import Assignment
from autograder.errors import GraderError
from autograder.gradescope import DEFAULT_HIDDEN_VISIBILITY, check_visibility
from autograder.kit import write_zip
from autograder.packaging import SKIP, copy_engine, engine_pyproject, pinned_requirements

ENGINE = "engine"

SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder image.
set -euo pipefail
SOURCE=/autograder/source
PYTHON=""
for candidate in python3.13 python3.12 python3.11 python3; do
  if command -v "$candidate" >/dev/null 2>&1 &&
     "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    PYTHON=$(command -v "$candidate"); break
  fi
done
if [ -z "$PYTHON" ]; then
  # Ubuntu 22.04 images ship Python 3.10; the engine needs 3.11 or newer.
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \\
    python3.11 python3.11-venv
  PYTHON=$(command -v python3.11)
fi
"$PYTHON" -m venv /autograder/venv
/autograder/venv/bin/python -m pip install --quiet --upgrade pip
{torch_line}/autograder/venv/bin/python -m pip install --quiet "$SOURCE/{engine}"
/autograder/venv/bin/python -c "import autograder.assignments.{id}"
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this for every submission. It leaves results/results.json behind
# whatever happens: without one Gradescope only says the autograder failed.
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
PYTHON="${{AUTOGRADER_PYTHON:-$ROOT/venv/bin/python}}"
cd "$ROOT" || exit 1
# Which isolation layers this image allows, for the instructors' log (stdout is results).
"$PYTHON" -m autograder doctor >&2 || true
"$PYTHON" -m autograder.gradescope.run --root "$ROOT" --assignment {id} \\
  --hidden-visibility {hidden_visibility}
status=$?
if [ ! -s "$ROOT/results/results.json" ]; then
  mkdir -p "$ROOT/results"
  message="The autograder could not start (exit $status). Please tell your instructor."
  printf '{{"score": 0, "output": "%s", "tests": []}}\\n' "$message" \\
    > "$ROOT/results/results.json"
fi
exit 0
"""

ASSIGNMENT_INIT = '''\
"""{id}, vendored for Gradescope by `autograder gradescope build`."""

from pathlib import Path

from autograder import hookimpl


@hookimpl
def register_assignments(register):
    register(Path(__file__).parent)
'''


def _copy_reference(assignment: Assignment, engine: Path) -> str:
    """Put the reference at its dotted path inside ``engine``; return its top-level package."""
    dotted = assignment.reference or ""
    spec = importlib.util.find_spec(dotted) if dotted else None
    if spec is None or spec.origin is None:
        raise GraderError(f"assignment {assignment.id!r}: reference {dotted!r} is not "
                          "importable here; a Gradescope autograder needs it")
    parts = dotted.split(".")
    origin = Path(spec.origin)
    for depth in range(1, len(parts)):
        package = engine.joinpath(*parts[:depth])
        package.mkdir(exist_ok=True)
        (package / "__init__.py").touch()
    if origin.name == "__init__.py":
        shutil.copytree(origin.parent, engine.joinpath(*parts), ignore=SKIP)
    else:
        shutil.copyfile(origin, engine.joinpath(*parts[:-1], parts[-1] + ".py"))
    return parts[0]


def build_gradescope_zip(*, assignment: Assignment, output: Path,
                         hidden_visibility: str = DEFAULT_HIDDEN_VISIBILITY) -> Path:
    """Write Gradescope's autograder zip for ``assignment`` to ``output``."""
    check_visibility(hidden_visibility)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        engine = root / ENGINE
        copy_engine(engine)
        folder = engine / "autograder" / "assignments" / assignment.id
        (folder.parent).mkdir()
        (folder.parent / "__init__.py").touch()
        shutil.copytree(assignment.folder, folder,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "__init__.py"))
        (folder / "__init__.py").write_text(ASSIGNMENT_INIT.format(id=assignment.id))
        top = _copy_reference(assignment, engine)
        pins, torch_pin = pinned_requirements(include_torch=assignment.uses_torch)
        packages = sorted({"autograder", top})
        (engine / "pyproject.toml").write_text(engine_pyproject(
            pins=pins, packages=packages,
            entry_points={assignment.id: f"autograder.assignments.{assignment.id}"}))
        torch_line = (f'/autograder/venv/bin/python -m pip install --quiet "{torch_pin}" '
                      '--index-url https://download.pytorch.org/whl/cpu\n' if torch_pin else "")
        setup = root / "setup.sh"
        setup.write_text(SETUP_SH.format(torch_line=torch_line, engine=ENGINE, id=assignment.id))
        run = root / "run_autograder"
        run.write_text(RUN_AUTOGRADER.format(id=assignment.id,
                                             hidden_visibility=hidden_visibility))
        for script in (setup, run):
            script.chmod(0o755)
        (root / "gradescope.json").write_text(json.dumps({
            "assignment": assignment.id, "version": assignment.version,
            "autograder": __version__, "hidden_visibility": hidden_visibility,
            "requirements": pins + ([torch_pin] if torch_pin else [])}, indent=2) + "\n")
        return write_zip(root, Path(output))


__all__ = ["build_gradescope_zip"]

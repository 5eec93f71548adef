"""The CLI and NumPy-only grading never import torch."""

import json
import subprocess
import sys

from conftest import REPO

PROBE = """
import sys
from click.testing import CliRunner
import autograder.cli
before = "torch" in sys.modules
result = CliRunner().invoke(autograder.cli.cli, ["grade", "perceptron", {path!r}, "--json", "-"])
print("RESULT", result.exit_code, before, "torch" in sys.modules)
"""


def test_importing_the_cli_and_grading_perceptron_never_imports_torch():
    code = PROBE.format(path=str(REPO / "reference" / "perceptron.py"))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env={"AUTOGRADER_LOAD_PLUGINS": "perceptron",
                                            "PATH": "/usr/bin:/bin"})
    line = [l for l in proc.stdout.splitlines() if l.startswith("RESULT")]
    assert line == ["RESULT 0 False False"], proc.stdout + proc.stderr


def test_listing_all_assignments_never_imports_torch():
    code = ("import sys; from autograder.plugins import get_registry; r = get_registry(); "
            "print(json.dumps(['torch' in sys.modules, sorted(r.assignments)]))")
    proc = subprocess.run([sys.executable, "-c", "import json; " + code],
                          capture_output=True, text=True, timeout=120)
    loaded, ids = json.loads(proc.stdout)
    assert loaded is False and "perceptron" in ids

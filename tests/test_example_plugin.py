"""The third-party example plugin: installed like a real package, discovered and graded."""

import json
import os
import subprocess
import sys

import pytest

from conftest import REPO

EXAMPLE = REPO / "examples" / "autograder-toy"

CORRECT = """
import numpy as np
def mean_and_std(x):
    return float(np.mean(x)), float(np.std(x))
def zscore(x):
    return (x - np.mean(x)) / np.std(x)
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """Install the example with pip into its own folder; put it on the grader's path only."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(target), str(EXAMPLE)],
        check=True, capture_output=True, text=True)
    env = {**os.environ, "PYTHONPATH": str(target)}
    env.pop("AUTOGRADER_LOAD_PLUGINS", None)
    return env


def autograder(env, *args):
    return subprocess.run([sys.executable, "-m", "autograder", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def test_example_plugin_is_discovered_through_its_entry_point(installed):
    listing = autograder(installed, "list")
    assert listing.returncode == 0, listing.stderr
    assert "toy_stats" in listing.stdout and "[toy_stats]" in listing.stdout


def test_example_plugin_assignment_is_graded(installed, tmp_path):
    submission = tmp_path / "stats.py"
    submission.write_text(CORRECT)
    out = tmp_path / "result.json"
    graded = autograder(installed, "grade", "toy_stats", str(submission), "--json", str(out))
    assert graded.returncode == 0, graded.stderr
    result = json.loads(out.read_text())
    assert result["assignment"]["id"] == "toy_stats"
    assert result["score"] == 100

    submission.write_text(CORRECT.replace("np.std(x))", "np.std(x, ddof=1))", 1))
    graded = autograder(installed, "grade", "toy_stats", str(submission), "--json", "-")
    result = json.loads(graded.stdout)
    assert {t["name"]: t["status"] for t in result["tests"]}["population_std"] == "failed"
    assert result["score"] == 60

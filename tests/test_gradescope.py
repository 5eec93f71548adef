"""The Gradescope autograder zip, run against a simulated /autograder tree under a temp root."""

import importlib.metadata
import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile

import jsonschema
import pytest
from click.testing import CliRunner

from autograder import api
from autograder.cli import cli
from autograder.errors import MetadataError
from autograder.gradescope import results_schema, to_gradescope, validate_results

from conftest import REPO

REFERENCE = REPO / "reference" / "perceptron.py"
STUDENT = REPO / "examples" / "submissions" / "perceptron_student.py"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The zip as an instructor builds it, unzipped as Gradescope does, its engine installed
    (offline, into a folder) as setup.sh installs it into the image's venv."""
    base = tmp_path_factory.mktemp("gradescope")
    archive = base / "autograder.zip"
    result = CliRunner().invoke(cli, ["gradescope", "build", "perceptron", "-o", str(archive)])
    assert result.exit_code == 0, result.output
    source = base / "source"
    with zipfile.ZipFile(archive) as zipped:
        names = zipped.namelist()
        modes = {i.filename: i.external_attr >> 16 for i in zipped.infolist()}
        zipped.extractall(source)
    for script in ("setup.sh", "run_autograder"):
        (source / script).chmod(modes[script])
    site = base / "site"
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                          "--no-build-isolation", "--no-index", "--target", str(site),
                          str(source / "engine")], capture_output=True, text=True, timeout=300)
    assert pip.returncode == 0, pip.stdout + pip.stderr
    return {"zip": archive, "names": names, "modes": modes, "source": source, "site": site}


def run_autograder(built, tmp_path, files: dict[str, str], python=sys.executable):
    """Lay out /autograder as Gradescope does and run run_autograder; return results.json."""
    root = tmp_path / "autograder"
    shutil.copytree(built["source"], root / "source")
    shutil.copy2(built["source"] / "run_autograder", root / "run_autograder")
    (root / "submission").mkdir()
    for name, text in files.items():
        (root / "submission" / name).write_text(text)
    (root / "submission_metadata.json").write_text(json.dumps({
        "id": 123, "created_at": "2026-11-20T10:00:00.000000-08:00",
        "submission_method": "upload",
        "assignment": {"id": 7, "title": "Perceptron", "total_points": "100.0",
                       "due_date": "2026-11-21T23:59:00.000000-08:00", "group_size": None},
        "users": [{"email": "s1@uni.example", "id": 1, "name": "Student One"}],
        "previous_submissions": []}))
    env = {"AUTOGRADER_ROOT": str(root), "AUTOGRADER_PYTHON": python,
           "PYTHONPATH": str(built["site"]), "PATH": os.environ["PATH"]}
    proc = subprocess.run([str(root / "run_autograder")], capture_output=True, text=True,
                          env=env, timeout=180, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    if python == sys.executable:
        # The instructors' log says which sandbox layers this image allowed.
        assert "sandbox zygote" in proc.stderr and "landlock" in proc.stderr
    document = json.loads((root / "results" / "results.json").read_text())
    jsonschema.Draft202012Validator(results_schema()).validate(document)
    return document, proc.stdout


def test_the_zip_holds_the_scripts_and_one_assignment(built):
    names = set(built["names"])
    assert {"setup.sh", "run_autograder", "engine/pyproject.toml",
            "engine/autograder/assignments/perceptron/hidden_tests.py",
            "engine/autograder/reference/perceptron.py"} <= names
    assert not [n for n in names if "/assignments/" in n and "perceptron" not in n
                and not n.endswith("assignments/__init__.py")]
    for script in ("setup.sh", "run_autograder"):
        assert built["modes"][script] & stat.S_IXUSR
        assert (built["source"] / script).read_text().startswith("#!/usr/bin/env bash")
    setup = (built["source"] / "setup.sh").read_text()
    assert 'pip install --quiet "$SOURCE/engine"' in setup and "torch" not in setup
    pyproject = (built["source"] / "engine" / "pyproject.toml").read_text()
    assert f'"numpy=={importlib.metadata.version("numpy")}"' in pyproject
    assert 'perceptron = "autograder.assignments.perceptron"' in pyproject


def test_the_vendored_engine_is_what_runs(built):
    probe = ("import autograder, autograder.reference.perceptron as r; "
             "print(autograder.__file__); print(r.__file__)")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          env={"PYTHONPATH": str(built["site"]), "PATH": os.environ["PATH"]},
                          cwd=built["site"].parent)  # not the repository: it holds autograder/
    assert proc.stdout.split() == [str(built["site"] / "autograder" / "__init__.py"),
                                   str(built["site"] / "autograder" / "reference" /
                                       "perceptron.py")], proc.stderr


def test_a_torch_assignment_installs_the_cpu_build_of_torch(tmp_path):
    archive = api.gradescope_zip(assignment_id="attention", output=tmp_path / "a.zip")
    setup = zipfile.ZipFile(archive).read("setup.sh").decode()
    torch = importlib.metadata.version("torch").split("+")[0]
    assert f'"torch=={torch}" --index-url https://download.pytorch.org/whl/cpu' in setup


def test_a_correct_submission_scores_full_marks(built, tmp_path):
    document, stdout = run_autograder(built, tmp_path, {"perceptron.py": REFERENCE.read_text()})
    assert document["score"] == 100.0
    assert isinstance(document["execution_time"], float)
    assert document["stdout_visibility"] == "hidden" and document["visibility"] == "visible"
    visibility = {t["name"]: t["visibility"] for t in document["tests"]}
    assert visibility["public_train_tiny"] == "visible"
    assert visibility["train_boundary_counts_as_mistake"] == "after_due_date"
    assert {t["status"] for t in document["tests"]} == {"passed"}
    assert json.loads(stdout)["score"] == 100.0  # the full results, for instructors only


def test_a_wrong_submission_under_any_name_gets_per_test_feedback(built, tmp_path):
    document, _ = run_autograder(built, tmp_path, {"my_solution.py": STUDENT.read_text()})
    expected = api.grade(assignment_id="perceptron", submission=STUDENT)
    assert document["score"] == expected["score"] < 100
    failed = [t for t in document["tests"] if t["status"] == "failed"]
    assert failed and all(t["score"] == 0 for t in failed)
    hidden = [t for t in failed if t["visibility"] == "after_due_date"]
    assert all(t["output"].startswith("Hidden test failed") for t in hidden)


@pytest.mark.parametrize("files, message", [
    ({"notes.txt": "I could not do it"}, "expected one Python file (perceptron.py)"),
    ({"a.py": "x = 1", "b.py": "y = 2"}, "found a.py, b.py"),
])
def test_a_submission_that_cannot_be_graded_still_gets_results(built, tmp_path, files, message):
    document, _ = run_autograder(built, tmp_path, files)
    assert document["score"] == 0 and document["tests"] == []
    assert message in document["output"]


@pytest.mark.parametrize("files, chosen", [
    # The same choice as `autograder batch` makes in a student's folder.
    ({"perceptron.py": "", "__init__.py": "", "util.py": ""}, "perceptron.py"),
    ({"main.py": "", "util.py": ""}, "."),
    ({"hw1/solution.py": "", "__MACOSX/hw1/._solution.py": ""}, "hw1/solution.py"),
])
def test_the_file_graded_is_chosen_as_a_batch_chooses_it(tmp_path, files, chosen):
    from autograder.gradescope.run import find_submission

    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert find_submission(tmp_path, "perceptron") == tmp_path / chosen


@pytest.mark.parametrize("source", [
    "import os\nos._exit(3)\n",                          # kills its process on import
    "print('garbage ' * 100000)\n" + REFERENCE.read_text(),  # floods stdout
    "raise SystemExit('bye')\n",
])
def test_a_hostile_submission_still_gets_valid_results(built, tmp_path, source):
    document, _ = run_autograder(built, tmp_path, {"perceptron.py": source})
    assert len(document["tests"]) == 17
    if "garbage" not in source:
        assert document["score"] == 0


def test_a_grader_that_cannot_start_still_leaves_results_json(built, tmp_path):
    document, _ = run_autograder(built, tmp_path, {"perceptron.py": "x = 1"},
                                 python="/nonexistent/python")
    assert document["score"] == 0
    assert "could not start" in document["output"]


def test_export_gradescope_maps_our_results(tmp_path):
    results = tmp_path / "r.json"
    graded = CliRunner().invoke(cli, ["grade", "perceptron", str(STUDENT), "--json",
                                      str(results)])
    assert graded.exit_code == 0, graded.output
    out = tmp_path / "results.json"
    res = CliRunner().invoke(cli, ["export", "gradescope", str(results), "-o", str(out),
                                   "--hidden-visibility", "hidden"])
    assert res.exit_code == 0, res.output
    document = json.loads(out.read_text())
    ours = json.loads(results.read_text())
    assert [t["name"] for t in document["tests"]] == [t["name"] for t in ours["tests"]]
    assert {t["visibility"] for t in document["tests"]} == {"visible", "hidden"}
    assert document["score"] == ours["score"]


@pytest.mark.parametrize("bad", [
    {"score": 1, "visibility": "public"},
    {"score": 1, "tests": [{"name": "t", "status": "ok"}]},
    {"output": "no score and no tests"},
    {"score": 1, "execution_time": "0.20"},
    {"score": 1, "tests": [{"name": "t", "points": 3}]},
])
def test_the_results_schema_rejects_what_the_spec_does_not_allow(bad):
    with pytest.raises(MetadataError, match="not a Gradescope results.json"):
        validate_results(bad)


def test_an_unknown_hidden_visibility_is_refused():
    result = api.grade(assignment_id="perceptron", submission=REFERENCE, public_only=True)
    with pytest.raises(MetadataError, match="'public' is not one of"):
        to_gradescope(result, hidden_visibility="public")

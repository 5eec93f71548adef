"""Every CLI command through click's CliRunner, with tmp_path and absolute paths."""

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from autograder.cli import EXIT_BELOW_THRESHOLD, cli

from conftest import REPO

REFERENCE = REPO / "reference" / "perceptron.py"


@pytest.fixture(autouse=True)
def builtin_plugins_only(monkeypatch):
    monkeypatch.setenv("AUTOGRADER_LOAD_PLUGINS",
                       "perceptron,svm_dual,backprop,cnn_shapes,attention,adam")


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_list_shows_assignments_with_their_plugin():
    result = run("list")
    assert result.exit_code == 0, result.output
    assert "perceptron" in result.output and "[perceptron]" in result.output


def test_info_shows_functions_limits_and_points():
    result = run("info", "perceptron")
    assert result.exit_code == 0, result.output
    assert "functions: perceptron_train, perceptron_predict" in result.output
    assert "5 s per call" in result.output
    assert "train_boundary_counts_as_mistake" in result.output
    facts = json.loads(run("info", "perceptron", "--json").output)
    assert sum(facts["points"].values()) == 100


def test_stub_writes_the_stub_and_refuses_to_overwrite(tmp_path):
    target = tmp_path / "mine.py"
    result = run("stub", "perceptron", "-o", target)
    assert result.exit_code == 0, result.output
    assert "def perceptron_train(X, y, max_epochs=100):" in target.read_text()
    target.write_text("my work")
    again = run("stub", "perceptron", "-o", target)
    assert again.exit_code == 1
    assert "already exists" in again.output and "--force" in again.output
    assert target.read_text() == "my work"
    assert run("stub", "perceptron", "-o", target, "--force").exit_code == 0


def test_stub_into_a_folder(tmp_path):
    assert run("stub", "perceptron", "-o", tmp_path).exit_code == 0
    assert (tmp_path / "perceptron.py").exists()


def test_grade_prints_a_table_and_writes_valid_json(tmp_path):
    out = tmp_path / "out" / "results.json"
    result = run("grade", "perceptron", REFERENCE, "--json", out)
    assert result.exit_code == 0, result.output
    assert "public_train_tiny" in result.output and "PASS" in result.output
    assert "Score: 100/100" in result.output
    document = json.loads(out.read_text())
    assert document["score"] == 100 and document["schema_version"] == 1
    validated = run("validate", out)
    assert validated.exit_code == 0 and "valid" in validated.output


def test_grade_json_to_stdout_is_only_json(tmp_path):
    stub = tmp_path / "stub.py"
    run("stub", "perceptron", "-o", stub)
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade", "perceptron", str(stub),
                           "--json", "-"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["score"] == 0
    assert "public_train_tiny" in proc.stderr


def test_grade_exits_zero_whatever_the_score_and_three_under_fail_under(tmp_path):
    stub = tmp_path / "stub.py"
    run("stub", "perceptron", "-o", stub)
    assert run("grade", "perceptron", stub).exit_code == 0
    below = run("grade", "perceptron", stub, "--fail-under", 50)
    assert below.exit_code == EXIT_BELOW_THRESHOLD
    assert "below --fail-under 50%" in below.output
    assert run("grade", "perceptron", REFERENCE, "--fail-under", 100).exit_code == 0


def test_grade_public_only_says_so():
    result = run("grade", "perceptron", REFERENCE, "--public-only")
    assert result.exit_code == 0
    assert "(hidden)" not in result.output
    assert "hidden tests run when you submit" in result.output


def test_grader_failures_exit_one_with_a_message(tmp_path):
    unknown = run("grade", "nope", REFERENCE)
    assert unknown.exit_code == 1
    assert "unknown assignment 'nope'" in unknown.output and "Traceback" not in unknown.output
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    assert "not a Python file" in run("grade", "perceptron", text).output
    assert "unknown sandbox 'nope'" in run("grade", "perceptron", REFERENCE,
                                           "--sandbox", "nope").output


@pytest.mark.parametrize("command", [
    ["stub", "perceptron", "-o", "{out}"],
    ["release", "perceptron", "-o", "{out}"],
    ["gradescope", "build", "perceptron", "-o", "{out}"],
    ["grade", "perceptron", str(REFERENCE), "--sandbox", "subprocess", "--json", "{out}"],
    ["grade", "perceptron", str(REFERENCE), "--sandbox", "subprocess", "--junit", "{out}"],
])
def test_an_output_path_that_cannot_be_written_is_named_without_a_traceback(tmp_path, command):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    out = blocker / "out"
    result = run(*(part.format(out=out) for part in command))
    assert result.exit_code == 1, result.output
    assert f"{blocker}" in result.output, result.output
    assert "Traceback" not in result.output and result.exception.__class__ is SystemExit


def test_usage_errors_exit_two(tmp_path):
    assert run("grade", "perceptron").exit_code == 2
    assert run("grade", "perceptron", tmp_path / "missing.py").exit_code == 2
    assert run("grade", "perceptron", REFERENCE, "--fail-under", 150).exit_code == 2


def test_validate_reports_what_is_wrong(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"schema_version": 1, "score": "high"}))
    result = run("validate", bad)
    assert result.exit_code == 1
    assert str(bad) in result.output and "required property" in result.output
    bad.write_text("{not json")
    assert "not valid JSON" in run("validate", bad).output


def test_validate_rejects_a_tampered_result(tmp_path):
    out = tmp_path / "r.json"
    run("grade", "perceptron", REFERENCE, "--json", out)
    document = json.loads(out.read_text())
    document["tests"][0]["status"] = "excellent"
    out.write_text(json.dumps(document))
    result = run("validate", out)
    assert result.exit_code == 1 and "/tests/0/status" in result.output


def test_plugins_reports_json():
    result = run("plugins")
    report = json.loads(result.output)
    assert report["assignments"]["perceptron"] == "perceptron"
    assert "subprocess" in report["sandboxes"]
    assert report["dispatchers"]["local"] == "autograder.batch.default_plugin"
    assert set(report["layouts"]) >= {"gradescope", "canvas", "per-student"}
    assert report["exporters"]["junit"] == report["uploaders"]["canvas"] == \
        "autograder.exporters.default_plugin"


def test_every_command_has_help():
    for name in cli.commands:
        result = run(name, "--help")
        assert result.exit_code == 0 and "Usage:" in result.output, name


def test_device_cuda_is_refused_for_a_numpy_reference():
    result = run("grade", "perceptron", REFERENCE, "--device", "cuda")
    assert result.exit_code == 1 and "runs on the CPU only" in result.output


def test_grading_a_kit_zip_says_to_unzip_it(tmp_path):
    kit = tmp_path / "kit.zip"
    kit.write_bytes(b"PK\x05\x06" + b"\0" * 18)
    result = run("grade", kit, REFERENCE)
    assert result.exit_code == 1
    assert "is a zip file; unzip it first" in result.output and str(tmp_path / "kit") in result.output


def test_list_with_no_assignments_says_so(monkeypatch):
    monkeypatch.setenv("AUTOGRADER_LOAD_PLUGINS", "")
    result = CliRunner().invoke(cli, ["list"])
    assert result.exit_code == 0
    assert "no assignments are installed (AUTOGRADER_LOAD_PLUGINS=''" in result.output

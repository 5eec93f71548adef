"""Grading results: full marks for references, zero for stubs, points lost where the bug is."""

from pathlib import Path

import pytest

from autograder.errors import SubmissionError
from autograder.grading import grade_submission, submission_digest
from autograder.results import validate_result

from conftest import builtin_entry_points

REFERENCE = (Path(__file__).resolve().parent.parent / "reference" / "perceptron.py").read_text()
ASSIGNMENT_IDS = sorted(ep.name for ep in builtin_entry_points())


def grade(assignment, sandbox, path, **kwargs):
    result = grade_submission(assignment=assignment, submission=path, sandbox=sandbox, **kwargs)
    validate_result(result)
    return result


@pytest.mark.parametrize("assignment_id", ASSIGNMENT_IDS)
def test_every_reference_scores_full_marks(registry, any_sandbox, assignment_id):
    assignment = registry.assignment(assignment_id)
    result = grade(assignment, any_sandbox, assignment.reference_path())
    failed = {t["name"]: t["output"] for t in result["tests"] if t["status"] == "failed"}
    assert failed == {}
    assert result["score"] == result["max_score"] == 100


@pytest.mark.parametrize("assignment_id", ASSIGNMENT_IDS)
def test_every_stub_scores_zero(registry, any_sandbox, assignment_id):
    assignment = registry.assignment(assignment_id)
    result = grade(assignment, any_sandbox, assignment.stub_path)
    assert result["score"] == 0
    assert all("NotImplementedError" in t["output"] or t["visibility"] == "hidden"
               for t in result["tests"])


# Realistic mistakes, each in one function; none of them is a shipped mutant.
WRONG = {
    "perceptron_train": ("w = w + y[i] * X[i]", "w = w + X[i]"),
    "perceptron_predict": ("np.where(scores > 0, 1, -1)", "scores > 0"),
    "polynomial_kernel": ("(X @ Z.T + coef0) ** degree", "(X @ Z.T + coef0) * degree"),
    "quadratic_features": ("[x1 ** 2, np.sqrt(2.0) * x1 * x2, x2 ** 2]",
                           "[x2 ** 2, np.sqrt(2.0) * x1 * x2, x1 ** 2]"),
    "kernel_perceptron_train": ("f = np.sum(alpha * y * K[:, i]) + b",
                                "f = np.sum(alpha * K[:, i]) + b"),
}


@pytest.mark.parametrize("function", sorted(WRONG))
def test_a_wrong_function_loses_points_only_on_its_own_tests(perceptron, any_sandbox,
                                                             write_submission, function):
    old, new = WRONG[function]
    assert REFERENCE.count(old) == 1
    result = grade(perceptron, any_sandbox, write_submission(REFERENCE.replace(old, new)))
    failed = [t for t in result["tests"] if t["status"] == "failed"]
    assert failed, f"breaking {function} cost no points"
    assert all(t["functions"] == [function] for t in failed), \
        [(t["name"], t["functions"]) for t in failed]
    assert 0 < result["score"] < 100


def test_feedback_names_a_known_mistake(perceptron, sandbox, write_submission):
    source = REFERENCE.replace("np.where(scores > 0, 1, -1)", "np.where(scores >= 0, 1, -1)")
    result = grade(perceptron, sandbox, write_submission(source))
    test = next(t for t in result["tests"] if t["name"] == "predict_zero_score_is_negative")
    assert test["status"] == "failed"
    assert "a score of exactly 0 is predicted +1" in test["output"]
    assert test["mistake"] and "predicted +1" in test["mistake"]


def test_public_only_runs_only_public_tests(perceptron, sandbox):
    result = grade(perceptron, sandbox, perceptron.reference_path(), public_only=True)
    assert {t["visibility"] for t in result["tests"]} == {"visible"}
    assert result["max_score"] == 30
    assert "hidden tests run when you submit" in result["output"]


def test_a_folder_submission_with_init_or_main(perceptron, any_sandbox, tmp_path):
    for entry in ("__init__.py", "main.py"):
        folder = tmp_path / entry.replace(".py", "")
        folder.mkdir()
        (folder / "helpers.py").write_text(REFERENCE)
        (folder / entry).write_text("from helpers import *\n" if entry == "main.py"
                                    else "from .helpers import *\n")
        assert grade(perceptron, any_sandbox, folder)["score"] == 100


def test_digest_is_stable_and_content_based(tmp_path):
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("x = 1\n")
    b.write_text("x = 1\n")
    assert submission_digest(a) == submission_digest(b)
    b.write_text("x = 2\n")
    assert submission_digest(a) != submission_digest(b)


@pytest.mark.parametrize("make,message", [
    (lambda p: p / "missing.py", "does not exist"),
    (lambda p: (p / "notes.txt").write_text("hi") and p / "notes.txt", "not a Python file"),
    (lambda p: (p / "empty").mkdir() or p / "empty", "neither __init__.py nor main.py"),
])
def test_ungradeable_paths_get_a_clear_error(perceptron, sandbox, tmp_path, make, message):
    with pytest.raises(SubmissionError, match=message):
        grade(perceptron, sandbox, make(tmp_path))

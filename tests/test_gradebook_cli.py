"""`autograder gradebook show|student|override|stats|export` on a gradebook built directly."""

import csv
import io
import json

import pytest
from click.testing import CliRunner

from autograder.cli import cli
from autograder.gradebook import Adjustment, Gradebook

from test_gradebook import make_document


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "gb.db"
    with Gradebook.open(path, create=True) as book:
        run = book.start_run(assignment_id="hw", title="HW", version="1.0", max_score=100.0,
                             source="src", layout="per-student", sandbox="subprocess",
                             environment={}, options={}, late_policy=None)
        book.add_students([("ada", "Ada L", "ada@x"), ("bob", "Bob", None),
                           ("cy", "Cy", None)], in_roster=True)
        ids = book.add_submissions(assignment_id="hw", version="1.0", regrade=False, rows=[
            ("ada", "a" * 64, "ada.py", "2025-03-02T10:00:00+00:00", False),
            ("bob", "b" * 64, "bob.py", None, True)])
        book.record_result(run_id=run, submission_id=ids[0][0], version="1.0",
                           status="graded", document=make_document(60.0))
        book.record_result(run_id=run, submission_id=ids[1][0], version="1.0",
                           status="invalid", message="bob.txt is not a Python file")
        book.set_adjustments(submission_id=ids[0][0], author="autograder.gradebook.late",
                             adjustments=[Adjustment(-10.0, "10h late: 1 day")])
    return path


def run(*args):
    return CliRunner().invoke(cli, [*map(str, args)])


def test_show_one_assignment(db):
    result = run("gradebook", "show", "hw", "--gradebook", db)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["student", "name", "status", "autograded", "late", "override",
                                "final", "submitted"]
    assert lines[2].split() == ["ada", "Ada", "L", "graded", "60", "-10", "50/100",
                                "2025-03-02T10:00:00+00:00"]
    assert lines[3].split() == ["bob", "Bob", "invalid", "0", "late", "0/100"]
    assert lines[4].split() == ["cy", "Cy", "missing"]


def test_show_all_assignments(db):
    result = run("gradebook", "show", "--gradebook", db)
    assert result.exit_code == 0, result.output
    assert [l.split() for l in result.output.splitlines()[2:]] == [
        ["ada", "Ada", "L", "50"], ["bob", "Bob", "0"], ["cy", "Cy", "missing"]]


def test_student_history_with_tests_and_adjustments(db):
    result = run("gradebook", "student", "ada", "--gradebook", db)
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.startswith("ada (Ada L, ada@x)")
    assert "hw: final 50/100 (graded, autograded 60)" in out
    assert "late -10 by autograder.gradebook.late at" in out and "10h late: 1 day" in out
    assert "t1" in out and "60/60" in out and "FAIL" in out and "wrong" in out


def test_override_then_show_and_history(db):
    result = run("gradebook", "override", "bob", "hw", "75", "--reason", "emailed the file",
                 "--by", "prof", "--gradebook", db)
    assert result.exit_code == 0, result.output
    assert "bob hw: final grade set to 75/100 by prof (emailed the file)" in result.output
    assert "75/100" in run("gradebook", "show", "hw", "--gradebook", db).output
    history = run("gradebook", "student", "bob", "--gradebook", db).output
    assert "override set to 75 by prof at" in history and "emailed the file" in history
    assert "invalid  0/-  bob.txt is not a Python file" in history


@pytest.mark.parametrize("args, message", [
    (["override", "zed", "hw", "5", "--reason", "x"], "no student 'zed'"),
    (["override", "ada", "nope", "5", "--reason", "x"], "no assignment 'nope'"),
    (["override", "ada", "hw", "5"], "Missing option '--reason'"),
    (["student", "zed"], "no student 'zed'"),
    (["stats", "nope"], "no assignment 'nope'"),
    (["show", "nope"], "no assignment 'nope'"),
])
def test_bad_gradebook_commands_are_named(db, args, message):
    before = db.read_bytes()
    result = run("gradebook", *args, "--gradebook", db)
    assert result.exit_code in (1, 2) and message in result.output, result.output
    assert "Traceback" not in result.output
    assert db.read_bytes() == before


@pytest.mark.parametrize("args", [["export", "-o"], ["stats", "hw", "--plot"]])
def test_an_output_path_that_cannot_be_written_is_named(db, tmp_path, args):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = run("gradebook", *args, blocker / "out", "--gradebook", db)
    assert result.exit_code == 1 and f"{blocker}" in result.output, result.output
    assert "Traceback" not in result.output


def test_commands_on_a_missing_gradebook_name_the_fix(tmp_path):
    result = run("gradebook", "show", "--gradebook", tmp_path / "none.db")
    assert result.exit_code == 1 and "no gradebook at" in result.output
    assert not (tmp_path / "none.db").exists()


def test_stats_prints_and_plots(db, tmp_path):
    plot = tmp_path / "hw.png"
    result = run("gradebook", "stats", "hw", "--plot", plot, "--gradebook", db)
    assert result.exit_code == 0, result.output
    assert "2 final scores" in result.output and "mean 25.0" in result.output
    assert "t2" in result.output and f"figure written to {plot}" in result.output
    assert plot.read_bytes()[:4] == b"\x89PNG"


def test_export_csv_and_json(db, tmp_path):
    result = run("gradebook", "export", "--format", "csv", "--gradebook", db)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert [(r["student_id"], r["hw"]) for r in rows] == [("ada", "50"), ("bob", "0"),
                                                          ("cy", "")]
    out = tmp_path / "all.json"
    result = run("gradebook", "export", "--format", "json", "-o", out, "--gradebook", db)
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["format"] == "autograder-gradebook"
    assert {g["student_id"]: g["final_score"] for g in data["final_grades"]} == {
        "ada": 50.0, "bob": 0.0}
    assert len(data["tables"]["students"]) == 3

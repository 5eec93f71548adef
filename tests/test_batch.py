"""`autograder batch`: layouts, resuming after SIGKILL, reruns, regrades, late policy, bad input."""

import io
import os
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from autograder.batch.progress import BarProgress, LineProgress, progress_for
from autograder.batch.run import run_batch
from autograder.batch.sources import identify_canvas, identify_gradescope, identify_per_student
from autograder.cli import cli
from autograder.errors import SourceError
from autograder.gradebook import Gradebook

from conftest import REPO

REFERENCE = (REPO / "reference" / "perceptron.py").read_text()
STUB = (REPO / "assignments" / "perceptron" / "stub.py").read_text()


def good(tag=""):
    return REFERENCE + f"\n# {tag}\n"


def bad(tag=""):
    return STUB + f"\n# {tag}\n"


def make_folder(root, files):
    """Write ``{relative path: text}`` under ``root`` and return it."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def make_zip(path, files):
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return path


def finals(db, assignment="perceptron"):
    with Gradebook.open(db) as book:
        return {g.student_id: (g.status, g.final_score) for g in
                book.final_grades(assignment_id=assignment)}


def counts(db):
    with Gradebook.open(db) as book:
        return book.counts()


# --- layouts (identification only: no grading) ---------------------------------------------------

def test_layout_per_student_reads_files_and_folders(tmp_path):
    root = make_folder(tmp_path, {
        "alice.py": "x = 1", "bob/perceptron.py": "x", "bob/helper.py": "y",
        "carol/main.py": "x", "carol/util.py": "y", "dan/only.py": "x",
        "erin/a.py": "x", "erin/b.py": "y", "frank.pdf": "%PDF", "__MACOSX/._alice.py": "",
        ".DS_Store": ""})
    found = {f.student_id: f for f in identify_per_student(root, "perceptron")}
    assert sorted(found) == ["alice", "bob", "carol", "dan", "erin", "frank"]
    assert found["alice"].path.name == "alice.py" and found["alice"].problem is None
    assert found["bob"].path.name == "perceptron.py"
    assert found["carol"].path.name == "carol" and found["carol"].path.is_dir()
    assert found["dan"].path.name == "only.py"
    assert "2 Python files" in found["erin"].problem and "perceptron.py" in found["erin"].problem
    assert "not a Python file" in found["frank"].problem


def test_layout_canvas_reads_ids_late_markers_and_resubmissions(tmp_path):
    root = make_folder(tmp_path, {
        "smithjane_101_9001_perceptron.py": "x",
        "doejohn_late_102_9002_perceptron-1.py": "x",
        "roejim_103_9003_perceptron.py": "x", "roejim_103_9003_notes.txt": "n",
        "leeann_104_9004_report.pdf": "%PDF"})
    found = {f.student_id: f for f in identify_canvas(root, "perceptron")}
    assert sorted(found) == ["101", "102", "103", "104"]
    assert (found["101"].name, found["101"].late) == ("smithjane", False)
    assert found["102"].late is True and found["102"].path.name.endswith("perceptron-1.py")
    assert found["103"].path.suffix == ".py" and found["103"].problem is None
    assert "not a Python file" in found["104"].problem
    assert identify_canvas(make_folder(tmp_path / "plain", {"alice.py": "x"}), "p") is None


def test_layout_canvas_names_the_files_when_several_could_be_the_assignment(tmp_path):
    root = make_folder(tmp_path, {"doejohn_102_9002_perceptron.py": "x",
                                  "doejohn_102_9002_perceptron-1.py": "y"})
    [found] = identify_canvas(root, "perceptron")
    assert "(perceptron-1.py, perceptron.py) and 2 of them are perceptron.py" in found.problem


GRADESCOPE_YML = """\
submission_111:
  :submitters:
  - :name: Ada Lovelace
    :sid: '1001'
    :email: ada@uni.edu
  :created_at: 2025-03-02 10:30:00.000000000 +00:00
  :score: !ruby/object:BigDecimal 18:0.5E2
  :status: processed
submission_222:
  :submitters:
  - :name: Pair One
    :sid: '1002'
  - :name: Pair Two
    :sid: '1003'
  :created_at: 2025-03-01 20:00:00.000000000 +00:00
submission_333:
  :submitters:
  - :name: No Folder
    :sid: '1004'
"""


def test_layout_gradescope_reads_metadata_groups_and_ruby_tags(tmp_path):
    root = make_folder(tmp_path, {
        "submission_metadata.yml": GRADESCOPE_YML, "submission_111/perceptron.py": "x",
        "submission_222/perceptron.py": "y", "submission_999/perceptron.py": "z"})
    found = {f.student_id: f for f in identify_gradescope(root, "perceptron")}
    assert sorted(found) == ["1001", "1002", "1003", "1004", "submission_999"]
    ada = found["1001"]
    assert (ada.name, ada.email, ada.submitted_at.isoformat()) == (
        "Ada Lovelace", "ada@uni.edu", "2025-03-02T10:30:00+00:00")
    assert found["1002"].path == found["1003"].path == root / "submission_222" / "perceptron.py"
    assert "has no folder" in found["1004"].problem
    assert "not listed" in found["submission_999"].problem
    assert identify_gradescope(tmp_path / "submission_111", "perceptron") is None


def test_a_gradescope_metadata_file_that_is_not_yaml_is_named(tmp_path):
    root = make_folder(tmp_path, {"submission_metadata.yml": "a: [unclosed\n"})
    with pytest.raises(SourceError, match="submission_metadata.yml is not readable YAML"):
        identify_gradescope(root, "perceptron")


# --- grading a batch -----------------------------------------------------------------------------

def test_gradescope_batch_applies_the_course_late_policy(tmp_path):
    make_folder(tmp_path / "export" / "assignment_5_export", {
        "submission_metadata.yml": GRADESCOPE_YML.split("submission_333")[0],
        "submission_111/perceptron.py": good(), "submission_222/perceptron.py": bad()})
    course = tmp_path / "course.toml"
    course.write_text('[late]\npenalty = 10\ncap = 50\nper = "day"\ngrace = "15m"\n'
                      '[assignments.perceptron]\ndue = 2025-03-01T23:59:00Z\n')
    db = tmp_path / "gb.db"
    summary = run_batch(assignment_id="perceptron", source=tmp_path / "export", gradebook=db,
                        jobs=2, course=course)
    assert (summary.layout, summary.graded, summary.failed) == ("gradescope", 3, 0)
    # Ada: 100, 10h31m late -> 1 day -> -10. The pair: stub, on time.
    assert finals(db) == {"1001": ("graded", 90.0), "1002": ("graded", 0.0),
                          "1003": ("graded", 0.0)}
    with Gradebook.open(db) as book:
        ada = book.final_grades(student_id="1001")[0]
        assert ada.adjustments[0].author == "autograder.gradebook.late"
        assert "10h 31m late: 1 day" in ada.adjustments[0].reason
        assert book.student("1001").name == "Ada Lovelace"


def test_canvas_zip_through_the_cli_with_roster_and_late_flag(tmp_path):
    source = make_zip(tmp_path / "submissions.zip", {
        "smithjane_101_9001_perceptron.py": good("jane"),
        "doejohn_late_102_9002_perceptron-1.py": good("john"),
        "roejim_103_9003_notes.txt": "no code"})
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name,email\n101,Jane Smith,jane@uni\n102,John Doe,\n104,Sam Absent,\n")
    db = tmp_path / "gb.db"
    result = CliRunner().invoke(cli, [
        "batch", "perceptron", str(source), "--gradebook", str(db), "--jobs", "1",
        "--roster", str(roster), "--due", "2025-03-01T23:59:00+00:00", "--penalty", "15"])
    assert result.exit_code == 0, result.output
    assert "graded 2, skipped as unchanged 0, failed 1" in result.output
    assert "invalid: 103: roejim_103_9003_notes.txt is not a Python file" in result.output
    assert "not in the roster (1): 103" in result.output
    assert "in the roster, no submission (1): 104" in result.output
    assert "submissions/s" in result.output
    assert finals(db) == {"101": ("graded", 100.0), "102": ("graded", 85.0),
                          "103": ("invalid", 0.0)}
    with Gradebook.open(db) as book:
        assert book.student("101").name == "Jane Smith"   # the roster's name, not "smithjane"
        assert book.final_grades(student_id="102")[0].submission.late is True
        assert book.final_grades(student_id="101")[0].submission.path.startswith(
            f"{source}:smithjane_101")


def test_rerun_skips_unchanged_grades_changed_and_regrade_grades_again(tmp_path):
    src = make_folder(tmp_path / "src", {"alice.py": good("a"), "bob.py": bad("b")})
    db = tmp_path / "gb.db"
    first = run_batch(assignment_id="perceptron", source=src, gradebook=db, jobs=2)
    assert (first.graded, first.skipped) == (2, 0)
    before = counts(db)

    again = run_batch(assignment_id="perceptron", source=src, gradebook=db, jobs=2)
    assert (again.graded, again.skipped, again.failed) == (0, 2, 0)
    after = counts(db)
    assert {k: after[k] for k in after if k != "runs"} == {k: before[k] for k in before
                                                           if k != "runs"}

    (src / "bob.py").write_text(good("bob fixed it"))
    changed = run_batch(assignment_id="perceptron", source=src, gradebook=db, jobs=2)
    assert (changed.graded, changed.skipped) == (1, 1)
    assert finals(db) == {"alice": ("graded", 100.0), "bob": ("graded", 100.0)}

    regrade = run_batch(assignment_id="perceptron", source=src, gradebook=db, jobs=2,
                        regrade=True)
    assert (regrade.graded, regrade.skipped) == (2, 0)
    final = counts(db)
    assert (final["submissions"], final["results"], final["runs"]) == (3, 5, 4)
    with Gradebook.open(db) as book:
        history = book.history(student_id="bob")
        assert [(h.current, len(h.results)) for h in history] == [(True, 2), (False, 1)]


ATTACK = "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n"


def test_a_submission_that_kills_the_grader_process_is_recorded_and_the_batch_goes_on(tmp_path):
    src = make_folder(tmp_path / "src", {"mallory.py": ATTACK, "alice.py": good(),
                                         "bob.py": good("b"), "eve.py": "import sys\nsys.exit(3)\n"})
    db = tmp_path / "gb.db"
    # The portable backend lets a submission signal its parent (hardened ones stop it).
    summary = run_batch(assignment_id="perceptron", source=src, gradebook=db, jobs=2,
                        sandbox="subprocess")
    assert summary.graded == 3 and summary.failed == 1
    grades = finals(db)
    assert grades["mallory"] == ("crashed", 0.0)
    assert grades["alice"] == grades["bob"] == ("graded", 100.0)
    assert grades["eve"] == ("graded", 0.0)   # exiting at import: a result, not a crash


BATCH_SIZE = 40


def test_sigkill_mid_batch_then_rerun_loses_nothing_and_duplicates_nothing(tmp_path):
    src = make_folder(tmp_path / "src", {f"s{i:02d}.py": (good if i % 3 else bad)(str(i))
                                         for i in range(BATCH_SIZE)})
    db = tmp_path / "gb.db"
    command = [sys.executable, "-m", "autograder", "batch", "perceptron", str(src),
               "--gradebook", str(db), "--jobs", "2"]
    batch = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    committed = 0
    while time.monotonic() < deadline and batch.poll() is None:
        if db.exists():
            try:
                with sqlite3.connect(db, timeout=5) as conn:
                    committed = conn.execute("SELECT COUNT(*) FROM results").fetchone()[0]
            except sqlite3.OperationalError:
                committed = 0
            if committed >= 5:
                break
        time.sleep(0.05)
    assert batch.poll() is None, "the batch finished before it could be killed"
    workers = descendants(batch.pid)
    assert workers, "the batch has no worker processes"
    os.kill(batch.pid, signal.SIGKILL)
    batch.wait(timeout=30)
    with Gradebook.open(db) as book:
        assert book.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        killed_with = book.counts()["results"]
    assert 5 <= killed_with < BATCH_SIZE

    rerun = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert (f"graded {BATCH_SIZE - killed_with}, skipped as unchanged {killed_with}, failed 0"
            in rerun.stdout), rerun.stdout
    with Gradebook.open(db) as book:
        conn = book.conn
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert book.counts()["submissions"] == book.counts()["results"] == BATCH_SIZE
        assert conn.execute("SELECT COUNT(*) FROM (SELECT submission_id FROM results GROUP BY "
                            "submission_id, assignment_version HAVING COUNT(*) > 1)"
                            ).fetchone()[0] == 0
        assert book.counts()["test_results"] == 17 * BATCH_SIZE
        assert [r[0] for r in conn.execute("SELECT status FROM runs ORDER BY id")] == [
            "interrupted", "finished"]
        grades = {g.student_id: g.final_score for g in book.final_grades()}
    assert grades == {f"s{i:02d}": (100.0 if i % 3 else 0.0) for i in range(BATCH_SIZE)}
    # The killed batch's workers (and their sandboxes) stopped too.
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(alive(p) for p in workers):
        time.sleep(0.2)
    assert not [p for p in workers if alive(p)]


def descendants(pid):
    found, stack = [], [pid]
    while stack:
        for task in Path(f"/proc/{stack.pop()}/task").glob("*"):
            try:
                children = [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
            found += children
            stack += children
    return found


def alive(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


# --- bad input: a clear message, nothing lost ----------------------------------------------------

def run_cli(*args):
    return CliRunner().invoke(cli, list(map(str, args)))


def test_empty_folder_corrupt_zip_and_not_a_zip_are_named(tmp_path):
    db = tmp_path / "gb.db"
    (tmp_path / "empty").mkdir()
    corrupt = tmp_path / "subs.zip"
    make_zip(corrupt, {"alice.py": "x = 1\n" * 100})
    corrupt.write_bytes(corrupt.read_bytes()[:-30])
    text = tmp_path / "subs.txt"
    text.write_text("hello")
    for source, message in ((tmp_path / "empty", "is empty: there are no submissions"),
                            (corrupt, "corrupt or truncated; download it again"),
                            (text, "not a zip file"),
                            (tmp_path / "missing", "does not exist")):
        result = run_cli("batch", "perceptron", source, "--gradebook", db)
        assert result.exit_code == 1 and message in result.output, result.output
        assert "Traceback" not in result.output
    assert not db.exists()


def test_a_zip_entry_escaping_its_folder_is_refused(tmp_path):
    source = make_zip(tmp_path / "evil.zip", {"../../escaped.py": "x", "alice.py": "x"})
    result = run_cli("batch", "perceptron", source, "--gradebook", tmp_path / "gb.db")
    assert result.exit_code == 1 and "outside the folder" in result.output
    assert not (tmp_path.parent / "escaped.py").exists()


@pytest.mark.parametrize("roster_text, message", [
    ("id,name\n1,A\n2,B\n1,C\n", "lists student '1' twice (lines 2 and 4)"),
    ("name,email\nA,a@x\n", "has no student id column"),
    ("id,name\n,Nobody\n", "line 2: no student id"),
])
def test_bad_rosters_are_named(tmp_path, roster_text, message):
    src = make_folder(tmp_path / "src", {"alice.py": "x"})
    roster = tmp_path / "roster.csv"
    roster.write_text(roster_text)
    result = run_cli("batch", "perceptron", src, "--roster", roster, "--gradebook",
                     tmp_path / "gb.db")
    assert result.exit_code == 1 and message in result.output, result.output
    assert not (tmp_path / "gb.db").exists()


def test_unknown_assignment_layout_and_newer_gradebook_are_named(tmp_path):
    src = make_folder(tmp_path / "src", {"alice.py": "x"})
    db = tmp_path / "gb.db"
    result = run_cli("batch", "nope", src, "--gradebook", db)
    assert result.exit_code == 1 and "unknown assignment 'nope'" in result.output
    result = run_cli("batch", "perceptron", src, "--gradebook", db, "--layout", "moodle")
    assert result.exit_code == 1 and "unknown layout 'moodle'; available: " in result.output
    result = run_cli("batch", "perceptron", src, "--gradebook", db, "--layout", "canvas")
    assert result.exit_code == 1 and "is not in the 'canvas' layout" in result.output
    Gradebook.open(db, create=True).close()
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA user_version = 7")
    result = run_cli("batch", "perceptron", src, "--gradebook", db)
    assert result.exit_code == 1 and "newer than this autograder" in result.output
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 0


# --- progress ------------------------------------------------------------------------------------

def test_progress_is_plain_lines_off_a_terminal_and_a_bar_on_one():
    plain = io.StringIO()
    progress = progress_for(plain)
    assert isinstance(progress, LineProgress)
    progress.start(2)
    progress.advance(student_id="alice", status="graded", score=85, max_score=100)
    progress.advance(student_id="bob", status="invalid", score=None, max_score=None)
    assert plain.getvalue().splitlines() == ["grading 2 submissions", "[1/2] alice  graded  85/100",
                                             "[2/2] bob  invalid"]

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    screen = Terminal()
    bar = progress_for(screen)
    assert isinstance(bar, BarProgress)
    bar.start(2)
    bar.advance(student_id="a", status="graded", score=1, max_score=1)
    bar.advance(student_id="b", status="crashed", score=0, max_score=1)
    bar.close()
    assert "2/2" in screen.getvalue() and "failed=1" in screen.getvalue()

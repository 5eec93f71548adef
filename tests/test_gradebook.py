"""The SQLite gradebook: schema versions, results, adjustments, overrides, concurrent writers."""

import datetime as dt
import json
import sqlite3
import subprocess
import sys

import pytest

from autograder.errors import AutograderError, GradebookError, SchemaVersionError
from autograder.gradebook import Adjustment, Gradebook
from autograder.gradebook import schema
from autograder.gradebook.export import export_csv, export_json
from autograder.gradebook.late import LatePolicy, parse_duration, parse_time, resolve_policy
from autograder.gradebook.stats import compute_stats, plot_stats, render_stats

UTC = dt.timezone.utc


def make_document(score, tests=(("t1", 60, True), ("t2", 40, False)), sha="a" * 64):
    return {
        "schema_version": 1, "assignment": {"id": "hw", "version": "1.0", "title": "HW"},
        "submission": {"path": "x.py", "sha256": sha}, "score": score, "max_score": 100.0,
        "execution_time": 0.1, "output": "", "started_at": "2025-01-01T00:00:00+00:00",
        "public_only": False, "environment": {}, "sandbox": {"backend": "x", "layers": ["a"]},
        "tests": [{"name": n, "score": p if ok else 0.0, "max_score": p,
                   "status": "passed" if ok else "failed", "visibility": "visible",
                   "output": "" if ok else "wrong"} for n, p, ok in tests],
    }


def seed(book, students=("s1", "s2"), score=60.0, version="1.0"):
    """One run of assignment hw with one graded submission per student; returns submission ids."""
    run = book.start_run(assignment_id="hw", title="HW", version=version, max_score=100.0,
                         source="src", layout="per-student", sandbox="subprocess",
                         environment={}, options={}, late_policy=None)
    book.add_students([(s, s.upper(), None) for s in students], in_roster=False)
    ids = book.add_submissions(assignment_id="hw", version=version, regrade=False,
                               rows=[(s, f"{i:064x}", f"{s}.py", None, False)
                                     for i, s in enumerate(students)])
    for sub_id, needed in ids:
        assert needed
        book.record_result(run_id=run, submission_id=sub_id, version=version, status="graded",
                           document=make_document(score))
    return [sub_id for sub_id, _ in ids]


@pytest.fixture
def book(tmp_path):
    with Gradebook.open(tmp_path / "gb.db", create=True) as opened:
        yield opened


# --- opening and the schema ----------------------------------------------------------------------

def test_a_new_gradebook_has_the_current_schema_in_wal_mode_with_foreign_keys(book):
    assert schema.schema_version(book.conn) == schema.SCHEMA_VERSION
    assert book.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert book.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    with pytest.raises(sqlite3.IntegrityError):
        book.conn.execute("INSERT INTO submissions (student_id, assignment_id, sha256, path, "
                          "last_seen_at) VALUES ('ghost', 'none', 'x', 'p', 'now')")


def test_reading_a_missing_gradebook_names_the_fix(tmp_path):
    with pytest.raises(GradebookError, match="no gradebook at .*autograder batch"):
        Gradebook.open(tmp_path / "nope.db")
    assert not (tmp_path / "nope.db").exists()


def test_a_gradebook_from_a_newer_schema_is_refused_untouched(tmp_path):
    path = tmp_path / "gb.db"
    Gradebook.open(path, create=True).close()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 99")
    before = path.read_bytes()
    with pytest.raises(SchemaVersionError, match="schema version 99 is newer.*upgrade autograder"):
        Gradebook.open(path)
    assert path.read_bytes() == before


def test_a_file_that_is_not_a_database_is_refused(tmp_path):
    path = tmp_path / "grades.db"
    path.write_text("student,score\nalice,3\n" * 50)
    with pytest.raises(GradebookError, match="not an autograder gradebook"):
        Gradebook.open(path)
    assert path.read_text().startswith("student,score")


def test_another_programs_sqlite_database_is_refused(tmp_path):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER)")
    with pytest.raises(GradebookError, match="not an autograder gradebook.*invoices"):
        Gradebook.open(path)


def test_migrations_apply_in_order_and_keep_the_data(tmp_path):
    path = tmp_path / "gb.db"
    with Gradebook.open(path, create=True) as book:
        seed(book)
    extra = schema.MIGRATIONS + ["ALTER TABLE students ADD COLUMN section TEXT;"]
    conn = sqlite3.connect(path, isolation_level=None)
    assert schema.migrate(conn, path=str(path), migrations=extra) == schema.SCHEMA_VERSION
    assert schema.schema_version(conn) == len(extra)
    assert conn.execute("SELECT id, section FROM students ORDER BY id").fetchall() == [
        ("s1", None), ("s2", None)]
    conn.close()


def test_a_failing_migration_leaves_the_previous_version(tmp_path):
    path = tmp_path / "gb.db"
    Gradebook.open(path, create=True).close()
    conn = sqlite3.connect(path, isolation_level=None)
    broken = schema.MIGRATIONS + ["ALTER TABLE students ADD COLUMN a TEXT;\nNOT SQL;"]
    with pytest.raises(sqlite3.OperationalError):
        schema.migrate(conn, path=str(path), migrations=broken)
    assert schema.schema_version(conn) == schema.SCHEMA_VERSION
    assert "a" not in [c[1] for c in conn.execute("PRAGMA table_info(students)")]
    conn.close()


# --- results and final grades --------------------------------------------------------------------

def test_final_grades_carry_per_test_detail_and_the_raw_document(book):
    seed(book)
    grades = book.final_grades(assignment_id="hw")
    assert [(g.student_id, g.student_name, g.final_score, g.max_score) for g in grades] == [
        ("s1", "S1", 60.0, 100.0), ("s2", "S2", 60.0, 100.0)]
    assert [(t.name, t.score, t.status) for t in grades[0].tests] == [
        ("t1", 60.0, "passed"), ("t2", 0.0, "failed")]
    document = json.loads(book.conn.execute("SELECT document FROM results LIMIT 1").fetchone()[0])
    assert document["score"] == 60.0


def test_a_standing_result_is_not_written_twice(book):
    sub_id = seed(book)[0]
    written = book.record_result(run_id=1, submission_id=sub_id, version="1.0", status="graded",
                                 document=make_document(99.0))
    assert written is False
    assert book.record_result(run_id=1, submission_id=sub_id, version="1.0", status="graded",
                              document=make_document(99.0), guard=False) is True
    assert book.final_grades(student_id="s1")[0].final_score == 99.0


def test_a_grader_error_from_a_racing_batch_never_hides_a_standing_grade(book):
    sub_id = seed(book)[0]
    assert book.record_result(run_id=1, submission_id=sub_id, version="1.0", status="error",
                              message="the grader failed") is False
    assert book.final_grades(student_id="s1")[0].final_score == 60.0


def test_a_new_assignment_version_needs_grading_again(book):
    seed(book)
    ids = book.add_submissions(assignment_id="hw", version="2.0", regrade=False,
                               rows=[("s1", f"{0:064x}", "s1.py", None, False)])
    assert ids[0][1] is True


def test_going_back_to_an_earlier_file_makes_it_current_again_within_one_second(book):
    seed(book, students=("s1",))
    first = f"{0:064x}"
    for sha in ("b" * 64, first):  # resubmitted, then back to the first file at once
        book.add_submissions(assignment_id="hw", version="1.0", regrade=False,
                             rows=[("s1", sha, "s1.py", None, False)])
    assert book.final_grades(student_id="s1")[0].submission.sha256 == first


def test_unknown_assignment_lists_the_graded_ones(book):
    seed(book)
    with pytest.raises(GradebookError, match="no assignment 'nope'.*graded assignments: hw"):
        book.final_grades(assignment_id="nope")


# --- adjustments and overrides -------------------------------------------------------------------

def test_adjustments_change_the_final_grade_never_the_autograded_score(book):
    sub_id = seed(book)[0]
    assert book.set_adjustments(submission_id=sub_id, author="late-plugin",
                                adjustments=[Adjustment(-20.0, "2 days late")]) == 1
    grade = book.final_grades(student_id="s1")[0]
    assert (grade.autograded_score, grade.final_score, grade.late_penalty) == (60.0, 40.0, 20.0)
    assert grade.adjustments[0].author == "late-plugin"


def test_an_identical_adjustment_is_not_duplicated_and_a_changed_one_supersedes(book):
    sub_id = seed(book)[0]
    book.set_adjustments(submission_id=sub_id, author="p", adjustments=[Adjustment(-20, "late")])
    assert book.set_adjustments(submission_id=sub_id, author="p",
                                adjustments=[Adjustment(-20, "late")]) == 0
    book.set_adjustments(submission_id=sub_id, author="p", adjustments=[Adjustment(-10, "less")])
    rows = book.conn.execute("SELECT points, superseded_at IS NULL FROM adjustments "
                             "ORDER BY id").fetchall()
    assert rows == [(-20.0, 0), (-10.0, 1)]
    book.set_adjustments(submission_id=sub_id, author="p", adjustments=[])
    assert book.final_grades(student_id="s1")[0].final_score == 60.0


def test_penalties_never_take_a_grade_below_zero(book):
    sub_id = seed(book, score=10.0)[0]
    book.set_adjustments(submission_id=sub_id, author="p", adjustments=[Adjustment(-50, "late")])
    assert book.final_grades(student_id="s1")[0].final_score == 0.0


def test_an_override_sets_the_final_grade_and_keeps_who_why_and_when(book):
    seed(book)
    book.add_override(student_id="s1", assignment_id="hw", score=85, reason="regrade #1",
                      author="ta1")
    book.add_override(student_id="s1", assignment_id="hw", score=90, reason="regrade #2",
                      author="prof")
    grade = book.final_grades(student_id="s1")[0]
    assert (grade.autograded_score, grade.final_score) == (60.0, 90.0)
    assert (grade.override.author, grade.override.reason) == ("prof", "regrade #2")
    history = [r for _, r in book.adjustment_history(student_id="s1")]
    assert [(r.score, r.author, r.superseded_at is None) for r in history] == [
        (85.0, "ta1", False), (90.0, "prof", True)]
    assert all(r.created_at for r in history)


@pytest.mark.parametrize("student, assignment, score, reason, message", [
    ("s1", "hw", 50, "  ", "needs a reason"),
    ("s1", "hw", -1, "x", "negative"),
    ("ghost", "hw", 50, "x", "no student 'ghost'"),
    ("s1", "nope", 50, "x", "no assignment 'nope'"),
    # In the gradebook, but with no submission: the override would show nowhere.
    ("s3", "hw", 50, "x", "s3 has no submission of 'hw'.*autograder batch"),
])
def test_bad_overrides_are_refused(book, student, assignment, score, reason, message):
    seed(book)
    book.add_students([("s3", "In Roster", None)], in_roster=True)
    with pytest.raises(GradebookError, match=message):
        book.add_override(student_id=student, assignment_id=assignment, score=score,
                          reason=reason, author="ta")
    assert book.counts()["adjustments"] == 0


# --- late policy ---------------------------------------------------------------------------------

DUE = dt.datetime(2025, 3, 1, 23, 59, tzinfo=UTC)


@pytest.mark.parametrize("submitted, late_flag, expected", [
    (DUE, False, None),                                     # on time
    (DUE + dt.timedelta(minutes=10), False, None),          # within the grace period
    (DUE + dt.timedelta(minutes=20), False, -10.0),         # a started day counts
    (DUE + dt.timedelta(days=1, hours=12), False, -20.0),   # 2 days
    (DUE + dt.timedelta(days=30), False, -50.0),            # the cap
    (None, True, -10.0),                                    # late by the LMS, time unknown
    (None, False, None),
])
def test_late_policy_per_day_with_grace_and_cap(submitted, late_flag, expected):
    policy = LatePolicy(due=DUE, grace=dt.timedelta(minutes=15), penalty=10, per="day", cap=50)
    adjustment = policy.adjustment(submitted_at=submitted, late=late_flag, max_score=100)
    assert (adjustment.points if adjustment else None) == expected


def test_late_policy_per_hour_scales_with_the_assignment_points():
    policy = LatePolicy(due=DUE, penalty=5, per="hour", cap=100)
    adjustment = policy.adjustment(submitted_at=DUE + dt.timedelta(hours=2, minutes=1),
                                   late=False, max_score=20)
    assert adjustment.points == -3.0 and "3 hours" in adjustment.reason


def test_policy_options_override_the_course_file_which_overrides_the_stored_policy():
    course = {"late": {"penalty": 10, "cap": 40, "grace": "1h"},
              "assignments": {"hw": {"due": dt.datetime(2025, 3, 1, tzinfo=UTC)}}}
    stored = {"due": "2024-01-01T00:00:00+00:00", "penalty": 1.0, "per": "hour"}
    policy = resolve_policy(assignment_id="hw", options={"cap": 30, "due": None},
                            course=course, stored=stored)
    assert policy == LatePolicy(due=dt.datetime(2025, 3, 1, tzinfo=UTC),
                                grace=dt.timedelta(hours=1), penalty=10, per="hour", cap=30)
    again = resolve_policy(assignment_id="hw", options={}, course={}, stored=policy.as_json())
    assert again == policy


def test_late_options_without_a_due_date_are_an_error():
    with pytest.raises(AutograderError, match="--penalty needs a due date"):
        resolve_policy(assignment_id="hw", options={"penalty": 10}, course={}, stored=None)
    with pytest.raises(AutograderError, match="--per needs a due date"):
        resolve_policy(assignment_id="hw", options={"per": "hour"}, course={}, stored=None)
    assert resolve_policy(assignment_id="hw", options={}, course={}, stored=None) is None


@pytest.mark.parametrize("text", ["soon", "15", "1y"])
def test_bad_durations_are_named(text):
    with pytest.raises(AutograderError, match="not a duration"):
        parse_duration(text)


def test_times_without_a_zone_are_local_and_a_bare_date_is_its_last_second():
    assert parse_time("2025-03-01").hour == 23 and parse_time("2025-03-01").tzinfo is not None
    assert parse_duration("90m") == dt.timedelta(minutes=90)
    with pytest.raises(AutograderError, match="ISO 8601"):
        parse_time("next friday")


# --- export and stats ----------------------------------------------------------------------------

def test_csv_export_has_a_row_per_student_and_a_column_per_assignment(book):
    seed(book)
    book.add_students([("s3", "In Roster", "s3@x")], in_roster=True)
    book.add_override(student_id="s2", assignment_id="hw", score=70, reason="x", author="t")
    assert export_csv(book).splitlines() == [
        "student_id,name,email,hw", "s1,S1,,60", "s2,S2,,70", "s3,In Roster,s3@x,"]


def test_json_export_holds_everything(book):
    sub_id = seed(book)[0]
    book.set_adjustments(submission_id=sub_id, author="p", adjustments=[Adjustment(-5, "late")])
    data = json.loads(export_json(book))
    assert {g["student_id"]: g["final_score"] for g in data["final_grades"]} == {
        "s1": 55.0, "s2": 60.0}
    assert data["tables"]["results"][0]["document"]["tests"][0]["name"] == "t1"
    assert data["tables"]["adjustments"][0]["reason"] == "late"
    assert data["final_grades"][0]["tests"][1]["status"] == "failed"


def test_json_export_holds_the_lms_push_ledger(book):
    from autograder.exporters.grades import to_record
    from autograder.exporters.ledger import PushLedger

    seed(book)
    PushLedger(book).record("canvas https://lms/courses/1/assignments/2",
                            to_record(book.final_grades(student_id="s1")[0]))
    pushes = json.loads(export_json(book))["tables"]["lms_pushes"]
    assert [(p["target"], p["student_id"], p["score"]) for p in pushes] == [
        ("canvas https://lms/courses/1/assignments/2", "s1", 60.0)]


def test_stats_summarise_scores_and_pass_rates_and_plot_a_png(book, tmp_path):
    seed(book, students=("a", "b", "c", "d"))
    book.add_override(student_id="d", assignment_id="hw", score=100, reason="x", author="t")
    stats = compute_stats(book, assignment_id="hw")
    assert sorted(stats.scores) == [60.0, 60.0, 60.0, 100.0]
    assert [h[2] for h in stats.histogram] == [0, 0, 0, 0, 0, 0, 3, 0, 0, 1]
    rates = {r.test: (r.passed, r.total) for r in stats.pass_rates}
    assert rates == {"t1": (4, 4), "t2": (0, 4)}
    text = render_stats(stats)
    assert "mean 70.0" in text and "t2" in text and "0.0% (0/4)" in text
    png = plot_stats(stats, tmp_path / "out" / "hw.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


# --- two writers at once -------------------------------------------------------------------------

WRITER = """
import sys
from autograder.gradebook import Gradebook
path, who, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
with Gradebook.open(path, create=True) as book:
    for i in range(n):
        book.add_override(student_id="s1", assignment_id="hw", score=i, reason=f"{who} {i}",
                          author=who)
        book.add_students([(f"{who}-{i}", None, None)], in_roster=False)
        [(sub_id, _)] = book.add_submissions(assignment_id="hw", version="1.0", regrade=False,
                                             rows=[(f"{who}-{i}", f"{i:064x}", "p", None, False)])
        book.record_result(run_id=1, submission_id=sub_id, version="1.0", status="invalid",
                           message="x")
"""


def test_two_processes_writing_at_once_lose_and_corrupt_nothing(tmp_path):
    path = tmp_path / "gb.db"
    with Gradebook.open(path, create=True) as book:
        seed(book, students=("s1",))
    n = 60
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), who, str(n)],
                                stderr=subprocess.PIPE, text=True) for who in ("ta1", "ta2")]
    for writer in writers:
        assert writer.wait(timeout=120) == 0, writer.stderr.read()
    with Gradebook.open(path) as book:
        assert book.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        counts = book.counts()
        assert counts["adjustments"] == 2 * n
        assert counts["results"] == 1 + 2 * n and counts["submissions"] == 1 + 2 * n
        active = book.conn.execute("SELECT COUNT(*) FROM adjustments WHERE kind = 'override' "
                                   "AND superseded_at IS NULL").fetchone()[0]
        assert active == 1

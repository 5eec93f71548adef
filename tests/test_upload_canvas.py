"""`autograder upload canvas` against a loopback fake of Canvas's REST API."""

import sqlite3

import pytest
from click.testing import CliRunner

from autograder.cli import cli
from autograder.errors import UploadError
from autograder.exporters import canvas
from autograder.exporters.grades import load_grades
from autograder.exporters.ledger import PushLedger
from autograder.gradebook.store import Gradebook

from fakes.canvas import ASSIGNMENT, COURSE, TOKEN, FakeCanvas
from fakes.gradebook import make_gradebook
from fakes.server import LoopbackServer

USERS = [
    {"id": 11, "name": "Student S1", "sortable_name": "S1, Student", "sis_user_id": "s1",
     "login_id": "s1", "email": "s1@uni.example"},
    {"id": 12, "name": "Student S2", "sortable_name": "S2, Student", "sis_user_id": "s2",
     "login_id": "s2", "email": "s2@uni.example"},
    # Known to Canvas by another SIS id: matched by email.
    {"id": 13, "name": "Student S3", "sortable_name": "S3, Student", "sis_user_id": "X-3",
     "login_id": "x3", "email": "S3@uni.example"},
    {"id": 14, "name": "Student S4", "sortable_name": "S4, Student", "sis_user_id": "s4",
     "login_id": "s4", "email": "s4@uni.example"},
    {"id": 15, "name": "Someone Else", "sortable_name": "Else, Someone", "sis_user_id": "z9",
     "login_id": "z9", "email": "z9@uni.example"},
]
GRADES = {"s1": (30.0, 70.0), "s2": (30.0, 0.0), "s3": (0.0, 70.0), "s4": None,
          "s5": (30.0, 70.0)}


@pytest.fixture
def gradebook(tmp_path):
    return make_gradebook(tmp_path / "gradebook.db", GRADES)


@pytest.fixture
def fake():
    state = FakeCanvas(users=[dict(u) for u in USERS])
    with LoopbackServer(state) as server:
        state.server = server
        yield state


def push(fake, gradebook, *, dry_run=False, token=TOKEN, course=COURSE, sleep=None):
    grades = load_grades(gradebook=gradebook, assignment_id="perceptron")
    with Gradebook.open(gradebook) as book:
        return canvas.push(grades, dry_run=dry_run, ledger=PushLedger(book),
                           url=fake.server.url, course=str(course), assignment=str(ASSIGNMENT),
                           token=token, pause_s=0.0, sleep=sleep or (lambda s: None))


def pushes_recorded(gradebook):
    with sqlite3.connect(gradebook) as conn:
        return conn.execute("SELECT student_id, score FROM lms_pushes ORDER BY id").fetchall()


def statuses(report):
    return {o.student: o.status for o in report.outcomes}


def test_a_push_sends_canvas_form_fields_with_the_bearer_token(fake, gradebook):
    report = push(fake, gradebook)
    assert statuses(report) == {"s1": "pushed", "s2": "pushed", "s3": "pushed",
                                "s4": "skipped", "s5": "not found"}
    puts = fake.puts(fake.server)
    assert [r.path.rsplit("/", 1)[1] for r in puts] == ["11", "12", "13"]
    first = puts[0]
    assert first.headers["authorization"] == f"Bearer {TOKEN}"
    assert first.headers["content-type"].startswith("application/x-www-form-urlencoded")
    assert first.form["submission[posted_grade]"] == ["100"]
    assert first.form["comment[text_comment]"] == [
        "Perceptron: 100/100 points.\n2 of 2 tests passed."]
    assert puts[1].form["submission[posted_grade]"] == ["30"]
    assert "1 hidden test failed" in puts[1].form["comment[text_comment]"][0]
    assert fake.submissions[13]["score"] == 70.0
    assert pushes_recorded(gradebook) == [("s1", 100.0), ("s2", 30.0), ("s3", 70.0)]


def test_a_dry_run_sends_nothing_and_records_nothing(fake, gradebook):
    report = push(fake, gradebook, dry_run=True)
    assert statuses(report)["s1"] == "would push"
    assert "grade 100 (Canvas has none), comment" in report.outcomes[0].detail
    assert fake.puts(fake.server) == []
    assert pushes_recorded(gradebook) == []
    assert "Dry run: nothing was sent" in report.render()


def test_running_again_posts_no_duplicate_comment(fake, gradebook):
    push(fake, gradebook)
    before = len(fake.puts(fake.server))
    again = push(fake, gradebook)
    assert statuses(again)["s1"] == statuses(again)["s2"] == "unchanged"
    assert len(fake.puts(fake.server)) == before
    assert all(len(s["comments"]) <= 1 for s in fake.submissions.values())


def test_a_comment_canvas_already_has_is_not_posted_again_even_without_the_ledger(
        fake, gradebook, tmp_path):
    push(fake, gradebook)
    fresh = make_gradebook(tmp_path / "fresh.db", GRADES)  # same grades, empty ledger
    fake.submissions[11]["score"] = 50.0  # someone changed the grade in Canvas
    report = push(fake, fresh)
    assert statuses(report)["s1"] == "pushed" and statuses(report)["s2"] == "unchanged"
    last = fake.puts(fake.server)[-1]
    assert last.form == {"submission[posted_grade]": ["100"]}
    assert len(fake.submissions[11]["comments"]) == 1


def test_a_changed_grade_is_pushed_with_its_new_comment(fake, gradebook):
    push(fake, gradebook)
    with Gradebook.open(gradebook) as book:
        book.add_override(student_id="s2", assignment_id="perceptron", score=65.0,
                          reason="regrade request #12", author="ta")
    report = push(fake, gradebook)
    assert statuses(report) == {"s1": "unchanged", "s2": "pushed", "s3": "unchanged",
                                "s4": "skipped", "s5": "not found"}
    assert fake.submissions[12]["score"] == 65.0
    assert "regrade request #12" in fake.submissions[12]["comments"][-1]["comment"]


def test_pagination_reads_every_page(fake, gradebook):
    push(fake, gradebook, dry_run=True)
    pages = [r for r in fake.server.requests if r.path.endswith("/submissions")]
    assert len(pages) == 3  # five students, two a page
    assert pages[0].query["include[]"] == ["submission_comments", "user"]


def test_throttling_is_retried_after_a_pause(fake, gradebook):
    fake.throttle = 3
    pauses = []
    report = push(fake, gradebook, sleep=pauses.append)
    assert statuses(report)["s1"] == "pushed"
    assert len(pauses) == 3
    throttled = [r for r in fake.server.requests][:3]
    assert all(r.path == f"/api/v1/courses/{COURSE}" for r in throttled)


def test_one_student_failing_is_reported_and_the_others_pushed(fake, gradebook):
    fake.fail_put_for = {12}
    report = push(fake, gradebook)
    assert statuses(report)["s2"] == "failed" and statuses(report)["s1"] == "pushed"
    assert "status code 500" in report.outcomes[1].detail
    assert [s for s, _ in pushes_recorded(gradebook)] == ["s1", "s3"]
    fake.fail_put_for = set()
    assert statuses(push(fake, gradebook))["s2"] == "pushed"
    assert len(fake.submissions[12]["comments"]) == 1


def test_the_token_never_goes_to_a_plain_http_address(fake, gradebook):
    grades = load_grades(gradebook=gradebook, assignment_id="perceptron")
    with pytest.raises(UploadError, match="not an https:// address"):
        canvas.push(grades, dry_run=True, ledger=None, url="http://canvas.example.edu",
                    course="1", assignment="2", token=TOKEN)


@pytest.mark.parametrize("token, course, status, message", [
    ("", COURSE, None, "no Canvas token: set CANVAS_API_TOKEN"),
    ("wrong", COURSE, None, "rejected the token (401 invalid access token)"),
    (TOKEN, 999, None, "has no course 999 (404)"),
    (TOKEN, COURSE, 500, "failed on course 101"),
])
def test_bad_configuration_stops_before_anything_changes(fake, gradebook, token, course,
                                                         status, message):
    fake.course_status = status
    with pytest.raises(UploadError, match=message.replace("(", r"\(").replace(")", r"\)")):
        push(fake, gradebook, token=token, course=course)
    assert fake.puts(fake.server) == []
    assert pushes_recorded(gradebook) == []


# --- through the command line -------------------------------------------------------------------

def run(*args, env=None):
    return CliRunner().invoke(cli, [str(a) for a in args], env=env)


def test_cli_upload_is_a_dry_run_unless_yes(fake, gradebook):
    common = ["upload", "canvas", "perceptron", "--gradebook", gradebook, "--url",
              fake.server.url, "--course", COURSE, "--assignment", ASSIGNMENT]
    dry = run(*common, env={"CANVAS_API_TOKEN": TOKEN})
    assert "would push" in dry.output and "Pass --yes to push" in dry.output
    assert fake.puts(fake.server) == []
    assert dry.exit_code == 1  # s5 is not in the course: reported, and the exit code says so
    assert "s5" in dry.output and "not found" in dry.output
    real = run(*common, "--yes", env={"CANVAS_API_TOKEN": TOKEN})
    assert "pushed" in real.output, real.output
    assert len(fake.puts(fake.server)) == 3


def test_cli_upload_without_a_token_names_the_variable(fake, gradebook):
    result = run("upload", "canvas", "perceptron", "--gradebook", gradebook, "--url",
                 fake.server.url, "--course", COURSE, "--assignment", ASSIGNMENT, "--yes",
                 env={"CANVAS_API_TOKEN": ""})
    assert result.exit_code == 1
    assert "CANVAS_API_TOKEN" in result.output and "Traceback" not in result.output


def test_cli_upload_of_an_assignment_the_gradebook_lacks(fake, gradebook):
    result = run("upload", "canvas", "svm_dual", "--gradebook", gradebook, "--url",
                 fake.server.url, "--course", COURSE, "--assignment", ASSIGNMENT,
                 env={"CANVAS_API_TOKEN": TOKEN})
    assert result.exit_code == 1 and "svm_dual" in result.output
    assert fake.server.requests == []


def test_a_canvas_downloads_student_ids_match_canvas_ids_never_sis_ids(tmp_path):
    # Student "12" came from a Canvas download: Canvas user 12. Another user's SIS id is
    # also "12"; matching our id as an SIS id would grade the wrong person.
    users = [dict(USERS[1]), {"id": 16, "name": "Other", "sortable_name": "Other",
                              "sis_user_id": "12", "login_id": "o16", "email": "o@x.example"}]
    state = FakeCanvas(users=users)
    book_path = make_gradebook(tmp_path / "g.db", {"12": (30.0, 70.0)}, emails=False,
                               layout="canvas")
    with LoopbackServer(state) as server:
        state.server = server
        report = push(state, book_path)
    assert statuses(report) == {"12": "pushed"}
    assert state.submissions[12]["score"] == 100 and state.submissions[16]["score"] is None

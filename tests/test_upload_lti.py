"""`autograder upload lti` against a loopback LTI 1.3 platform (token endpoint + AGS scores)."""

import sqlite3

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwcrypto.jwk import JWK

from autograder.cli import cli
from autograder.errors import UploadError
from autograder.exporters import lti
from autograder.exporters.grades import load_grades
from autograder.exporters.ledger import PushLedger
from autograder.gradebook.store import Gradebook

from fakes.gradebook import make_gradebook
from fakes.lti_platform import FakePlatform
from fakes.server import LoopbackServer

CLIENT_ID = "10000000000042"
ISSUER = "https://canvas.instructure.com"


@pytest.fixture(scope="module")
def key_files(tmp_path_factory):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    path = tmp_path_factory.mktemp("keys") / "tool.pem"
    path.write_text(private)
    return path, public


@pytest.fixture
def platform(key_files):
    _, public = key_files
    state = FakePlatform(client_id=CLIENT_ID, public_pem=public,
                         kid=JWK.from_pem(public.encode()).thumbprint(),
                         students={"sub-s1", "sub-s2", "s3"})
    with LoopbackServer(state) as server:
        state.token_url = f"{server.url}/token"
        state.server = server
        yield state


@pytest.fixture
def gradebook(tmp_path):
    path = make_gradebook(tmp_path / "gradebook.db",
                          {"s1": (30.0, 70.0), "s2": (30.0, 0.0), "s3": (0.0, 0.0), "s4": None})
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("student,lti_sub\ns1,sub-s1\ns2,sub-s2\n")
    return path, accounts


def push(platform, gradebook, key_files, *, dry_run=False, lineitem=None, **overrides):
    path, accounts = gradebook
    grades = load_grades(gradebook=path, assignment_id="perceptron", accounts=accounts)
    options = dict(issuer=ISSUER, client_id=CLIENT_ID, token_url=platform.token_url,
                   lineitem=lineitem or f"{platform.server.url}/lineitems/5?type_id=1",
                   private_key=str(key_files[0]))
    options.update(overrides)
    with Gradebook.open(path) as book:
        return lti.push(grades, dry_run=dry_run, ledger=PushLedger(book), **options)


def recorded(gradebook):
    with sqlite3.connect(gradebook[0]) as conn:
        return conn.execute("SELECT student_id, score, response FROM lms_pushes").fetchall()


def test_scores_are_published_with_a_verified_token(platform, gradebook, key_files):
    report = push(platform, gradebook, key_files)
    assert {o.student: o.status for o in report.outcomes} == {
        "s1": "pushed", "s2": "pushed", "s3": "pushed", "s4": "skipped"}
    assert platform.problems == []
    token_requests = [r for r in platform.server.requests if r.path == "/token"]
    assert len(token_requests) == 1  # one token for the whole run
    scores = [r for r in platform.server.requests if r.path.endswith("/scores")]
    assert scores[0].path == "/lineitems/5/scores" and scores[0].raw_query == "type_id=1"
    assert scores[0].headers["content-type"] == "application/vnd.ims.lis.v1.score+json"
    body = platform.scores[("5", "sub-s1")][0]
    assert body["scoreGiven"] == 100.0 and body["scoreMaximum"] == 100.0
    assert body["activityProgress"] == "Completed" and body["gradingProgress"] == "FullyGraded"
    assert body["comment"].startswith("Perceptron: 100/100 points.")
    assert [r[0] for r in recorded(gradebook)] == ["s1", "s2", "s3"]
    assert recorded(gradebook)[0][2].endswith("/lineitems/5/results/1")


def test_a_student_without_an_lti_sub_goes_by_their_student_id(platform, gradebook, key_files):
    push(platform, gradebook, key_files)
    assert platform.scores[("5", "s3")][0]["scoreGiven"] == 0.0


def test_rerunning_publishes_only_what_changed_with_a_later_timestamp(platform, gradebook,
                                                                      key_files):
    push(platform, gradebook, key_files)
    again = push(platform, gradebook, key_files)
    assert {o.status for o in again.outcomes} == {"unchanged", "skipped"}
    with Gradebook.open(gradebook[0]) as book:
        book.add_override(student_id="s2", assignment_id="perceptron", score=55.0,
                          reason="late work accepted", author="ta")
    third = push(platform, gradebook, key_files)
    assert [o.student for o in third.outcomes if o.status == "pushed"] == ["s2"]
    history = platform.scores[("5", "sub-s2")]
    assert [h["scoreGiven"] for h in history] == [30.0, 55.0]
    assert history[1]["timestamp"] > history[0]["timestamp"]
    assert platform.problems == []


def test_a_dry_run_asks_for_no_token(platform, gradebook, key_files):
    report = push(platform, gradebook, key_files, dry_run=True)
    assert {o.status for o in report.outcomes} == {"would push", "skipped"}
    assert platform.server.requests == [] and recorded(gradebook) == []


def test_an_unknown_student_fails_alone(platform, gradebook, key_files):
    platform.students.discard("sub-s2")
    report = push(platform, gradebook, key_files)
    outcome = {o.student: o for o in report.outcomes}
    assert outcome["s2"].status == "failed" and "422" in outcome["s2"].detail
    assert outcome["s1"].status == outcome["s3"].status == "pushed"
    assert [r[0] for r in recorded(gradebook)] == ["s1", "s3"]


@pytest.mark.parametrize("where, status, message", [
    ("token", 401, "refused the tool's token request"),
    ("scores", 404, "refused the first score"),
    ("scores", 500, "refused the first score"),
])
def test_a_refusing_platform_stops_the_upload_and_records_nothing(
        platform, gradebook, key_files, where, status, message):
    setattr(platform, f"{where}_status", status)
    with pytest.raises(UploadError, match=message) as info:
        push(platform, gradebook, key_files)
    assert f"HTTP {status}" in str(info.value)
    assert recorded(gradebook) == []


def test_a_wrong_key_id_is_refused_by_the_platform(platform, gradebook, key_files):
    with pytest.raises(UploadError, match="token request"):
        push(platform, gradebook, key_files, key_id="not-the-registered-kid")
    assert "unknown kid" in platform.problems[0]


def test_missing_configuration_is_named(platform, gradebook, key_files, tmp_path):
    with pytest.raises(UploadError, match="--client-id"):
        push(platform, gradebook, key_files, client_id="")
    with pytest.raises(UploadError, match="LTI_PRIVATE_KEY"):
        push(platform, gradebook, key_files, private_key="")
    not_a_key = tmp_path / "key.pem"
    not_a_key.write_text("hello")
    with pytest.raises(UploadError, match="not a PEM private key"):
        push(platform, gradebook, key_files, private_key=str(not_a_key))
    with pytest.raises(UploadError, match="--token-url 'http://lms.example.edu/token' is not"):
        push(platform, gradebook, key_files, token_url="http://lms.example.edu/token")
    assert platform.server.requests == []


def test_cli_upload_lti(platform, gradebook, key_files):
    path, accounts = gradebook
    result = CliRunner().invoke(cli, [
        "upload", "lti", "perceptron", "--gradebook", str(path), "--accounts", str(accounts),
        "--lineitem", f"{platform.server.url}/lineitems/7", "--issuer", ISSUER,
        "--client-id", CLIENT_ID, "--token-url", platform.token_url, "--yes"],
        env={"LTI_PRIVATE_KEY": str(key_files[0])})
    assert result.exit_code == 0, result.output
    assert "3 pushed" in result.output and ("7", "sub-s1") in platform.scores

"""File formats: JUnit XML, GitHub Classroom output, Canvas and Moodle CSVs; the two hooks."""

import base64
import copy
import csv
import io
import json
import re
import xml.etree.ElementTree as ET

import pytest
import xmlschema
from click.testing import CliRunner

from autograder import api, hookimpl
from autograder.cli import cli
from autograder.errors import AutograderError
from autograder.exporters import GRADES, RESULTS, Exporter, Uploader, UploadReport, github
from autograder.exporters.grades import load_grades
from autograder.exporters.junit import to_junit
from autograder.exporters.spreadsheets import canvas_csv, moodle_csv

from conftest import REPO
from fakes.gradebook import make_gradebook

XSD = xmlschema.XMLSchema(str(REPO / "tests" / "fakes" / "junit.xsd"))
STUDENT = REPO / "examples" / "submissions" / "perceptron_student.py"


@pytest.fixture(scope="module")
def result():
    """A real results document with passed and failed, public and hidden tests."""
    document = api.grade(assignment_id="perceptron", submission=STUDENT)
    assert 0 < document["score"] < document["max_score"]
    return document


def run(*args, env=None):
    return CliRunner().invoke(cli, [str(a) for a in args], env=env)


# --- JUnit ---------------------------------------------------------------------------------------

def test_junit_validates_and_counts_match_the_results(result):
    xml = to_junit([result])
    XSD.validate(xml)
    suite = ET.fromstring(xml).find("testsuite")
    failed = [t for t in result["tests"] if t["status"] == "failed"]
    assert suite.get("name") == "perceptron"
    assert int(suite.get("tests")) == len(result["tests"])
    assert int(suite.get("failures")) == len(failed) == len(suite.findall("testcase/failure"))
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert float(props["points_earned"]) == result["score"]
    assert float(props["points_possible"]) == result["max_score"]
    case = suite.find(f"testcase[@name='{failed[0]['name']}']")
    assert case.get("classname") in ("perceptron.public", "perceptron.hidden")
    failure = case.find("failure")
    assert failure.get("message").startswith(f"0/{failed[0]['max_score']:g} points")
    assert failure.text == failed[0]["output"]
    assert case.find("properties") is None  # Jenkins's junit-10 refuses per-testcase properties


def test_junit_strips_characters_xml_cannot_hold(result):
    noisy = copy.deepcopy(result)
    noisy["tests"][0].update(status="failed", score=0.0, output="bell\x07 nul\x00 esc\x1b ok")
    xml = to_junit([noisy])
    XSD.validate(xml)
    text = ET.fromstring(xml).find("testsuite/testcase/failure").text
    assert text == "bell\ufffd nul\ufffd esc\ufffd ok"


def test_junit_of_several_results_names_each_submission(result):
    other = copy.deepcopy(result)
    other["submission"]["path"] = "/subs/alice.py"
    root = ET.fromstring(to_junit([result, other]))
    XSD.validate(to_junit([result, other]))
    assert [s.get("name") for s in root] == ["perceptron.perceptron_student", "perceptron.alice"]
    assert int(root.get("tests")) == 2 * len(result["tests"])


def test_the_junit_schema_rejects_testcase_properties(result):
    root = ET.fromstring(to_junit([result]))
    ET.SubElement(ET.SubElement(root.find("testsuite/testcase"), "properties"), "property",
                  {"name": "points", "value": "3"})
    assert not XSD.is_valid(ET.tostring(root, encoding="unicode"))


def test_grade_junit_option_and_export_junit_write_the_same_xml(tmp_path):
    results, report = tmp_path / "r.json", tmp_path / "junit.xml"
    graded = run("grade", "perceptron", STUDENT, "--json", results, "--junit", report)
    assert graded.exit_code == 0, graded.output
    exported = run("export", "junit", results, "-o", tmp_path / "again.xml")
    assert exported.exit_code == 0, exported.output
    XSD.validate(str(report))
    assert report.read_text() == (tmp_path / "again.xml").read_text()


# --- GitHub Classroom ----------------------------------------------------------------------------

def test_github_format_prints_the_classroom_notices_and_writes_the_summary(tmp_path):
    summary, output = tmp_path / "summary.md", tmp_path / "output"
    res = run("grade", "perceptron", STUDENT, "--format", "github",
              env={"GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(output)})
    assert res.exit_code == 0, res.output
    notices = [line for line in res.output.splitlines() if line.startswith("::notice")]
    match = re.fullmatch(r"::notice title=Autograding complete::Points (\d+)/100", notices[0])
    assert match, notices
    score = int(match[1])
    assert json.loads(notices[1].split("::", 2)[2]) == {"totalPoints": score, "maxPoints": 100}
    assert notices[1].startswith("::notice title=Autograding report::")
    text = summary.read_text()
    assert f"**{score}/100 points.**" in text and "| `public_train_tiny` |" in text
    assert "<details><summary>" in text  # failed tests' output
    key, encoded = output.read_text().strip().split("=", 1)
    runner = json.loads(base64.b64decode(encoded))
    assert key == "result" and runner["version"] == 1 and runner["max_score"] == 100
    assert sum(t["score"] for t in runner["tests"]) == score
    assert runner["status"] == "fail"


def test_github_format_writes_no_files_when_the_variables_are_unset(result, tmp_path):
    lines = []
    github.publish(result, environ={}, echo=lines.append)
    assert len(lines) == 2 and list(tmp_path.iterdir()) == []


def test_workflow_commands_escape_data_and_properties():
    line = github.workflow_command("notice", "50%\nnext", title="a:b,c")
    assert line == "::notice title=a%3Ab%2Cc::50%25%0Anext"


def test_the_example_workflow_runs_the_github_format():
    workflow = (REPO / "examples" / "github-classroom" / ".github" / "workflows" /
                "classroom.yml").read_text()
    assert "--format github" in workflow and "pip install" in workflow
    assert "checks: write" in workflow  # Classroom reads the run's annotations


# --- Canvas and Moodle CSVs ----------------------------------------------------------------------

def canvas_importer_accepts(text):
    """The header rules of Canvas's gradebook importer (lib/gradebook_importer.rb)."""
    rows = list(csv.reader(io.StringIO(text)))
    header = rows[0]
    assert "Student" in header[0] and "ID" in header[1] and len(header) > 3
    last_info = max(i for i, h in enumerate(header) if "Section" in h)
    assert header[:last_info + 1] in (["Student", "ID", "Section"],
                                      ["Student", "ID", "SIS Login ID", "Section"],
                                      ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"])
    columns = [re.fullmatch(r"(.*)\s\((\d+)\)", h) for h in header[last_info + 1:]]
    assert columns and all(columns)
    return rows, last_info


@pytest.fixture
def grades(tmp_path):
    path = make_gradebook(tmp_path / "gradebook.db",
                          {"s1": (30.0, 70.0), "s2": (30.0, 17.5), "s3": None})
    return load_grades(gradebook=path, assignment_id="perceptron")


def test_canvas_csv_follows_the_importer_rules(grades):
    rows, last_info = canvas_importer_accepts(canvas_csv(grades, canvas_assignment_id="2002"))
    assert rows[0][last_info + 1] == "Perceptron (2002)"
    assert rows[1][0] == "Points Possible" and rows[1][-1] == "100"
    by_sis = {r[2]: r for r in rows[2:]}
    assert by_sis["s1"][-1] == "100" and by_sis["s2"][-1] == "47.5"
    assert by_sis["s3"][-1] == ""  # not graded: a blank leaves Canvas's grade alone
    assert by_sis["s1"][0] == "Student S1"


def test_canvas_csv_takes_ids_from_the_accounts_file(tmp_path):
    path = make_gradebook(tmp_path / "g.db", {"s1": (30.0, 70.0)})
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("student,canvas_id,sis_login_id,section\ns1,4321,jdoe,Lab A\n")
    text = canvas_csv(load_grades(gradebook=path, assignment_id="perceptron",
                                  accounts=accounts), canvas_assignment_id="7", title="HW 1")
    rows, _ = canvas_importer_accepts(text)
    assert rows[0][-1] == "HW 1 (7)"
    assert rows[2] == ["Student S1", "4321", "s1", "jdoe", "Lab A", "100"]


def test_canvas_csv_puts_a_canvas_downloads_ids_under_id_not_sis(tmp_path):
    # A batch of a Canvas download keys students by their Canvas user id.
    path = make_gradebook(tmp_path / "g.db", {"48004": (30.0, 70.0)}, layout="canvas")
    rows, _ = canvas_importer_accepts(canvas_csv(
        load_grades(gradebook=path, assignment_id="perceptron"), canvas_assignment_id="7"))
    assert rows[2][1:4] == ["48004", "", ""]


def test_canvas_csv_needs_the_canvas_assignment_id(grades):
    with pytest.raises(AutograderError, match="number in the Canvas assignment's URL"):
        canvas_csv(grades, canvas_assignment_id="Perceptron")


def test_the_importer_check_rejects_sis_user_id_without_login_id():
    with pytest.raises(AssertionError):
        canvas_importer_accepts("Student,ID,SIS User ID,Section,HW (1)\n")


def test_moodle_csv_has_identity_grade_and_feedback_columns(grades):
    rows = list(csv.reader(io.StringIO(moodle_csv(grades))))
    assert rows[0] == ["Email address", "Perceptron", "Perceptron (feedback)"]
    assert rows[1][:2] == ["s1@uni.example", "100"]
    assert rows[2][2].startswith("Perceptron: 47.5/100 points.") and "\n" not in rows[2][2]
    by_username = list(csv.reader(io.StringIO(moodle_csv(grades, identity="username"))))
    assert [r[0] for r in by_username] == ["Username", "s1", "s2", "s3"]


def test_moodle_csv_by_email_names_students_without_one(tmp_path):
    path = make_gradebook(tmp_path / "g.db", {"s1": (30.0, 70.0)}, emails=False)
    with pytest.raises(AutograderError, match=r"no email .*\(s1\).*--identity"):
        moodle_csv(load_grades(gradebook=path, assignment_id="perceptron"))


def test_export_cli_for_gradebook_formats(tmp_path):
    path = make_gradebook(tmp_path / "g.db", {"s1": (30.0, 70.0)})
    out = tmp_path / "canvas.csv"
    res = run("export", "canvas-csv", "perceptron", "--gradebook", path,
              "--canvas-assignment-id", "2002", "-o", out)
    assert res.exit_code == 0, res.output
    canvas_importer_accepts(out.read_text())
    missing = run("export", "canvas-csv", "perceptron", "--gradebook", path)
    assert missing.exit_code == 2 and "--canvas-assignment-id" in missing.output
    stdout = run("export", "moodle-csv", "perceptron", "--gradebook", path)
    assert stdout.exit_code == 0 and stdout.output.startswith("Email address,")
    nobook = run("export", "moodle-csv", "perceptron", "--gradebook", tmp_path / "none.db")
    assert nobook.exit_code == 1 and "no gradebook" in nobook.output


# --- the hooks -----------------------------------------------------------------------------------

class FormatPlugin:
    @hookimpl
    def register_exporters(self, register):
        register("tsv", Exporter(source=RESULTS, suffix=".tsv", help="Tab-separated scores.",
                                 write=lambda results: "".join(
                                     f"{r['assignment']['id']}\t{r['score']:g}\n"
                                     for r in results)))


class UploaderPlugin:
    @hookimpl
    def register_uploaders(self, register):
        register("echo", Uploader(help="Reports every grade.", push=lambda grades, *, dry_run,
                                  ledger: UploadReport("echo", dry_run)))


def test_hook_register_exporters_adds_a_format(with_plugin, result):
    registry = with_plugin(FormatPlugin(), "tsv-plugin")
    assert registry.exporters["tsv"][0] == "tsv-plugin"
    assert registry.exporter("tsv").write([result]) == f"perceptron\t{result['score']:g}\n"
    assert {"junit", "gradescope", "canvas-csv", "moodle-csv"} <= set(registry.exporters)
    assert registry.exporter("canvas-csv").source == GRADES


def test_hook_register_exporters_duplicate_and_bad_objects_name_the_plugin(with_plugin):
    class Duplicate:
        @hookimpl
        def register_exporters(self, register):
            register("junit", Exporter(source=RESULTS, suffix=".xml", help="", write=str))

    class NotAnExporter:
        @hookimpl
        def register_exporters(self, register):
            register("bad", lambda results: "")

    with_plugin(Duplicate(), "dup")
    registry = with_plugin(NotAnExporter(), "bad-plugin")
    problems = [str(p) for p in registry.problems]
    assert any("plugin 'dup'" in p and "'junit' is already registered by plugin "
               "'autograder.exporters.default_plugin'" in p for p in problems), problems
    assert any("plugin 'bad-plugin'" in p and "not an autograder.exporters.Exporter" in p
               for p in problems), problems
    with pytest.raises(AutograderError, match="unknown export format 'bad'; available: "):
        registry.exporter("bad")


def test_hook_register_uploaders_adds_an_lms(with_plugin):
    registry = with_plugin(UploaderPlugin(), "echo-plugin")
    assert registry.uploaders["echo"][0] == "echo-plugin"
    assert {"canvas", "lti"} <= set(registry.uploaders)
    report = registry.uploader("echo").push([], dry_run=True, ledger=None)
    assert report.target == "echo" and report.dry_run


def test_hook_register_uploaders_duplicate_names_both_plugins(with_plugin):
    class Duplicate:
        @hookimpl
        def register_uploaders(self, register):
            register("canvas", Uploader(help="", push=lambda grades, **kw: None))

    registry = with_plugin(Duplicate(), "dup")
    assert any("plugin 'dup'" in str(p) and "uploader 'canvas' is already registered"
               in str(p) for p in registry.problems)


def test_a_name_that_looks_like_a_formula_is_not_one_in_the_csv(tmp_path):
    from autograder.gradebook import Gradebook

    path = make_gradebook(tmp_path / "g.db", {"s1": (30.0, 70.0)})
    with Gradebook.open(path) as book:
        book.add_students([("s1", '=HYPERLINK("http://evil.example","x")', "s1@uni.example")],
                          in_roster=True)
    rows, _ = canvas_importer_accepts(canvas_csv(
        load_grades(gradebook=path, assignment_id="perceptron"), canvas_assignment_id="7"))
    assert rows[2][0] == '\'=HYPERLINK("http://evil.example","x")'

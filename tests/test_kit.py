"""Student kits: nothing secret inside, and the same public-test results as the full assignment."""

import json
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from click.testing import CliRunner

from autograder import api
from autograder.cli import cli
from autograder.compare import CheckFailure
from autograder.errors import AutograderError, GraderError, MetadataError
from autograder.kit import Recorder, Replay, build_kit, is_kit, load_kit
from autograder.mutants import load_mutants, mutant_module, mutant_source
from autograder.proxy import LocalSubmission, StudentCallError
from autograder.testing import case, check

from conftest import REPO

KIT_FILES = {"stub.py", "handout.md", "public_tests.py", "expected.json", "kit.json"}
REPLAY_MISS = "This test is checked in full when you submit."
COMPARED = ("name", "score", "max_score", "status", "visibility", "output")


@pytest.fixture(scope="module")
def perceptron_kit(tmp_path_factory):
    out = tmp_path_factory.mktemp("kits") / "perceptron-kit"
    result = CliRunner().invoke(cli, ["release", "perceptron", "-o", str(out), "--zip"])
    assert result.exit_code == 0, result.output
    return out


def secret_lines(assignment):
    """Lines of the reference, hidden tests and mutants that no shipped file contains."""
    shipped = "\n".join((assignment.folder / n).read_text()
                        for n in ("stub.py", "handout.md", "public_tests.py"))
    secrets = [assignment.reference_path().read_text()]
    for name in ("hidden_tests.py", "mutants.toml"):
        if (assignment.folder / name).exists():
            secrets.append((assignment.folder / name).read_text())
    lines = {line.strip() for text in secrets for line in text.splitlines()}
    return {line for line in lines if len(line) >= 12 and line not in shipped}


def test_a_kit_holds_exactly_the_shipped_files(perceptron_kit):
    assert {p.name for p in perceptron_kit.iterdir()} == KIT_FILES
    with zipfile.ZipFile(perceptron_kit.with_name("perceptron-kit.zip")) as archive:
        assert {n.split("/", 1)[1] for n in archive.namelist()} == KIT_FILES
        assert all(n.startswith("perceptron-kit/") for n in archive.namelist())
    assert is_kit(perceptron_kit) and not is_kit(REPO / "assignments" / "perceptron")


def test_no_line_of_the_reference_hidden_tests_or_mutants_is_in_the_kit(perceptron_kit,
                                                                       registry):
    assignment = registry.assignment("perceptron")
    secrets = secret_lines(assignment)
    assert len(secrets) > 40  # the check has something to find
    kit_text = "\n".join(p.read_text() for p in perceptron_kit.iterdir())
    with zipfile.ZipFile(perceptron_kit.with_name("perceptron-kit.zip")) as archive:
        kit_text += "\n".join(archive.read(n).decode() for n in archive.namelist())
    leaked = sorted(line for line in secrets if line in kit_text)
    assert leaked == []
    hidden_names = set(assignment.points) - {c.name for c in assignment.cases(public_only=True)}
    assert hidden_names and not [n for n in hidden_names if n in kit_text]
    assert "autograder.reference" not in kit_text


def test_the_leak_check_finds_a_leak(perceptron_kit, registry, tmp_path):
    leaky = tmp_path / "leaky"
    leaky.mkdir()
    reference = registry.assignment("perceptron").reference_path().read_text()
    (leaky / "expected.json").write_text(reference[len(reference) // 2:])
    secrets = secret_lines(registry.assignment("perceptron"))
    assert any(line in (leaky / "expected.json").read_text() for line in secrets)


def submissions(assignment, tmp_path):
    """The reference, the stub and each mutant: right, empty and subtly wrong answers."""
    found = {"reference": assignment.reference_path(), "stub": assignment.stub_path}
    reference = assignment.reference_path().read_text()
    for mutant in load_mutants(assignment.folder):
        path = tmp_path / f"{mutant.name}.py"
        path.write_text(mutant_source(reference, mutant))
        found[mutant.name] = path
    return found


def test_grading_from_the_kit_matches_the_full_assignment(perceptron_kit, registry, tmp_path):
    assignment = registry.assignment("perceptron")
    for label, path in submissions(assignment, tmp_path).items():
        full = api.grade(assignment_id="perceptron", submission=path, public_only=True,
                         registry=registry)
        kit = api.grade(assignment_id=str(perceptron_kit), submission=path, registry=registry)
        assert kit["public_only"] is True
        assert (kit["score"], kit["max_score"]) == (full["score"], full["max_score"]), label
        assert [_comparable(t) for t in kit["tests"]] == \
               [_comparable(t) for t in full["tests"]], label
        # Mutants never leave the grader, so a kit names no likely mistake.
        assert all(t["mistake"] is None for t in kit["tests"])
    assert full["score"] < full["max_score"]  # the mutants really lose points
    assert any(t["mistake"] for t in full["tests"])  # and the comparison saw fingerprints


def _comparable(test):
    kept = {k: test[k] for k in COMPARED}
    kept["output"] = kept["output"].split("\nLikely mistake: ")[0]
    return kept


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # mutants divide by zero on purpose
def test_every_assignment_kit_replays_its_public_tests(registry, tmp_path):
    """Each public test, run in-process on the reference and the mutants, gives the same
    outcome and message with the recorded values as with the real reference.

    One exception, said in the message: a test that calls the reference on values the
    submission returned (backprop judges backward on the student's own forward) cannot
    be replayed when those values are wrong; the kit fails it saying it is checked in
    full on submission, never passes or fails it silently."""
    assert "perceptron" in registry.assignments
    for assignment_id, assignment in sorted(registry.assignments.items()):
        kit = load_kit(build_kit(assignment=assignment, output=tmp_path / assignment_id))
        reference = assignment.reference_module()
        suspects = [reference] + [mutant_module(assignment.reference_path(), m)
                                  for m in load_mutants(assignment.folder)]
        for module in suspects:
            for item in kit.cases():
                outcomes = [_outcome(item, LocalSubmission(module), ref)
                            for ref in (reference, kit.reference_module())]
                if module is not reference and outcomes[1].endswith(REPLAY_MISS):
                    continue
                assert outcomes[0] == outcomes[1], (assignment_id, item.name, module.__name__)


def _outcome(item, sub, ref):
    try:
        item(sub, ref)
        return "passed"
    except CheckFailure as failure:
        return failure.message
    except StudentCallError as error:
        return error.public_message()


def test_a_student_grades_a_kit_with_no_reference_and_no_assignments_installed(
        perceptron_kit, tmp_path):
    probe = f"""
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.startswith(("autograder.reference", "autograder.assignments")):
            raise ImportError(f"{{name}} is not installed for students")
sys.meta_path.insert(0, Block())
from autograder.cli import main
sys.argv = ["autograder", "grade", {str(perceptron_kit)!r},
            {str(REPO / "examples" / "submissions" / "perceptron_student.py")!r}]
main()
"""
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=120, env={"AUTOGRADER_LOAD_PLUGINS": "", "PATH": "/usr/bin:/bin"},
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Public tests only: hidden tests run when you submit." in proc.stdout
    assert "public_train_tiny" in proc.stdout and "train_boundary" not in proc.stdout


def test_release_refuses_to_overwrite(tmp_path, perceptron_kit):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("my notes")
    result = CliRunner().invoke(cli, ["release", "perceptron", "-o", str(folder), "--force"])
    assert result.exit_code == 1 and "is not a student kit" in result.output
    assert (folder / "notes.txt").read_text() == "my notes"
    again = CliRunner().invoke(cli, ["release", "perceptron", "-o", str(perceptron_kit)])
    assert again.exit_code == 1 and "--force" in again.output


def test_a_broken_kit_gets_a_clear_message(perceptron_kit, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in KIT_FILES - {"expected.json"}:
        (broken / name).write_bytes((perceptron_kit / name).read_bytes())
    with pytest.raises(MetadataError, match="lacks expected.json"):
        load_kit(broken)
    meta = json.loads((broken / "kit.json").read_text())
    (broken / "kit.json").write_text(json.dumps({**meta, "kit_format": 99}))
    with pytest.raises(MetadataError, match="kit_format 99"):
        load_kit(broken)
    (broken / "expected.json").write_bytes((perceptron_kit / "expected.json").read_bytes())
    (broken / "kit.json").write_text(json.dumps({"kit_format": 1, "assignment": {}}))
    with pytest.raises(MetadataError, match="not a complete student kit"):
        load_kit(broken)


# --- the replay itself --------------------------------------------------------------------------

class _Ref:
    DEFAULT_EPOCHS = 100

    @staticmethod
    def scale(x, factor=2.0):
        return x * factor

    @staticmethod
    def stats(x):
        return {"mean": np.float64(x.mean()), "shape": x.shape}

    @staticmethod
    def in_place(x):
        x += 1
        return x

    @staticmethod
    def opaque(x):
        return object()


def _record(*calls):
    recorder = Recorder(_Ref)
    recorder.test = "t"
    for call in calls:
        call(recorder)
    return Replay([vars(c) for c in recorder.calls], recorder.attributes)


def test_replay_gives_back_recorded_values_with_their_types():
    x = np.arange(6.0).reshape(2, 3)
    replay = _record(lambda r: r.scale(x, factor=3.0), lambda r: r.stats(x),
                     lambda r: r.DEFAULT_EPOCHS)
    np.testing.assert_array_equal(replay.scale(x, factor=3.0), x * 3)
    stats = replay.stats(x)
    assert type(stats["mean"]) is np.float64 and stats["shape"] == (2, 3)
    assert replay.DEFAULT_EPOCHS == 100
    assert not hasattr(replay, "DEVICE")  # configure_reference must see no DEVICE setting


def test_replay_tolerates_inputs_a_few_ulps_apart_but_not_other_inputs():
    x = np.linspace(0.1, 1.0, 7)
    replay = _record(lambda r: r.scale(x))
    nudged = x * (1 + 4e-16)
    assert not np.array_equal(nudged, x)
    np.testing.assert_allclose(replay.scale(nudged), x * 2.0)
    with pytest.raises(CheckFailure, match="checked in full when you submit"):
        replay.scale(x + 0.5)


def test_a_reference_that_writes_into_its_arguments_cannot_be_recorded():
    with pytest.raises(GraderError, match="changed its arguments in place"):
        _record(lambda r: r.in_place(np.zeros(3)))


def test_a_value_the_kit_cannot_record_is_named():
    with pytest.raises(GraderError, match=r"public test t: ref.opaque\(\) gave a value"):
        _record(lambda r: r.opaque(np.zeros(3)))


def test_a_public_test_that_fails_on_the_reference_stops_the_build(registry, tmp_path):
    @case
    def public_broken(sub, ref):
        check("always wrong", sub.perceptron_predict(np.eye(2), np.ones(2), 0.0), np.zeros(3),
              rtol=0, atol=0)

    assignment = registry.assignment("perceptron")
    original = assignment.cases

    def cases(*, public_only=False):
        found = original(public_only=True)
        public_broken.points = 1.0
        return found + [public_broken]

    assignment.cases = cases
    try:
        with pytest.raises(GraderError, match="public test public_broken fails"):
            build_kit(assignment=assignment, output=tmp_path / "kit")
    finally:
        del assignment.cases
    assert not (tmp_path / "kit").exists()


def test_a_failed_rebuild_with_force_keeps_the_kit_it_was_to_replace(registry, tmp_path):
    assignment = registry.assignment("perceptron")
    kit = build_kit(assignment=assignment, output=tmp_path / "kit")
    before = {p.name: p.read_bytes() for p in kit.iterdir()}

    @case
    def public_broken(sub, ref):
        raise RuntimeError("a bug in a public test")

    original = assignment.cases
    assignment.cases = lambda *, public_only=False: original(public_only=True) + [public_broken]
    try:
        with pytest.raises(GraderError, match="public test public_broken crashed"):
            build_kit(assignment=assignment, output=kit, force=True)
    finally:
        del assignment.cases
    assert {p.name: p.read_bytes() for p in kit.iterdir()} == before


def test_an_unknown_assignment_is_still_an_error_not_a_kit(tmp_path, registry):
    with pytest.raises(AutograderError, match="unknown assignment"):
        api.grade(assignment_id=str(tmp_path), submission=REPO / "reference" / "perceptron.py",
                  registry=registry)


def test_a_kit_with_engine_installs_the_engine_alone_and_grades(registry, tmp_path):
    """`release --with-engine`: students install engine/, which holds no course secret."""
    kit = build_kit(assignment=registry.assignment("perceptron"), output=tmp_path / "kit",
                    with_engine=True)
    engine = kit / "engine"
    files = [p for p in engine.rglob("*") if p.is_file()]
    assert (engine / "pyproject.toml").exists() and (engine / "autograder" / "cli.py").exists()
    assert not [p for p in files if {"assignments", "reference"} & set(p.relative_to(engine).parts)]
    hidden = (REPO / "assignments" / "perceptron" / "hidden_tests.py").read_text()
    secrets = ["def perceptron_train", "def kernel_perceptron_train"] + [
        line.split("(")[0] for line in hidden.splitlines() if line.startswith("def ")]
    for path in files:
        text = path.read_text(errors="replace")
        assert not [s for s in secrets if s in text], path

    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-build-isolation", "--target", str(target), str(engine)],
                   check=True, capture_output=True, text=True, timeout=300)
    assert not (target / "autograder" / "reference").exists()
    assert not (target / "autograder" / "assignments").exists()
    # -S: no .pth files, so the development install's finder cannot supply the course;
    # the dependencies come from site-packages, the engine only from the installed folder.
    site_packages = next(p for p in sys.path if p.endswith("site-packages"))
    proc = subprocess.run(
        [sys.executable, "-S", "-c",
         "import autograder, sys; from autograder.cli import main; "
         "print('ENGINE', autograder.__file__); main()",
         "grade", str(kit), str(REPO / "examples" / "submissions" / "perceptron_student.py"),
         "--sandbox", "subprocess"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
        env={"PYTHONPATH": f"{target}:{site_packages}", "PATH": "/usr/bin:/bin",
             "AUTOGRADER_LOAD_PLUGINS": ""})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"ENGINE {target}" in proc.stdout
    assert "Score: 30/30" in proc.stdout and "hidden tests run when you submit" in proc.stdout

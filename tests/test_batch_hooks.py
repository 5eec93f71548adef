"""The batch's plugin hooks: dispatchers, layouts and score adjustments."""

import datetime as dt

import pytest

from autograder import hookimpl
from autograder.batch.dispatch import Dispatcher, grade_task
from autograder.batch.run import run_batch
from autograder.batch.sources import Found
from autograder.errors import AutograderError, PluginError
from autograder.gradebook import Adjustment, Gradebook

from conftest import REPO

REFERENCE = (REPO / "reference" / "perceptron.py").read_text()


class InlineDispatcher(Dispatcher):
    """Grades in the test's own process; records what it was given."""

    name = "inline"
    seen: list = []

    def run(self, tasks):
        for task in tasks:
            InlineDispatcher.seen.append((task.key, self.config.jobs))
            yield grade_task(task, self.config)


class InlinePlugin:
    @hookimpl
    def register_dispatchers(self, register):
        register("inline", InlineDispatcher)


@pytest.fixture
def with_plugins(with_plugin):
    """Register fake plugins (the inline dispatcher always) and return the registry."""
    def add(*plugins):
        for plugin in (InlinePlugin(), *plugins):
            registry = with_plugin(plugin, f"test-{type(plugin).__name__}")
        return registry

    return add


def source(tmp_path, **files):
    root = tmp_path / "src"
    root.mkdir()
    for name, text in files.items():
        (root / name).write_text(text)
    return root


def batch(registry, src, db, **options):
    return run_batch(assignment_id="perceptron", source=src, gradebook=db, registry=registry,
                     dispatcher="inline", **options)


# --- register_dispatchers ------------------------------------------------------------------------

def test_hook_register_dispatchers_a_plugin_dispatcher_grades_the_batch(with_plugins, tmp_path):
    registry = with_plugins()
    InlineDispatcher.seen.clear()
    src = source(tmp_path, **{"alice.py": REFERENCE, "bob.py": REFERENCE + "\n# bob\n"})
    summary = batch(registry, src, tmp_path / "gb.db", jobs=3)
    assert summary.graded == 2
    assert sorted(jobs for _, jobs in InlineDispatcher.seen) == [3, 3]
    with Gradebook.open(tmp_path / "gb.db") as book:
        assert [g.final_score for g in book.final_grades()] == [100.0, 100.0]
        assert book.table("runs")[0]["options"].count('"dispatcher": "inline"') == 1


@pytest.mark.parametrize("names, message", [
    ({"dispatcher": "nope"}, "unknown dispatcher 'nope'; available: inline, local"),
    ({"dispatcher": "inline", "sandbox": "nope"}, "unknown sandbox 'nope'; available: "),
])
def test_an_unknown_dispatcher_or_sandbox_is_refused_before_the_gradebook_opens(
        with_plugins, tmp_path, names, message):
    registry = with_plugins()
    with pytest.raises(AutograderError, match=message):
        run_batch(assignment_id="perceptron", source=source(tmp_path, **{"a.py": REFERENCE}),
                  gradebook=tmp_path / "gb.db", registry=registry, **names)
    assert not (tmp_path / "gb.db").exists()


def test_hook_register_dispatchers_duplicate_name_names_both_plugins(with_plugins):
    class Again:
        @hookimpl
        def register_dispatchers(self, register):
            register("inline", InlineDispatcher)

    registry = with_plugins(Again())
    assert any("dispatcher 'inline' is already registered by plugin 'test-InlinePlugin'"
               in str(p) for p in registry.problems)
    assert registry.dispatchers["local"][0] == "autograder.batch.default_plugin"


# --- register_layouts ----------------------------------------------------------------------------

class ManifestLayout:
    """A course's layout: ``manifest.txt`` lines ``<student id> <file>``."""

    @hookimpl
    def register_layouts(self, register):
        def identify(root, assignment_id):
            manifest = root / "manifest.txt"
            if not manifest.is_file():
                return None
            return [Found(sid, root / name) for sid, name in
                    (line.split() for line in manifest.read_text().splitlines())]
        register("manifest", identify)


def test_hook_register_layouts_a_course_layout_wins_over_the_builtins(with_plugins, tmp_path):
    registry = with_plugins(ManifestLayout())
    assert registry.layout_order() == ["manifest", "gradescope", "canvas", "per-student"]
    src = source(tmp_path, **{"a.py": REFERENCE, "manifest.txt": "u1001 a.py\n"})
    summary = batch(registry, src, tmp_path / "gb.db")
    assert (summary.layout, summary.graded) == ("manifest", 1)
    with Gradebook.open(tmp_path / "gb.db") as book:
        assert [(g.student_id, g.final_score) for g in book.final_grades()] == [("u1001", 100.0)]


def test_hook_register_layouts_a_broken_layout_is_named(with_plugins, tmp_path):
    class Broken:
        @hookimpl
        def register_layouts(self, register):
            register("broken", lambda root, assignment_id: 1 / 0)

    registry = with_plugins(Broken())
    with pytest.raises(PluginError, match="test-Broken.*layout 'broken' failed: ZeroDivision"):
        batch(registry, source(tmp_path, **{"a.py": REFERENCE}), tmp_path / "gb.db")


@pytest.mark.parametrize("submitted_at, penalty", [
    (dt.datetime(2025, 3, 3, 12, 0), -20.0),        # no zone: local time, as --due reads it
    (dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.timezone.utc), None),
])
def test_hook_register_layouts_times_without_a_zone_are_local(with_plugins, tmp_path,
                                                              submitted_at, penalty):
    class Timed:
        @hookimpl
        def register_layouts(self, register):
            register("timed", lambda root, assignment_id: [
                Found("u1", root / "a.py", submitted_at=submitted_at)])

    registry = with_plugins(Timed())
    db = tmp_path / "gb.db"
    batch(registry, source(tmp_path, **{"a.py": REFERENCE}), db, layout="timed",
          late={"due": "2025-03-02T00:00:00", "penalty": 10})
    with Gradebook.open(db) as book:
        [grade] = book.final_grades()
    assert [a.points for a in grade.adjustments] == ([penalty] if penalty else [])


def test_hook_register_layouts_a_submitted_at_that_is_not_a_time_is_named(with_plugins, tmp_path):
    class Stringly:
        @hookimpl
        def register_layouts(self, register):
            register("stringly", lambda root, assignment_id: [
                Found("u1", root / "a.py", submitted_at="yesterday")])

    registry = with_plugins(Stringly())
    with pytest.raises(PluginError, match="test-Stringly.*submitted_at of u1 is 'yesterday'"):
        batch(registry, source(tmp_path, **{"a.py": REFERENCE}), tmp_path / "gb.db")


def test_hook_register_layouts_duplicate_name_names_both_plugins(with_plugins):
    class Canvas2:
        @hookimpl
        def register_layouts(self, register):
            register("canvas", lambda root, assignment_id: None)

    registry = with_plugins(Canvas2())
    assert any("layout 'canvas' is already registered by plugin 'autograder.batch.default_plugin'"
               in str(p) for p in registry.problems)


# --- adjust_score --------------------------------------------------------------------------------

class EarlyBird:
    """Five bonus points when the course file says so."""

    @hookimpl
    def adjust_score(self, submission, result, course):
        if course.get("early_bird", {}).get(submission.assignment_id):
            return [Adjustment(points=5.0, reason="early bird", kind="bonus")]
        return []


def test_hook_adjust_score_records_the_plugin_as_author_and_withdraws(with_plugins, tmp_path):
    registry = with_plugins(EarlyBird())
    src = source(tmp_path, **{"alice.py": REFERENCE.replace("mistakes += 1", "pass")})
    db = tmp_path / "gb.db"
    course = tmp_path / "course.toml"
    course.write_text("[early_bird]\nperceptron = true\n")
    batch(registry, src, db, course=course)
    with Gradebook.open(db) as book:
        grade = book.final_grades()[0]
        assert grade.final_score == grade.autograded_score + 5
        assert [(a.kind, a.author, a.reason) for a in grade.adjustments] == [
            ("bonus", "test-EarlyBird", "early bird")]
    batch(registry, src, db, course=course)   # unchanged: nothing new is written
    course.write_text("")
    summary = batch(registry, src, db, course=course)
    assert (summary.graded, summary.adjustments_written) == (0, 1)
    with Gradebook.open(db) as book:
        grade = book.final_grades()[0]
        assert grade.final_score == grade.autograded_score and grade.adjustments == ()
        assert book.counts()["adjustments"] == 1


def test_hook_adjust_score_a_crashing_plugin_is_named(with_plugins, tmp_path):
    class Crash:
        @hookimpl
        def adjust_score(self, submission):
            raise KeyError("due")

    registry = with_plugins(Crash())
    with pytest.raises(PluginError, match="test-Crash.*adjust_score failed on alice's"):
        batch(registry, source(tmp_path, **{"alice.py": REFERENCE}), tmp_path / "gb.db")
    with Gradebook.open(tmp_path / "gb.db") as book:   # the grading itself is kept
        assert book.counts()["results"] == 1

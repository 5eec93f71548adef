"""A small real gradebook, filled through the gradebook's own write API."""

from __future__ import annotations

from pathlib import Path

from autograder.gradebook.store import Gradebook

TESTS = (("public_one", 30.0, "visible"), ("hidden_two", 70.0, "hidden"))


def document(score_one: float, score_two: float) -> dict:
    tests = []
    for (name, points, visibility), got in zip(TESTS, (score_one, score_two)):
        tests.append({"name": name, "score": got, "max_score": points,
                      "status": "passed" if got == points else "failed",
                      "visibility": visibility,
                      "output": "" if got == points else f"{name}: wrong value"})
    return {"score": score_one + score_two, "max_score": 100.0, "tests": tests}


def make_gradebook(path: Path, grades: dict[str, tuple[float, float] | None],
                   emails: bool = True, layout: str = "per-student") -> Path:
    """``grades`` maps student id to (public points, hidden points), or None for an error."""
    with Gradebook.open(path, create=True) as book:
        run = book.start_run(assignment_id="perceptron", title="Perceptron", version="1.0.0",
                             max_score=100.0, source="test", layout=layout,
                             sandbox="subprocess", environment={}, options={},
                             late_policy=None)
        book.add_students([(s, f"Student {s.upper()}", f"{s}@uni.example" if emails else None)
                           for s in grades], in_roster=True)
        rows = [(s, f"{i:064x}", f"/subs/{s}.py", None, False) for i, s in enumerate(grades, 1)]
        ids = book.add_submissions(assignment_id="perceptron", version="1.0.0", regrade=False,
                                   rows=rows)
        for (student, pair), (submission_id, _) in zip(grades.items(), ids):
            if pair is None:
                book.record_result(run_id=run, submission_id=submission_id, version="1.0.0",
                                   status="error", document=None, message="grader bug")
            else:
                book.record_result(run_id=run, submission_id=submission_id, version="1.0.0",
                                   status="graded", document=document(*pair))
    return path

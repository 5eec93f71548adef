"""``autograder selftest``: the checks an assignment must pass before students see it.

The reference scores full marks and the stub zero, through the real sandbox;
every test has points and the points add up to 100; every shipped mutant
loses points on each test it claims to be caught by, and the feedback names
it; grading twice gives the same scores.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from autograder.assignment import Assignment
from autograder.errors import AutograderError
from autograder.grading import grade_submission
from autograder.mutants import load_mutants, mutant_source
from autograder.sandbox import Sandbox


@dataclass
class SelftestRow:
    assignment: str
    check: str
    ok: bool
    detail: str


def _scores(result: dict) -> dict[str, float]:
    return {t["name"]: t["score"] for t in result["tests"]}


def selftest_assignment(*, assignment: Assignment, sandbox: Sandbox) -> list[SelftestRow]:
    rows: list[SelftestRow] = []

    def add(check: str, ok: bool, detail: str) -> None:
        rows.append(SelftestRow(assignment.id, check, ok, detail))

    try:
        cases = assignment.cases()
    except AutograderError as exc:
        add("tests load and match [points]", False, str(exc))
        return rows
    total = sum(c.points for c in cases)
    add("points add up to 100", abs(total - 100) < 1e-9, f"{total:g} over {len(cases)} tests")

    def grade(path: Path) -> dict:
        return grade_submission(assignment=assignment, submission=path, sandbox=sandbox)

    reference = grade(assignment.reference_path())
    failed = [t["name"] for t in reference["tests"] if t["status"] != "passed"]
    add("reference scores 100", reference["score"] == reference["max_score"] == 100,
        f"{reference['score']:g}/100" + (f"; failed: {', '.join(failed)}" if failed else ""))
    again = grade(assignment.reference_path())
    add("reference grades the same twice", _scores(again) == _scores(reference),
        "same per-test scores" if _scores(again) == _scores(reference) else "scores differ")

    stub = grade(assignment.stub_path)
    passed = [t["name"] for t in stub["tests"] if t["status"] == "passed"]
    add("stub scores 0", stub["score"] == 0,
        f"{stub['score']:g}/100" + (f"; passed: {', '.join(passed)}" if passed else ""))

    mutants = load_mutants(assignment.folder)
    add("ships at least 6 mutants", len(mutants) >= 6, f"{len(mutants)} mutants")
    source = assignment.reference_path().read_text()
    test_names = {c.name for c in cases}
    with tempfile.TemporaryDirectory(prefix="autograder-selftest-") as tmp:
        for index, mutant in enumerate(mutants):
            unknown = sorted(set(mutant.catches) - test_names)
            if unknown or not mutant.catches:
                add(f"mutant {mutant.name}", False, f"catches unknown tests {unknown}"
                    if unknown else "names no test that catches it")
                continue
            try:
                path = Path(tmp) / f"{assignment.id}_{mutant.name}.py"
                path.write_text(mutant_source(source, mutant))
            except AutograderError as exc:
                add(f"mutant {mutant.name}", False, str(exc))
                continue
            result = grade(path)
            tests = {t["name"]: t for t in result["tests"]}
            missed = [name for name in mutant.catches if tests[name]["status"] == "passed"]
            named = any(tests[name].get("mistake") == mutant.hint for name in mutant.catches)
            detail = f"{result['score']:g}/100"
            if missed:
                detail += f"; not caught by {', '.join(missed)}"
            if not named:
                detail += "; feedback does not name this mistake"
            add(f"mutant {mutant.name}", not missed and named, detail)
            if index == 0:
                repeat = grade(path)
                add("a mutant grades the same twice", _scores(repeat) == _scores(result),
                    "same per-test scores" if _scores(repeat) == _scores(result)
                    else "scores differ")
    return rows


def render_rows(rows: list[SelftestRow]) -> str:
    width = max((len(r.check) for r in rows), default=10)
    lines = [f"{'assignment':<12} {'check':<{width}}  result  detail"]
    lines += [f"{r.assignment:<12} {r.check:<{width}}  {'ok' if r.ok else 'FAIL':<6}  {r.detail}"
              for r in rows]
    failures = sum(not r.ok for r in rows)
    lines.append(f"\n{len(rows) - failures} passed, {failures} failed")
    return "\n".join(lines)

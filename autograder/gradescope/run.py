"""What ``run_autograder`` runs on Gradescope: grade ``submission/``, write ``results.json``.

``python -m autograder.gradescope.run --root /autograder --assignment ID``.
Gradescope shows "The autograder failed to execute correctly" for a missing
or malformed results.json, so every path out of :func:`run` writes one: a
submission that cannot be graded gets zero points and the reason, and a
grader failure gets zero points, a message to tell the instructor, and the
traceback on stdout (which only instructors see).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from autograder.errors import GraderError, SubmissionError
from autograder.gradescope import (DEFAULT_HIDDEN_VISIBILITY, VISIBILITIES, failure_results,
                                   to_gradescope)


def find_submission(folder: Path, assignment_id: str) -> Path:
    """The file (or package folder) to grade among what the student uploaded.

    The same choice as a batch makes in a student's folder
    (:func:`autograder.batch.sources.pick_entry`), subfolders included.
    """
    from autograder.batch.sources import pick_entry

    if not folder.is_dir():
        raise SubmissionError(f"no submission folder at {folder}")
    path, problem = pick_entry(folder, assignment_id, recursive=True)
    if path is None:
        raise SubmissionError(f"{problem}. Upload {assignment_id}.py, or a single .py file")
    return path


def grade_for_gradescope(*, root: Path, assignment_id: str,
                         hidden_visibility: str = DEFAULT_HIDDEN_VISIBILITY) -> dict[str, Any]:
    """Grade ``root/submission`` and return the results.json document; never raises."""
    from autograder import api

    start = time.perf_counter()
    try:
        submission = find_submission(root / "submission", assignment_id)
        result = api.grade(assignment_id=assignment_id, submission=submission)
        print(json.dumps(result, indent=2))  # the full document, for instructors only
        return to_gradescope(result, hidden_visibility=hidden_visibility,
                             execution_time=time.perf_counter() - start)
    except SubmissionError as exc:
        message = f"Your submission could not be graded: {exc}."
    except GraderError as exc:
        traceback.print_exc()
        message = (f"The autograder failed on this submission: {exc}. "
                   "This is not your fault; please tell your instructor.")
    except Exception as exc:  # noqa: BLE001 - results.json must be written whatever failed
        traceback.print_exc()
        message = (f"The autograder could not run ({type(exc).__name__}: {exc}). "
                   "Please tell your instructor.")
    return failure_results(message, execution_time=time.perf_counter() - start)


def run(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.gradescope.run")
    parser.add_argument("--root", type=Path, default=Path("/autograder"))
    parser.add_argument("--assignment", required=True)
    parser.add_argument("--hidden-visibility", default=DEFAULT_HIDDEN_VISIBILITY,
                        choices=VISIBILITIES)
    args = parser.parse_args(argv)
    document = grade_for_gradescope(root=args.root, assignment_id=args.assignment,
                                    hidden_visibility=args.hidden_visibility)
    results = args.root / "results" / "results.json"
    results.parent.mkdir(parents=True, exist_ok=True)
    # Built in memory, written once, renamed into place: never half a file. Written
    # here, not through autograder.api: results.json must appear even when that
    # cannot be imported.
    tmp = results.with_name("results.json.tmp")
    tmp.write_text(json.dumps(document, indent=2) + "\n")
    tmp.replace(results)
    return 0


if __name__ == "__main__":
    sys.exit(run())

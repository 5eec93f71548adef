"""The SQLite gradebook: results, adjustments and final grades (``autograder gradebook``).

Reading final grades from Python (what an LMS exporter needs)::

    from autograder.gradebook import Gradebook

    with Gradebook.open("gradebook.db") as book:
        for grade in book.final_grades(assignment_id="perceptron"):
            grade.student_id, grade.final_score, grade.max_score, grade.tests

Names are imported on first use, so the late-policy plugin (loaded with every
command) does not pull in SQLite.
"""

import importlib

_EXPORTS = {
    "Adjustment": "records", "AdjustmentRecord": "records", "FinalGrade": "records",
    "ResultRecord": "records", "SubmissionFacts": "records", "SubmissionRecord": "records",
    "TestDetail": "records", "DEFAULT_GRADEBOOK": "store", "AssignmentRecord": "records",
    "Gradebook": "store", "StudentRecord": "records", "SubmissionHistory": "records",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'autograder.gradebook' has no attribute {name!r}")
    return getattr(importlib.import_module(f"autograder.gradebook.{_EXPORTS[name]}"), name)

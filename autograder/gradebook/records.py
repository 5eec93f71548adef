"""What the gradebook hands out: plain frozen dataclasses, safe to keep after it closes.

These are the stable reading API for exporters (LMS uploads, reports):
:meth:`autograder.gradebook.Gradebook.final_grades` returns
:class:`FinalGrade` objects built from them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

# A submission's latest result has one of these statuses. ``invalid`` and
# ``crashed`` are the student's doing and count as 0; ``error`` is the
# grader's and has no score until the batch is run again.
GRADED, INVALID, CRASHED, ERROR = "graded", "invalid", "crashed", "error"
PENDING = "pending"  # a submission recorded but not graded yet (an interrupted batch)


@dataclass(frozen=True)
class Adjustment:
    """A change to an autograded score that a late policy (or another plugin) asks for.

    :param points: added to the autograded score (negative for a penalty).
    :param reason: one line a student may read ("2 days late: -20 points").
    :param kind: what it is; one adjustment of each kind per submission is active.
    """

    points: float
    reason: str
    kind: str = "late"


@dataclass(frozen=True)
class SubmissionFacts:
    """What an adjustment hook knows about the submission it adjusts."""

    student_id: str
    assignment_id: str
    sha256: str
    path: str
    submitted_at: datetime | None
    late: bool


@dataclass(frozen=True)
class AdjustmentRecord:
    """An adjustment as stored: who made it, why and when. Overrides set ``score``."""

    id: int
    kind: str
    points: float | None
    score: float | None
    reason: str
    author: str
    created_at: str
    superseded_at: str | None = None


@dataclass(frozen=True)
class SubmissionRecord:
    id: int
    sha256: str
    path: str
    submitted_at: str | None
    late: bool


@dataclass(frozen=True)
class TestDetail:
    """One test of a graded result."""

    __test__ = False  # not a pytest class

    name: str
    score: float
    max_score: float
    status: str
    visibility: str
    output: str
    mistake: str | None = None


@dataclass(frozen=True)
class ResultRecord:
    id: int
    run_id: int
    assignment_version: str
    status: str
    score: float | None
    max_score: float | None
    message: str
    graded_at: str


@dataclass(frozen=True)
class AssignmentRecord:
    id: str
    title: str
    version: str
    max_score: float
    late_policy: dict | None = None


@dataclass(frozen=True)
class StudentRecord:
    id: str
    name: str | None
    email: str | None
    in_roster: bool


@dataclass(frozen=True)
class SubmissionHistory:
    """One submission of a student, with every result it got (oldest first)."""

    assignment_id: str
    submission: SubmissionRecord
    results: tuple[ResultRecord, ...]
    current: bool


@dataclass(frozen=True)
class FinalGrade:
    """A student's grade for one assignment, with everything that produced it.

    ``final_score`` is the override's score when there is one; otherwise the
    autograded score plus the active adjustments, kept within
    ``[0, max_score]``; ``None`` while there is no usable result (``status``
    ``pending`` or ``error``).
    """

    student_id: str
    student_name: str | None
    student_email: str | None
    assignment_id: str
    assignment_title: str
    max_score: float
    status: str
    autograded_score: float | None
    final_score: float | None
    submission: SubmissionRecord
    result: ResultRecord | None
    adjustments: tuple[AdjustmentRecord, ...] = ()
    override: AdjustmentRecord | None = None
    tests: tuple[TestDetail, ...] = field(default=())

    @property
    def late_penalty(self) -> float:
        """Points taken off by active ``late`` adjustments (a positive number)."""
        return -sum(a.points or 0.0 for a in self.adjustments if a.kind == "late")

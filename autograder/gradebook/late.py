"""The built-in late policy: due date, grace period, a penalty per day or hour, a cap.

It is an ordinary ``adjust_score`` plugin (registered by default): a course
with other rules blocks it or simply configures no due date, and implements
``adjust_score`` itself. The policy comes from CLI options over a course file
(TOML) over the policy the gradebook kept from the assignment's last batch.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from autograder.errors import AutograderError, MetadataError
from autograder.gradebook.records import Adjustment, SubmissionFacts
from autograder.hookspecs import hookimpl

_UNITS = {"day": _dt.timedelta(days=1), "hour": _dt.timedelta(hours=1)}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|hour|hours|d|day|days|w)?\s*$")
_SECONDS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600, "hours": 3600,
            "d": 86400, "day": 86400, "days": 86400, "w": 604800}
POLICY_KEYS = ("due", "grace", "penalty", "per", "cap")


@dataclass(frozen=True)
class LatePolicy:
    """Late rules for one assignment.

    :param due: the deadline (timezone-aware).
    :param grace: submissions up to ``due + grace`` are on time.
    :param penalty: percent of the assignment's points taken off per started
        ``per`` period after the deadline.
    :param per: ``"day"`` or ``"hour"``.
    :param cap: the most a late submission loses, in percent of the points.
    """

    due: _dt.datetime
    grace: _dt.timedelta = _dt.timedelta(0)
    penalty: float = 0.0
    per: str = "day"
    cap: float = 100.0

    def adjustment(self, *, submitted_at: _dt.datetime | None, late: bool,
                   max_score: float) -> Adjustment | None:
        """The penalty for one submission, or None when it is on time."""
        if submitted_at is None:
            if not late:
                return None
            # The LMS says late but not when (Canvas's file names): the smallest late penalty.
            periods, when = 1, f"marked late by the LMS (time unknown): 1 {self.per}"
        else:
            delay = submitted_at - self.due
            if delay <= self.grace:
                return None
            periods = math.ceil(delay / _UNITS[self.per])
            when = f"{_describe(delay)} late: {periods} {self.per}{'s' if periods != 1 else ''}"
        percent = min(self.cap, periods * self.penalty)
        points = round(max_score * percent / 100.0, 6)
        if points <= 0:
            return None
        return Adjustment(points=-points, kind="late",
                          reason=f"{when} x {self.penalty:g}% (cap {self.cap:g}%) = "
                                 f"-{points:g} points")

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["due"] = self.due.isoformat()
        data["grace"] = f"{self.grace.total_seconds():g}s"
        return data


def _describe(delay: _dt.timedelta) -> str:
    minutes = int(delay.total_seconds() // 60)
    days, rest = divmod(minutes, 1440)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days}d"] * bool(days) + [f"{hours}h"] * bool(hours) + [f"{minutes}m"]
    return " ".join(parts)


def parse_duration(text: str | float | int, *, what: str = "--grace") -> _dt.timedelta:
    """``"15m"``, ``"2h"``, ``"1d"``, ``"0"`` (seconds as a number)."""
    if isinstance(text, (int, float)):
        return _dt.timedelta(seconds=float(text))
    match = _DURATION.match(str(text))
    if not match or (match.group(2) is None and float(match.group(1)) != 0):
        raise AutograderError(f"{what} {text!r} is not a duration; write e.g. 30s, 15m, 2h or 1d")
    return _dt.timedelta(seconds=float(match.group(1)) * _SECONDS[match.group(2) or "s"])


def parse_time(text: str | _dt.datetime | _dt.date, *, what: str = "--due") -> _dt.datetime:
    """An ISO 8601 time; without a zone it is local time; a bare date is its last second."""
    if isinstance(text, _dt.datetime):
        value = text
    elif isinstance(text, _dt.date):
        value = _dt.datetime.combine(text, _dt.time(23, 59, 59))
    else:
        try:
            value = _dt.datetime.fromisoformat(str(text).strip())
        except ValueError:
            raise AutograderError(f"{what} {text!r} is not a date and time; write ISO 8601, "
                                  "e.g. 2025-03-01T23:59:00-05:00") from None
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(text).strip()):
            value = value.replace(hour=23, minute=59, second=59)
    return value if value.tzinfo else value.astimezone()


def load_course(path: Path) -> dict[str, Any]:
    """Read a course file (TOML): ``[late]`` defaults and ``[assignments.ID]`` settings."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise MetadataError(str(path), f"cannot read the course file: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise MetadataError(str(path), f"not valid TOML: {exc}") from None
    for section in ("late", "assignments"):
        if section in data and not isinstance(data[section], dict):
            raise MetadataError(str(path), f"[{section}] must be a table", f"/{section}")
    return data


def resolve_policy(*, assignment_id: str, options: dict[str, Any], course: dict[str, Any],
                   stored: dict[str, Any] | None, source: str = "course file") -> LatePolicy | None:
    """Merge the stored policy, the course file and the options (later wins) into a policy.

    :param options: CLI values, None where not given (keys of :data:`POLICY_KEYS`).
    """
    merged: dict[str, Any] = dict(stored or {})
    merged.update(course.get("late", {}))
    merged.update({k: v for k, v in course.get("assignments", {}).get(assignment_id, {}).items()
                   if k in POLICY_KEYS})
    merged.update({k: v for k, v in options.items() if v is not None})
    unknown = sorted(set(course.get("late", {})) - set(POLICY_KEYS))
    if unknown:
        raise MetadataError(source, f"unknown [late] keys {unknown}; known: {list(POLICY_KEYS)}")
    if merged.get("due") is None:
        given = [k for k in ("penalty", "cap", "grace", "per") if options.get(k) is not None]
        if given:
            raise AutograderError(f"--{given[0]} needs a due date: pass --due or set "
                                  f"[assignments.{assignment_id}] due in a course file")
        return None
    per = str(merged.get("per", "day"))
    if per not in _UNITS:
        raise AutograderError(f"late penalty period {per!r} must be 'day' or 'hour'")
    penalty, cap = float(merged.get("penalty", 0.0)), float(merged.get("cap", 100.0))
    if not (0 <= penalty <= 100 and 0 <= cap <= 100):
        raise AutograderError(f"late penalty {penalty:g}% and cap {cap:g}% must each lie "
                              "between 0 and 100 (percent of the assignment's points)")
    return LatePolicy(due=parse_time(merged["due"]), grace=parse_duration(merged.get("grace", 0)),
                      penalty=penalty, per=per, cap=cap)


@hookimpl
def adjust_score(submission: SubmissionFacts, result: dict[str, Any],
                 policy: LatePolicy | None) -> list[Adjustment]:
    if policy is None:
        return []
    adjustment = policy.adjustment(submitted_at=submission.submitted_at, late=submission.late,
                                   max_score=float(result["max_score"]))
    return [adjustment] if adjustment else []

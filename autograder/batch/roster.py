"""The optional roster CSV: student ids to names, to flag unknown and missing students."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from autograder.errors import SourceError

ID_COLUMNS = ("id", "student_id", "student id", "sid", "user_id")
NAME_COLUMNS = ("name", "student name", "full name", "student")
EMAIL_COLUMNS = ("email", "e-mail", "email address")


@dataclass(frozen=True)
class RosterEntry:
    student_id: str
    name: str | None
    email: str | None


def load_roster(path: Path) -> dict[str, RosterEntry]:
    """Read a roster CSV with a header row; an ``id`` column is required, name and email optional."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"cannot read the roster {path}: {exc}") from None
    rows = list(csv.reader(text.splitlines()))
    if not rows:
        raise SourceError(f"the roster {path} is empty; it needs a header row with an id column")
    header = [h.strip().lower() for h in rows[0]]
    column = {kind: next((header.index(c) for c in names if c in header), None)
              for kind, names in (("id", ID_COLUMNS), ("name", NAME_COLUMNS),
                                  ("email", EMAIL_COLUMNS))}
    if column["id"] is None:
        raise SourceError(f"the roster {path} has no student id column (columns: "
                          f"{', '.join(rows[0]) or 'none'}); name it one of {', '.join(ID_COLUMNS)}")
    roster: dict[str, RosterEntry] = {}
    first_line: dict[str, int] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        cell = (lambda kind: row[column[kind]].strip() or None
                if column[kind] is not None and column[kind] < len(row) else None)
        student_id = cell("id")
        if student_id is None:
            raise SourceError(f"the roster {path}, line {line}: no student id; fill it in or "
                              "delete the line")
        if student_id in roster:
            raise SourceError(f"the roster {path} lists student {student_id!r} twice (lines "
                              f"{first_line[student_id]} and {line}); keep one of them")
        roster[student_id] = RosterEntry(student_id, cell("name"), cell("email"))
        first_line[student_id] = line
    return roster

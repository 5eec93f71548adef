"""Exporting the gradebook: final grades as CSV (one row per student), or everything as JSON."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from typing import Any

from autograder.gradebook.store import Gradebook, now

EXPORT_FORMAT_VERSION = 1


def export_csv(book: Gradebook) -> str:
    """``student_id,name,email,<assignment>...``: final grades, blank where there is none."""
    assignments = [a.id for a in book.assignments()]
    finals = {(g.student_id, g.assignment_id): g.final_score for g in book.final_grades()}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["student_id", "name", "email", *assignments])
    for student in book.students():
        cells = [finals.get((student.id, a)) for a in assignments]
        writer.writerow([student.id, student.name or "", student.email or "",
                         *("" if c is None else f"{c:g}" for c in cells)])
    return out.getvalue()


def export_json(book: Gradebook) -> str:
    """Everything: the final grades with their detail, and every table's rows."""
    tables = {name: book.table(name) for name in
              ("students", "assignments", "runs", "submissions", "results", "adjustments",
               "lms_pushes")}
    for row in tables["results"]:
        row["document"] = json.loads(row["document"]) if row["document"] else None
    for row in tables["runs"]:
        for key in ("environment", "options", "sandbox_layers"):
            row[key] = json.loads(row[key]) if row[key] else None
    for row in tables["assignments"]:
        row["late_policy"] = json.loads(row["late_policy"]) if row["late_policy"] else None
    document: dict[str, Any] = {
        "format": "autograder-gradebook", "format_version": EXPORT_FORMAT_VERSION,
        "exported_at": now(), "gradebook": str(book.path),
        "final_grades": [dataclasses.asdict(g) for g in book.final_grades()],
        "tables": tables,
    }
    return json.dumps(document, indent=2, allow_nan=False) + "\n"


EXPORTERS = {"csv": export_csv, "json": export_json}

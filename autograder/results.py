"""Results documents: building them, validating them, and showing them to a person."""

from __future__ import annotations

import importlib.metadata
import json
import platform
from pathlib import Path
from typing import Any

from autograder import __version__
from autograder.schema import validate


def _version(distribution: str) -> str | None:
    # Read from metadata: importing torch just to print its version costs seconds.
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def environment(device: str = "cpu") -> dict[str, Any]:
    return {
        "device": device,
        "python": platform.python_version(),
        "numpy": _version("numpy") or "unknown",
        "torch": _version("torch"),
        "platform": f"{platform.system()}-{platform.release()}-{platform.machine()}",
        "autograder": __version__,
    }


def build_result(*, assignment, submission: Path, digest: str, cases: list[dict],
                 started_at: str, seconds: float, public_only: bool, sandbox,
                 device: str = "cpu") -> dict[str, Any]:
    score = round(sum(c["score"] for c in cases), 6)
    max_score = round(sum(c["max_score"] for c in cases), 6)
    passed = sum(c["status"] == "passed" for c in cases)
    summary = f"Score: {score:g}/{max_score:g} ({passed} of {len(cases)} tests passed)."
    if public_only:
        summary += " Public tests only: hidden tests run when you submit."
    return {
        "schema_version": 1,
        "assignment": {"id": assignment.id, "version": assignment.version,
                       "title": assignment.title},
        "submission": {"path": str(submission), "sha256": digest},
        "score": score,
        "max_score": max_score,
        "execution_time": round(seconds, 6),
        "output": summary,
        "started_at": started_at,
        "public_only": public_only,
        "environment": environment(device),
        "sandbox": {"backend": sandbox.name, "layers": list(sandbox.layers())},
        "tests": cases,
    }


def validate_result(document: Any, *, source: str = "result") -> None:
    """Raise :class:`~autograder.errors.MetadataError` unless ``document`` is a valid result."""
    validate("result", document, source=source)


def load_result(path: Path) -> dict[str, Any]:
    from autograder.errors import MetadataError

    try:
        document = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError) as exc:
        raise MetadataError(str(path), f"cannot read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise MetadataError(str(path), f"not valid JSON: {exc}") from None
    validate_result(document, source=str(path))
    return document


def render_table(result: dict[str, Any], *, width: int = 100) -> str:
    """A plain-text table a student reads in a terminal: test, points, status, message."""
    rows = [("test", "points", "status", "message")]
    for test in result["tests"]:
        points = f"{test['score']:g}/{test['max_score']:g}"
        status = "PASS" if test["status"] == "passed" else "FAIL"
        message = test["output"].splitlines()[0] if test["output"] else ""
        if test["visibility"] == "hidden":
            status += " (hidden)"
        rows.append((test["name"], points, status, message))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    room = max(20, width - sum(widths) - 6)
    lines = []
    for row in rows:
        message = row[3] if len(row[3]) <= room else row[3][:room - 3] + "..."
        lines.append(f"{row[0]:<{widths[0]}}  {row[1]:>{widths[1]}}  {row[2]:<{widths[2]}}  "
                     f"{message}".rstrip())
    lines.insert(1, "-" * min(width, max(len(line) for line in lines)))
    # The table shows a first line cut to fit; a failure's full text follows it.
    details = [f"\n[{t['name']}]\n{t['output']}" for t in result["tests"]
               if t["status"] == "failed" and ("\n" in t["output"] or len(t["output"]) > room)]
    lines.extend(details)
    lines.append("")
    lines.append(result["output"])
    return "\n".join(lines)


def dump(result: dict[str, Any]) -> str:
    return json.dumps(result, indent=2, allow_nan=False) + "\n"


__all__ = ["build_result", "dump", "environment", "load_result", "render_table",
           "validate_result"]

"""JUnit XML from results documents: what GitLab, Jenkins and GitHub test reporters read.

The common subset only: ``testsuites > testsuite > testcase`` with at most a
``failure`` each. Points go in testsuite-level ``properties`` and in
``system-out``, never in per-testcase properties (Jenkins's junit-10 schema
rejects those). GitLab takes the suite column from ``testcase/@classname``,
so that carries the assignment, and the submission when there are several.
"""

from __future__ import annotations

import datetime as _dt
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# XML 1.0 cannot hold these at all, even escaped; student output may contain them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _clean(text: Any) -> str:
    return _NOT_XML.sub("\N{REPLACEMENT CHARACTER}", str(text))


def _seconds(value: float) -> str:
    return f"{float(value):.6f}"


def _timestamp(started_at: str) -> str:
    # junit-10 wants a timestamp without a zone: write it in UTC.
    moment = _dt.datetime.fromisoformat(started_at)
    if moment.tzinfo is not None:
        moment = moment.astimezone(_dt.timezone.utc).replace(tzinfo=None)
    return moment.isoformat(timespec="seconds")


def _suite(result: dict[str, Any], label: str) -> ET.Element:
    tests = result["tests"]
    failures = sum(t["status"] != "passed" for t in tests)
    suite = ET.Element("testsuite", {
        "name": _clean(label), "tests": str(len(tests)), "failures": str(failures),
        "errors": "0", "skipped": "0", "time": _seconds(result["execution_time"]),
        "timestamp": _timestamp(result["started_at"]),
    })
    properties = ET.SubElement(suite, "properties")
    for name, value in (("points_earned", f"{result['score']:g}"),
                        ("points_possible", f"{result['max_score']:g}"),
                        ("assignment_version", result["assignment"]["version"]),
                        ("submission_sha256", result["submission"]["sha256"]),
                        ("public_only", str(result["public_only"]).lower())):
        ET.SubElement(properties, "property", {"name": name, "value": _clean(value)})
    for test in tests:
        part = "public" if test["visibility"] == "visible" else "hidden"
        case = ET.SubElement(suite, "testcase", {
            "classname": _clean(f"{label}.{part}"), "name": _clean(test["name"]),
            "time": _seconds(test.get("execution_time", 0.0)),
        })
        if test["status"] != "passed":
            first = test["output"].splitlines()[0] if test["output"] else "failed"
            failure = ET.SubElement(case, "failure", {
                "message": _clean(f"{test['score']:g}/{test['max_score']:g} points: {first}"),
                "type": "AssertionError"})
            failure.text = _clean(test["output"])
    ET.SubElement(suite, "system-out").text = _clean(result["output"])
    return suite


def to_junit(results: Sequence[dict[str, Any]]) -> str:
    """One ``testsuite`` per results document, one ``testcase`` per test."""
    several = len(results) > 1
    root = ET.Element("testsuites", {"name": "autograder"})
    for result in results:
        label = result["assignment"]["id"]
        if several:
            label += "." + Path(result["submission"]["path"]).stem
        root.append(_suite(result, label))
    suites = list(root)
    root.set("tests", str(sum(int(s.get("tests")) for s in suites)))
    root.set("failures", str(sum(int(s.get("failures")) for s in suites)))
    root.set("errors", "0")
    root.set("time", _seconds(sum(float(s.get("time")) for s in suites)))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write(results: Sequence[dict[str, Any]]) -> str:
    return to_junit(results)


__all__ = ["to_junit"]

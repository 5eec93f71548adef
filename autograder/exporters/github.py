"""GitHub Actions and GitHub Classroom: notices, a step summary, and the runner result.

GitHub Classroom's grading reporter reports a grade as two notice annotations,
``Points X/Y`` titled "Autograding complete" and ``{"totalPoints":X,"maxPoints":Y}``
titled "Autograding report"; :func:`notices` prints the same two lines, so a
workflow needs no other step. For workflows that use the official reporter,
:func:`publish` also writes ``result=<base64 JSON>`` (the command grader's
version-1 runner format) to ``$GITHUB_OUTPUT``.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def workflow_command(command: str, message: str, **properties: str) -> str:
    """``::command key=value,...::message`` with GitHub's escaping."""
    props = ",".join(f"{k}={_escape_property(v)}" for k, v in properties.items())
    return f"::{command}{' ' + props if props else ''}::{_escape_data(message)}"


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else round(float(value), 4)


def notices(result: dict[str, Any]) -> list[str]:
    """The two notices GitHub Classroom reads a grade from."""
    score, most = _number(result["score"]), _number(result["max_score"])
    report = json.dumps({"totalPoints": score, "maxPoints": most}, separators=(",", ":"))
    return [workflow_command("notice", f"Points {score}/{most}", title="Autograding complete"),
            workflow_command("notice", report, title="Autograding report")]


def runner_result(result: dict[str, Any]) -> dict[str, Any]:
    """The command grader's runner result (version 1) for ``autograding-grading-reporter``."""
    tests = [{"name": t["name"],
              # "pass" only with full marks: the reporter's table counts passes, not points.
              "status": "pass" if t["status"] == "passed" else "fail",
              "score": _number(t["score"]), "message": t["output"],
              "duration": _number(t.get("execution_time", 0.0))}
             for t in result["tests"]]
    failed = any(t["status"] == "fail" for t in tests)
    return {"version": 1, "status": "fail" if failed else "pass",
            "max_score": _number(result["max_score"]), "tests": tests}


def step_summary(result: dict[str, Any]) -> str:
    """Markdown for ``$GITHUB_STEP_SUMMARY``: the score, a table of tests, failed outputs."""
    assignment = result["assignment"]
    lines = [f"## {assignment['title']} ({assignment['id']} {assignment['version']})", "",
             f"**{_number(result['score'])}/{_number(result['max_score'])} points.** "
             f"{result['output']}", "",
             "| test | points | status |", "| --- | ---: | --- |"]
    for test in result["tests"]:
        status = "passed" if test["status"] == "passed" else "**failed**"
        if test["visibility"] == "hidden":
            status += " (hidden)"
        lines.append(f"| `{test['name']}` | {_number(test['score'])}/"
                     f"{_number(test['max_score'])} | {status} |")
    failed = [t for t in result["tests"] if t["status"] != "passed" and t["output"]]
    for test in failed:
        body = test["output"].replace("```", "` ` `")
        lines += ["", f"<details><summary>{test['name']}</summary>", "", "```text", body,
                  "```", "", "</details>"]
    return "\n".join(lines) + "\n"


def publish(result: dict[str, Any], *, environ: Mapping[str, str] | None = None,
            echo: Callable[[str], None] = print) -> None:
    """Print the notices; append the summary and the runner result where GitHub asks.

    ``$GITHUB_STEP_SUMMARY`` and ``$GITHUB_OUTPUT`` are written only when set.
    """
    environ = os.environ if environ is None else environ
    for line in notices(result):
        echo(line)
    summary = environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with Path(summary).open("a", encoding="utf-8") as handle:
            handle.write(step_summary(result))
    output = environ.get("GITHUB_OUTPUT")
    if output:
        encoded = base64.b64encode(json.dumps(runner_result(result)).encode()).decode()
        with Path(output).open("a", encoding="utf-8") as handle:
            handle.write(f"result={encoded}\n")


__all__ = ["notices", "publish", "runner_result", "step_summary", "workflow_command"]

"""Gradescope: our results document as Gradescope's ``results.json``, and the zip that writes it.

Our results already use Gradescope's field names (``score``, ``max_score``,
``status``, ``output``, ``visibility``); this module keeps the fields
Gradescope documents, maps our ``hidden`` visibility to Gradescope's
(``after_due_date`` by default) and sets the top-level visibilities.
``results.schema.json`` beside this file is that specification as a JSON
Schema; :func:`validate_results` holds every document written to it.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

from autograder.errors import MetadataError

VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")
DEFAULT_HIDDEN_VISIBILITY = "after_due_date"


@functools.cache
def results_schema() -> dict[str, Any]:
    return json.loads(resources.files(__name__).joinpath("results.schema.json").read_text())


def validate_results(document: Any, *, source: str = "results.json") -> None:
    """Raise :class:`~autograder.errors.MetadataError` unless ``document`` follows the spec."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(results_schema())
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        pointer = "/" + "/".join(str(p) for p in errors[0].absolute_path)
        raise MetadataError(source, f"not a Gradescope results.json: {errors[0].message}",
                            pointer)


def check_visibility(hidden_visibility: str) -> None:
    """Raise :class:`~autograder.errors.MetadataError` unless it is one of :data:`VISIBILITIES`."""
    if hidden_visibility not in VISIBILITIES:
        raise MetadataError("hidden visibility", f"{hidden_visibility!r} is not one of "
                                                 f"{', '.join(VISIBILITIES)}")


def to_gradescope(result: dict[str, Any], *,
                  hidden_visibility: str = DEFAULT_HIDDEN_VISIBILITY,
                  execution_time: float | None = None) -> dict[str, Any]:
    """Gradescope's ``results.json`` for one of our results documents.

    :param hidden_visibility: what Gradescope shows of our hidden tests, and when.
    :param execution_time: the whole run's seconds, when more than grading alone.
    """
    check_visibility(hidden_visibility)
    tests = []
    for test in result["tests"]:
        tests.append({
            "name": test["name"],
            "score": test["score"],
            "max_score": test["max_score"],
            "status": test["status"],
            "visibility": "visible" if test["visibility"] == "visible" else hidden_visibility,
            "output": test["output"],
        })
    document = {
        "score": result["score"],
        "execution_time": round(float(execution_time if execution_time is not None
                                      else result["execution_time"]), 3),
        "output": result["output"],
        "output_format": "text",
        "test_output_format": "text",
        "visibility": "visible",
        # Gradescope shows stdout to students only when asked; ours holds grader detail.
        "stdout_visibility": "hidden",
        "extra_data": {"assignment": dict(result["assignment"]),
                       "submission_sha256": result["submission"]["sha256"],
                       "max_score": result["max_score"]},
        "tests": tests,
    }
    validate_results(document, source="the Gradescope results just computed")
    return document


def failure_results(message: str, *, execution_time: float = 0.0) -> dict[str, Any]:
    """A results.json for a run that could not grade: zero points and the reason, visibly."""
    document = {"score": 0.0, "execution_time": round(float(execution_time), 3),
                "output": message, "output_format": "text", "visibility": "visible",
                "stdout_visibility": "hidden", "tests": []}
    validate_results(document, source="the Gradescope failure results")
    return document


def write(results: list[dict[str, Any]], *,
          hidden_visibility: str = DEFAULT_HIDDEN_VISIBILITY) -> str:
    """The ``gradescope`` exporter: one results document to ``results.json`` text."""
    if len(results) != 1:
        raise MetadataError("gradescope export", f"takes exactly one results file, got "
                                                 f"{len(results)}")
    return json.dumps(to_gradescope(results[0], hidden_visibility=hidden_visibility),
                      indent=2) + "\n"


__all__ = ["DEFAULT_HIDDEN_VISIBILITY", "VISIBILITIES", "check_visibility", "failure_results",
           "results_schema", "to_gradescope", "validate_results"]

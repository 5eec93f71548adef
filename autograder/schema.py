"""Loading and applying the JSON Schemas shipped in ``autograder/schemas``."""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

from autograder.errors import MetadataError, SchemaVersionError

CURRENT = {"assignment": 1, "result": 1}


@functools.cache
def load_schema(kind: str, version: int) -> dict:
    text = resources.files("autograder.schemas").joinpath(f"{kind}.v{version}.json").read_text()
    return json.loads(text)


def validate(kind: str, document: Any, *, source: str) -> None:
    """Validate ``document`` against the current ``kind`` schema or raise MetadataError.

    The error names the file, the JSON pointer of the offending part and the
    schema's complaint; a ``schema_version`` newer than this engine knows is
    reported as such rather than as a pile of unknown fields.
    """
    import jsonschema

    if not isinstance(document, dict):
        raise MetadataError(source, f"expected a {kind} object, got {type(document).__name__}")
    version = document.get("schema_version")
    if isinstance(version, int) and version > CURRENT[kind]:
        raise SchemaVersionError(
            source, f"schema_version {version} is newer than this autograder understands "
                    f"({CURRENT[kind]}); upgrade autograder")
    validator = jsonschema.Draft202012Validator(
        load_schema(kind, CURRENT[kind]), format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        pointer = "/" + "/".join(str(p) for p in first.absolute_path)
        more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
        raise MetadataError(source, first.message + more, pointer)

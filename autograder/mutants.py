"""Mutants: the reference with one known mistake each, described in ``mutants.toml``.

Each mutant is a text patch (``old`` -> ``new``, applied exactly once) to the
reference source, so it is a complete submission that can be graded like any
other. ``autograder selftest`` checks that each loses points on the tests it
``catches``; when a student's failing value matches a mutant's value at the
same check, the feedback names the mutant's ``hint`` as the likely mistake.
"""

from __future__ import annotations

import tomllib
import types
from dataclasses import dataclass, field
from pathlib import Path

from autograder.errors import GraderError, MetadataError

MUTANTS_FILE = "mutants.toml"


@dataclass(frozen=True)
class Mutant:
    name: str
    hint: str
    old: str
    new: str
    catches: tuple[str, ...] = field(default_factory=tuple)


def load_mutants(folder: Path) -> list[Mutant]:
    path = Path(folder) / MUTANTS_FILE
    if not path.exists():
        return []
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise MetadataError(str(path), f"not valid TOML: {exc}") from None
    mutants = []
    for index, entry in enumerate(data.get("mutant", [])):
        missing = {"name", "hint", "old", "new", "catches"} - set(entry)
        if missing:
            raise MetadataError(str(path), f"mutant {index} lacks {sorted(missing)}",
                                f"/mutant/{index}")
        mutants.append(Mutant(entry["name"], entry["hint"], entry["old"], entry["new"],
                              tuple(entry["catches"])))
    return mutants


def mutant_source(reference_source: str, mutant: Mutant) -> str:
    count = reference_source.count(mutant.old)
    if count != 1:
        raise GraderError(f"mutant {mutant.name!r}: its 'old' text occurs {count} times in the "
                          "reference; it must occur exactly once")
    return reference_source.replace(mutant.old, mutant.new)


def mutant_module(reference_path: Path, mutant: Mutant) -> types.ModuleType:
    """The mutant as a module in this process (trusted: it is our own patched code)."""
    source = mutant_source(Path(reference_path).read_text(), mutant)
    module = types.ModuleType(f"autograder_mutant_{mutant.name}")
    module.__file__ = f"<mutant {mutant.name}>"
    exec(compile(source, module.__file__, "exec"), module.__dict__)  # noqa: S102
    return module

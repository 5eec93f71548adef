"""An assignment as the engine sees it: validated metadata plus lazily loaded parts."""

from __future__ import annotations

import importlib
import importlib.util
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from autograder.errors import GraderError, MetadataError
from autograder.sandbox.session import Limits
from autograder.schema import validate
from autograder.testing import Case

PUBLIC_TESTS = "public_tests.py"
HIDDEN_TESTS = "hidden_tests.py"
REQUIRED_FILES = ("assignment.toml", "stub.py", "handout.md", PUBLIC_TESTS)


@dataclass
class Assignment:
    """One registered assignment. Tests and reference are imported only when needed."""

    id: str
    title: str
    version: str
    functions: list[str]
    points: dict[str, float]
    limits: Limits
    folder: Path
    forbidden_modules: list[str] = field(default_factory=list)
    reference: str | None = None
    uses_torch: bool = False
    plugin: str = ""
    metadata: dict = field(default_factory=dict)

    @property
    def stub_path(self) -> Path:
        return self.folder / "stub.py"

    @property
    def handout_path(self) -> Path:
        return self.folder / "handout.md"

    @property
    def has_hidden_tests(self) -> bool:
        return (self.folder / HIDDEN_TESTS).exists()

    def cases(self, *, public_only: bool = False) -> list[Case]:
        """Public tests, then hidden ones, each with its points and visibility."""
        found = _load_cases(self, PUBLIC_TESTS, "visible")
        if not public_only and self.has_hidden_tests:
            found += _load_cases(self, HIDDEN_TESTS, "hidden")
        names = [c.name for c in found]
        duplicated = {n for n in names if names.count(n) > 1}
        if duplicated:
            raise GraderError(f"assignment {self.id!r}: tests defined twice: {sorted(duplicated)}")
        if not public_only:
            missing = sorted(set(self.points) - set(names))
            unscored = sorted(set(names) - set(self.points))
            if missing or unscored:
                raise GraderError(
                    f"assignment {self.id!r}: [points] and the tests disagree; "
                    f"points for missing tests: {missing}; tests without points: {unscored}")
        for item in found:
            if item.name not in self.points:
                raise GraderError(f"assignment {self.id!r}: test {item.name} has no points")
            item.points = float(self.points[item.name])
        return found

    def reference_module(self) -> ModuleType:
        if not self.reference:
            raise GraderError(f"assignment {self.id!r} has no reference implementation here; "
                              "grade with the full assignment, not a student kit")
        return importlib.import_module(self.reference)

    def reference_path(self) -> Path:
        spec = importlib.util.find_spec(self.reference) if self.reference else None
        if spec is None or spec.origin is None:
            raise GraderError(f"assignment {self.id!r}: reference {self.reference!r} not found")
        return Path(spec.origin)


def _load_cases(assignment: Assignment, filename: str, visibility: str) -> list[Case]:
    path = assignment.folder / filename
    module_name = f"autograder_cases.{assignment.id}.{path.stem}"
    module = sys.modules.get(module_name)
    if module is None or getattr(module, "__file__", None) != str(path):
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            raise GraderError(f"assignment {assignment.id!r}: cannot load {path}: "
                              f"{type(exc).__name__}: {exc}") from exc
        sys.modules[module_name] = module
    found = [v for v in vars(module).values() if isinstance(v, Case)]
    for item in found:
        item.visibility = visibility
    return found


def load_assignment(folder: Path, *, plugin: str = "") -> Assignment:
    """Read and validate ``folder/assignment.toml``; check the folder's required files."""
    folder = Path(folder).resolve()
    toml_path = folder / "assignment.toml"
    for name in REQUIRED_FILES:
        if not (folder / name).is_file():
            raise MetadataError(str(folder), f"missing {name}; an assignment folder needs "
                                             f"{', '.join(REQUIRED_FILES)}")
    try:
        data = tomllib.loads(toml_path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise MetadataError(str(toml_path), f"not valid TOML: {exc}") from None
    validate("assignment", data, source=str(toml_path))
    total = sum(data["points"].values())
    if abs(total - 100) > 1e-9:
        raise MetadataError(str(toml_path), f"points add up to {total:g}; they must add up to 100",
                            "/points")
    limits = Limits(**data["limits"])
    return Assignment(
        id=data["id"], title=data["title"], version=data["version"], functions=data["functions"],
        points=dict(data["points"]), limits=limits, folder=folder,
        forbidden_modules=list(data.get("forbidden_modules", [])),
        reference=data.get("reference"), uses_torch=bool(data.get("uses_torch", False)),
        plugin=plugin, metadata=data)

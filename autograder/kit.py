"""Student kits: what a student gets, and grading from it without the reference.

``build_kit`` copies the stub, the handout and the public tests, and runs the
public tests once against the reference to record every value they ask
``ref`` for. A kit holds no reference code, no hidden test and no mutant:
in it, ``ref`` is a :class:`Replay` that answers each ``ref.fn(...)`` call
with the value recorded for the same function and arguments.

Calls are keyed by a sha256 of the canonical wire encoding
(:func:`autograder.transport.encode`) of the function name and arguments.
A test that computes its inputs may get them a few ulps apart on another
machine's BLAS, so a miss falls back to a recorded call of the same function
whose arguments are numerically within 1e-9; only then is it a failed check.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from autograder import __version__, transport
from autograder.assignment import PUBLIC_TESTS, Assignment
from autograder.compare import CheckFailure
from autograder.errors import AutograderError, GraderError, MetadataError

KIT_FILE = "kit.json"
EXPECTED_FILE = "expected.json"
ENGINE_FOLDER = "engine"
KIT_FORMAT = 1
# The fixed set of files a kit holds: nothing else is ever copied into one.
SHIPPED = ("stub.py", "handout.md", PUBLIC_TESTS)
_TAG = "\u0000autograder-kit"
_CLOSE = {"rtol": 1e-9, "atol": 1e-12}


# --- turning reference values into wire values and back ----------------------------------------

def _to_wire(value: Any, *, canonical: bool = False) -> Any:
    """Wire-encodable form of ``value``; tensors and NumPy scalars are tagged to come back as such.

    With ``canonical``, dict keys are sorted and values the wire cannot carry
    (a callable passed to the reference) become a placeholder naming their type.
    """
    if isinstance(value, np.generic):
        return {_TAG: "scalar", "value": np.asarray(value)}
    if isinstance(value, np.ndarray):
        return value
    if type(value).__module__.startswith("torch") and hasattr(value, "detach"):
        array = value.detach().to("cpu")
        dtype = str(array.dtype)
        if dtype == "torch.bfloat16":
            array = array.float()
        return {_TAG: "torch", "value": array.numpy().copy(), "dtype": dtype}
    if isinstance(value, tuple) and type(value) is not tuple:
        value = tuple(value)  # namedtuple, torch.Size
    if isinstance(value, (list, tuple)):
        return type(value)(_to_wire(v, canonical=canonical) for v in value)
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda kv: str(kv[0])) if canonical else value.items()
        return {_check_key(k): _to_wire(v, canonical=canonical) for k, v in items}
    if value is None or isinstance(value, (bool, int, float, str, transport.Handle,
                                           transport.FunctionSpec)):
        return value
    if canonical:
        return {_TAG: "opaque", "type": f"{type(value).__module__}.{type(value).__qualname__}"}
    raise transport.WireError(f"a value of type {type(value).__name__} cannot be recorded")


def _check_key(key: Any) -> str:
    if not isinstance(key, str):
        raise transport.WireError(f"a dict with a {type(key).__name__} key cannot be recorded")
    return key


def _from_wire(value: Any) -> Any:
    if isinstance(value, dict):
        if value.get(_TAG) == "scalar":
            return value["value"][()]
        if value.get(_TAG) == "torch":
            import torch

            tensor = torch.from_numpy(value["value"])
            return tensor.to(getattr(torch, value["dtype"].removeprefix("torch.")))
        return {k: _from_wire(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_from_wire(v) for v in value)
    return value


def _pack(value: Any) -> str:
    return base64.b64encode(transport.encode(value)[4:]).decode("ascii")


def _unpack(text: str) -> Any:
    return transport.decode(base64.b64decode(text), allow_functions=True)


def call_key(function: str, args: tuple, kwargs: dict) -> tuple[str, Any]:
    """The canonical arguments of a call and their sha256 over the wire encoding."""
    wire = _to_wire((function, tuple(args), dict(kwargs)), canonical=True)
    return hashlib.sha256(transport.encode(wire)).hexdigest(), wire


# --- recording at build time, replaying in the kit ---------------------------------------------

@dataclass
class _Call:
    test: str
    function: str
    key: str
    args: str
    value: str


class Recorder:
    """Stands for ``ref`` while the public tests run at build time; notes every answer."""

    def __init__(self, reference: Any) -> None:
        self._reference = reference
        self.test = ""
        self.calls: list[_Call] = []
        self.attributes: dict[str, str] = {}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        target = getattr(self._reference, name)
        if not callable(target):
            self.attributes[name] = self._encode(name, target)
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            key, wire_args = call_key(name, args, kwargs)
            value = target(*args, **kwargs)
            # The call may have written into its arguments: a replay could not do that.
            if call_key(name, args, kwargs)[0] != key:
                raise GraderError(f"public test {self.test}: ref.{name}() changed its "
                                  "arguments in place; a student kit cannot replay that. "
                                  "Pass copies to the reference in public tests.")
            self.calls.append(_Call(self.test, name, key, _pack(wire_args),
                                    self._encode(f"ref.{name}()", value)))
            return value

        call.__name__ = name
        return call

    def _encode(self, what: str, value: Any) -> str:
        try:
            return _pack(_to_wire(value))
        except transport.WireError as exc:
            raise GraderError(f"public test {self.test}: {what} gave a value a student kit "
                              f"cannot record ({exc}); return arrays, numbers, strings, lists, "
                              "tuples or str-keyed dicts") from None


class Replay:
    """``ref`` in a student kit: recorded answers, looked up by function and arguments."""

    def __init__(self, calls: list[dict], attributes: dict[str, str], *,
                 versions: dict[str, str] | None = None) -> None:
        self._by_key: dict[str, list[str]] = defaultdict(list)
        self._by_function: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for entry in calls:
            self._by_key[entry["key"]].append(entry["value"])
            self._by_function[entry["function"]].append((entry["args"], entry["value"]))
        self._attributes = attributes
        self._served: dict[str, int] = defaultdict(int)
        self._versions = versions or {}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name in self._attributes:
            return _from_wire(_unpack(self._attributes[name]))
        if name not in self._by_function:
            raise AttributeError(f"the student kit recorded no value of ref.{name}")

        def call(*args: Any, **kwargs: Any) -> Any:
            key, wire_args = call_key(name, args, kwargs)
            values = self._by_key.get(key) or self._close_values(name, wire_args)
            if not values:
                raise CheckFailure(self._miss_message(name), f"ref.{name}")
            # Calls with the same key but different answers (a callable argument) are
            # answered in the order they were recorded.
            index = self._served[key] % len(values)
            self._served[key] += 1
            return _from_wire(_unpack(values[index]))

        call.__name__ = name
        return call

    def _close_values(self, name: str, wire_args: Any) -> list[str]:
        return [value for args, value in self._by_function[name]
                if _close(_unpack(args), wire_args)][:1]

    def _miss_message(self, name: str) -> str:
        message = (f"this student kit has no recorded value of the reference's {name}() for "
                   "these arguments: they depend on values your code returned, which differ "
                   "from the reference's.")
        here = {"numpy": np.__version__}
        changed = [f"{k} {v} (the kit was built with {self._versions[k]})"
                   for k, v in here.items() if self._versions.get(k) not in (None, v)]
        if changed:
            message += f" Note: you run {', '.join(changed)}."
        return message + " This test is checked in full when you submit."


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
            return False
        if a.shape != b.shape or a.dtype.kind != b.dtype.kind:
            return False
        if a.dtype.kind in "fc":
            return bool(np.allclose(a, b, equal_nan=True, **_CLOSE))
        return bool(np.array_equal(a, b))
    if isinstance(a, float) and isinstance(b, float):
        return bool(np.isclose(a, b, equal_nan=True, **_CLOSE))
    if isinstance(a, (list, tuple)):
        return (type(a) is type(b) and len(a) == len(b)
                and all(_close(x, y) for x, y in zip(a, b)))
    if isinstance(a, dict):
        return (isinstance(b, dict) and list(a) == list(b)
                and all(_close(a[k], b[k]) for k in a))
    return type(a) is type(b) and a == b


# --- the kit on disk ---------------------------------------------------------------------------

@dataclass
class KitAssignment(Assignment):
    """An assignment loaded from a student kit: public tests, replayed reference."""

    kit: dict = field(default_factory=dict)

    def cases(self, *, public_only: bool = False):
        return super().cases(public_only=True)

    def reference_module(self) -> Replay:
        path = self.folder / EXPECTED_FILE
        data = _read_json(path)
        try:
            return Replay(data["calls"], data["attributes"], versions=self.kit.get("built_with"))
        except (KeyError, TypeError):
            raise MetadataError(str(path), "not a student kit's recorded values; "
                                           "rebuild the kit with `autograder release`") from None

    def reference_path(self) -> Path:
        raise GraderError(f"{self.folder} is a student kit: it has no reference")


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise MetadataError(str(path), f"cannot read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise MetadataError(str(path), f"not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise MetadataError(str(path), "expected a JSON object")
    return data


def is_kit(path: str | Path) -> bool:
    """Whether ``path`` is a folder holding a student kit."""
    return Path(path).is_dir() and (Path(path) / KIT_FILE).is_file()


def load_kit(folder: str | Path) -> KitAssignment:
    """The assignment a kit folder holds, ready for :func:`autograder.grading.grade_submission`."""
    from autograder.sandbox.session import Limits

    folder = Path(folder).resolve()
    path = folder / KIT_FILE
    data = _read_json(path)
    if data.get("kit_format") != KIT_FORMAT:
        raise MetadataError(str(path), f"kit_format {data.get('kit_format')!r} is not one this "
                                       f"autograder reads ({KIT_FORMAT}); upgrade autograder or "
                                       "ask for a new kit")
    missing = [name for name in (*SHIPPED, EXPECTED_FILE) if not (folder / name).is_file()]
    if missing:
        raise MetadataError(str(folder), f"the student kit lacks {', '.join(missing)}; "
                                         "download it again")
    try:
        meta = data["assignment"]
        return KitAssignment(
            id=meta["id"], title=meta["title"], version=meta["version"],
            functions=list(meta["functions"]), points=dict(meta["points"]),
            limits=Limits(**meta["limits"]), folder=folder,
            forbidden_modules=list(meta["forbidden_modules"]), reference=None,
            uses_torch=bool(meta["uses_torch"]), plugin="student kit", metadata=meta, kit=data)
    except (KeyError, TypeError, AttributeError) as exc:
        raise MetadataError(str(path), f"not a complete student kit ({type(exc).__name__}: "
                                       f"{exc}); download it again") from None


def build_kit(*, assignment: Assignment, output: Path, make_zip: bool = False,
              force: bool = False, with_engine: bool = False) -> Path:
    """Write the student kit of ``assignment`` to the folder ``output`` (and ``output.zip``).

    With ``with_engine`` the kit also holds ``engine/``: the engine alone, as an
    installable folder, so that students need not install the package that
    carries the course's references and hidden tests.

    Runs the public tests against the reference to record the values they ask
    for, then once more against the recording, so that a kit that cannot
    answer its own tests is never written.
    """
    from autograder.grading import configure_reference
    from autograder.proxy import LocalSubmission

    output = Path(output)
    _check_folder(output, force)
    cases = assignment.cases(public_only=True)
    reference = assignment.reference_module()
    configure_reference(reference, "cpu")
    recorder = Recorder(reference)
    for item in cases:
        recorder.test = item.name
        _run_against_reference(item, LocalSubmission(reference), recorder, "the reference")
    expected = {"kit_format": KIT_FORMAT,
                "calls": [vars(call) for call in recorder.calls],
                "attributes": recorder.attributes}
    replay = Replay(expected["calls"], expected["attributes"])
    for item in cases:
        _run_against_reference(item, LocalSubmission(reference), replay, "its recorded values")

    # Only now, with the recording checked: a build that fails leaves the old kit as it was.
    if is_kit(output):
        shutil.rmtree(output)
    output.mkdir(parents=True, exist_ok=True)
    for name in SHIPPED:
        shutil.copyfile(assignment.folder / name, output / name)
    (output / EXPECTED_FILE).write_text(json.dumps(expected, indent=1) + "\n")
    meta = {key: assignment.metadata[key] for key in
            ("id", "title", "version", "functions", "limits")}
    meta.update(forbidden_modules=assignment.forbidden_modules,
                uses_torch=assignment.uses_torch,
                points={c.name: assignment.points[c.name] for c in cases})
    kit = {"kit_format": KIT_FORMAT, "assignment": meta,
           "built_with": {"autograder": __version__, "numpy": np.__version__},
           "note": "Public tests only: hidden tests run when you submit. Grade with "
                   f"`autograder grade {output.name} YOUR_FILE.py`."}
    (output / KIT_FILE).write_text(json.dumps(kit, indent=2) + "\n")
    if with_engine:
        from autograder.packaging import write_engine

        write_engine(output / ENGINE_FOLDER)
    if make_zip:
        write_zip(output, output.with_name(output.name + ".zip"), prefix=output.name)
    return output


def _run_against_reference(item, sub: Any, ref: Any, against: str) -> None:
    try:
        item(sub, ref)
    except CheckFailure as failure:
        raise GraderError(f"public test {item.name} fails with the reference as the submission "
                          f"and {against} as ref: {failure.message}") from None
    except AutograderError:
        raise
    except Exception as exc:  # noqa: BLE001 - a broken public test, reported by name
        raise GraderError(f"public test {item.name} crashed while building the kit: "
                          f"{type(exc).__name__}: {exc}") from exc


def _check_folder(output: Path, force: bool) -> None:
    if not output.exists() or (output.is_dir() and not any(output.iterdir())):
        return
    if not is_kit(output):
        raise AutograderError(f"{output} exists and is not a student kit; choose a new or "
                              "empty folder")
    if not force:
        raise AutograderError(f"{output} already holds a student kit; pass --force to "
                              "replace it")


def write_zip(folder: Path, target: Path, *, prefix: str = "") -> Path:
    """Zip ``folder`` with fixed timestamps and order, so the same input gives the same bytes."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
            name = str(path.relative_to(folder))
            info = zipfile.ZipInfo(f"{prefix}/{name}" if prefix else name,
                                   date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = (0o755 if path.stat().st_mode & 0o100 else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return target


__all__ = ["KitAssignment", "Recorder", "Replay", "build_kit", "call_key", "is_kit",
           "load_kit", "write_zip"]

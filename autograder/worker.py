"""The worker: the only process that imports and runs student code.

It is started by a sandbox backend with the submission's path and two pipe
descriptors. It imports the submission once, then answers call requests one
by one. It holds no expected value, no reference and no test: it receives
arguments and sends back return values through :mod:`autograder.transport`.

Everything this process does is under the student's control once their code
is imported, so nothing here is a security boundary: the grader decodes
what comes back strictly and compares it in its own process.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any

import numpy as np

from autograder import transport

# The grader's own packages stay out of reach of an import in student code.
_ALWAYS_FORBIDDEN = ("autograder.reference", "autograder.assignments")
MAX_REQUEST_BYTES = 1 << 30


class _ForbiddenImportFinder(importlib.abc.MetaPathFinder):
    def __init__(self, forbidden: list[str], assignment_forbidden: set[str]) -> None:
        self.forbidden = forbidden
        self.assignment_forbidden = assignment_forbidden

    def find_spec(self, fullname, path=None, target=None):
        for name in self.forbidden:
            if fullname == name or fullname.startswith(name + "."):
                why = ("is forbidden in this assignment" if name in self.assignment_forbidden
                       else "is part of the grader and cannot be imported by a submission")
                raise ImportError(f"module '{fullname}' {why}", name=fullname)
        return None


def _build_function(spec: transport.FunctionSpec):
    """Build a callback from the catalogue; the grader can only choose, never send code."""
    p = spec.params
    if spec.kind == "quadratic":
        # gradient of 1/2 w'Aw + b'w, on w of any shape (flattened)
        A, b = np.asarray(p["A"], float), np.asarray(p["b"], float).reshape(-1)

        def grad(w):
            w = np.asarray(w, dtype=float)
            return (A @ w.reshape(-1) + b).reshape(w.shape)
        return grad
    if spec.kind == "rosenbrock":
        a, b = float(p.get("a", 1.0)), float(p.get("b", 100.0))

        def grad(w):
            x, y = np.asarray(w, dtype=float).reshape(2)
            return np.array([-2 * (a - x) - 4 * b * x * (y - x * x), 2 * b * (y - x * x)])
        return grad
    raise ValueError(f"unknown function kind {spec.kind!r}")


_KEPT: dict[int, Any] = {}


def materialise(value: Any) -> Any:
    if isinstance(value, transport.FunctionSpec):
        return _build_function(value)
    if isinstance(value, transport.Handle):
        if value.ident not in _KEPT:
            raise ReturnTypeError("an opaque value from an earlier call is gone (the process "
                                  "running your code was restarted)")
        return _KEPT[value.ident]
    if isinstance(value, list):
        return [materialise(v) for v in value]
    if isinstance(value, tuple):
        return tuple(materialise(v) for v in value)
    if isinstance(value, dict):
        return {k: materialise(v) for k, v in value.items()}
    return value


class ReturnTypeError(Exception):
    pass


def to_plain(value: Any, where: str = "the return value") -> Any:
    """Turn a student's return value into wire types, refusing anything exotic.

    Exact types only: an object that merely claims to be an array (``__array__``,
    ``__float__``, an ndarray subclass with a lying ``__eq__``) is refused with
    a message rather than converted.
    """
    kind = type(value)
    if value is None or kind in (bool, int, float, str):
        return value
    if isinstance(value, np.generic) and kind.__module__ == "numpy":
        # A plain number travels inline; thousands of 0-d arrays would not.
        return value.item() if value.dtype.kind in "biuf" else np.asarray(value)
    if kind is np.ndarray:
        if value.dtype.kind not in "biufc":
            raise ReturnTypeError(f"{where} is an array of dtype {value.dtype}; "
                                  "expected numbers")
        return value
    torch = sys.modules.get("torch")
    if torch is not None and kind in (torch.Tensor, torch.nn.Parameter):
        tensor = value.detach().to("cpu")
        if tensor.dtype in (torch.bfloat16,):
            tensor = tensor.float()
        return tensor.numpy().copy()
    if kind is transport.Handle:
        return value
    if kind in (list, tuple):
        items = [to_plain(v, f"item {i} of {where}") for i, v in enumerate(value)]
        return items if kind is list else tuple(items)
    if kind is dict:
        out = {}
        for key, item in value.items():
            if type(key) is not str:
                raise ReturnTypeError(f"{where} is a dict with a non-string key {key!r}")
            out[key] = to_plain(item, f"{where}[{key!r}]")
        return out
    raise ReturnTypeError(
        f"{where} is an object of type {kind.__module__}.{kind.__qualname__}; expected a "
        "NumPy array, a torch tensor, a number, or a list/tuple/dict of those")


def _student_traceback(exc: BaseException, workdir: str) -> str:
    """The student's own frames only: the grader's frames are noise to them."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if f.filename.startswith(workdir)]
    for frame in frames:
        frame.filename = os.path.relpath(frame.filename, workdir)
    lines = traceback.format_list(frames)
    lines += traceback.format_exception_only(type(exc), exc)
    # A SyntaxError names its file itself: show it as the student named it, too.
    return "".join(lines).replace(workdir.rstrip("/") + "/", "")[-4000:]


def _exception_payload(exc: BaseException, workdir: str) -> dict:
    kind = type(exc)
    try:
        message = str(exc)[:2000]
    except Exception:  # noqa: BLE001 - a student's __str__ may raise anything
        message = "<exception message could not be read>"
    return {
        "ok": False, "kind": "exception", "type": kind.__name__,
        "mro": [f"{c.__module__}.{c.__qualname__}" for c in kind.__mro__],
        "message": message, "traceback": _student_traceback(exc, workdir),
    }


def _import_submission(path: Path):
    if path.is_dir():
        if (path / "__init__.py").exists():
            spec = importlib.util.spec_from_file_location(
                "submission", path / "__init__.py", submodule_search_locations=[str(path)])
        elif (path / "main.py").exists():
            sys.path.insert(0, str(path))
            spec = importlib.util.spec_from_file_location("submission", path / "main.py")
        else:
            raise ImportError("the submission folder has neither __init__.py nor main.py")
    else:
        spec = importlib.util.spec_from_file_location("submission", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path.name}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules["submission"] = module
    spec.loader.exec_module(module)
    return module


class _Channel:
    def __init__(self, read_fd: int, write_fd: int) -> None:
        self.read_fd, self.write_fd = read_fd, write_fd

    def _read_exact(self, n: int) -> bytes:
        chunks, remaining = [], n
        while remaining:
            chunk = os.read(self.read_fd, min(remaining, 1 << 20))
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)

    def receive(self) -> Any:
        return transport.decode(transport.read_frame(self._read_exact, MAX_REQUEST_BYTES),
                                allow_functions=True)

    def send(self, message: dict) -> None:
        try:
            data = transport.encode(message)
        except transport.WireError as exc:
            data = transport.encode({"ok": False, "kind": "return_type",
                                     "message": f"the return value cannot be graded: {exc}"})
        view = memoryview(data)
        while view:
            view = view[os.write(self.write_fd, view):]


def serve(submission: Path, read_fd: int, write_fd: int, forbidden: list[str]) -> None:
    """Import the submission, report readiness, then answer calls until EOF."""
    channel = _Channel(read_fd, write_fd)
    workdir = str(submission.parent if submission.is_file() else submission)
    blocked = [*forbidden, *_ALWAYS_FORBIDDEN]
    # A warm parent may have imported a forbidden module already: drop it, so that
    # the submission's import goes through the finder and is refused.
    for name in list(sys.modules):
        if any(name == b or name.startswith(b + ".") for b in blocked):
            del sys.modules[name]
    sys.meta_path.insert(0, _ForbiddenImportFinder(blocked, set(forbidden)))
    try:
        module = _import_submission(submission)
    except BaseException as exc:  # noqa: BLE001 - SystemExit at import is a student error too
        payload = _exception_payload(exc, workdir)
        payload["kind"] = "import"
        channel.send(payload)
        return
    finally:
        sys.stdout.flush()
    channel.send({"ok": True, "ready": True})
    while True:
        try:
            request = channel.receive()
        except EOFError:
            return
        channel.send(_answer(module, request, workdir))


def _keep_opaque(value: Any, positions, name: str) -> Any:
    """Keep the items at ``positions`` of a returned tuple here; send handles instead."""
    if not positions:
        return value
    if type(value) not in (tuple, list) or max(positions) >= len(value):
        raise ReturnTypeError(f"{name} should return a tuple of at least {max(positions) + 1} "
                              f"items; it returned {type(value).__name__}")
    items = list(value)
    for position in positions:
        ident = len(_KEPT) + 1
        _KEPT[ident] = items[position]
        items[position] = transport.Handle(ident)
    return tuple(items)


def _answer(module, request: dict, workdir: str) -> dict:
    name = request["fn"]
    seq = request["seq"]
    function = getattr(module, name, None)
    if not callable(function):
        return {"ok": False, "seq": seq, "kind": "missing",
                "message": f"the submission does not define a function {name}()"}
    try:
        args = materialise(request["args"])
        kwargs = materialise(request["kwargs"])
        value = function(*args, **kwargs)
        value = _keep_opaque(value, request.get("opaque", ()), name)
        plain = to_plain(value, f"the value returned by {name}")
    except ReturnTypeError as exc:
        return {"ok": False, "seq": seq, "kind": "return_type", "message": str(exc)}
    except SystemExit as exc:
        return {"ok": False, "seq": seq, "kind": "exit",
                "message": f"{name} called sys.exit({exc.code!r})"}
    except BaseException as exc:  # noqa: BLE001 - every student error becomes a result
        payload = _exception_payload(exc, workdir)
        payload["seq"] = seq
        return payload
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except Exception:  # noqa: BLE001
            pass
    return {"ok": True, "seq": seq, "value": plain}


def main() -> None:
    config = json.loads(sys.argv[1])
    serve(Path(config["submission"]), config["read_fd"], config["write_fd"],
          list(config["forbidden"]))


if __name__ == "__main__":
    main()

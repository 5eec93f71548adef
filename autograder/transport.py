"""The wire format between the grader and the worker that runs student code.

Nothing here ever unpickles. A message is one frame: a 4-byte length, then a
4-byte JSON-header length, the JSON header, and the raw bytes of the arrays it
refers to. Arrays travel as raw bytes with a dtype from an allow-list, so a
hostile worker can send wrong numbers but never code or objects.

This module imports only the standard library and NumPy because it is loaded
in the worker, next to student code.
"""

from __future__ import annotations

import json
import math
import struct
from typing import Any

import numpy as np

_LEN = struct.Struct(">I")
# Numeric dtypes only: no object, string, void or datetime arrays can come back.
_ALLOWED_DTYPES = {
    np.dtype(t).str
    for t in (
        "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
        "float16", "float32", "float64", "complex64", "complex128",
    )
}
MAX_DEPTH = 32
MAX_NODES = 200_000
MAX_ARRAYS = 65536
MAX_STR = 10_000
# Larger than any real axis; with a 0 elsewhere in the shape, 2**62 would pass the size check.
_MAX_DIM = 1 << 40


class WireError(ValueError):
    """A frame that is malformed, too large or uses a forbidden type."""


class FunctionSpec:
    """A callable that the worker builds itself from a plain description.

    Used where a student function takes a callback (``grad_fn``): the grader
    cannot send code, so it sends ``kind`` and array parameters and the worker
    builds the function from its own small catalogue.
    """

    def __init__(self, kind: str, **params: Any) -> None:
        self.kind = kind
        self.params = params

    def __repr__(self) -> str:
        return f"FunctionSpec({self.kind!r})"


class Handle:
    """A value the worker keeps (say, a student's opaque ``cache``); only its id travels."""

    def __init__(self, ident: int) -> None:
        self.ident = ident

    def __repr__(self) -> str:
        return f"Handle({self.ident})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Handle) and other.ident == self.ident

    def __hash__(self) -> int:
        return hash(("Handle", self.ident))


def encode(value: Any) -> bytes:
    """Encode ``value`` (plain numbers, strings, arrays, lists, tuples, str-keyed dicts)."""
    blobs: list[bytes] = []
    table: list[dict[str, Any]] = []
    tree = _encode_node(value, blobs, table, 0)
    header = json.dumps({"tree": tree, "arrays": table}, allow_nan=False).encode()
    body = _LEN.pack(len(header)) + header + b"".join(blobs)
    return _LEN.pack(len(body)) + body


def _encode_node(value: Any, blobs: list, table: list, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise WireError(f"value nested deeper than {MAX_DEPTH} levels")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return {"$int": str(value)}
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$float": repr(value)}
    if isinstance(value, np.generic):
        return _encode_node(np.asarray(value), blobs, table, depth)
    if isinstance(value, np.ndarray):
        # not ascontiguousarray: it turns a 0-d array (a scalar) into shape (1,)
        array = value if value.flags.c_contiguous else value.copy(order="C")
        if array.dtype.byteorder == ">":
            array = array.astype(array.dtype.newbyteorder("<"))
        if array.dtype.str not in _ALLOWED_DTYPES:
            raise WireError(f"arrays of dtype {array.dtype} cannot be sent")
        table.append({"dtype": array.dtype.str, "shape": list(array.shape)})
        blobs.append(array.tobytes())
        return {"$nd": len(table) - 1}
    if isinstance(value, (list, tuple)):
        key = "$list" if isinstance(value, list) else "$tuple"
        return {key: [_encode_node(v, blobs, table, depth + 1) for v in value]}
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise WireError("only dicts with string keys can be sent")
        return {"$dict": [[k, _encode_node(v, blobs, table, depth + 1)] for k, v in value.items()]}
    if isinstance(value, Handle):
        return {"$handle": int(value.ident)}
    if isinstance(value, FunctionSpec):
        return {"$fn": value.kind, "params": _encode_node(value.params, blobs, table, depth + 1)}
    raise WireError(f"values of type {type(value).__name__} cannot be sent")


def read_frame(read_exact, max_bytes: int) -> bytes:
    """Read one frame with ``read_exact(n)``; refuse frames over ``max_bytes``."""
    (length,) = _LEN.unpack(read_exact(_LEN.size))
    if length > max_bytes:
        raise WireError(f"message of {length} bytes is over the {max_bytes}-byte limit")
    return read_exact(length)


def decode(body: bytes, *, allow_functions: bool = False,
           max_elements: int | None = None) -> Any:
    """Decode a frame body produced by :func:`encode`, validating every part.

    :param max_elements: the most array elements the frame may hold in all; a
        bool array converted to float64 by the grader grows eightfold.
    """
    if len(body) < _LEN.size:
        raise WireError("truncated message")
    (header_len,) = _LEN.unpack_from(body)
    if header_len > len(body) - _LEN.size:
        raise WireError("header longer than the message")
    try:
        header = json.loads(body[_LEN.size:_LEN.size + header_len])
    except (ValueError, RecursionError) as exc:
        raise WireError(f"header is not valid JSON: {exc}") from None
    if not isinstance(header, dict) or set(header) != {"tree", "arrays"}:
        raise WireError("header must hold exactly 'tree' and 'arrays'")
    try:
        arrays = _decode_arrays(header["arrays"], memoryview(body)[_LEN.size + header_len:],
                                max_elements)
        # Each array once: a tree naming one array 150,000 times would decode a
        # 1 MB frame into a list that np.stack turns into gigabytes.
        return _decode_node(header["tree"], [[a] for a in arrays], 0, [0], allow_functions)
    except WireError:
        raise
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        raise WireError(f"malformed value ({type(exc).__name__}: {exc})") from None


def _decode_arrays(table: Any, data: memoryview, max_elements: int | None) -> list[np.ndarray]:
    if not isinstance(table, list) or len(table) > MAX_ARRAYS:
        raise WireError("bad array table")
    arrays, offset, elements = [], 0, 0
    for entry in table:
        if not isinstance(entry, dict) or set(entry) != {"dtype", "shape"}:
            raise WireError("bad array entry")
        dtype_str, shape = entry["dtype"], entry["shape"]
        if dtype_str not in _ALLOWED_DTYPES:
            raise WireError(f"dtype {dtype_str!r} is not allowed")
        if (not isinstance(shape, list) or len(shape) > 32
                or not all(type(n) is int and 0 <= n for n in shape)):
            raise WireError(f"bad array shape {shape!r}")
        dtype = np.dtype(dtype_str)
        size = math.prod(shape)
        nbytes = size * dtype.itemsize
        if offset + nbytes > len(data):
            raise WireError("array data shorter than its shape says")
        elements += size
        if max_elements is not None and elements > max_elements:
            raise WireError(f"arrays of more than {max_elements} numbers in all")
        if any(n > _MAX_DIM for n in shape):
            raise WireError(f"array dimension over {_MAX_DIM} in shape {shape!r}")
        chunk = data[offset:offset + nbytes]
        arrays.append(np.frombuffer(chunk, dtype=dtype).reshape(tuple(shape)).copy())
        offset += nbytes
    if offset != len(data):
        raise WireError("trailing bytes after the arrays")
    return arrays


def _decode_node(node: Any, arrays: list, depth: int, counter: list, allow_fn: bool) -> Any:
    counter[0] += 1
    if counter[0] > MAX_NODES or depth > MAX_DEPTH:
        raise WireError("value too large or too deeply nested")
    if node is None or isinstance(node, (bool, float)):
        return node
    if isinstance(node, str):
        if len(node) > MAX_STR:
            raise WireError("string too long")
        return node
    if not isinstance(node, dict) or len(node) not in (1, 2):
        raise WireError(f"unexpected node {type(node).__name__}")
    if "$int" in node and len(node) == 1:
        text = node["$int"]
        if not isinstance(text, str) or len(text) > 400:
            raise WireError("bad integer")
        return int(text)
    if "$float" in node and len(node) == 1:
        if node["$float"] not in ("nan", "inf", "-inf"):
            raise WireError("bad float")
        return float(node["$float"])
    if "$nd" in node and len(node) == 1:
        index = node["$nd"]
        if type(index) is not int or not 0 <= index < len(arrays):
            raise WireError("bad array reference")
        if not arrays[index]:
            raise WireError("an array referenced twice")
        return arrays[index].pop()
    if "$list" in node or "$tuple" in node:
        items = node.get("$list", node.get("$tuple"))
        if len(node) != 1 or not isinstance(items, list):
            raise WireError("bad sequence")
        decoded = [_decode_node(v, arrays, depth + 1, counter, allow_fn) for v in items]
        return decoded if "$list" in node else tuple(decoded)
    if "$dict" in node and len(node) == 1:
        out = {}
        for pair in node["$dict"] if isinstance(node["$dict"], list) else [None]:
            if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str)):
                raise WireError("bad dict entry")
            out[pair[0]] = _decode_node(pair[1], arrays, depth + 1, counter, allow_fn)
        return out
    if "$handle" in node and len(node) == 1:
        if type(node["$handle"]) is not int:
            raise WireError("bad handle")
        return Handle(node["$handle"])
    if "$fn" in node and allow_fn and set(node) == {"$fn", "params"}:
        params = _decode_node(node["params"], arrays, depth + 1, counter, allow_fn)
        return FunctionSpec(str(node["$fn"]), **params)
    raise WireError(f"unexpected node with keys {sorted(node)[:3]}")

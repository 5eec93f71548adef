import pickle
import struct

import numpy as np
import pytest

from autograder import transport
from autograder.transport import FunctionSpec, Handle, WireError


def roundtrip(value, **kwargs):
    return transport.decode(transport.encode(value)[4:], **kwargs)


def body(header: dict, data: bytes = b"") -> bytes:
    import json

    raw = json.dumps(header).encode()
    return struct.pack(">I", len(raw)) + raw + data


@pytest.mark.parametrize("value", [
    None, True, 3, -(2 ** 70), 2.5, "text", [1, 2.0], (1, (2, 3)), {"a": [1], "b": None},
])
def test_plain_values_roundtrip(value):
    assert roundtrip(value) == value


def test_nonfinite_floats_roundtrip():
    out = roundtrip([float("nan"), float("inf"), float("-inf")])
    assert np.isnan(out[0]) and out[1] == float("inf") and out[2] == float("-inf")


@pytest.mark.parametrize("array", [
    np.arange(6, dtype=np.float64).reshape(2, 3),
    np.asarray(5.0),
    np.zeros((0, 3)),
    np.array([True, False]),
    np.arange(4, dtype=np.int64)[::2],           # not contiguous
    np.arange(4, dtype=">i4"),                   # big-endian
    np.array([1 + 2j]),
])
def test_arrays_roundtrip_with_shape_and_values(array):
    out = roundtrip(array)
    assert out.shape == array.shape
    assert np.array_equal(out, array)
    assert out.flags.writeable


def test_scalar_stays_zero_dimensional():
    assert roundtrip(np.float64(2.0)) == 2.0
    assert roundtrip(np.asarray(2.0)).shape == ()


def test_object_arrays_are_refused_on_encode():
    with pytest.raises(WireError, match="dtype object"):
        transport.encode(np.array([object()]))


def test_unknown_types_are_refused_on_encode():
    with pytest.raises(WireError, match="type set"):
        transport.encode({1, 2})


def test_pickle_bytes_are_not_a_message():
    with pytest.raises(WireError):
        transport.decode(pickle.dumps({"ok": True}))


@pytest.mark.parametrize("header,data,match", [
    ({"tree": {"$nd": 0}, "arrays": [{"dtype": "|O", "shape": [1]}]}, b"\0" * 8, "not allowed"),
    ({"tree": {"$nd": 0}, "arrays": [{"dtype": "<f8", "shape": [4]}]}, b"\0" * 8, "shorter"),
    ({"tree": {"$nd": 0}, "arrays": [{"dtype": "<f8", "shape": [1]}]}, b"\0" * 16, "trailing"),
    ({"tree": {"$nd": 3}, "arrays": []}, b"", "bad array reference"),
    ({"tree": {"$nd": 0}, "arrays": [{"dtype": "<f8", "shape": [-1]}]}, b"", "bad array shape"),
    ({"tree": {"__reduce__": 1}, "arrays": []}, b"", "unexpected node"),
    ({"tree": 5, "arrays": []}, b"", "unexpected node"),
    ({"tree": None, "arrays": [], "extra": 1}, b"", "exactly"),
    ({"tree": {"$fn": "quadratic", "params": {"$dict": []}}, "arrays": []}, b"", "unexpected"),
])
def test_hostile_frames_are_refused(header, data, match):
    with pytest.raises(WireError, match=match):
        transport.decode(body(header, data))


def test_deep_nesting_is_refused():
    tree = None
    for _ in range(transport.MAX_DEPTH + 5):
        tree = {"$list": [tree]}
    with pytest.raises(WireError, match="nested"):
        transport.decode(body({"tree": tree, "arrays": []}))


def test_frames_over_the_cap_are_refused_before_reading():
    frame = transport.encode(np.zeros(1000))
    reads = []

    def read_exact(n):
        reads.append(n)
        return frame[:n]

    with pytest.raises(WireError, match="over the 100-byte limit"):
        transport.read_frame(read_exact, max_bytes=100)
    assert reads == [4]


def test_function_specs_travel_only_towards_the_worker():
    spec = FunctionSpec("quadratic", A=np.eye(2), b=np.zeros(2))
    data = transport.encode(spec)[4:]
    with pytest.raises(WireError):
        transport.decode(data)  # the grader never accepts functions back
    out = transport.decode(data, allow_functions=True)
    assert out.kind == "quadratic" and np.array_equal(out.params["A"], np.eye(2))


def test_handles_roundtrip():
    assert roundtrip((1, Handle(7))) == (1, Handle(7))

"""The cnn_shapes reference against torch, an implementation it shares no code with.

Forward passes are compared with ``torch.nn.functional.conv2d`` / ``max_pool2d``
computed on the CPU in float64; shapes and parameter counts with real
``torch.nn`` modules run on random layer stacks. Where torch rounds an
impossible size down, the reference must raise ValueError instead (the spec's
"no flooring" rule). The CUDA variants run the reference's torch path
(``DEVICE = "cuda"``) and the modules on the GPU.
"""

import random

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from autograder.reference import cnn_shapes as ref

pytestmark = pytest.mark.torch

DEVICES = [
    "cpu",
    # Any device but "cpu" sends the reference through torch: this runs that path without a GPU.
    pytest.param("cpu:0", id="torch-path-cpu"),
    pytest.param("cuda", marks=pytest.mark.skipif(
        not torch.cuda.is_available(), reason="CUDA variant: torch sees no CUDA device here")),
]

# (N, C, H, W, K, F, stride, padding), all possible shapes; H != W in most.
CONV_CASES = [
    (1, 1, 4, 4, 1, 2, 1, 0),
    (2, 3, 7, 6, 4, 3, 1, 0),
    (2, 2, 9, 7, 3, 3, 2, 1),
    (1, 2, 9, 12, 2, 3, 3, 0),
    (3, 3, 6, 4, 3, 2, 1, 0),
    (2, 2, 4, 3, 5, 1, 1, 0),
    (1, 4, 5, 8, 2, 5, 1, 2),
    (2, 1, 10, 6, 2, 4, 2, 2),
]
POOL_CASES = [  # (N, C, H, W, f, stride)
    (1, 1, 4, 4, 2, 2),
    (3, 4, 6, 8, 2, 2),
    (2, 3, 9, 15, 3, 2),
    (1, 2, 8, 11, 2, 3),
    (1, 1, 5, 6, 3, 1),
    (2, 2, 7, 7, 7, 1),
]


@pytest.fixture
def on_device(monkeypatch):
    """Point the reference's forward passes at a device for one test."""
    def use(device):
        monkeypatch.setattr(ref, "DEVICE", device)
        return torch.device(device)
    return use


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("case", CONV_CASES, ids=str)
def test_conv2d_forward_matches_torch(case, device, on_device):
    on_device(device)
    n, c, h, w, k, f, stride, padding = case
    rng = np.random.default_rng(sum(case))
    x, weights = rng.normal(size=(n, c, h, w)), rng.normal(size=(k, c, f, f))
    bias = rng.normal(size=k)
    expected = F.conv2d(torch.from_numpy(x), torch.from_numpy(weights), torch.from_numpy(bias),
                        stride=stride, padding=padding).numpy()
    got = ref.conv2d_forward(x, weights, bias, stride=stride, padding=padding)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("case", POOL_CASES, ids=str)
def test_maxpool2d_forward_matches_torch(case, device, on_device):
    on_device(device)
    n, c, h, w, f, stride = case
    x = np.random.default_rng(sum(case)).normal(size=(n, c, h, w))
    expected = F.max_pool2d(torch.from_numpy(x), f, stride).numpy()
    got = ref.maxpool2d_forward(x, f=f, stride=stride)
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


def test_conv_output_size_matches_torch_or_raises():
    floored = 0
    for n in range(1, 11):
        for f in range(1, 6):
            for stride in range(1, 4):
                for padding in range(0, 3):
                    def conv():
                        return F.conv2d(torch.zeros(1, 1, n, 1), torch.zeros(1, 1, f, 1),
                                        stride=(stride, 1), padding=(padding, 0))
                    span = n + 2 * padding - f
                    if span < 0:
                        with pytest.raises(RuntimeError):
                            conv()
                        with pytest.raises(ValueError):
                            ref.conv_output_size(n, f, stride, padding)
                        continue
                    torch_size = conv().shape[2]
                    if span % stride == 0:
                        assert ref.conv_output_size(n, f, stride, padding) == torch_size
                    else:
                        floored += 1
                        with pytest.raises(ValueError, match="not divisible"):
                            ref.conv_output_size(n, f, stride, padding)
    assert floored > 50  # the grid really exercises torch's rounding down


@pytest.mark.parametrize("bad", [{"f": 0}, {"f": -2}, {"stride": 0}, {"stride": -1},
                                 {"padding": -1}])
def test_conv_output_size_rejects_bad_arguments(bad):
    arguments = {"n": 8, "f": 3, "stride": 1, "padding": 0} | bad
    with pytest.raises(ValueError, match=next(iter(bad))):
        ref.conv_output_size(**arguments)


@pytest.mark.parametrize("bias", [True, False])
def test_conv_param_count_matches_torch(bias):
    for c, k, f in [(1, 6, 5), (3, 16, 5), (3, 8, 3), (5, 2, 1), (7, 3, 4)]:
        layer = nn.Conv2d(c, k, f, bias=bias)
        expected = sum(p.numel() for p in layer.parameters())
        assert ref.conv_param_count(c, k, f, bias=bias) == expected


@pytest.mark.parametrize("shape, options", [((16, 32, 32), {}), ((4, 8, 8), {"f": 4}),
                                            ((3, 7, 5), {"f": 3, "stride": 1}),
                                            ((6, 13, 27), {"f": 3, "stride": 2})])
def test_pool_output_shape_matches_torch(shape, options):
    # The spec's defaults are f = 2, stride = 2; torch's stride defaults to f, so pass both.
    pool = nn.MaxPool2d(options.get("f", 2), options.get("stride", 2))
    assert ref.pool_output_shape(shape, **options) == tuple(pool(torch.zeros(1, *shape)).shape[1:])


def _random_stack(rng: random.Random, input_shape):
    """A random possible stack of layer dicts, and the torch modules that compute it."""
    shape, layers, modules = input_shape, [], []
    for _ in range(rng.randint(1, 7)):
        kinds = ["conv", "pool", "relu", "flatten"] if len(shape) == 3 else ["relu", "flatten",
                                                                            "fc"]
        kind = rng.choice(kinds)
        if kind in ("conv", "pool"):
            f, stride = rng.randint(1, 4), rng.randint(1, 3)
            padding = rng.randint(0, 2) if kind == "conv" else 0
            if any((s + 2 * padding - f) < 0 or (s + 2 * padding - f) % stride
                   for s in shape[1:]):
                continue
            layer = {"type": kind, "f": f}
            # Omit a key when its value is the default, half of the time.
            for key, value, default in [("stride", stride, 1 if kind == "conv" else 2),
                                        ("padding", padding, 0 if kind == "conv" else None)]:
                if default is not None and (value != default or rng.random() < 0.5):
                    layer[key] = value
            if kind == "pool" and f == 2 and rng.random() < 0.5:
                del layer["f"]
            if kind == "conv":
                filters = rng.randint(1, 6)
                layer["filters"] = filters
                module = nn.Conv2d(shape[0], filters, f, stride=stride, padding=padding)
            else:
                module = nn.MaxPool2d(f, stride)
        elif kind == "relu":
            layer, module = {"type": "relu"}, nn.ReLU()
        elif kind == "flatten":
            layer, module = {"type": "flatten"}, nn.Flatten()
        else:
            out = rng.randint(1, 20)
            layer, module = {"type": "fc", "out": out}, nn.Linear(shape[0], out)
        layers.append(layer)
        modules.append(module)
        with torch.no_grad():
            shape = tuple(module(torch.zeros(1, *shape)).shape[1:])
    return layers, modules


@pytest.mark.parametrize("device", DEVICES)
def test_network_shapes_match_torch_modules(device):
    rng = random.Random(20240)
    checked = 0
    for _ in range(40):
        input_shape = (rng.randint(1, 4), rng.randint(4, 20), rng.randint(4, 20))
        if rng.random() < 0.2:
            input_shape = (rng.randint(1, 30),)
        layers, modules = _random_stack(rng, input_shape)
        entries = ref.network_shapes(input_shape, layers)
        assert len(entries) == len(layers)
        activation = torch.zeros(1, *input_shape, device=device)
        for i, (module, (shape, params)) in enumerate(zip(modules, entries)):
            module.to(device)
            with torch.no_grad():
                activation = module(activation)
            assert shape == tuple(activation.shape[1:]), (i, layers)
            assert all(type(s) is int for s in shape)
            assert params == sum(p.numel() for p in module.parameters()), (i, layers)
            checked += 1
    assert checked > 80


def test_network_shapes_raises_where_torch_rounds_down():
    layers = [{"type": "conv", "filters": 4, "f": 3, "padding": 1}, {"type": "relu"},
              {"type": "pool", "f": 3}]
    stack = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2))
    assert tuple(stack(torch.zeros(1, 3, 10, 10)).shape) == (1, 4, 4, 4)  # torch floors 7/2
    with pytest.raises(ValueError, match="layer 2"):
        ref.network_shapes((3, 10, 10), layers)

"""Reference implementation: CNN shape arithmetic, parameter counts, conv and max-pool forward.

A plain module with no autograder import: it is graded like a submission in
``autograder selftest`` and its mutants are patches of this source. Shape
arithmetic is plain Python; the forward passes are NumPy in float64, or torch
on ``DEVICE`` when the grader sets it to a GPU (torch is imported only then).
"""

import math

import numpy as np

DEVICE = "cpu"


def conv_output_size(n, f, stride=1, padding=0):
    if f < 1:
        raise ValueError(f"filter size f={f} must be at least 1")
    if stride < 1:
        raise ValueError(f"stride={stride} must be at least 1")
    if padding < 0:
        raise ValueError(f"padding={padding} must not be negative")
    span = n + 2 * padding - f
    if span < 0:
        raise ValueError(f"the filter (f={f}) is larger than the padded input "
                         f"(n + 2*padding = {n + 2 * padding}): the layer is not possible")
    if span % stride != 0:
        raise ValueError(f"n + 2*padding - f = {span} is not divisible by stride={stride}: "
                         "the layer is not possible")
    return span // stride + 1


def _chw(shape, what):
    shape = tuple(int(s) for s in shape)
    if len(shape) != 3:
        raise ValueError(f"{what} needs a 3-D (C, H, W) input shape, got {shape}")
    return shape


def conv_output_shape(input_shape, num_filters, f, stride=1, padding=0):
    c, h, w = _chw(input_shape, "a convolution")
    return (int(num_filters), conv_output_size(h, f, stride, padding),
            conv_output_size(w, f, stride, padding))


def conv_param_count(in_channels, num_filters, f, bias=True):
    weights = f * f * in_channels * num_filters
    return int(weights + (num_filters if bias else 0))


def pool_output_shape(input_shape, f=2, stride=2):
    c, h, w = _chw(input_shape, "a pooling layer")
    return (c, conv_output_size(h, f, stride), conv_output_size(w, f, stride))


def _required(layer, key):
    if key not in layer:
        raise ValueError(f"a {layer['type']} layer needs the key {key!r}")
    return int(layer[key])


def network_shapes(input_shape, layers):
    shape = tuple(int(s) for s in input_shape)
    entries = []
    for i, layer in enumerate(layers):
        kind = layer.get("type") if isinstance(layer, dict) else None
        try:
            if kind == "conv":
                filters, f = _required(layer, "filters"), _required(layer, "f")
                params = conv_param_count(_chw(shape, "a conv layer")[0], filters, f)
                shape = conv_output_shape(shape, filters, f, layer.get("stride", 1),
                                          layer.get("padding", 0))
            elif kind == "pool":
                shape = pool_output_shape(_chw(shape, "a pool layer"), layer.get("f", 2),
                                          layer.get("stride", 2))
                params = 0
            elif kind == "relu":
                params = 0
            elif kind == "flatten":
                shape, params = (math.prod(shape),), 0
            elif kind == "fc":
                if len(shape) != 1:
                    raise ValueError(f"a fully connected layer needs a 1-D input shape, got "
                                     f"{shape}; put a flatten layer before it")
                out = _required(layer, "out")
                params = shape[0] * out + out
                shape = (out,)
            else:
                raise ValueError(f"unknown layer type {kind!r}; expected conv, pool, relu, "
                                 "flatten or fc")
        except ValueError as exc:
            raise ValueError(f"layer {i}: {exc}") from None
        entries.append((shape, params))
    return entries


def _torch_forward(name, x, *args, **kwargs):
    import torch
    import torch.nn.functional as F

    tensors = [torch.as_tensor(a, dtype=torch.float64, device=DEVICE) for a in (x, *args)]
    return getattr(F, name)(*tensors, **kwargs).cpu().numpy()


def conv2d_forward(x, w, b, stride=1, padding=0):
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if DEVICE != "cpu":
        return _torch_forward("conv2d", x, w, b, stride=stride, padding=padding)
    n, _, h, width = x.shape
    k, _, f, _ = w.shape
    h2 = conv_output_size(h, f, stride, padding)
    w2 = conv_output_size(width, f, stride, padding)
    padded = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    out = np.zeros((n, k, h2, w2))
    # One (N, C, H2, W2) slab per kernel tap: f*f NumPy ops instead of N*K*H2*W2 Python loops.
    for i in range(f):
        for j in range(f):
            taps = padded[:, :, i:i + stride * h2:stride, j:j + stride * w2:stride]
            out += np.einsum("nchw,kc->nkhw", taps, w[:, :, i, j])
    return out + b[None, :, None, None]


def maxpool2d_forward(x, f=2, stride=2):
    x = np.asarray(x, dtype=np.float64)
    if DEVICE != "cpu":
        return _torch_forward("max_pool2d", x, kernel_size=f, stride=stride)
    n, c, h, w = x.shape
    h2 = conv_output_size(h, f, stride)
    w2 = conv_output_size(w, f, stride)
    out = np.full((n, c, h2, w2), -np.inf)
    for i in range(f):
        for j in range(f):
            window = x[:, :, i:i + stride * h2:stride, j:j + stride * w2:stride]
            out = np.maximum(out, window)
    return out

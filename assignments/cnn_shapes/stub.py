"""CNN shapes assignment: fill in each function. Do not change the signatures.

Shapes are channel-first: one input is (C, H, W), a batch is (N, C, H, W).
Filters are square (f x f). You may use numpy, math, the standard library and
torch (not scipy, sklearn, skimage or cv2).
Grade your work with:  autograder grade cnn_shapes cnn_shapes.py
"""

import numpy as np


def conv_output_size(n, f, stride=1, padding=0):
    """Return the output size (n + 2*padding - f) / stride + 1 as an int.

    Raise ValueError when f < 1, stride < 1 or padding < 0, and when
    n + 2*padding - f is negative or not divisible by stride (such a layer
    is not possible: do not round down).
    """
    raise NotImplementedError


def conv_output_shape(input_shape, num_filters, f, stride=1, padding=0):
    """Return the output shape (K, H2, W2) of num_filters = K filters of size f x f
    on an input of shape (C, H, W); ValueError as in conv_output_size."""
    raise NotImplementedError


def conv_param_count(in_channels, num_filters, f, bias=True):
    """Return the number of parameters of a conv layer: f*f*C*K weights, plus K biases
    when bias is True."""
    raise NotImplementedError


def pool_output_shape(input_shape, f=2, stride=2):
    """Return the output shape (C, H2, W2) of an f x f pooling layer with this stride
    on an input of shape (C, H, W); ValueError as in conv_output_size."""
    raise NotImplementedError


def network_shapes(input_shape, layers):
    """Return a list with one (shape, params) entry per layer.

    layers is a list of dicts, one of:
        {"type": "conv", "filters": K, "f": F, "stride": S, "padding": P}
            (stride may be omitted: 1; padding may be omitted: 0)
        {"type": "pool", "f": F, "stride": S}  (f may be omitted: 2; stride: 2)
        {"type": "relu"}
        {"type": "flatten"}
        {"type": "fc", "out": M}
    shape is the layer's output shape as a tuple of ints, params its number of
    parameters with biases (0 for relu, pool and flatten).
    Raise ValueError with "layer {i}" (0-based) in the message for an fc layer
    on a shape that is not 1-D, a conv or pool layer on a shape that is not
    3-D, an impossible conv or pool layer, or an unknown type.
    """
    raise NotImplementedError


def conv2d_forward(x, w, b, stride=1, padding=0):
    """Return the (N, K, H2, W2) output of a conv layer.

    x (N, C, H, W), w (K, C, F, F), b (K,). Cross-correlation (the kernel is
    not flipped) with zero padding, as torch.nn.functional.conv2d computes it:
    out[n, k, r, s] = b[k] + sum over c, i, j of
                      w[k, c, i, j] * xpad[n, c, r*stride + i, s*stride + j]
    """
    raise NotImplementedError


def maxpool2d_forward(x, f=2, stride=2):
    """Return the (N, C, H2, W2) output of f x f max pooling with this stride.

    out[n, c, r, s] = max over i, j < f of x[n, c, r*stride + i, s*stride + j]
    """
    raise NotImplementedError

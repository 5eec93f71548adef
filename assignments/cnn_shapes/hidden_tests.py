"""Hidden tests for cnn_shapes: seeded random inputs and purpose-built edge cases.

Tolerances:
- sizes, shapes and parameter counts are integers and are compared exactly
  (``check_exact``; integer-valued floats are accepted);
- conv2d_forward is compared to rtol = atol = 1e-9. Each output is a float64
  sum of at most C*F*F = 75 products of inputs of order 1 (plus a bias), so a
  different summation order moves it by about 1e-14; 1e-9 leaves room for
  that and still fails a float32 computation (about 1e-7 off);
- maxpool2d_forward is compared exactly (rtol = atol = 0): it only selects
  input values, so any correct float64 computation returns them bit for bit.
Every test that expects ValueError passes on ValueError only.
"""

import numpy as np

from autograder.assignments.cnn_shapes.public_tests import compare_network
from autograder.testing import case, check, check_exact, expect_raises

TIGHT = {"rtol": 1e-9, "atol": 1e-9}
EXACT_FLOAT = {"rtol": 0.0, "atol": 0.0}


def _args(*args, **kwargs):
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return ", ".join(parts)


def _same(sub, ref, name, *args, **kwargs):
    """Call ``name`` on the student's code and the reference and compare exactly."""
    check_exact(f"{name}({_args(*args, **kwargs)})", getattr(sub, name)(*args, **kwargs),
                getattr(ref, name)(*args, **kwargs))


def _raises(sub, name, *args, match=None, what=None, **kwargs):
    what = what or f"{name}({_args(*args, **kwargs)})"
    with expect_raises(ValueError, what, match=match):
        getattr(sub, name)(*args, **kwargs)


def _conv(filters, f, **options):
    return {"type": "conv", "filters": filters, "f": f, **options}


def _pool(**options):
    return {"type": "pool", **options}


RELU, FLATTEN = {"type": "relu"}, {"type": "flatten"}


def _fc(out):
    return {"type": "fc", "out": out}


# conv_output_size ---------------------------------------------------------------------------

@case(hint="The input is padded on both sides: n + 2*padding - f.")
def conv_size_padding_counts_twice(sub, ref):
    for n, f, stride, padding in [(5, 3, 1, 1), (28, 5, 1, 2), (7, 3, 2, 1), (10, 5, 1, 3),
                                  (8, 3, 3, 2)]:
        _same(sub, ref, "conv_output_size", n, f, stride=stride, padding=padding)


@case(hint="Check the defaults (stride=1, padding=0), the argument order (n, f, stride, "
           "padding), and that a filter exactly as large as the padded input gives size 1.")
def conv_size_defaults_and_positional(sub, ref):
    _same(sub, ref, "conv_output_size", 28, 5)
    _same(sub, ref, "conv_output_size", 11, 3, 2, 1)
    _same(sub, ref, "conv_output_size", 5, 5)
    _same(sub, ref, "conv_output_size", 1, 3, 1, 1)


@case(hint="When n + 2*padding - f is not divisible by the stride the layer is not possible: "
           "raise ValueError instead of rounding down.")
def conv_size_not_divisible_raises(sub, ref):
    _raises(sub, "conv_output_size", 6, 3, stride=2)
    _raises(sub, "conv_output_size", 10, 3, stride=3)
    # n - f is divisible by 4 here; n + 2*padding - f is not.
    _raises(sub, "conv_output_size", 7, 3, stride=4, padding=1)
    _raises(sub, "conv_output_size", 9, 2, stride=2, padding=1)


@case(hint="A filter larger than the padded input (n + 2*padding - f < 0) is not possible: "
           "raise ValueError, even when the difference happens to be divisible by the stride.")
def conv_size_filter_larger_than_input_raises(sub, ref):
    _raises(sub, "conv_output_size", 3, 5)
    _raises(sub, "conv_output_size", 3, 5, stride=2)
    _raises(sub, "conv_output_size", 4, 7, stride=1, padding=1)
    _raises(sub, "conv_output_size", 2, 4, stride=2)


@case(hint="f and stride below 1 and padding below 0 are errors: raise ValueError (check "
           "them before dividing).")
def conv_size_bad_arguments_raise(sub, ref):
    _raises(sub, "conv_output_size", 5, 0)
    _raises(sub, "conv_output_size", 5, -1)
    _raises(sub, "conv_output_size", 5, 3, stride=0)
    _raises(sub, "conv_output_size", 5, 3, stride=-1)
    _raises(sub, "conv_output_size", 5, 3, padding=-1)


# conv_output_shape --------------------------------------------------------------------------

@case(hint="The output has one channel per filter, (K, H2, W2); H and W are computed "
           "separately.")
def conv_shape_filters_and_rectangular(sub, ref):
    _same(sub, ref, "conv_output_shape", (3, 32, 20), 8, 5)
    _same(sub, ref, "conv_output_shape", (1, 15, 9), 4, 3, stride=2)
    _same(sub, ref, "conv_output_shape", (3, 28, 36), 6, 3, 1, 1)


@case(hint="A conv layer is not possible when either its height or its width does not fit: "
           "raise ValueError.")
def conv_shape_impossible_raises(sub, ref):
    _raises(sub, "conv_output_shape", (3, 10, 10), 4, 3, stride=2)
    _raises(sub, "conv_output_shape", (3, 9, 10), 4, 3, stride=2)


# conv_param_count ---------------------------------------------------------------------------

@case(hint="Each of the K filters has f*f*C weights (C = input channels) and one bias.")
def param_count_bias_and_channels(sub, ref):
    _same(sub, ref, "conv_param_count", 3, 8, 3)
    _same(sub, ref, "conv_param_count", 64, 128, 3)
    _same(sub, ref, "conv_param_count", 16, 32, 5)


@case(hint="With bias=False there are no bias parameters.")
def param_count_without_bias(sub, ref):
    _same(sub, ref, "conv_param_count", 3, 8, 3, bias=False)
    _same(sub, ref, "conv_param_count", 64, 128, 3, False)


# pool_output_shape --------------------------------------------------------------------------

@case(hint="Pooling keeps the channels; f and stride default to 2 each, and the stride is "
           "not always f.")
def pool_shape_defaults_and_stride(sub, ref):
    _same(sub, ref, "pool_output_shape", (6, 28, 14))
    _same(sub, ref, "pool_output_shape", (64, 13, 27), 3, 2)
    _same(sub, ref, "pool_output_shape", (4, 8, 8), 4)
    _same(sub, ref, "pool_output_shape", (3, 7, 5), f=3, stride=1)


@case(hint="Pooling follows the same rule as a convolution without padding: an impossible "
           "size raises ValueError (no rounding down).")
def pool_shape_impossible_raises(sub, ref):
    _raises(sub, "pool_output_shape", (6, 5, 5))
    _raises(sub, "pool_output_shape", (6, 8, 7))
    _raises(sub, "pool_output_shape", (1, 2, 2), f=3)
    _raises(sub, "pool_output_shape", (2, 10, 10), 3, 2)


# network_shapes -----------------------------------------------------------------------------

@case(hint="A conv layer may omit stride (1) and padding (0), a pool layer f (2) and stride "
           "(2, even when f is given); use the values a layer gives when it gives them.")
def network_defaults_and_padding(sub, ref):
    layers = [_conv(16, 3), RELU, _conv(32, 3, stride=1, padding=1), _pool(),
              _conv(64, 5, stride=2, padding=2), _pool(f=4), _pool(f=3, stride=1), FLATTEN,
              _fc(10)]
    compare_network(sub, ref, (3, 64, 48), layers)


@case(hint="A conv layer's weights see the channels of its own input: the previous layer's "
           "output, not the network's input.")
def network_conv_params_use_current_channels(sub, ref):
    layers = [_conv(10, 1), RELU, _conv(20, 3), RELU, _conv(5, 1)]
    compare_network(sub, ref, (3, 12, 12), layers)


@case(hint="An fc layer from M inputs to N outputs has M*N weights and N biases; the input "
           "may already be 1-D, and relu and flatten keep a 1-D shape.")
def network_fc_params_include_bias(sub, ref):
    compare_network(sub, ref, (784,), [_fc(128), RELU, _fc(10), FLATTEN])


@case(hint="An fc layer on a shape that is not 1-D raises ValueError whose message names the "
           "layer as 'layer {i}', counting from 0; do not flatten for the user.")
def network_fc_on_3d_raises_naming_layer(sub, ref):
    layers = [_conv(8, 3, padding=1), RELU, _pool(), _fc(10)]
    _raises(sub, "network_shapes", (3, 32, 32), layers, match="layer 3",
            what="network_shapes with an fc layer on a 3-D shape")


@case(hint="A conv or pool layer on a shape that is not 3-D raises ValueError naming "
           "'layer {i}' (0-based).")
def network_conv_or_pool_on_1d_raises(sub, ref):
    _raises(sub, "network_shapes", (3, 8, 8), [FLATTEN, RELU, _conv(4, 3)], match="layer 2",
            what="network_shapes with a conv layer after flatten")
    _raises(sub, "network_shapes", (3, 8, 8), [_conv(4, 3), FLATTEN, RELU, _pool()],
            match="layer 3", what="network_shapes with a pool layer after flatten")


@case(hint="An impossible conv or pool layer inside a network raises ValueError naming "
           "'layer {i}' (0-based).")
def network_impossible_layer_raises(sub, ref):
    _raises(sub, "network_shapes", (3, 32, 32), [_conv(8, 5), RELU, _conv(8, 3, stride=2)],
            match="layer 2", what="network_shapes with an impossible conv layer")
    _raises(sub, "network_shapes", (3, 32, 32), [_conv(8, 3, padding=1)] + [_pool()] * 6,
            match="layer 6", what="network_shapes with a pool layer on a 1x1 image")


@case(hint="An unknown layer type raises ValueError naming 'layer {i}' (0-based).")
def network_unknown_type_raises(sub, ref):
    _raises(sub, "network_shapes", (3, 8, 8), [RELU, {"type": "dropout", "p": 0.5}, FLATTEN],
            match="layer 1", what="network_shapes with a layer of type 'dropout'")


# conv2d_forward -----------------------------------------------------------------------------

def _conv_inputs(seed, x_shape, w_shape):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=x_shape), rng.normal(size=w_shape), rng.normal(size=w_shape[0]))


@case(hint="conv2d_forward is a cross-correlation, as torch's conv2d: w[k, c, i, j] multiplies "
           "x[n, c, r*stride + i, s*stride + j]; the kernel is not flipped.")
def conv2d_cross_correlation(sub, ref):
    x, w, b = _conv_inputs(31, (2, 3, 7, 6), (4, 3, 3, 3))
    check("conv2d_forward(x, w, b) with a 3x3 kernel", sub.conv2d_forward(x, w, b),
          ref.conv2d_forward(x, w, b), **TIGHT)


@case(hint="Pad with zeros, padding rows/columns on each of the four sides, before sliding "
           "the filter.")
def conv2d_zero_padding(sub, ref):
    x, w, b = _conv_inputs(32, (1, 2, 5, 6), (3, 2, 3, 3))
    x = x + 3.0  # a non-zero background, so that padding with anything but zeros shows
    for padding in (1, 2):
        check(f"conv2d_forward(x, w, b, padding={padding})",
              sub.conv2d_forward(x, w, b, padding=padding),
              ref.conv2d_forward(x, w, b, padding=padding), **TIGHT)


@case(hint="With a stride, output pixel (r, s) reads the window that starts at input pixel "
           "(r*stride, s*stride).")
def conv2d_stride(sub, ref):
    x, w, b = _conv_inputs(33, (2, 2, 9, 7), (3, 2, 3, 3))
    check("conv2d_forward(x, w, b, stride=2, padding=1)",
          sub.conv2d_forward(x, w, b, stride=2, padding=1),
          ref.conv2d_forward(x, w, b, stride=2, padding=1), **TIGHT)
    x, w, b = _conv_inputs(34, (1, 2, 9, 12), (2, 2, 3, 3))
    check("conv2d_forward(x, w, b, 3)", sub.conv2d_forward(x, w, b, 3),
          ref.conv2d_forward(x, w, b, 3), **TIGHT)


@case(hint="Output channel k sums w[k, c] over every input channel c, then adds b[k].")
def conv2d_channels_and_bias(sub, ref):
    # W2 = K = 3: a bias added along the last axis broadcasts without an error.
    x, w, b = _conv_inputs(35, (2, 3, 6, 4), (3, 3, 2, 2))
    check("conv2d_forward(x, w, b) with C = K = 3", sub.conv2d_forward(x, w, b),
          ref.conv2d_forward(x, w, b), **TIGHT)
    x, w, b = _conv_inputs(36, (2, 2, 4, 3), (5, 2, 1, 1))
    check("conv2d_forward(x, w, b) with a 1x1 kernel", sub.conv2d_forward(x, w, b),
          ref.conv2d_forward(x, w, b), **TIGHT)
    x, w, b = _conv_inputs(37, (3, 2, 4, 4), (2, 2, 4, 4))
    check("conv2d_forward(x, w, b) with a kernel as large as the image",
          sub.conv2d_forward(x, w, b), ref.conv2d_forward(x, w, b), **TIGHT)


# maxpool2d_forward --------------------------------------------------------------------------

@case(hint="f and stride default to 2; every image and channel is pooled on its own.")
def maxpool_defaults_batch(sub, ref):
    x = np.random.default_rng(41).normal(size=(3, 4, 6, 8))
    check("maxpool2d_forward(x)", sub.maxpool2d_forward(x), ref.maxpool2d_forward(x),
          **EXACT_FLOAT)


@case(hint="The windows are f x f and start every stride pixels; stride and f differ here "
           "(windows overlap, or leave gaps).")
def maxpool_stride_differs_from_f(sub, ref):
    rng = np.random.default_rng(42)
    for shape, f, stride in [((2, 3, 9, 15), 3, 2), ((1, 2, 8, 11), 2, 3), ((1, 1, 5, 6), 3, 1)]:
        x = rng.normal(size=shape)
        check(f"maxpool2d_forward(x, f={f}, stride={stride}) on x of shape {shape}",
              sub.maxpool2d_forward(x, f=f, stride=stride),
              ref.maxpool2d_forward(x, f=f, stride=stride), **EXACT_FLOAT)


@case(hint="The maximum of negative numbers is negative: do not start the maximum at 0.")
def maxpool_negative_inputs(sub, ref):
    x = -np.random.default_rng(43).uniform(1.0, 5.0, size=(2, 2, 6, 4))
    check("maxpool2d_forward(x) on negative inputs", sub.maxpool2d_forward(x),
          ref.maxpool2d_forward(x), **EXACT_FLOAT)

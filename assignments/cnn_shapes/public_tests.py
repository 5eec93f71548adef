"""Public tests for cnn_shapes: shipped with the handout, full feedback on failure.

Shapes, sizes and parameter counts are compared exactly; conv2d_forward to
rtol = atol = 1e-9 (float64 sums of at most C*F*F products); maxpool2d_forward
exactly, since it only selects input values.
"""

import numpy as np

from autograder.testing import CheckFailure, case, check, check_exact, expect_raises, unpack

TIGHT = {"rtol": 1e-9, "atol": 1e-9}
EXACT_FLOAT = {"rtol": 0.0, "atol": 0.0}

LENET = [
    {"type": "conv", "filters": 6, "f": 5},
    {"type": "relu"},
    {"type": "pool", "f": 2, "stride": 2},
    {"type": "conv", "filters": 16, "f": 5},
    {"type": "relu"},
    {"type": "pool", "f": 2, "stride": 2},
    {"type": "flatten"},
    {"type": "fc", "out": 120},
    {"type": "relu"},
    {"type": "fc", "out": 84},
    {"type": "relu"},
    {"type": "fc", "out": 10},
]


@case
def public_conv_output_size_examples(sub, ref):
    check_exact("conv_output_size(32, 5)", sub.conv_output_size(32, 5), 28)
    check_exact("conv_output_size(32, 5, stride=1, padding=2)",
                sub.conv_output_size(32, 5, stride=1, padding=2), 32)
    check_exact("conv_output_size(7, 3, stride=2)", sub.conv_output_size(7, 3, stride=2), 3)


@case
def public_conv_output_size_impossible(sub, ref):
    with expect_raises(ValueError, "conv_output_size(6, 3, stride=2)"):
        sub.conv_output_size(6, 3, stride=2)


@case
def public_conv_output_shape_example(sub, ref):
    check_exact("conv_output_shape((3, 32, 32), 16, 5, stride=1, padding=2)",
                sub.conv_output_shape((3, 32, 32), 16, 5, stride=1, padding=2), (16, 32, 32))


@case
def public_conv_param_count_example(sub, ref):
    check_exact("conv_param_count(3, 16, 5)", sub.conv_param_count(3, 16, 5), 1216)


@case
def public_pool_output_shape_example(sub, ref):
    check_exact("pool_output_shape((16, 32, 32))", sub.pool_output_shape((16, 32, 32)),
                (16, 16, 16))


def compare_network(sub, ref, input_shape, layers):
    """network_shapes entry by entry: each layer's shape and parameter count."""
    got = sub.network_shapes(input_shape, layers)
    expected = ref.network_shapes(input_shape, layers)
    if not isinstance(got, (list, tuple)):
        raise CheckFailure(f"network_shapes returned a {type(got).__name__}; expected a list "
                           "of (shape, params) pairs", "network_shapes")
    check_exact("number of entries returned by network_shapes", len(got), len(expected))
    for i, (entry, (shape, params)) in enumerate(zip(got, expected)):
        got_shape, got_params = unpack(entry, 2, f"entry {i} of network_shapes")
        kind = layers[i]["type"]
        check_exact(f"shape after layer {i} ({kind})", got_shape, shape)
        check_exact(f"params of layer {i} ({kind})", got_params, params)


@case
def public_network_lenet(sub, ref):
    # Colour input: with one input channel, forgetting the channels would not show at layer 0.
    compare_network(sub, ref, (3, 32, 32), LENET)


@case
def public_conv2d_forward_small(sub, ref):
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    w = np.array([[[[1.0, 2.0], [0.0, -1.0]]]])
    b = np.array([0.5])
    check("conv2d_forward(x, w, b) on a 4x4 image and a 2x2 kernel",
          sub.conv2d_forward(x, w, b), ref.conv2d_forward(x, w, b), **TIGHT)


@case
def public_maxpool2d_forward_small(sub, ref):
    x = np.array([[[[1.0, 3.0, 2.0, 0.0],
                    [4.0, -1.0, 5.0, 6.0],
                    [0.0, 0.0, -2.0, -3.0],
                    [7.0, 1.0, -4.0, -1.0]]]])
    check("maxpool2d_forward(x) on a 4x4 image", sub.maxpool2d_forward(x),
          np.array([[[[4.0, 6.0], [7.0, -1.0]]]]), **EXACT_FLOAT)

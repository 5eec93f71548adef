"""The attention reference against independent computations.

scaled_dot_product_attention is checked against
``torch.nn.functional.scaled_dot_product_attention`` (float64; its bool
``attn_mask`` also means True = may attend); the weights come out of the same
torch function with V = identity. multi_head_attention is checked against
``torch.nn.MultiheadAttention`` with the spec's conventions mapped onto it:
no biases, ``in_proj_weight`` = [W_q^T; W_k^T; W_v^T] (torch applies x @ W^T),
``out_proj.weight`` = W_o^T, and the mask inverted (torch's bool attn_mask
means True = may NOT attend). softmax is checked against ``torch.softmax``,
causal_mask and positional_encoding against direct loops over the formulas.

Every check runs on each backend of the reference: NumPy (the CPU default),
its torch path on the CPU, and the torch path on CUDA (skipped without a GPU);
the independent side always computes in float64 on the CPU. Measured on the
CPU over these cases, largest absolute difference (NumPy / torch-cpu backend):
attention output 7.2e-16 / 1.1e-15, weights 3.9e-16 / 6.1e-16, multi-head
4.9e-16 / 8.9e-16, softmax 1.3e-256 / 1.3e-256, positional encoding 2.8e-17 / 0
(``python tests/test_reference_attention.py`` prints them), so a bound of 1e-12
leaves room for GPU rounding while any real mistake is off by far more.
"""

import ast
import importlib.util
import inspect
import math
import tomllib
from pathlib import Path

import numpy as np
import pytest

import autograder.reference.attention as ref
from autograder.mutants import load_mutants, mutant_module

from conftest import reference_backends

torch = pytest.importorskip("torch")
F = torch.nn.functional

pytestmark = pytest.mark.torch

FOLDER = Path(__file__).resolve().parent.parent / "assignments" / "attention"
TOL = {"rtol": 1e-12, "atol": 1e-12}
device = reference_backends(ref)


def _t(array):
    return torch.as_tensor(np.asarray(array), dtype=torch.float64)


def _plain(value):
    """The reference must hand back CPU float64 NumPy arrays whatever its device."""
    assert type(value) is np.ndarray and value.dtype == np.float64
    return value


def _mask(rng, shape):
    mask = rng.random(shape) < 0.6
    mask[..., 0] |= ~mask.any(axis=-1)  # no fully masked row
    return mask


SOFTMAX_CASES = [((4, 7), -1), ((4, 7), 0), ((2, 3, 5), 1), ((6,), 0)]


def _softmax_pair(shape, axis):
    """(reference, independent) for one case; the tests and __main__ share these."""
    x = np.random.default_rng(1).normal(size=shape) * 1000.0  # exp(x) alone overflows
    return ref.softmax(x, axis=axis), torch.softmax(_t(x), dim=axis).numpy()


@pytest.mark.parametrize("shape,axis", SOFTMAX_CASES)
def test_softmax_matches_torch(device, shape, axis):
    got, expected = _softmax_pair(shape, axis)
    np.testing.assert_allclose(_plain(got), expected, **TOL)


SDPA_CASES = {
    # name: (batch, M, N, d_k, d_v, mask shape or None, integer mask)
    "no_mask": ((), 5, 7, 4, 3, None, False),
    "d_k_1": ((), 3, 5, 1, 2, None, False),
    "bool_mask": ((), 4, 6, 3, 2, (4, 6), False),
    "int_mask": ((), 5, 3, 2, 4, (5, 3), True),
    "batched_4d": ((2, 3), 4, 6, 5, 2, None, False),
    "mask_over_batch": ((3,), 4, 5, 3, 2, (4, 5), False),
    "padding_mask": ((3,), 4, 5, 3, 2, (3, 1, 5), True),
    "4d_mask_over_heads": ((2, 3), 4, 6, 5, 2, (2, 1, 4, 6), False),
}


def _sdpa_pairs(name):
    """(reference, independent) for out and for weights, and the mask used."""
    batch, M, N, d_k, d_v, mask_shape, integer = SDPA_CASES[name]
    rng = np.random.default_rng(sorted(SDPA_CASES).index(name))
    Q, K = rng.normal(size=(*batch, M, d_k)) * 2, rng.normal(size=(*batch, N, d_k)) * 2
    V = rng.normal(size=(*batch, N, d_v))
    mask = None if mask_shape is None else _mask(rng, mask_shape)
    torch_mask = None if mask is None else torch.as_tensor(mask)
    args = (Q, K, V) if mask is None else (Q, K, V, mask.astype(np.int64) if integer else mask)

    out, weights = ref.scaled_dot_product_attention(*args)

    eye = torch.eye(N, dtype=torch.float64).expand(*batch, N, N)
    expected_out = F.scaled_dot_product_attention(_t(Q), _t(K), _t(V), attn_mask=torch_mask)
    expected_weights = F.scaled_dot_product_attention(_t(Q), _t(K), eye, attn_mask=torch_mask)
    return (out, expected_out.numpy()), (weights, expected_weights.numpy()), mask


@pytest.mark.parametrize("name", SDPA_CASES)
def test_sdpa_matches_torch(device, name):
    (out, expected_out), (weights, expected_weights), mask = _sdpa_pairs(name)
    np.testing.assert_allclose(_plain(weights), expected_weights, **TOL)
    np.testing.assert_allclose(_plain(out), expected_out, **TOL)
    if mask is not None:
        assert np.all(weights[~np.broadcast_to(mask, weights.shape)] == 0.0)


def test_sdpa_masked_keys_get_nothing_even_when_allowed_scores_are_huge(device):
    # Allowed scores of -2e100: a finite fill would win, -inf never does.
    K = np.full((3, 4), -1e50)
    Q = np.full((1, 4), 1e50)
    V = np.array([[1.0], [10.0], [100.0]])
    mask = np.array([[True, False, True]])
    out, weights = ref.scaled_dot_product_attention(Q, K, V, mask)
    np.testing.assert_array_equal(weights, [[0.5, 0.0, 0.5]])
    np.testing.assert_array_equal(out, [[50.5]])


@pytest.mark.parametrize("mask", [
    np.array([[True, True], [False, False], [True, False]]),
    np.zeros((2, 1, 2), dtype=np.int64),
], ids=["row_all_false", "broadcast_int_zeros"])
def test_sdpa_fully_masked_row_raises(device, mask):
    Q, K, V = np.ones((2, 3, 2)), np.ones((2, 2, 2)), np.ones((2, 2, 1))
    with pytest.raises(ValueError, match="fully masked row"):
        ref.scaled_dot_product_attention(Q, K, V, mask)


def test_sdpa_mask_that_does_not_broadcast_raises(device):
    Q, K, V = np.ones((3, 2)), np.ones((4, 2)), np.ones((4, 1))
    with pytest.raises(ValueError, match=r"does not broadcast to the scores' shape \(3, 4\)"):
        ref.scaled_dot_product_attention(Q, K, V, np.ones((4, 3), dtype=bool))


@pytest.mark.parametrize("T", [1, 2, 5])
def test_causal_mask_against_loop(device, T):
    expected = np.array([[j <= i for j in range(T)] for i in range(T)])
    mask = ref.causal_mask(T)
    assert type(mask) is np.ndarray and mask.dtype == np.bool_
    np.testing.assert_array_equal(mask, expected)


def _torch_mha(X, W_q, W_k, W_v, W_o, num_heads, mask):
    T, D = X.shape
    module = torch.nn.MultiheadAttention(D, num_heads, bias=False, batch_first=True,
                                         dtype=torch.float64)
    with torch.no_grad():
        module.in_proj_weight.copy_(torch.cat([_t(W_q).T, _t(W_k).T, _t(W_v).T]))
        module.out_proj.weight.copy_(_t(W_o).T)
        x = _t(X)[None]
        attn_mask = None if mask is None else ~torch.as_tensor(mask)
        out, _ = module(x, x, x, attn_mask=attn_mask, need_weights=False)
    return out[0].numpy()


MHA_CASES = [(5, 8, 4, False), (5, 8, 2, False), (4, 5, 1, False), (7, 6, 3, True),
             (6, 12, 4, True)]


def _mha_pair(T, D, num_heads, masked):
    rng = np.random.default_rng(T * 100 + D)
    X = rng.normal(size=(T, D))
    W = [rng.normal(size=(D, D)) / math.sqrt(D) for _ in range(4)]
    mask = np.tril(np.ones((T, T), dtype=bool)) if masked else None
    return (ref.multi_head_attention(X, *W, num_heads, mask=mask),
            _torch_mha(X, *W, num_heads, mask))


@pytest.mark.parametrize("T,D,num_heads,masked", MHA_CASES)
def test_mha_matches_torch_module(device, T, D, num_heads, masked):
    got, expected = _mha_pair(T, D, num_heads, masked)
    np.testing.assert_allclose(_plain(got), expected, **TOL)


@pytest.mark.parametrize("D,num_heads", [(6, 4), (5, 2), (4, 0)])
def test_mha_rejects_heads_that_do_not_divide_D(device, D, num_heads):
    X, W = np.ones((3, D)), np.eye(D)
    with pytest.raises(ValueError, match=f"D = {D} is not divisible by num_heads"):
        ref.multi_head_attention(X, W, W, W, W, num_heads)


PE_CASES = [(1, 1), (5, 1), (3, 2), (7, 5), (50, 16), (12, 9)]


def _pe_pair(T, d):
    expected = np.empty((T, d))
    for t in range(T):
        for j in range(d):
            i = j // 2
            angle = t / 10000 ** (2 * i / d)
            expected[t, j] = math.sin(angle) if j % 2 == 0 else math.cos(angle)
    return ref.positional_encoding(T, d), expected


@pytest.mark.parametrize("T,d", PE_CASES)
def test_positional_encoding_against_loop(device, T, d):
    got, expected = _pe_pair(T, d)
    np.testing.assert_allclose(_plain(got), expected, **TOL)


def test_reference_is_standalone():
    # `autograder selftest` grades it in the sandbox, where the grader cannot be imported.
    tree = ast.parse(Path(ref.__file__).read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom)}
    assert imported <= {"math", "numpy", "torch"}


def test_stub_has_the_reference_signatures():
    spec = importlib.util.spec_from_file_location("attention_stub", FOLDER / "stub.py")
    stub = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(stub)
    functions = tomllib.loads((FOLDER / "assignment.toml").read_text())["functions"]
    for name in functions:
        assert inspect.signature(getattr(stub, name)) == inspect.signature(getattr(ref, name))
        with pytest.raises(NotImplementedError):
            getattr(stub, name)(*[None] * len(inspect.signature(getattr(stub, name)).parameters))


def test_every_mutant_builds_and_changes_a_value():
    # The selftest proves each is caught; this is the fast check that each patch applies.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5, 6)) * 1000  # exp overflows without the shift
    W = [rng.normal(size=(6, 6)) for _ in range(4)]

    def outputs(module):
        Q, K, V = X[:3, :4] / 300, X[:, :4] / 300, X[:, 4:]
        mask = np.tril(np.ones((3, 5), dtype=bool))
        mask[0, 3] = True
        # Allowed scores of -1e100: only there does a -1e9 fill show.
        _, huge = module.scaled_dot_product_attention(
            np.full((1, 2), 1e50), np.full((2, 2), -1e50), np.eye(2), np.array([[True, False]]))
        return [module.softmax(X), module.softmax(X[:, :4], axis=0),
                *module.scaled_dot_product_attention(Q, K, V, mask),
                *module.scaled_dot_product_attention(Q[:, :1], K[:, :1], V), huge,
                module.causal_mask(4), module.multi_head_attention(X / 1000, *W, 2),
                module.multi_head_attention(X / 1000, *W, 1), module.positional_encoding(6, 7)]

    expected = outputs(ref)
    mutants = load_mutants(FOLDER)
    assert len(mutants) >= 6
    for mutant in mutants:
        with np.errstate(all="ignore"):  # the unstable softmax overflows, as it should
            got = outputs(mutant_module(Path(ref.__file__), mutant))
        assert any(g.shape != e.shape or not np.allclose(g, e, equal_nan=True)
                   for g, e in zip(got, expected)), mutant.name


def _largest_differences() -> None:
    """Print the largest |reference - independent| per function and CPU backend."""
    pairs = {
        "softmax": lambda: [_softmax_pair(*c) for c in SOFTMAX_CASES],
        "attention output": lambda: [_sdpa_pairs(n)[0] for n in SDPA_CASES],
        "attention weights": lambda: [_sdpa_pairs(n)[1] for n in SDPA_CASES],
        "multi-head": lambda: [_mha_pair(*c) for c in MHA_CASES],
        "positional encoding": lambda: [_pe_pair(*c) for c in PE_CASES],
    }
    print(f"{'function':<20} {'numpy':>9} {'torch-cpu':>9}")
    for name, make in pairs.items():
        row = []
        for torch_on_cpu in (False, True):
            ref.TORCH_ON_CPU = torch_on_cpu
            row.append(max(float(np.max(np.abs(g - e))) for g, e in make()))
        ref.TORCH_ON_CPU = False
        print(f"{name:<20} {row[0]:>9.2g} {row[1]:>9.2g}")


if __name__ == "__main__":
    _largest_differences()

"""Grading backprop: a realistic mistake in one function costs points on that function only.

The exceptions are the compositions the spec itself makes: train runs the
student's forward and backward, and backward runs on the cache of the
student's forward (an opaque value), so a mistake in forward's own layers
also shows in backward. A mistake in relu or softmax does not: forward and
backward are judged on top of the student's own relu and softmax.
"""

from pathlib import Path

import pytest

from autograder.grading import grade_submission

REFERENCE = (Path(__file__).resolve().parent.parent / "reference" / "backprop.py").read_text()

# None of these is a shipped mutant.
WRONG = {
    "make_spiral": ("t = np.linspace(0.0, 1.0, n_per_class)",
                    "t = np.arange(n_per_class) / n_per_class"),
    "relu": ("return np.maximum(np.asarray(Z, dtype=np.float64), 0.0)",
             "return (np.asarray(Z) > 0).astype(float)"),
    "softmax": ("return E / E.sum(axis=1, keepdims=True)", "return E / E.sum()"),
    "cross_entropy": ("p = Y_hat[np.arange(m), labels]", "p = Y_hat[:, labels]"),
    "forward": ('Z = X @ p["W_h"].T + p["b_h"]', 'Z = X @ p["W_h"].T'),
    "backward": ('dZ = (dL @ p["W_y"]) * (Z > 0)', 'dZ = dL @ p["W_y"]'),
    "train": ("    rng = np.random.default_rng(seed)\n    params",
              "    rng = np.random.default_rng()\n    params"),
}
ALSO_FAILS = {"relu": {"train"}, "softmax": {"train"}, "forward": {"backward", "train"},
              "backward": {"train"}}
PREFIXES = {"spiral": "make_spiral", "make": "make_spiral", "cross": "cross_entropy"}


def function_under_test(test_name: str) -> str:
    word = test_name.removeprefix("public_").split("_")[0]
    return PREFIXES.get(word, word)


@pytest.fixture
def backprop(registry):
    return registry.assignment("backprop")


def test_every_test_name_maps_to_a_function(backprop):
    assert {function_under_test(c.name) for c in backprop.cases()} == set(WRONG)


@pytest.mark.parametrize("function", sorted(WRONG))
def test_a_wrong_function_loses_points_only_where_it_should(backprop, sandbox, tmp_path,
                                                            function):
    old, new = WRONG[function]
    assert REFERENCE.count(old) == 1
    path = tmp_path / "backprop.py"
    path.write_text(REFERENCE.replace(old, new))
    result = grade_submission(assignment=backprop, submission=path, sandbox=sandbox)
    failed = {t["name"] for t in result["tests"] if t["status"] == "failed"}
    charged = {function_under_test(name) for name in failed}
    assert function in charged, f"breaking {function} cost no points on its own tests"
    assert charged <= {function} | ALSO_FAILS.get(function, set()), sorted(failed)

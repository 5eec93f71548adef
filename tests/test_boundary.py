"""Issue #2's trust boundary: what a hostile or broken submission can and cannot do.

Every case grades a real submission through the subprocess sandbox and checks
the result: the attack becomes failed tests with a message, the grader goes on.
"""

import os
import time
from pathlib import Path

import numpy as np
import pytest

from autograder.grading import grade_submission
from autograder.sandbox import Limits

REFERENCE = (Path(__file__).resolve().parent.parent / "reference" / "perceptron.py").read_text()


def grade(perceptron, sandbox, path, **kwargs):
    return grade_submission(assignment=perceptron, submission=path, sandbox=sandbox, **kwargs)


def by_name(result):
    return {t["name"]: t for t in result["tests"]}


def failed_functions(result):
    return {f for t in result["tests"] if t["status"] == "failed" for f in t["functions"]}


WRONG_BUT_PATCHING = '''
import math, builtins
import numpy as np
import numpy.testing
np.allclose = lambda *a, **k: True
np.array_equal = lambda *a, **k: True
np.isclose = lambda *a, **k: np.ones(1, dtype=bool)
numpy.testing.assert_allclose = lambda *a, **k: None
math.isclose = lambda *a, **k: True
import autograder.compare as compare
compare.assert_close = lambda *a, **k: None
compare.assert_exact = lambda *a, **k: None
import torch
torch.allclose = lambda *a, **k: True
torch.equal = lambda *a, **k: True
torch.testing.assert_close = lambda *a, **k: None

def perceptron_train(X, y, max_epochs=100):
    return np.zeros(X.shape[1]), 0.0, 0
def perceptron_predict(X, w, b):
    return np.ones(len(X))
def polynomial_kernel(X, Z, degree=2, coef0=0.0):
    return np.zeros((len(X), len(Z)))
def quadratic_features(X):
    return np.zeros((len(X), 3))
def kernel_perceptron_train(K, y, max_epochs=100):
    return np.zeros(len(K)), 0.0
'''


def test_monkeypatching_numpy_math_and_the_grader_changes_nothing(perceptron, any_sandbox,
                                                                  write_submission):
    result = grade(perceptron, any_sandbox, write_submission(WRONG_BUT_PATCHING))
    tests = by_name(result)
    assert tests["public_train_tiny"]["status"] == "failed"
    assert tests["public_polynomial_kernel_example"]["status"] == "failed"
    # Only the predictions that really are all +1 can pass.
    assert result["score"] <= 10


LIARS = '''
import numpy as np

class Liar:
    """Claims equality with anything and converts to whatever is asked."""
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __array__(self, dtype=None, copy=None): return np.array([1024.0])
    def __float__(self): return 1024.0
    def __len__(self): return 3
    def __getitem__(self, i): return Liar()

class Sneaky(np.ndarray):
    def __eq__(self, other): return np.ones(np.shape(other), dtype=bool)

def perceptron_train(X, y, max_epochs=100):
    return Liar(), Liar(), Liar()
def perceptron_predict(X, w, b):
    return np.ones(len(X)).view(Sneaky)
def polynomial_kernel(X, Z, degree=2, coef0=0.0):
    return Liar()
def quadratic_features(X):
    return [Liar()] * len(X)
def kernel_perceptron_train(K, y, max_epochs=100):
    return Liar()
'''


def test_objects_that_lie_fail_with_a_clear_message(perceptron, any_sandbox, write_submission):
    result = grade(perceptron, any_sandbox, write_submission(LIARS))
    assert result["score"] == 0
    tests = by_name(result)
    assert "is an object of type submission.Liar" in tests["public_train_tiny"]["output"]
    assert "submission.Sneaky" in tests["public_predict_basic"]["output"]
    assert "expected a NumPy array" in tests["public_polynomial_kernel_example"]["output"]


def test_syntax_error_fails_every_test_with_the_line(perceptron, any_sandbox, write_submission):
    result = grade(perceptron, any_sandbox, write_submission("def f(:\n    pass\n"))
    assert result["score"] == 0
    output = by_name(result)["public_train_tiny"]["output"]
    assert "could not be imported" in output and "SyntaxError" in output
    assert 'File "submission.py", line 1' in output and "autograder-work" not in output


def test_import_error_is_reported(perceptron, sandbox, write_submission):
    result = grade(perceptron, sandbox, write_submission("import no_such_module_here\n"))
    assert result["score"] == 0
    assert "No module named 'no_such_module_here'" in by_name(result)["public_train_tiny"]["output"]


@pytest.mark.parametrize("module", ["sklearn", "scipy", "scipy.optimize"])
def test_forbidden_modules_fail_the_submission_with_a_message(perceptron, any_sandbox,
                                                              write_submission, module):
    result = grade(perceptron, any_sandbox, write_submission(f"import {module}\n" + REFERENCE))
    assert result["score"] == 0
    assert "is forbidden in this assignment" in by_name(result)["public_train_tiny"]["output"]


def test_the_reference_cannot_be_imported_by_a_submission(perceptron, any_sandbox,
                                                           write_submission):
    source = "from autograder.reference.perceptron import *\n"
    result = grade(perceptron, any_sandbox, write_submission(source))
    assert result["score"] == 0
    assert "part of the grader" in by_name(result)["public_train_tiny"]["output"]


@pytest.mark.parametrize("exit_call", ["sys.exit(0)", "os._exit(0)", "raise SystemExit(3)"])
def test_exit_at_import_is_a_failed_submission(perceptron, any_sandbox, write_submission, exit_call):
    source = f"import os, sys\n{exit_call}\n" + REFERENCE
    result = grade(perceptron, any_sandbox, write_submission(source))
    assert result["score"] == 0
    assert all(t["status"] == "failed" for t in result["tests"])


@pytest.mark.parametrize("exit_call", ["sys.exit(0)", "os._exit(1)"])
def test_exit_in_one_function_costs_only_that_functions_tests(perceptron, any_sandbox,
                                                               write_submission, exit_call):
    source = REFERENCE + f"\nimport os, sys\ndef quadratic_features(X):\n    {exit_call}\n"
    result = grade(perceptron, any_sandbox, write_submission(source))
    assert failed_functions(result) == {"quadratic_features"}
    assert result["score"] == 90
    message = by_name(result)["public_quadratic_features_basic"]["output"]
    assert "sys.exit" in message or "exited with code 1" in message


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_timeout_kills_the_worker_and_its_children_and_grading_goes_on(
        perceptron, sandbox, write_submission, tmp_path):
    pid_file = tmp_path / "child.pid"
    source = REFERENCE + f'''
import subprocess, time
def polynomial_kernel(X, Z, degree=2, coef0=0.0):
    child = subprocess.Popen(["sleep", "300"])
    open({str(pid_file)!r}, "w").write(str(child.pid))
    while True:
        pass
'''
    perceptron.limits = Limits(call_timeout_s=0.5, import_timeout_s=30, output_bytes=65536)
    start = time.monotonic()
    result = grade(perceptron, sandbox, write_submission(source))
    elapsed = time.monotonic() - start
    assert failed_functions(result) == {"polynomial_kernel"}
    assert "did not finish within 0.5 s" in by_name(result)["public_polynomial_kernel_example"]["output"]
    assert elapsed < 10
    child = int(pid_file.read_text())
    assert not running(child)


def running(pid: int) -> bool:
    """Alive and not a zombie (a zombie waits for PID 1 to reap it; it runs nothing)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_output_flood_is_stopped(perceptron, any_sandbox, write_submission):
    source = REFERENCE + "\ndef quadratic_features(X):\n    while True:\n        print('x' * 10000)\n"
    result = grade(perceptron, any_sandbox, write_submission(source))
    assert failed_functions(result) == {"quadratic_features"}
    assert "printed more than 65536 bytes" in by_name(result)["public_quadratic_features_basic"]["output"]


def test_student_traceback_shows_only_student_frames(perceptron, any_sandbox, write_submission):
    source = REFERENCE + "\ndef quadratic_features(X):\n    return helper(X)\ndef helper(X):\n    return X[5, 5]\n"
    result = grade(perceptron, any_sandbox, write_submission(source))
    output = by_name(result)["public_quadratic_features_basic"]["output"]
    assert "IndexError" in output
    assert 'File "submission.py"' in output and "in helper" in output
    assert "worker.py" not in output and "autograder" not in output


def test_hidden_failures_never_show_values_or_exception_text(perceptron, any_sandbox,
                                                             write_submission):
    source = REFERENCE + "\ndef polynomial_kernel(X, Z, degree=2, coef0=0.0):\n" \
                         "    raise ValueError('leak ' + repr(X))\n"
    source = source.replace("np.sqrt(2.0) * x1 * x2", "1.5 * x1 * x2")
    result = grade(perceptron, any_sandbox, write_submission(source))
    hidden = [t for t in result["tests"] if t["visibility"] == "hidden" and t["status"] == "failed"]
    assert hidden
    for test in hidden:
        assert test["output"].startswith("Hidden test failed")
        assert "leak" not in test["output"] and "expected" not in test["output"]
        assert "got" not in test["output"]
    visible = by_name(result)["public_polynomial_kernel_example"]["output"]
    assert "ValueError: leak array" in visible


def test_a_bug_in_a_test_is_a_failed_test_not_a_crash(perceptron, sandbox):
    from autograder.testing import Case

    def broken(sub, ref):
        raise KeyError("oops")

    original = perceptron.cases

    def cases(public_only=False):
        found = original(public_only=public_only)
        found[0] = Case(name=found[0].name, function=broken, points=found[0].points)
        return found

    perceptron.cases = cases
    result = grade(perceptron, sandbox, perceptron.reference_path())
    first = result["tests"][0]
    assert first["status"] == "failed"
    assert "the grader could not finish this test (KeyError: 'oops')" in first["output"]
    assert result["score"] == 100 - first["max_score"]


def test_writing_to_the_grader_channel_is_a_failed_call(perceptron, any_sandbox, write_submission):
    source = REFERENCE + '''
import json, os, sys
def quadratic_features(X):
    fd = json.loads(sys.argv[1])["write_fd"]
    os.write(fd, b"\\x00\\x00\\x00\\x05junk!")
    return X
'''
    result = grade(perceptron, any_sandbox, write_submission(source))
    assert failed_functions(result) == {"quadratic_features"}


def test_worker_environment_holds_no_grader_secrets(any_sandbox, write_submission, monkeypatch):
    monkeypatch.setenv("CANVAS_API_TOKEN", "secret-token")
    path = write_submission("import os\ndef peek():\n    return sorted(os.environ)\n")
    with any_sandbox.open(path, forbidden=[], limits=Limits()) as session:
        outcome = session.call("peek")
    assert outcome.ok
    assert "CANVAS_API_TOKEN" not in outcome.value


def test_result_size_is_capped(sandbox, write_submission):
    path = write_submission("import numpy as np\ndef big():\n    return np.zeros(1_000_000)\n")
    with sandbox.open(path, forbidden=[], limits=Limits(result_bytes=1 << 20)) as session:
        outcome = session.call("big")
        assert not outcome.ok and outcome.kind == "output"
        assert "returned more than" in outcome.message


def test_answers_already_returned_still_count_after_a_crash(any_sandbox, write_submission):
    path = write_submission("import os\ndef one():\n    return 1\ndef die():\n    os._exit(9)\n")
    with any_sandbox.open(path, forbidden=[], limits=Limits()) as session:
        first = session.call("one")
        crash = session.call("die")
        after = session.call("one")
    assert first.ok and first.value == 1
    assert crash.kind == "crash" and "exited with code 9" in crash.message
    assert after.ok and after.value == 1
    assert session.worker_starts == 2


def test_inputs_are_fresh_copies(sandbox, write_submission):
    path = write_submission("def scribble(a):\n    a[:] = 99\n    return a.flags.writeable\n")
    data = np.zeros(3)
    with sandbox.open(path, forbidden=[], limits=Limits()) as session:
        assert session.call("scribble", (data,)).value is True
    assert np.array_equal(data, np.zeros(3))


def test_long_lists_of_numpy_scalars_come_back(any_sandbox, write_submission):
    path = write_submission("import numpy as np\ndef labels(n):\n"
                            "    return list(np.arange(n) % 3) + [np.float32(0.5), np.bool_(True)]\n")
    with any_sandbox.open(path, forbidden=[], limits=Limits()) as session:
        outcome = session.call("labels", (6000,))
    assert outcome.ok, outcome.message
    assert len(outcome.value) == 6002 and outcome.value[:4] == [0, 1, 2, 0]
    assert outcome.value[-2:] == [0.5, True]


def test_a_forbidden_module_already_imported_by_the_worker_is_still_refused(sandbox,
                                                                          write_submission):
    # numpy.linalg is imported by the worker itself before any submission runs.
    path = write_submission("import numpy.linalg\ndef f():\n    return 1\n")
    with sandbox.open(path, forbidden=["numpy.linalg"], limits=Limits()) as session:
        outcome = session.call("f")
    assert outcome.kind == "import" and "is forbidden in this assignment" in outcome.message


def test_work_folders_of_dead_grading_processes_are_swept(sandbox, write_submission,
                                                          monkeypatch, tmp_path):
    import subprocess

    from autograder.sandbox import session as session_module

    monkeypatch.setattr(session_module.tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(session_module, "_swept", False)
    gone = subprocess.Popen(["true"])
    gone.wait()
    orphan = tmp_path / f"autograder-work-{gone.pid}-abc123"
    orphan.mkdir()
    mine = tmp_path / f"autograder-work-{os.getpid()}-keep"
    mine.mkdir()
    path = write_submission("def f():\n    return 1\n")
    with sandbox.open(path, forbidden=[], limits=Limits()) as session:
        assert session.call("f").value == 1
    assert not orphan.exists() and mine.exists()
    assert [p.name for p in tmp_path.glob("autograder-work-*")] == [mine.name]  # closed: removed

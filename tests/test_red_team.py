"""Red-team attacks on the trust boundary that once worked, each with the fix that stops it.

Every test grades (or calls) a real hostile submission, or feeds the grader a
hostile frame, and checks that the attack ends as a failed test or a refused
submission with a message: no points it did not earn, no hidden input in
feedback, no unbounded wait or memory in the grader.
"""

from __future__ import annotations

import json
import os
import struct
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from autograder import transport
from autograder.compare import CheckFailure, assert_close, assert_exact
from autograder.errors import SubmissionError
from autograder.grading import check_submission_path, grade_submission, submission_digest
from autograder.sandbox import Limits
from autograder.sandbox.zygote_backend import needs_torch

REPO = Path(__file__).resolve().parent.parent


def grade(registry, assignment_id, sandbox, path):
    return grade_submission(assignment=registry.assignment(assignment_id), submission=path,
                            sandbox=sandbox)


def statuses(result, word):
    return {t["name"]: t["status"] for t in result["tests"] if word in t["name"]}


# --- (b) hidden inputs out through an exception's class name -----------------------------------

EXFIL = '''
import numpy as np
def _leak(X):
    raise type("Leak_" + "_".join(str(v) for v in np.ravel(X)[:4]), (ValueError,), {})("x")
def perceptron_train(X, y, max_epochs=100):
    _leak(X)
def perceptron_predict(X, w, b):
    if len(X) == 4:
        raise ValueError("plain")
    _leak(X)
def polynomial_kernel(X, Z, degree=2, coef0=0.0):
    _leak(X)
def quadratic_features(X):
    _leak(X)
def kernel_perceptron_train(K, y, max_epochs=100):
    _leak(K)
'''


def test_a_hidden_failure_never_repeats_a_class_name_the_submission_made(
        registry, any_sandbox, write_submission):
    result = grade(registry, "perceptron", any_sandbox, write_submission(EXFIL))
    hidden = {t["name"]: t["output"] for t in result["tests"] if t["visibility"] == "hidden"}
    assert all("Leak" not in output for output in hidden.values()), hidden
    assert "raised an exception that is not a Python built-in" in hidden["predict_random"]
    # A built-in exception is still named: it carries nothing the submission chose.
    assert "perceptron_predict() raised ValueError" in hidden["predict_zero_score_is_negative"]
    visible = {t["name"]: t["output"] for t in result["tests"] if t["visibility"] == "visible"}
    assert "Leak_2.0_1.0_1.0_3.0" in visible["public_train_tiny"]  # public: full feedback


# --- (a) a helper replays the answer of the function it is meant to vouch for -----------------

ADAM_REPLAY = (REPO / "reference" / "adam.py").read_text() + '''
_real_step, _last = adam_step, {}

def adam_optimize(grad_fn, w0, steps, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    history = np.stack([np.array(w0, dtype=np.float64)] * (steps + 1))  # never moves
    _last["history"] = history
    return history[-1], history

def adam_step(w, dw, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    w2, m2, v2 = _real_step(w, dw, m, v, t, lr, beta1, beta2, eps)
    h = _last.get("history")
    if h is not None and t < len(h) and np.array_equal(np.asarray(w), h[t - 1]):
        return h[t].copy(), m2, v2  # the history adam_optimize returned, step by step
    return w2, m2, v2
'''


def test_adam_optimize_cannot_pass_on_a_history_adam_step_replays(registry, any_sandbox,
                                                                   write_submission):
    result = grade(registry, "adam", any_sandbox, write_submission(ADAM_REPLAY))
    optimize = statuses(result, "optimize")
    assert optimize.pop("adam_optimize_zero_steps") == "passed"  # w0 alone is right
    assert set(optimize.values()) == {"failed"}, optimize
    assert set(statuses(result, "adam_step").values()) == {"passed"}


BACKPROP = (REPO / "reference" / "backprop.py").read_text()

FORWARD_REPLAY = BACKPROP + '''
_real_forward, _real_softmax, _last = forward, softmax, {}

def forward(params, X):
    Y_hat, cache = _real_forward(params, X)
    wrong = np.full_like(Y_hat, 1.0 / Y_hat.shape[1])
    _last["Y"] = wrong
    return wrong, cache

def softmax(L):
    wrong = _last.pop("Y", None)
    return wrong if wrong is not None and wrong.shape == np.shape(L) else _real_softmax(L)
'''

BACKWARD_REPLAY = BACKPROP + '''
_real_backward, _real_relu, _flag = backward, relu, []

def backward(params, cache, labels):
    grads = _real_backward(params, cache, labels)
    grads["W_y"] = np.zeros_like(grads["W_y"])  # never computed
    _flag.append(1)
    return grads

def relu(Z):
    if _flag:  # called right after backward: an h that makes dL.T @ h == 0
        _flag.clear()
        return np.zeros_like(np.asarray(Z, dtype=float))
    return _real_relu(Z)
'''


@pytest.mark.parametrize("source,word", [(FORWARD_REPLAY, "forward"),
                                         (BACKWARD_REPLAY, "backward")])
def test_backprop_cannot_pass_on_helpers_that_replay_for_it(registry, any_sandbox,
                                                           write_submission, source, word):
    result = grade(registry, "backprop", any_sandbox, write_submission(source))
    judged = statuses(result, word)
    assert len(judged) >= 3 and set(judged.values()) == {"failed"}, judged
    helpers = {t["name"]: t["status"] for t in result["tests"]
               if t["name"].startswith(("relu", "softmax", "public_relu", "public_softmax"))}
    assert len(helpers) == 5 and set(helpers.values()) == {"passed"}, helpers


def test_fresh_gives_the_next_call_a_new_worker(any_sandbox, write_submission):
    path = write_submission("_seen = []\ndef f():\n    _seen.append(1)\n    return len(_seen)\n")
    from autograder.proxy import SubmissionProxy

    with any_sandbox.open(path, forbidden=[], limits=Limits()) as session:
        sub = SubmissionProxy(session)
        assert (sub.f(), sub.f()) == (1, 2)
        assert sub.fresh().f() == 1
    assert session.worker_starts == 2


# --- (a) and (c) links and special files in what the grader reads with its own rights -----------

def test_a_link_as_the_submission_is_refused_not_resolved_to_its_target(registry, any_sandbox,
                                                                          tmp_path):
    link = tmp_path / "perceptron.py"
    link.symlink_to(REPO / "reference" / "perceptron.py")  # would be graded: 100/100
    with pytest.raises(SubmissionError, match="is a symbolic link"):
        grade(registry, "perceptron", any_sandbox, link)
    folder = tmp_path / "package"
    folder.mkdir()
    (folder / "main.py").symlink_to(REPO / "reference" / "perceptron.py")
    with pytest.raises(SubmissionError, match="main.py in submission folder .* symbolic link"):
        check_submission_path(folder)


def test_a_folder_digest_never_reads_through_a_link(tmp_path):
    outside = tmp_path / "secret.txt"
    outside.write_text("one")
    folder = tmp_path / "sub"
    folder.mkdir()
    (folder / "main.py").write_text("x = 1\n")
    (folder / "data.txt").symlink_to(outside)
    link = tmp_path / "mallory.py"  # a batch hashes before grading refuses the link
    link.symlink_to(outside)
    before = submission_digest(folder), submission_digest(link)
    outside.write_text("two")
    assert (submission_digest(folder), submission_digest(link)) == before


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes need a POSIX system")
def test_a_named_pipe_in_a_folder_submission_is_refused_without_blocking(tmp_path):
    folder = tmp_path / "sub"
    folder.mkdir()
    (folder / "main.py").write_text("def f():\n    return 1\n")
    fifo = folder / "helpers.py"
    os.mkfifo(fifo)
    done = []
    probe = threading.Thread(target=lambda: done.append(needs_torch(folder)), daemon=True)
    probe.start()
    probe.join(5)
    if not done:  # release the blocked reader before failing
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    assert done == [(False, False)], "needs_torch blocked on a named pipe"
    with pytest.raises(SubmissionError, match="helpers.py .* not a regular file"):
        check_submission_path(folder)
    with pytest.raises(SubmissionError, match="is not a regular file"):
        check_submission_path(fifo)


# --- (c) and (d) frames and values that would blow up in the grader ---------------------------

def _frame(tree, arrays, data=b""):
    header = json.dumps({"tree": tree, "arrays": arrays}).encode()
    return struct.pack(">I", len(header)) + header + data


def test_a_frame_that_names_one_array_many_times_is_refused():
    # 1 MB of header; np.stack of what it decoded to would take 120 MB (1.2 GB with 10x more).
    frame = _frame({"$list": [{"$nd": 0}] * 1500}, [{"dtype": "<f8", "shape": [10000]}],
                   bytes(80000))
    with pytest.raises(transport.WireError, match="referenced twice"):
        transport.decode(frame)


@pytest.mark.parametrize("entry,match", [
    ({"dtype": "<f8", "shape": [0, 2 ** 62, 2 ** 62]}, "dimension over"),
    ({"dtype": "<f8", "shape": [0, 10 ** 30]}, "dimension over"),
])
def test_an_empty_array_with_an_absurd_axis_is_a_wire_error(entry, match):
    with pytest.raises(transport.WireError, match=match):
        transport.decode(_frame({"$nd": 0}, [entry]))


def test_narrow_dtypes_count_as_the_float64_they_become():
    frame = transport.encode(np.zeros(1000, dtype=bool))[4:]
    assert transport.decode(frame, max_elements=1000).shape == (1000,)
    with pytest.raises(transport.WireError, match="more than 999 numbers"):
        transport.decode(frame, max_elements=999)


def test_a_malformed_integer_is_a_wire_error():
    with pytest.raises(transport.WireError):
        transport.decode(_frame({"$int": "twelve"}, []))


FORGER = '''
import json, os, struct, sys, time

def _channel():
    return json.loads(sys.argv[1]).get("write_fd", 4)

def _send(tree, arrays=(), data=b""):
    header = json.dumps({"tree": tree, "arrays": list(arrays)}).encode()
    body = struct.pack(">I", len(header)) + header + data
    os.write(_channel(), struct.pack(">I", len(body)) + body)
    sys.stdout.flush()
    os._exit(0)

def shared():
    value = {"$list": [{"$nd": 0}] * 20000}
    _send({"$dict": [["ok", True], ["seq", {"$int": "1"}], ["value", value]]},
          [{"dtype": "<f8", "shape": [1000]}], bytes(8000))

def bad_mro():
    _send({"$dict": [["ok", False], ["seq", {"$int": "1"}], ["kind", "exception"], ["type", "E"],
                     ["mro", {"$int": "5"}], ["message", "m"]]})

def ok():
    return 1
'''


def test_hand_written_answers_that_would_harm_the_grader_are_failed_calls(any_sandbox,
                                                                         write_submission):
    path = write_submission(FORGER)
    with any_sandbox.open(path, forbidden=[], limits=Limits()) as session:
        shared = session.call("shared")
        assert shared.kind == "protocol" and "referenced twice" in shared.message, shared
        assert session.call("ok").value == 1
    with any_sandbox.open(path, forbidden=[], limits=Limits()) as session:
        odd = session.call("bad_mro")
        assert odd.kind == "exception" and odd.exc_mro == [], odd


def test_an_integer_too_large_for_float64_is_a_failed_check():
    with pytest.raises(CheckFailure, match="integer too large for a float64"):
        assert_close("b", 10 ** 399, 0.0, rtol=0, atol=1e-9)
    with pytest.raises(CheckFailure, match="integer too large"):
        assert_exact("mistakes", [10 ** 399], [3])


def test_an_integer_too_large_for_float64_fails_its_test_with_a_message(registry, any_sandbox,
                                                                        write_submission):
    source = (REPO / "reference" / "perceptron.py").read_text() + '''
_real_train = perceptron_train
def perceptron_train(X, y, max_epochs=100):
    w, b, mistakes = _real_train(X, y, max_epochs)
    return w, 10 ** 399, mistakes
'''
    result = grade(registry, "perceptron", any_sandbox, write_submission(source))
    public = {t["name"]: t["output"] for t in result["tests"]}["public_train_tiny"]
    assert "b returned by perceptron_train is an integer too large" in public
    assert "could not finish" not in json.dumps(result)


def test_a_wrong_shape_is_reported_before_any_float64_copy(monkeypatch):
    from autograder import compare

    def no_copy(value, label):
        raise AssertionError("converted before the shape check")

    monkeypatch.setattr(compare, "as_float64", no_copy)
    big = np.zeros(10 ** 6, dtype=bool)
    with pytest.raises(CheckFailure, match=r"shape \(1000000,\); expected shape \(3,\)"):
        assert_close("x", big, np.zeros(3), rtol=0, atol=0)
    with pytest.raises(CheckFailure, match="expected shape"):
        assert_exact("x", big, np.zeros(3))


# --- (d) a submission that sleeps through every restart ---------------------------------------

SLEEPER = '''
import time
time.sleep(0.8)  # paid again each time a timed-out call restarts the worker

def f():
    time.sleep(60)
'''


def test_a_submission_that_never_answers_is_stopped_by_the_total_time_budget(any_sandbox,
                                                                            write_submission):
    path = write_submission(SLEEPER)
    limits = Limits(call_timeout_s=0.5, import_timeout_s=5.0, total_timeout_s=3.0)
    start = time.monotonic()
    with any_sandbox.open(path, forbidden=[], limits=limits) as session:
        outcomes = [session.call("f") for _ in range(10)]
    elapsed = time.monotonic() - start
    # Without the budget: 10 x (0.8 s import + 0.5 s timeout) = 13 s at least.
    assert elapsed < 3.0 + 2.5, elapsed
    assert all(o.kind == "timeout" for o in outcomes)
    assert all("used up the 3 s (wall clock)" in o.message for o in outcomes[-3:])


def test_the_default_total_budget_is_the_import_and_ten_calls():
    assert Limits(call_timeout_s=5.0, import_timeout_s=60.0).total_s == 110.0
    assert Limits(total_timeout_s=30.0).total_s == 30.0


def test_fingerprinting_converts_a_students_value_once_not_once_per_mutant(registry,
                                                                           monkeypatch):
    from autograder import compare, grading

    perceptron = registry.assignment("perceptron")
    fingerprinter = grading.Fingerprinter(perceptron, perceptron.reference_module())
    case = next(c for c in perceptron.cases() if c.name == "quadratic_features_matches_kernel")
    got = [[0.5] * 3 for _ in range(7)]  # stands for a 200,000-number list
    failure = CheckFailure("differs", "quadratic_features(X)")
    failure.got, failure.tolerance = got, (1e-9, 1e-9)
    conversions = []
    real = compare.as_float64

    def counting(value, label):
        if value is got:
            conversions.append(label)
        return real(value, label)

    monkeypatch.setattr(compare, "as_float64", counting)
    monkeypatch.setattr(grading, "as_float64", counting, raising=False)
    assert fingerprinter.match(case, failure) is None
    assert len(fingerprinter._mutants) > 3 and len(conversions) == 1


@pytest.mark.parametrize("value,match", [(["1.5", 2.0], "is a str"), ([None], "is a NoneType"),
                                         ([10 ** 399, 1], r"x\[0\] is an integer too large")])
def test_the_fast_path_for_lists_refuses_what_the_slow_one_refuses(value, match):
    from autograder.compare import as_float64

    with pytest.raises(CheckFailure, match=match):
        as_float64(value, "x")
    assert as_float64([True, 2, 0.5], "x").tolist() == [1.0, 2.0, 0.5]


def test_an_assignment_may_set_its_total_budget(tmp_path):
    import shutil

    from autograder.assignment import load_assignment

    folder = tmp_path / "perceptron"
    shutil.copytree(REPO / "assignments" / "perceptron", folder,
                    ignore=shutil.ignore_patterns("__pycache__"))
    toml = folder / "assignment.toml"
    toml.write_text(toml.read_text().replace("[limits]\n", "[limits]\ntotal_timeout_s = 30.0\n"))
    assert load_assignment(folder).limits.total_s == 30.0

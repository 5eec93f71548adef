"""Hostile submissions against the zygote sandbox: each attack must end as a failed call.

Every test runs a real submission in a forked, sandboxed worker and checks
two things: the attack came back as a failed call (or did nothing), and the
grader is unharmed (the next call works, the files and processes it names
are intact). Attacks that rely on a layer skip with the kernel's reason
where that layer is missing; on Linux as root (CI) they all run.

Attacks are bounded on purpose: a fork bomb forks at most a few hundred
processes, memory attacks stop at a few GiB, so that a broken sandbox fails
a test instead of taking the machine down.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path

import pytest

from autograder.sandbox import Limits
from sandbox_helpers import (
    LIMITS,
    LINUX,
    ROOT,
    make_sandbox,
    need,
    process_exists,
    processes_of_uid,
    write,
)

pytestmark = pytest.mark.skipif(not LINUX, reason="the fork server and its layers need Linux")

ATTACKS = Path(__file__).with_name("sandbox_attack_submission.py")

@pytest.fixture(scope="module")
def zygote():
    sandbox = make_sandbox()
    sandbox.start()
    yield sandbox
    sandbox.close()


@pytest.fixture(scope="module")
def attack_file(tmp_path_factory):
    return write(ATTACKS.read_text(), tmp_path_factory.mktemp("attacks"))


def call(sandbox, path, function, *args, limits: Limits = LIMITS, timeout_s=None):
    with sandbox.open(path, forbidden=[], limits=limits) as session:
        return session.call(function, args, timeout_s=timeout_s)


def assert_unharmed(sandbox, path):
    """The grader can still grade: a fresh worker answers a plain call."""
    outcome = call(sandbox, path, "ok", 21)
    assert outcome.ok and outcome.value == 42, outcome


# --- CPU and time ----------------------------------------------------------------------------

def test_runaway_cpu_is_stopped_at_the_wall_deadline(zygote, attack_file):
    start = time.monotonic()
    outcome = call(zygote, attack_file, "spin", timeout_s=1.0)
    assert outcome.kind == "timeout"
    assert time.monotonic() - start < 5
    assert_unharmed(zygote, attack_file)


def test_sleeping_forever_is_stopped_at_the_wall_deadline(zygote, attack_file):
    outcome = call(zygote, attack_file, "sleep", timeout_s=0.5)
    assert outcome.kind == "timeout" and "0.5 s" in outcome.message
    assert_unharmed(zygote, attack_file)


def test_cpu_rlimit_kills_a_spinner_that_ignores_sigxcpu(attack_file):
    sandbox = make_sandbox(cpu_s=1)
    try:
        need(sandbox, "rlimits")
        outcome = call(sandbox, attack_file, "spin_ignoring_xcpu", timeout_s=30)
        assert outcome.kind == "crash", outcome
        assert "SIGKILL" in outcome.message
    finally:
        sandbox.close()


# --- memory --------------------------------------------------------------------------------

@pytest.mark.parametrize("function", ["numpy_huge", "python_huge", "touch_chunks"])
def test_memory_exhaustion_is_a_memory_error(zygote, attack_file, function):
    outcome = call(zygote, attack_file, function, timeout_s=30)
    assert outcome.kind == "exception", outcome
    assert outcome.exc_type == "MemoryError"
    assert_unharmed(zygote, attack_file)


def test_shared_memory_past_the_cgroup_limit_is_killed(zygote, attack_file):
    need(zygote, "cgroup-memory")
    outcome = call(zygote, attack_file, "shared_mmap", timeout_s=60)
    assert outcome.kind == "crash", outcome
    assert "memory limit of 512 MiB" in outcome.message
    assert_unharmed(zygote, attack_file)


@pytest.mark.torch
def test_torch_memory_exhaustion_is_an_error(zygote, tmp_path):
    pytest.importorskip("torch")
    path = write("""
        import torch
        def ok(x):
            return x * 2
        def huge():
            return torch.ones(10**6, 10**6)
        def threads_after_fork():
            torch.set_num_threads(2)
            a = torch.randn(512, 512)
            return float((a @ a).sum())
        """, tmp_path)
    outcome = call(zygote, path, "huge", timeout_s=30)
    assert outcome.kind == "exception" and outcome.exc_type == "RuntimeError", outcome
    # The server warmed torch up at one thread, so a child may use two (no libgomp deadlock).
    assert zygote.server_info()["threads"] == 1
    outcome = call(zygote, path, "threads_after_fork", timeout_s=20)
    assert outcome.ok, outcome
    assert_unharmed(zygote, path)


# --- processes ------------------------------------------------------------------------------

def test_fork_bomb_hits_the_process_limit_and_leaves_nothing(zygote, attack_file):
    need(zygote, "rlimits")
    outcome = call(zygote, attack_file, "fork_many", timeout_s=20)
    assert outcome.kind == "exception", outcome
    assert outcome.exc_type == "BlockingIOError"
    if "uid-drop" in zygote.layers():
        assert processes_of_uid(zygote.config.slot_uid) == []
    assert_unharmed(zygote, attack_file)


def test_thread_bomb_hits_the_process_limit(zygote, attack_file):
    need(zygote, "rlimits")
    outcome = call(zygote, attack_file, "thread_many", timeout_s=20)
    assert outcome.kind == "exception", outcome
    assert "can't start new thread" in outcome.message
    assert_unharmed(zygote, attack_file)


def test_escaped_grandchild_is_killed_with_the_worker(zygote, attack_file):
    outcome = call(zygote, attack_file, "escape_and_spin", timeout_s=2.0)
    assert outcome.kind == "timeout", outcome
    pid = int(outcome.output.split("grandchild", 1)[1].split()[0])
    deadline = time.monotonic() + 5
    while process_exists(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not process_exists(pid), f"grandchild {pid} escaped the process-tree kill"


def test_killing_the_grader_and_the_fork_server_is_refused(zygote, attack_file):
    need(zygote, "uid-drop")
    server = zygote.server_info()["pid"]
    for pid in (os.getpid(), server, 1):
        outcome = call(zygote, attack_file, "kill_pid", pid)
        assert outcome.kind == "exception" and outcome.exc_type == "PermissionError", outcome
    assert process_exists(server)
    assert_unharmed(zygote, attack_file)


def test_kill_everything_spares_the_grader_and_other_submissions(zygote, attack_file):
    need(zygote, "uid-drop", "landlock")
    with zygote.open(attack_file, forbidden=[], limits=LIMITS) as victim:
        assert victim.call("ok", (1,)).ok
        # kill(-1) reports success when every target refused (EPERM): what counts is
        # that nothing outside the attacker's own process died.
        call(zygote, attack_file, "kill_everything")
        assert process_exists(zygote.server_info()["pid"])
        # The other submission's worker, same fork server and same uid, survived.
        survived = victim.call("ok", (2,))
        assert survived.ok and survived.value == 4, survived
        assert victim.worker_starts == 1


def test_exiting_or_dying_mid_grading_costs_only_that_call(zygote, tmp_path):
    path = write("""
        import os, signal, time
        def ok(x):
            return x * 2
        def die():
            os.kill(os.getpid(), signal.SIGKILL)
        def leave_a_pipe_holder_and_exit():
            if os.fork() == 0:
                os.setsid()
                time.sleep(60)
            os._exit(0)
        """, tmp_path)
    with zygote.open(path, forbidden=[], limits=LIMITS) as session:
        assert session.call("ok", (1,)).value == 2
        died = session.call("die")
        assert died.kind == "crash" and "SIGKILL" in died.message
        start = time.monotonic()
        # A grandchild keeps the pipes open: the pidfd still tells the grader at once.
        exited = session.call("leave_a_pipe_holder_and_exit", timeout_s=20)
        assert exited.kind == "crash" and "exited with code 0" in exited.message
        assert time.monotonic() - start < 5
        assert session.call("ok", (3,)).value == 6
        assert session.worker_starts == 3


# --- output and disk -----------------------------------------------------------------------

def test_output_flood_is_cut_at_the_cap(zygote, attack_file):
    outcome = call(zygote, attack_file, "flood_stdout", timeout_s=20)
    assert outcome.kind == "output", outcome
    assert_unharmed(zygote, attack_file)


def test_one_huge_file_hits_the_file_size_limit(zygote, attack_file):
    need(zygote, "rlimits")
    outcome = call(zygote, attack_file, "big_file", timeout_s=20)
    assert outcome.kind == "exception" and "File too large" in outcome.message, outcome


def test_many_files_fill_only_the_capped_working_folder(zygote, attack_file):
    need(zygote, "mount-namespace")
    outcome = call(zygote, attack_file, "many_files", timeout_s=20)
    assert outcome.kind == "exception" and "No space left" in outcome.message, outcome
    assert_unharmed(zygote, attack_file)


# --- network -------------------------------------------------------------------------------

def test_loopback_tcp_to_a_grader_listener_is_refused(zygote, attack_file):
    need(zygote, "netns")
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    try:
        outcome = call(zygote, attack_file, "tcp_connect", listener.getsockname()[1])
        assert outcome.kind == "exception", outcome
        with pytest.raises(socket.timeout):
            listener.accept()
    finally:
        listener.close()


def test_internet_is_unreachable(zygote, attack_file):
    need(zygote, "netns")
    outcome = call(zygote, attack_file, "udp_send")
    assert outcome.kind == "exception", outcome


def test_unix_socket_of_the_grader_is_unreachable(zygote, attack_file, tmp_path):
    need(zygote, "mount-namespace")
    path = str(tmp_path / "grader.sock")
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    server.listen()
    server.settimeout(0.2)
    try:
        outcome = call(zygote, attack_file, "unix_connect", path)
        assert outcome.kind == "exception", outcome
        with pytest.raises(socket.timeout):
            server.accept()
    finally:
        server.close()


# --- files -----------------------------------------------------------------------------------

def _secret_files(registry, tmp_path) -> dict[str, str]:
    perceptron = registry.assignment("perceptron")
    gradebook = tmp_path / "gradebook.db"
    gradebook.write_text("student,score\n")
    return {"reference": str(perceptron.reference_path()),
            "hidden tests": str(perceptron.folder / "hidden_tests.py"),
            "assignment metadata": str(perceptron.folder / "assignment.toml"),
            "gradebook": str(gradebook),
            "home": str(Path.home() / ".bashrc"),
            "shadow": "/etc/shadow",
            "project": str(Path(__file__).resolve())}


def test_grader_files_are_unreadable(zygote, attack_file, registry, tmp_path):
    need(zygote, "mount-namespace")
    for what, path in _secret_files(registry, tmp_path).items():
        if not os.path.exists(path):
            continue
        outcome = call(zygote, attack_file, "read_file", path)
        assert outcome.kind == "exception", f"{what} ({path}) was readable: {outcome}"
        assert outcome.exc_type in ("FileNotFoundError", "PermissionError"), outcome
    outcome = call(zygote, attack_file, "list_folder", str(Path.home()))
    assert outcome.kind == "exception", outcome


def test_grader_files_are_unreadable_with_landlock_alone(attack_file, registry, tmp_path):
    """The laptop case: no namespaces or uid drop, only Landlock keeps files out."""
    sandbox = make_sandbox(disable=["mount-namespace", "netns", "uid-drop"])
    try:
        need(sandbox, "landlock")
        for what, path in _secret_files(registry, tmp_path).items():
            if not os.path.exists(path):
                continue
            outcome = call(sandbox, attack_file, "read_file", path)
            assert outcome.kind == "exception", f"{what} ({path}) was readable: {outcome}"
        assert_unharmed(sandbox, attack_file)
    finally:
        sandbox.close()


def test_grader_files_cannot_be_written(zygote, attack_file, tmp_path):
    # Decoys only: a broken sandbox must fail this test, not overwrite the real reference.
    need(zygote, "mount-namespace")
    decoy = tmp_path / "reference_decoy.py"
    decoy.write_text("ANSWER = 42\n")
    for path in (decoy, tmp_path / "planted.py"):
        outcome = call(zygote, attack_file, "write_file", str(path), "hacked")
        assert outcome.kind == "exception", outcome
    assert decoy.read_text() == "ANSWER = 42\n"
    assert not (tmp_path / "planted.py").exists()


def test_other_submissions_are_unreadable(zygote, attack_file, tmp_path):
    need(zygote, "mount-namespace")
    other = write("SECRET = 'other student'\ndef ok(x):\n    return x\n", tmp_path, "other.py")
    with zygote.open(other, forbidden=[], limits=LIMITS) as session:
        assert session.call("ok", (1,)).ok
        other_copy = session._workdir / "other.py"  # the live worker's own folder
        assert other_copy.exists()
        outcome = call(zygote, attack_file, "read_file", str(other_copy))
        assert outcome.kind == "exception", outcome
        outcome = call(zygote, attack_file, "read_file", str(other))
        assert outcome.kind == "exception", outcome


# --- privileges and the sandbox itself --------------------------------------------------------

@pytest.mark.parametrize("function,layer", [
    ("raise_cpu_limit", "rlimits"), ("become_root", "uid-drop"),
    ("new_user_namespace", "seccomp"), ("mount_tmpfs", "seccomp"), ("ptrace_parent", "seccomp")])
def test_raising_limits_or_privileges_fails(zygote, attack_file, function, layer):
    need(zygote, layer)
    outcome = call(zygote, attack_file, function)
    assert outcome.kind == "exception", outcome
    assert outcome.exc_type in ("ValueError", "PermissionError", "OSError"), outcome


def test_lying_return_values_are_refused(zygote, attack_file):
    outcome = call(zygote, attack_file, "lying_array")
    assert outcome.kind == "return_type", outcome


def test_the_fork_server_holds_no_secrets(attack_file, monkeypatch):
    monkeypatch.setenv("GRADER_TOKEN", "s3cret-token")
    sandbox = make_sandbox()
    try:
        outcome = call(sandbox, attack_file, "inspect_self")
        assert outcome.ok, outcome
        seen = outcome.value
        assert seen["modules"] == []
        assert "GRADER_TOKEN" not in seen["environ"]
        assert set(seen["environ"]) <= {"PATH", "HOME", "TMPDIR", "LANG", "PYTHONDONTWRITEBYTECODE",
                                        "PYTHONHASHSEED", "MALLOC_ARENA_MAX", "OMP_NUM_THREADS",
                                        "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"}
        # Only the worker's own pipes: nothing inherited from the fork server.
        assert [fd for fd in seen["fds"] if fd > 4] in ([], [5])  # 5: listdir's own fd
        if "uid-drop" in sandbox.layers():
            leaked = call(sandbox, attack_file, "zygote_secrets").value
            assert all(item in ("FileNotFoundError", "PermissionError") for item in leaked)
    finally:
        sandbox.close()


def test_forbidden_modules_already_loaded_in_the_server_stay_forbidden(zygote, tmp_path):
    # json is imported by the worker itself, so the fork server has it in sys.modules.
    path = write("import json\ndef ok(x):\n    return x\n", tmp_path)
    with zygote.open(path, forbidden=["json"], limits=LIMITS) as session:
        outcome = session.call("ok", (1,))
    assert outcome.kind == "import", outcome
    assert "module 'json' is forbidden" in outcome.message


def test_a_killed_fork_server_is_a_failed_call_then_restarts(attack_file):
    sandbox = make_sandbox()
    try:
        with sandbox.open(attack_file, forbidden=[], limits=LIMITS) as session:
            assert session.call("ok", (1,)).ok
            worker = session._worker.pid
            os.kill(sandbox.server_info()["pid"], signal.SIGKILL)
            deadline = time.monotonic() + 5
            while process_exists(worker) and time.monotonic() < deadline:
                time.sleep(0.01)  # the worker dies with its server (parent-death signal)
            outcome = session.call("ok", (2,), timeout_s=5)
            assert not outcome.ok and outcome.kind == "crash", outcome
        assert_unharmed(sandbox, attack_file)
    finally:
        sandbox.close()


@pytest.mark.skipif(not ROOT, reason="the server layers need root")
def test_results_cannot_be_forged(tmp_path):
    import json

    from click.testing import CliRunner

    from autograder.cli import cli

    results = tmp_path / "results.json"
    fake = json.dumps({"score": 100, "max_score": 100})
    source = (Path(__file__).resolve().parent.parent / "reference" / "perceptron.py").read_text()
    source += f'''
def perceptron_predict(X, w, b):
    print({fake!r})
    with open({str(results)!r}, "w") as handle:
        handle.write({fake!r})
    return None
'''
    submission = write(source, tmp_path)
    result = CliRunner().invoke(cli, ["grade", "perceptron", str(submission), "--json",
                                      str(results), "--sandbox", "strict"])
    assert result.exit_code == 0, result.output
    document = json.loads(results.read_text())
    assert document["score"] < 100
    assert document["sandbox"]["backend"] == "strict"
    failed = {t["name"] for t in document["tests"] if t["status"] == "failed"}
    assert "public_predict_basic" in failed
    assert "public_train_tiny" not in failed


def test_a_symlink_in_the_submission_does_not_smuggle_a_file_in(zygote, tmp_path):
    secret = tmp_path / "answers.txt"
    secret.write_text("the hidden answers\n")
    folder = tmp_path / "submission"
    folder.mkdir()
    (folder / "answers.txt").symlink_to(secret)
    write("""
        import os
        def ok(x):
            return x * 2
        def peek():
            here = os.path.dirname(os.path.abspath(__file__))
            with open(os.path.join(here, "answers.txt")) as handle:
                return handle.read()
        """, folder, "__init__.py")
    with zygote.open(folder, forbidden=[], limits=LIMITS) as session:
        outcome = session.call("peek")
    assert outcome.kind == "exception", outcome
    assert "hidden answers" not in outcome.message + outcome.output


def test_an_oversized_submission_is_refused_before_it_runs(tmp_path):
    from autograder.errors import SubmissionError

    sandbox = make_sandbox(workdir_bytes=1 << 20)
    try:
        path = write("DATA = '" + "x" * (600 << 10) + "'\n", tmp_path)
        with pytest.raises(SubmissionError, match="Leave data files out"):
            sandbox.open(path, forbidden=[], limits=LIMITS)
    finally:
        sandbox.close()

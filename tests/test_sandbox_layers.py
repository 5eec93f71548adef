"""The zygote backend's parts: the seccomp program, the file view, doctor, strict mode."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from click.testing import CliRunner

from autograder import api
from autograder.cli import cli
from autograder.errors import SandboxUnavailableError
from autograder.grading import grade_submission
from autograder.sandbox import layers, mounts, seccomp, syscalls
from autograder.sandbox.layers import Config
from autograder.sandbox.zygote_backend import ZygoteSandbox, needs_torch
from sandbox_helpers import LIMITS, LINUX, ROOT, make_sandbox, write

REPO = Path(__file__).resolve().parent.parent

# --- the seccomp program, run through a small BPF interpreter --------------------------------

_ALLOW, _ERRNO = 0x7FFF0000, 0x00050000


def run_filter(program: bytes, *, arch: int, nr: int, arg0: int = 0) -> int:
    data = struct.pack("<iIQ6Q", nr, arch, 0, arg0, 0, 0, 0, 0, 0)
    insns = [struct.unpack_from("<HBBI", program, i) for i in range(0, len(program), 8)]
    pc, acc = 0, 0
    while True:
        code, jt, jf, k = insns[pc]
        if code == 0x20:
            acc = struct.unpack_from("<I", data, k)[0]
        elif code == 0x06:
            return k
        elif code in (0x15, 0x35, 0x45):
            taken = {0x15: acc == k, 0x35: acc >= k, 0x45: bool(acc & k)}[code]
            pc += jt if taken else jf
        else:
            raise AssertionError(f"unexpected BPF opcode {code:#x}")
        pc += 1


@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_seccomp_filter_denies_the_list_and_allows_the_rest(arch):
    program = seccomp.build_filter(arch)
    audit = seccomp._TABLES[arch]["audit_arch"]
    denied = seccomp.denied_syscalls(arch)
    assert {"socket", "ptrace", "mount", "unshare", "bpf", "io_uring_setup"} <= set(denied)
    for number in denied.values():
        assert run_filter(program, arch=audit, nr=number) == _ERRNO | 1
    for name in ("read", "write", "mmap", "openat", "futex", "exit_group", "socketpair"):
        number = {"x86_64": {"read": 0, "write": 1, "mmap": 9, "openat": 257, "futex": 202,
                             "exit_group": 231, "socketpair": 53},
                  "aarch64": {"read": 63, "write": 64, "mmap": 222, "openat": 56, "futex": 98,
                              "exit_group": 94, "socketpair": 199}}[arch][name]
        assert run_filter(program, arch=audit, nr=number) == _ALLOW, name
    clone = seccomp._TABLES[arch]["clone"]
    assert run_filter(program, arch=audit, nr=clone, arg0=0x11) == _ALLOW  # fork
    assert run_filter(program, arch=audit, nr=clone, arg0=0x3D0F00) == _ALLOW  # a thread
    assert run_filter(program, arch=audit, nr=clone,
                      arg0=0x11 | syscalls.CLONE_NEWUSER) == _ERRNO | 1
    assert run_filter(program, arch=audit, nr=435) == _ERRNO | 38  # clone3: ENOSYS, use clone
    assert run_filter(program, arch=0x40000003, nr=0) == _ERRNO | 1  # another ABI
    if arch == "x86_64":
        assert run_filter(program, arch=audit, nr=0x40000000 | 1) == _ERRNO | 1  # x32


# --- the file view --------------------------------------------------------------------------

def test_landlock_allow_list_is_carved_around_masked_paths(tmp_path):
    for name in ("pkg/engine", "pkg/secret/hidden", "pkg/other"):
        (tmp_path / name).mkdir(parents=True)
    view = mounts.FileView(read_only=[str(tmp_path)], masked=[str(tmp_path / "pkg/secret")])
    allowed = view.landlock_read_only()
    assert str(tmp_path / "pkg/engine") in allowed and str(tmp_path / "pkg/other") in allowed
    assert not any(p == str(tmp_path) or p.startswith(str(tmp_path / "pkg/secret"))
                   or p == str(tmp_path / "pkg") for p in allowed)


def test_the_view_exposes_the_interpreter_but_never_the_reference_or_the_tests():
    view = mounts.plan_view([str(REPO)])
    secrets = [str(REPO / "reference"), str(REPO / "assignments")]
    import autograder

    engine = str(Path(autograder.__file__).resolve().parent)
    assert any(engine == p or engine.startswith(p + "/") for p in view.read_only)
    for secret in secrets:
        covering = [p for p in view.read_only if secret == p or secret.startswith(p + "/")]
        assert not covering or secret in view.masked, (secret, covering)


def test_torch_is_only_preloaded_for_submissions_that_import_it(tmp_path):
    assert needs_torch(write("import numpy as np\n# torch is not used\n", tmp_path)) == (
        False, False)
    # An import inside a function (a GPU-only path) may never run: the worker pays if it does.
    assert needs_torch(write("def f():\n    import torch\n", tmp_path)) == (False, False)
    assert needs_torch(write("import torch\n", tmp_path)) == (True, False)
    assert needs_torch(write("from torch import nn\nopt = torch.optim.SGD(p)\n", tmp_path)) == (
        True, True)


# --- the backend ------------------------------------------------------------------------------

def test_zygote_is_the_default_and_every_backend_is_registered(registry):
    assert api.DEFAULT_SANDBOX == "zygote"
    assert {"zygote", "strict", "subprocess"} <= set(registry.sandboxes)


@pytest.mark.skipif(not LINUX, reason="the fork server needs Linux")
def test_strict_refuses_to_grade_without_a_required_layer(perceptron):
    sandbox = ZygoteSandbox(strict=True, config=Config(disable=["seccomp"]))
    try:
        with pytest.raises(SandboxUnavailableError, match="seccomp: disabled by configuration"):
            sandbox.open(perceptron.reference_path(), forbidden=[], limits=LIMITS)
    finally:
        sandbox.close()


@pytest.mark.skipif(not ROOT, reason="the server layers need root on Linux")
def test_root_on_linux_has_every_server_layer():
    sandbox = make_sandbox()
    try:
        rows = {s.name: s for s in sandbox.statuses()}
    finally:
        sandbox.close()
    missing = {n: rows[n].detail for n in layers.STRICT_REQUIRED if not rows[n].active}
    assert not missing


@pytest.mark.skipif(not LINUX, reason="the fork server needs Linux")
def test_results_record_the_active_layers_and_numpy_grading_never_loads_torch(perceptron):
    sandbox = ZygoteSandbox()
    try:
        result = grade_submission(assignment=perceptron, submission=perceptron.reference_path(),
                                  sandbox=sandbox)
        info = sandbox.server_info()
        recorded = result["sandbox"]
        assert recorded["backend"] == "zygote"
        active = {s.name for s in sandbox.statuses() if s.active}
    finally:
        sandbox.close()
    assert result["score"] == 100
    assert active <= set(recorded["layers"])
    assert {"wall-timeout", "output-cap", "rlimits"} <= set(recorded["layers"])
    assert info["threads"] == 1 and not info["torch_loaded"]


@pytest.mark.skipif(not LINUX, reason="the fork server needs Linux")
def test_doctor_prints_every_layer_and_why(tmp_path):
    result = CliRunner().invoke(cli, ["doctor", "--json"])
    report = json.loads(result.output)
    names = [row["name"] for row in report["layers"]]
    assert set(layers.ORDER) <= set(names)
    for row in report["layers"]:
        assert row["detail"], row
        assert row["active"] <= row["available"]
    assert result.exit_code == (1 if report["missing_required"] else 0)
    text = CliRunner().invoke(cli, ["doctor", "--sandbox", "strict"])
    assert "(required)" in text.output and "landlock" in text.output
    if ROOT:
        assert text.exit_code == 0, text.output


@pytest.mark.skipif(not LINUX, reason="the fork server needs Linux")
def test_a_layer_that_fails_its_trial_is_reported_and_left_out():
    # Landlock needs descriptors to name its paths: with 5 open files allowed it cannot work.
    sandbox = make_sandbox(nofile=5)
    try:
        rows = {s.name: s for s in sandbox.statuses()}
        if not rows["landlock"].available and "trial" not in rows["landlock"].detail:
            pytest.skip(f"needs landlock ({rows['landlock'].detail})")
        assert not rows["landlock"].active
        assert rows["landlock"].detail.startswith("failed in a trial: OSError")
        assert "landlock" not in sandbox.layers()
        assert rows["rlimits"].active
    finally:
        sandbox.close()


def test_the_portable_fallback_grades_and_stops_a_runaway_call(registry, tmp_path):
    """Where the fork server cannot run (macOS...): a fresh interpreter with rlimits."""
    from autograder.grading import grade_submission
    from autograder.sandbox import Limits

    assignment = registry.assignment("perceptron")
    backend = registry.sandbox("zygote")
    backend.linux = False  # take the path other systems take
    try:
        result = grade_submission(assignment=assignment, submission=assignment.reference_path(),
                                  sandbox=backend)
        assert result["score"] == 100
        spinner = tmp_path / "spin.py"
        spinner.write_text("def spin():\n    while True:\n        pass\n")
        with backend.open(spinner, forbidden=[], limits=Limits(call_timeout_s=0.5)) as session:
            outcome = session.call("spin")
        assert outcome.kind == "timeout", outcome
    finally:
        backend.close()

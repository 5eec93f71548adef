"""The student-laptop case: the whole grader runs as an unprivileged user.

There is no uid drop and no cgroup there; the sandbox falls back to an
unprivileged user namespace (network and mount namespaces inside it),
Landlock, seccomp and rlimits, and kills leftovers as the subreaper. To test
that for real, a root test run starts a grader as ``nobody`` in a private
mount namespace where the interpreter (which here lives under a 0700 home
folder) is made reachable, exactly as it would be on a laptop.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from autograder.sandbox import syscalls
from sandbox_helpers import ROOT

REPO = Path(__file__).resolve().parent.parent

NOBODY = 65534

pytestmark = pytest.mark.skipif(not ROOT, reason="needs root to start a grader as an "
                                                 "unprivileged user (nobody)")

GRADER = r'''
import json, os, sys, time
from pathlib import Path
from autograder.sandbox import Limits
from autograder.sandbox.zygote_backend import ZygoteSandbox

folder, port = sys.argv[1], int(sys.argv[2])
submission = Path(folder, "submission.py")
sandbox = ZygoteSandbox()
report = {"uid": os.getuid(), "layers": {s.name: s.active for s in sandbox.statuses()}}

def call(function, *args, timeout_s=5.0):
    with sandbox.open(submission, forbidden=[], limits=Limits(call_timeout_s=timeout_s)) as s:
        outcome = s.call(function, args)
    return {"ok": outcome.ok, "value": outcome.value, "kind": outcome.kind,
            "type": outcome.exc_type, "output": outcome.output}

report["ok"] = call("ok", 21)
report["read_secret"] = call("read_file", str(Path(folder, "secret.txt")))
report["tcp"] = call("tcp_connect", port)
report["kill_grader"] = call("kill_pid", os.getpid())
report["fork_many"] = call("fork_many", timeout_s=20)
report["numpy_huge"] = call("numpy_huge")
escaped = call("escape_and_spin", timeout_s=1.0)
pid = int(escaped["output"].split("grandchild", 1)[1].split()[0])
time.sleep(0.2)
report["grandchild_alive"] = os.path.exists(f"/proc/{pid}")
sandbox.close()
print(json.dumps(report))
'''

# The same hostile submission the root attack tests use.
ATTACKS = Path(__file__).with_name("sandbox_attack_submission.py")


def _closed_ancestor(path: str) -> str | None:
    """The highest folder on ``path`` that other users cannot enter, if any."""
    parts = Path(path).parts
    for depth in range(2, len(parts) + 1):
        folder = os.path.join(*parts[:depth])
        if not os.stat(folder).st_mode & 0o001:
            return folder
    return None


def _become_nobody() -> None:
    """preexec: a private mount namespace where nobody can reach what a grader runs, then drop.

    The interpreter may live under a 0700 home folder, and the checkout with its venv
    under a 0700 temporary folder (``mktemp -d``): each closed folder is replaced by an
    open one holding only the needed paths, as a laptop user's own files would be.
    """
    syscalls.unshare(syscalls.CLONE_NEWNS)
    syscalls.mount(None, "/", None, syscalls.MS_REC | syscalls.MS_PRIVATE)
    needed = {os.path.realpath(p) for p in (sys.base_prefix, sys.prefix, REPO)}
    needed = [p for p in needed if not any(p != q and p.startswith(q + "/") for q in needed)]
    binds: dict[str, list[str]] = {}  # closed folder -> paths to bind back into it
    for path in needed:
        closed = _closed_ancestor(path)
        if closed == path:  # the path itself is closed: bring back what it holds
            binds.setdefault(closed, []).extend(os.path.join(path, n) for n in os.listdir(path))
        elif closed is not None:
            binds.setdefault(closed, []).append(path)
    # Descriptors first: once a tmpfs covers a closed folder, paths under it are gone.
    handles = {path: (os.open(path, os.O_PATH), os.path.isdir(path))
               for paths in binds.values() for path in paths}
    for closed in sorted(binds, key=len):
        syscalls.mount("tmpfs", closed, "tmpfs", 0, "mode=0755")
        for path in binds[closed]:
            handle, is_dir = handles[path]
            if is_dir:
                os.makedirs(path, exist_ok=True)
            else:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                open(path, "a").close()
            syscalls.mount(f"/proc/self/fd/{handle}", path, None, syscalls.MS_BIND)
    os.setgroups([])
    os.setresgid(NOBODY, NOBODY, NOBODY)
    os.setresuid(NOBODY, NOBODY, NOBODY)


def test_an_unprivileged_grader_still_contains_the_attacks():
    folder = tempfile.mkdtemp(prefix="autograder-nonroot-")
    try:
        os.chmod(folder, 0o755)
        shutil.copyfile(ATTACKS, Path(folder, "submission.py"))
        Path(folder, "secret.txt").write_text("the answers\n")  # world-readable on purpose
        listener = socket.create_server(("127.0.0.1", 0))
        listener.settimeout(0.2)
        try:
            done = subprocess.run(
                [sys.executable, "-I", "-c", GRADER, folder, str(listener.getsockname()[1])],
                preexec_fn=_become_nobody, cwd="/", capture_output=True, text=True, timeout=180,
                env={"PATH": os.defpath, "LANG": "C.UTF-8"})
            assert done.returncode == 0, done.stderr[-3000:]
            with pytest.raises(socket.timeout):
                listener.accept()
        finally:
            listener.close()
    finally:
        subprocess.run(["rm", "-rf", folder], check=False)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["uid"] == NOBODY
    layers = report["layers"]
    if not layers["user-namespace"]:
        pytest.skip("unprivileged user namespaces are blocked on this kernel")
    assert layers["landlock"] and layers["seccomp"] and layers["mount-namespace"]
    assert not layers["uid-drop"] and not layers["cgroup-memory"]
    assert report["ok"]["value"] == 42
    assert report["read_secret"]["kind"] == "exception"
    assert report["tcp"]["kind"] == "exception"
    assert report["kill_grader"]["type"] == "PermissionError"
    assert report["fork_many"]["type"] == "BlockingIOError"
    assert report["numpy_huge"]["type"] == "MemoryError"
    assert report["grandchild_alive"] is False

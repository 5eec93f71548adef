"""The portable backend: a fresh interpreter per submission, in its own session.

It keeps student code out of the grader's process, strips the environment
and kills the worker's whole process group on a deadline. It does not hide
the filesystem or the network; the hardened backends add those layers.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from autograder.sandbox.session import Sandbox, WorkerProcess, describe_returncode

# Variables a numeric worker needs; everything else (tokens, keys) stays behind.
_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def worker_environment(workdir: Path) -> dict[str, str]:
    env = {
        "PATH": os.defpath,
        "HOME": str(workdir),
        "TMPDIR": str(workdir),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "MALLOC_ARENA_MAX": "2",
    }
    env.update({name: "1" for name in _THREAD_VARS})
    return env


class ChildProcess(WorkerProcess):
    """A worker started as a fresh interpreter in its own process group."""

    def __init__(self, process: subprocess.Popen, request_fd: int, response_fd: int,
                 output_fd: int) -> None:
        self.process = process
        self.request_fd, self.response_fd, self.output_fd = request_fd, response_fd, output_fd

    def kill(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass

    def exit_description(self) -> str:
        try:
            self.process.wait(timeout=1)
        except subprocess.TimeoutExpired:
            pass
        return describe_returncode(self.process.returncode)


class SubprocessSandbox(Sandbox):
    """Start ``python -I -m autograder.worker`` per submission."""

    name = "subprocess"

    def layers(self) -> list[str]:
        return ["separate-process", "clean-environment", "process-group-kill", "wall-timeout",
                "output-cap"]

    def spawn(self, workdir: Path, submission: Path, forbidden: list[str]) -> WorkerProcess:
        process, fds = start_worker(workdir, submission, forbidden)
        return ChildProcess(process, *fds)


def start_worker(workdir: Path, submission: Path, forbidden: list[str], *,
                 preexec_fn=None) -> tuple[subprocess.Popen, tuple[int, int, int]]:
    """Start ``python -I -m autograder.worker`` in its own session.

    Returns the process and the grader's ends of its pipes: request, response, output.
    """
    request_read, request_write = os.pipe()
    response_read, response_write = os.pipe()
    output_read, output_write = os.pipe()
    config = {"submission": str(submission), "read_fd": request_read,
              "write_fd": response_write, "forbidden": forbidden}
    try:
        process = subprocess.Popen(
            [sys.executable, "-I", "-m", "autograder.worker", json.dumps(config)],
            stdin=subprocess.DEVNULL, stdout=output_write, stderr=output_write,
            pass_fds=(request_read, response_write), cwd=workdir,
            env=worker_environment(workdir), start_new_session=True, preexec_fn=preexec_fn)
    finally:
        for fd in (request_read, response_write, output_write):
            os.close(fd)
    return process, (request_write, response_read, output_read)

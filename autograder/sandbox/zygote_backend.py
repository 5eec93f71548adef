"""The default backend: sandboxed workers forked from a warm fork server.

:class:`ZygoteSandbox` starts one fork server (:mod:`autograder.sandbox.zygote`)
per sandbox object, lazily, and asks it for one child per worker. The
grader keeps the hidden tests and the reference; the server and its
children only ever see the submission, the call arguments and the limits.

``strict`` (the ``strict`` backend) refuses to grade when a layer that a
grading server must have is missing: :data:`~autograder.sandbox.layers.STRICT_REQUIRED`.
On systems other than Linux the server is not used (forking after macOS
frameworks load is unsafe): each worker is a fresh interpreter with
rlimits, a wall-clock deadline and a process-group kill.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import pwd
import re
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from autograder.errors import SandboxError, SandboxUnavailableError, SubmissionError
from autograder.sandbox import layers
from autograder.sandbox.session import (
    LayerStatus,
    Limits,
    Sandbox,
    Session,
    WorkerProcess,
    describe_returncode,
)
from autograder.sandbox.subprocess_backend import ChildProcess, start_worker, worker_environment

SLOT_UID_BASE = 61000
SLOT_COUNT = 256
_START_TIMEOUT_S = 60.0
_REPLY_TIMEOUT_S = 30.0
# Module-level imports only: an import inside a function may never run (a torch path
# for GPUs), and the worker imports it itself if it does.
_TORCH_IMPORT = re.compile(rb"^(?:import\s+torch|from\s+torch[\s.])", re.MULTILINE)
_OPTIMIZER = re.compile(rb"\boptim\.[A-Z]\w*\(")
_SESSION_LAYERS = ["separate-process", "clean-environment", "closed-fds", "wall-timeout",
                   "output-cap"]


@dataclass
class _Reaped:
    status: int | None = None
    oom_kills: int = 0
    peak_bytes: int | None = None
    maxrss_kib: int = 0
    note: str = ""


class _Server:
    """One running fork server and the socket to it."""

    def __init__(self, config: layers.Config) -> None:
        self.log = tempfile.TemporaryFile()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock = ours
        env = worker_environment(Path("/nonexistent"))
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-m", "autograder.sandbox.zygote",
             json.dumps(asdict(config)), str(theirs.fileno())],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.log,
            pass_fds=(theirs.fileno(),), env=env, cwd="/", start_new_session=True)
        theirs.close()
        self.ready: dict | None = None
        self.dead = False
        self.preloaded: set[str] = set()

    def wait_ready(self) -> dict:
        if self.ready is None:
            reply = self._receive(_START_TIMEOUT_S, "start")[0]
            if reply.get("op") != "ready":
                self.stop()
                raise SandboxError(f"the sandbox's fork server could not start: "
                                   f"{reply.get('message', reply)}")
            reply["startup"]["wall_ms"] = (time.perf_counter() - self.started) * 1000
            self.ready = reply
        return self.ready

    def request(self, message: dict, fds: list[int] = (), *,
                timeout_s: float = _REPLY_TIMEOUT_S) -> tuple[dict, list[int]]:
        if self.dead:
            raise SandboxError("the sandbox's fork server is not running")
        try:
            socket.send_fds(self.sock, [json.dumps(message).encode()], list(fds))
        except OSError as exc:
            self._died()
            raise SandboxError(f"the sandbox's fork server is gone ({exc.strerror})") from None
        reply, reply_fds = self._receive(timeout_s, message["op"])
        if reply.get("op") == "error":
            for fd in reply_fds:
                os.close(fd)
            raise SandboxError(f"the sandbox's fork server refused {message['op']}: "
                               f"{reply.get('message')}")
        return reply, reply_fds

    def _receive(self, timeout_s: float, what: str) -> tuple[dict, list[int]]:
        ready, _, _ = select.select([self.sock], [], [], timeout_s)
        if not ready:
            self._died()
            raise SandboxError(f"the sandbox's fork server did not answer {what} within "
                               f"{timeout_s:g} s")
        try:
            data, fds, _, _ = socket.recv_fds(self.sock, 1 << 16, 4)
        except OSError:
            data, fds = b"", []
        if not data:
            self._died()
            raise SandboxError(f"the sandbox's fork server ended during {what}: {self.tail()}")
        return json.loads(data), fds

    def tail(self) -> str:
        self.log.seek(0)
        text = self.log.read()[-2000:].decode("utf-8", "replace").strip()
        return text or f"it {describe_returncode(self.process.poll())}"

    def _died(self) -> None:
        self.dead = True
        try:
            self.process.kill()
            self.process.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            pass

    def stop(self) -> None:
        if not self.dead:
            self.sock.close()  # EOF: the server kills its children, removes its cgroups, exits
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            self._died()
        else:
            self.sock.close()
        self.log.close()


class _ZygoteChild(WorkerProcess):
    def __init__(self, sandbox: ZygoteSandbox, server: _Server, ident: int, pid: int,
                 fds: tuple[int, int, int], exit_fd: int | None, timings: dict) -> None:
        self.sandbox, self.server, self.ident, self.pid = sandbox, server, ident, pid
        self.request_fd, self.response_fd, self.output_fd = fds
        self.exit_fd = exit_fd
        self.timings = timings
        self.reaped: _Reaped | None = None

    def kill(self) -> None:
        if self.reaped is not None:
            return
        try:
            reply, _ = self.server.request({"op": "kill", "id": self.ident})
            self.reaped = _Reaped(reply.get("status"), int(reply.get("oom_kills", 0)),
                                  reply.get("peak_bytes"), int(reply.get("maxrss_kib", 0)))
        except SandboxError:
            # The server died (it can be killed like any process on a weak host):
            # the child was its process group leader; its pdeathsig ends it too.
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.reaped = _Reaped(note="ended with the sandbox's fork server")
        self.sandbox.last_reaped = self.reaped

    def exit_description(self) -> str:
        self.kill()
        reaped = self.reaped
        if reaped.note:
            return reaped.note
        text = describe_returncode(reaped.status)
        if reaped.oom_kills:
            limit = self.sandbox.config.memory_bytes >> 20
            text += f" (it went over the memory limit of {limit} MiB)"
        elif reaped.status == -signal.SIGXCPU:
            text += f" (it used up its {self.sandbox.config.cpu_s} s of CPU time)"
        return text


def _slot_lock_folder() -> Path:
    for folder in (Path("/run/autograder-slots"), Path(tempfile.gettempdir(),
                                                       "autograder-slots")):
        try:
            folder.mkdir(mode=0o700, exist_ok=True)
            if folder.stat().st_uid == os.geteuid() and os.access(folder, os.W_OK):
                return folder
        except OSError:
            continue
    raise SandboxError("no folder for uid slot locks (/run or the temp folder)")


def claim_slot() -> tuple[int | None, int | None]:
    """An unprivileged uid no other running grader uses, and the lock fd that holds it."""
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        return None, None
    folder = _slot_lock_folder()
    for uid in range(SLOT_UID_BASE, SLOT_UID_BASE + SLOT_COUNT):
        try:
            pwd.getpwuid(uid)
            continue  # a real account: never borrow it
        except KeyError:
            pass
        fd = os.open(folder / f"{uid}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EACCES):
                continue
            raise
        return uid, fd
    return None, None


def _tree_size(path: Path) -> int:
    if not path.is_dir():
        return path.stat().st_size if path.exists() else 0
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def needs_torch(submission: Path) -> tuple[bool, bool]:
    """(imports torch, uses torch.optim), from the submission's source text.

    Only a hint for warming the server: a submission that imports torch in
    a way this misses still works, it just pays for the import itself.
    """
    files = [submission] if submission.is_file() else sorted(submission.rglob("*.py"))
    uses, optim = False, False
    for path in files[:200]:
        # Never through a link: a student's x.py -> /proc/kcore or -> a FIFO would
        # make this process read without end, with the grader's rights.
        if path.is_symlink() or not path.is_file():
            continue
        try:
            with open(path, "rb") as handle:
                source = handle.read(1 << 20)
        except OSError:
            continue
        if _TORCH_IMPORT.search(source):
            uses = True
            optim = optim or bool(_OPTIMIZER.search(source))
    return uses, optim


class ZygoteSandbox(Sandbox):
    """Workers forked from a warm, secret-free fork server, each behind every layer it has."""

    name = "zygote"

    def __init__(self, *, strict: bool = False, config: layers.Config | None = None) -> None:
        self.strict = strict
        if strict:
            self.name = "strict"
        self.config = config or layers.Config()
        if not self.config.private:
            self.config.private = [os.getcwd(), os.path.expanduser("~")]
        self._server: _Server | None = None
        self._slot_fd: int | None = None
        self._next_id = 0
        self.last_spawn_timings: dict = {}
        self.last_reaped: _Reaped | None = None
        self.linux = sys.platform.startswith("linux")
        if self.linux:
            # Start the server now without waiting: its imports overlap with the
            # grader's own start-up (loading tests and references) on a second core.
            self._launch()

    # --- the server -------------------------------------------------------------------------

    def _launch(self) -> _Server:
        # A server that has ended (killed, or its parent-death signal fired because the
        # thread that started it exited) is replaced transparently.
        if self._server is not None and self._server.process.poll() is not None:
            self._server.dead = True
        if self._server is None or self._server.dead:
            if self._server is not None:
                self._server.stop()
            if self.config.slot_uid is None and self._slot_fd is None:
                self.config.slot_uid, self._slot_fd = claim_slot()
            self._server = _Server(self.config)
        return self._server

    def _ensure(self, *, enforce: bool = True) -> _Server:
        ready = self._launch().wait_ready()
        if enforce and self.strict:
            missing = [s for s in ready["statuses"]
                       if s["name"] in layers.STRICT_REQUIRED and not s["active"]]
            if missing:
                self.close()
                reasons = "; ".join(f"{s['name']}: {s['detail']}" for s in missing)
                raise SandboxUnavailableError(
                    f"--sandbox strict refuses to grade: {len(missing)} required layer(s) "
                    f"missing ({reasons}). Run it as root on Linux with cgroups (see "
                    "`autograder doctor --sandbox strict`), or grade with --sandbox zygote, "
                    "which uses the layers that are there")
        return self._server

    def start(self) -> None:
        """Start the fork server now (it starts on first use otherwise)."""
        if self.linux:
            self._ensure()

    def statuses(self) -> list[LayerStatus]:
        """Every layer: available here, active in this backend, and why not."""
        if not self.linux:
            return [LayerStatus("rlimits", True, True, "cpu, file size, open files, no core"),
                    LayerStatus("process-group-kill", True, True, "killpg on the deadline")]
        ready = self._ensure(enforce=False).wait_ready()
        rows = [LayerStatus(s["name"], s["available"], s["active"], s["detail"],
                            self.strict and s["required"]) for s in ready["statuses"]]
        kill = ("subreaper: process group, then every descendant"
                if ready["subreaper"] else "process group only")
        if "cgroup-pids" in ready["active"]:
            kill += ", swept through the pids cgroup"
        rows.append(LayerStatus("process-tree-kill", True, True, kill, False))
        return rows

    def layers(self) -> list[str]:
        if not self.linux:
            return [*_SESSION_LAYERS, "rlimits", "process-group-kill"]
        ready = self._ensure().wait_ready()
        return [*_SESSION_LAYERS, "process-tree-kill", *ready["active"]]

    def open(self, submission: Path, *, forbidden: list[str], limits: Limits) -> Session:
        size = _tree_size(Path(submission))
        if size > self.config.workdir_bytes // 2:
            raise SubmissionError(
                f"submission {submission} holds {size >> 20} MiB; the sandbox's working folder "
                f"takes at most {self.config.workdir_bytes >> 21} MiB of submitted files. "
                "Leave data files out of the submission")
        if self.linux:
            self._ensure()  # strict refuses here, before any test runs
            uses_torch, optim = needs_torch(Path(submission))
            if uses_torch:
                self.preload(["torch.optim" if optim else "torch"])
        return super().open(submission, forbidden=forbidden, limits=limits)

    def preload(self, modules: list[str]) -> None:
        server = self._ensure()
        wanted = [m for m in modules if m not in server.preloaded]
        if wanted:
            server.request({"op": "preload", "modules": wanted}, timeout_s=_START_TIMEOUT_S)
            server.preloaded.update(wanted)

    def server_info(self) -> dict:
        """The server's pid, threads, preloaded modules and start-up times (tests, benchmarks)."""
        server = self._ensure()
        reply, _ = server.request({"op": "ping"})
        return {"pid": server.process.pid, "startup": server.ready["startup"], **reply}

    # --- workers ----------------------------------------------------------------------------

    def spawn(self, workdir: Path, submission: Path, forbidden: list[str]) -> WorkerProcess:
        if not self.linux:
            return _spawn_portable(self.config, workdir, submission, forbidden)
        server = self._ensure()
        self._next_id += 1
        pipes = [os.pipe() for _ in range(3)]
        request_read, request_write = pipes[0]
        response_read, response_write = pipes[1]
        output_read, output_write = pipes[2]
        message = {"op": "spawn", "id": self._next_id, "workdir": str(workdir),
                   "submission": str(submission), "forbidden": list(forbidden)}
        try:
            reply, fds = server.request(message, [request_read, response_write, output_write])
        except SandboxError:
            for fd in (request_write, response_read, output_read):
                os.close(fd)
            raise
        finally:
            for fd in (request_read, response_write, output_write):
                os.close(fd)
        self.last_spawn_timings = reply.get("timings", {})
        return _ZygoteChild(self, server, self._next_id, int(reply["pid"]),
                            (request_write, response_read, output_read),
                            fds[0] if fds else None, self.last_spawn_timings)

    def close(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._slot_fd is not None:
            os.close(self._slot_fd)
            self._slot_fd = None
            self.config.slot_uid = None


class _PortableChild(ChildProcess):
    def __init__(self, process: subprocess.Popen, fds: tuple[int, int, int]) -> None:
        super().__init__(process, *fds)

    def exit_description(self) -> str:
        self.kill()
        return describe_returncode(self.process.returncode)


def _spawn_portable(config: layers.Config, workdir: Path, submission: Path,
                    forbidden: list[str]) -> WorkerProcess:
    """macOS and other systems: a fresh interpreter with the portable rlimits."""
    import resource

    def limit() -> None:
        for which, value in ((resource.RLIMIT_CPU, config.cpu_s),
                             (resource.RLIMIT_FSIZE, config.fsize_bytes),
                             (resource.RLIMIT_NOFILE, config.nofile),
                             (resource.RLIMIT_CORE, 0)):
            try:
                resource.setrlimit(which, (value, value))
            except (ValueError, OSError):
                pass

    process, fds = start_worker(workdir, submission, forbidden, preexec_fn=limit)
    return _PortableChild(process, fds)


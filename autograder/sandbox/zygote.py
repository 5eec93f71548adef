"""The fork server ("zygote"): a warm interpreter that forks one sandboxed worker per submission.

Run as ``python -I -m autograder.sandbox.zygote CONFIG FD`` by
:mod:`autograder.sandbox.zygote_backend`; FD is its end of a
``SOCK_SEQPACKET`` pair to the grader. It imports NumPy and the worker once
(torch too when a submission needs it), stays at one thread, and holds no
secret: no test, reference, expected value or token is ever sent to it,
its environment is scrubbed and its argv holds only limits. For each
``spawn`` it forks a child that joins its cgroups, applies its layers
(:mod:`autograder.sandbox.layers`), then runs :func:`autograder.worker.serve`
on the three pipes the grader passed over the socket.

It is the children's subreaper, so a grandchild that double-forks away
from its process group is re-parented here and killed with the rest on
``kill``. Student code never runs in this process.
"""

from __future__ import annotations

import fcntl
import gc
import json
import os
import select
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path

from autograder import worker
from autograder.sandbox import cgroups, layers, syscalls

MAX_MESSAGE = 1 << 16
_CHILD_FDS = 6  # 0 /dev/null, 1-2 output, 3 requests, 4 responses, 5 status
_SETUP_TIMEOUT_S = 20.0


class _Child:
    def __init__(self, pid: int, pidfd: int | None, groups: cgroups.ChildGroups | None) -> None:
        self.pid, self.pidfd, self.groups = pid, pidfd, groups
        self.status: int | None = None
        self.maxrss_kib = 0


class Server:
    def __init__(self, config: layers.Config, sock: socket.socket) -> None:
        self.config = config
        self.sock = sock
        self.tag = f"autograder-{os.getpid()}"
        self.children: dict[int, _Child] = {}
        self.by_pid: dict[int, int] = {}
        self.preloaded: list[str] = []
        self.plan: layers.Plan | None = None
        self.subreaper = False

    # --- start-up ---------------------------------------------------------------------------

    def start(self) -> dict:
        if syscalls.IS_LINUX:
            try:
                syscalls.prctl(syscalls.PR_SET_CHILD_SUBREAPER, 1)
                self.subreaper = True
            except OSError:
                pass
        start = time.perf_counter()
        self.plan = layers.probe(self.config, self.tag)
        probed = time.perf_counter()
        for _ in range(len(layers.ORDER)):
            failed = self._trial()
            if not failed:
                break
            layers.confirm(self.plan, failed)
        gc.freeze()
        timings = {"probe_ms": (probed - start) * 1000,
                   "trial_ms": (time.perf_counter() - probed) * 1000}
        return {"op": "ready", "pid": os.getpid(), "subreaper": self.subreaper, "startup": timings,
                "active": self.plan.active,
                "statuses": [s.as_json() for s in self.plan.statuses.values()]}

    def _trial(self) -> dict[str, str]:
        """Apply every active layer in a throwaway child; return {layer: error} for failures."""
        try:
            groups = self._make_groups("trial")
        except OSError as exc:
            first = next(n for n in self.plan.active if n.startswith("cgroup-"))
            return {first: f"cannot create a group: {exc}"}
        folder = tempfile.mkdtemp(prefix="autograder-trial-")
        Path(folder, "submission.py").write_text("x = 1\n")
        read_end, write_end = os.pipe()
        _flush()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(read_end)
                os.setsid()
                self._trial_child(write_end, folder, groups)
            finally:
                os._exit(0)
        os.close(write_end)
        try:
            report = _read_all(read_end, _SETUP_TIMEOUT_S).decode(errors="replace")
            status = _wait_or_kill(pid, 1.0)
        finally:
            os.close(read_end)
            if groups is not None:
                groups.sweep()
            for entry in os.listdir(folder):
                os.unlink(os.path.join(folder, entry))
            os.rmdir(folder)
        lines = report.splitlines()
        if lines and lines[-1].startswith("{"):
            return json.loads(lines[-1])
        # Died mid-way (a signal, a seccomp kill): blame the layer it was applying.
        tried = [line[4:] for line in lines if line.startswith("try ")]
        culprit = tried[-1] if tried else self.plan.active[0]
        return {culprit: f"the trial child died applying it (status {status})"}

    def _trial_child(self, out: int, folder: str, groups: cgroups.ChildGroups | None) -> None:
        failed: dict[str, str] = {}
        checks = [os.__file__, worker.__file__, sys.modules["numpy"].__file__]
        for name in self.plan.active:
            os.write(out, f"try {name}\n".encode())
            try:
                layers.apply(name, self.plan, workdir=folder, groups=groups)
                for path in checks:  # opened, not access(): Landlock only checks opens
                    with open(path, "rb"):
                        pass
            except Exception as exc:  # noqa: BLE001 - reported as the layer's failure
                failed[name] = f"{type(exc).__name__}: {exc}"
                break
        if not failed and not os.path.isfile(os.path.join(folder, "submission.py")):
            failed["mount-namespace"] = "the submission was not copied into the view"
        os.write(out, (json.dumps(failed) + "\n").encode())

    def _make_groups(self, name: str) -> cgroups.ChildGroups | None:
        plan = self.plan
        memory = plan.memory if "cgroup-memory" in plan.active else cgroups.Controller("memory")
        pids = plan.pids if "cgroup-pids" in plan.active else cgroups.Controller("pids")
        if not (memory.usable or pids.usable):
            return None
        return cgroups.make_child(memory, pids, name, memory_bytes=self.config.memory_bytes,
                                  max_pids=self.config.max_pids)

    # --- the request loop -----------------------------------------------------------------

    def serve(self) -> None:
        wake_read, wake_write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(wake_write)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        self._wake = (wake_read, wake_write)
        try:
            while True:
                ready, _, _ = select.select([self.sock, wake_read], [], [])
                if wake_read in ready:
                    while _try_read(wake_read):
                        pass
                    self._reap()
                if self.sock in ready:
                    message, fds = self._receive()
                    if message is None:
                        return
                    reply, reply_fds = self._handle(message, fds)
                    socket.send_fds(self.sock, [json.dumps(reply).encode()], reply_fds)
                    for fd in reply_fds:
                        os.close(fd)
        finally:
            self.shutdown()

    def _receive(self) -> tuple[dict | None, list[int]]:
        try:
            data, fds, _, _ = socket.recv_fds(self.sock, MAX_MESSAGE, 8)
        except ConnectionResetError:
            return None, []
        if not data:
            return None, []
        return json.loads(data), fds

    def _handle(self, message: dict, fds: list[int]) -> tuple[dict, list[int]]:
        op = message.get("op")
        try:
            if op == "spawn":
                return self._spawn(message, fds)
            for fd in fds:
                os.close(fd)
            if op == "kill":
                return self._kill(int(message["id"])), []
            if op == "preload":
                return self._preload(list(message.get("modules", []))), []
            if op == "ping":
                return {"op": "pong", "threads": _thread_count(), "preloaded": self.preloaded,
                        "torch_loaded": "torch" in sys.modules}, []
            return {"op": "error", "message": f"unknown request {op!r}"}, []
        except Exception as exc:  # noqa: BLE001 - the grader reports it; the server goes on
            return {"op": "error", "message": f"{type(exc).__name__}: {exc}"}, []

    # --- requests -------------------------------------------------------------------------

    def _preload(self, modules: list[str]) -> dict:
        start = time.perf_counter()
        for name in modules:
            if name in self.preloaded:
                continue
            if name == "torch":
                _warm_torch(optimizers=False)
            elif name == "torch.optim":
                _warm_torch(optimizers=True)
            else:
                raise ValueError(f"cannot preload {name!r}")
            self.preloaded.append(name)
        gc.freeze()
        return {"op": "preloaded", "seconds": time.perf_counter() - start,
                "threads": _thread_count()}

    def _spawn(self, message: dict, fds: list[int]) -> tuple[dict, list[int]]:
        if len(fds) != 3:
            for fd in fds:
                os.close(fd)
            return {"op": "error", "message": "spawn needs three descriptors"}, []
        ident = int(message["id"])
        groups = self._make_groups(f"c{ident}")
        status_read, status_write = os.pipe()
        _flush()
        pid = os.fork()
        if pid == 0:
            self._child(message, fds, status_write, groups)  # never returns
        os.close(status_write)
        for fd in fds:
            os.close(fd)
        try:
            pidfd = os.pidfd_open(pid) if hasattr(os, "pidfd_open") else None
        except OSError:
            pidfd = None
        child = _Child(pid, pidfd, groups)
        self.children[ident] = child
        self.by_pid[pid] = ident
        try:
            report = _read_all(status_read, _SETUP_TIMEOUT_S)
        finally:
            os.close(status_read)
        try:
            status = json.loads(report)
        except ValueError:
            status = {"ok": False, "error": "the sandboxed child ended before reporting"}
        if not status.get("ok"):
            reaped = self._kill(ident)
            return {"op": "error", "message": f"could not sandbox the worker: "
                                              f"{status.get('error')} ({reaped['status']})"}, []
        reply = {"op": "spawned", "id": ident, "pid": pid, "timings": status.get("timings", {})}
        return reply, ([os.dup(pidfd)] if pidfd is not None else [])

    def _child(self, message: dict, fds: list[int], status_write: int,
               groups: cgroups.ChildGroups | None) -> None:
        """In the forked child: become the worker. Never returns."""
        code, status_fd = 0, status_write
        try:
            self.sock.detach()  # the fd is closed below; the object must not close a reused one
            signal.set_wakeup_fd(-1)
            for signum in (signal.SIGCHLD, signal.SIGTERM):
                signal.signal(signum, signal.SIG_DFL)
            os.setsid()
            null = os.open("/dev/null", os.O_RDWR)
            # Copies above the targets first, so that no dup2 overwrites a source.
            high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 16)
                    for fd in (null, fds[2], fds[2], fds[0], fds[1], status_write)]
            for target, fd in enumerate(high):
                os.dup2(fd, target, inheritable=target < 3)
            status_fd = 5
            os.closerange(_CHILD_FDS, 1 << 20)
            workdir = str(Path(message["workdir"]))
            timings = {}
            for name in self.plan.active:
                start = time.perf_counter_ns()
                layers.apply(name, self.plan, workdir=workdir, groups=groups)
                timings[name] = (time.perf_counter_ns() - start) / 1e6
            zygote = os.getppid()
            if syscalls.IS_LINUX:
                syscalls.prctl(syscalls.PR_SET_PDEATHSIG, signal.SIGKILL)
            if os.getppid() != zygote:
                os._exit(70)
            _prepare_interpreter(workdir)
            os.write(status_fd, json.dumps({"ok": True, "timings": timings}).encode())
            os.close(status_fd)
        except BaseException as exc:  # noqa: BLE001 - nothing may run unprotected
            try:
                os.write(status_fd, json.dumps({"ok": False,
                                        "error": f"{type(exc).__name__}: {exc}"}).encode())
            finally:
                os._exit(71)
        try:
            worker.serve(Path(message["submission"]), 3, 4, list(message.get("forbidden", [])))
        except BaseException:  # noqa: BLE001 - the grader sees the exit code
            code = 1
        finally:
            _flush()
            os._exit(code)

    def _kill(self, ident: int) -> dict:
        child = self.children.pop(ident, None)
        if child is None:
            return {"op": "error", "message": f"no child {ident}"}
        self.by_pid.pop(child.pid, None)
        if child.status is None:
            for kill in (os.killpg, os.kill):
                try:
                    kill(child.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
        facts = child.groups.sweep() if child.groups is not None else {}
        if child.status is None:
            self._wait(child)
        if child.groups is None or "cgroup-pids" not in self.plan.active:
            self._kill_orphans(child.pid)
        self._reap()
        if child.pidfd is not None:
            os.close(child.pidfd)
        return {"op": "reaped", "id": ident, "status": child.status,
                "maxrss_kib": child.maxrss_kib, **facts}

    def _wait(self, child: _Child) -> None:
        if child.pidfd is not None:
            select.select([child.pidfd], [], [], 5.0)
        try:
            pid, status, usage = os.wait4(child.pid, 0 if child.pidfd is None else os.WNOHANG)
        except ChildProcessError:
            return
        if pid:
            child.status = os.waitstatus_to_exitcode(status)
            child.maxrss_kib = usage.ru_maxrss

    def _reap(self) -> None:
        while True:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            ident = self.by_pid.get(pid)
            if ident is not None:
                child = self.children[ident]
                child.status = os.waitstatus_to_exitcode(status)
                child.maxrss_kib = usage.ru_maxrss

    def _kill_orphans(self, pid: int) -> None:
        """Without a pids cgroup: kill the child's leftovers, found by parentage.

        As subreaper this process inherits every orphan of its children, so a
        process that escaped its group still descends from here.
        """
        me = os.getpid()
        live = {c.pid for c in self.children.values() if c.status is None}
        for _ in range(100):
            parents = _parents()
            doomed = set()
            for proc, parent in parents.items():
                if parent == pid or (parent == me and proc not in live):
                    doomed.add(proc)
            changed = True
            while changed:
                changed = False
                for proc, parent in parents.items():
                    if parent in doomed and proc not in doomed:
                        doomed.add(proc)
                        changed = True
            if not doomed:
                return
            for proc in doomed:
                try:
                    os.kill(proc, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            time.sleep(0.002)
            self._reap()

    def shutdown(self) -> None:
        for ident in list(self.children):
            self._kill(ident)
        if self.plan is not None:
            for controller in (self.plan.memory, self.plan.pids):
                if controller is not None:
                    cgroups.remove_group(controller)


def _prepare_interpreter(workdir: str) -> None:
    """Last steps before student code: one thread, a plain environment.

    (Forbidden modules the server has already imported are dropped from
    ``sys.modules`` by :func:`autograder.worker.serve` itself.)
    """
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)
    os.environ.update({"HOME": workdir, "TMPDIR": workdir})
    os.chdir(workdir)


def _warm_torch(*, optimizers: bool) -> None:
    """Import torch at one thread and run the first-use code paths once, before any fork.

    A fork after a multi-threaded OpenMP region deadlocks the child's next
    parallel op, so the warm-up itself runs at one thread.
    """
    os.environ["OMP_NUM_THREADS"] = "1"
    import torch

    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass  # already set: only possible before the first parallel op
    model = torch.nn.Sequential(torch.nn.Linear(8, 4), torch.nn.ReLU(), torch.nn.Linear(4, 3))
    inputs, labels = torch.randn(5, 8), torch.tensor([0, 1, 2, 0, 1])
    loss = torch.nn.functional.cross_entropy(model(inputs), labels)
    loss.backward()
    if optimizers:
        # The first optimizer step imports torch._dynamo (~1 s): pay it once here.
        for optimizer in (torch.optim.SGD(model.parameters(), lr=0.1),
                          torch.optim.Adam(model.parameters())):
            optimizer.step()
            optimizer.zero_grad()


def _wait_or_kill(pid: int, grace_s: float) -> int:
    """Reap ``pid``, killing it if it has not ended within ``grace_s``; its exit code."""
    deadline = time.monotonic() + grace_s
    while True:
        done, raw = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(raw)
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
        time.sleep(0.001)


def _thread_count() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return -1


def _parents() -> dict[int, int]:
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                data = handle.read()
        except OSError:
            continue
        fields = data[data.rfind(b")") + 2:].split()
        out[int(entry)] = int(fields[1])
    return out


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass


def _try_read(fd: int) -> bool:
    try:
        return bool(os.read(fd, 4096))
    except BlockingIOError:
        return False


def _read_all(fd: int, timeout_s: float) -> bytes:
    """Read until EOF or ``timeout_s``."""
    data = bytearray()
    deadline = time.monotonic() + timeout_s
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return bytes(data)
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            return bytes(data)
        chunk = os.read(fd, 65536)
        if not chunk:
            return bytes(data)
        data += chunk


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    config = layers.Config(**json.loads(argv[0]))
    # No parent-death signal: it follows the grader *thread* that started this
    # server. The end of the socket (the grader process exiting) stops it instead,
    # after it has killed its children and removed its cgroups.
    sock = socket.socket(fileno=int(argv[1]))
    server = Server(config, sock)
    try:
        ready = server.start()
    except Exception as exc:  # noqa: BLE001 - told to the grader, which raises it
        ready = {"op": "error", "message": f"{type(exc).__name__}: {exc}"}
    socket.send_fds(sock, [json.dumps(ready).encode()], [])
    if ready["op"] == "ready":
        server.serve()


__all__ = ["Server", "main"]

if __name__ == "__main__":
    main()

"""Per-submission memory and pids cgroups, v1 or v2, for a fork server running as root.

The memory cgroup is the only limit that counts every resident page
(``MAP_SHARED``, tmpfs, page tables); its failure is an OOM kill. The pids
cgroup bounds processes and threads together, and doubles as the list of
everything a submission started: sweeping it kills grandchildren that
escaped their process group. Each controller is found on its own, so a
hybrid host (v1 memory and pids, a v2 tree with hugetlb only) works.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass, field

_ROOT = "/sys/fs/cgroup"


@dataclass
class Controller:
    """One controller's directory for this fork server's cgroups, or why there is none."""

    name: str
    version: int = 0
    group: str = ""
    reason: str = ""

    @property
    def usable(self) -> bool:
        return bool(self.group)


def _mounts() -> list[tuple[str, str, str, set[str]]]:
    """(mount point, root inside the hierarchy, fstype, options) of each cgroup mount."""
    found = []
    try:
        with open("/proc/self/mountinfo") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return found
    for line in lines:
        left, _, right = line.partition(" - ")
        parts, rest = left.split(), right.split()
        if len(parts) < 5 or len(rest) < 3 or rest[0] not in ("cgroup", "cgroup2"):
            continue
        found.append((parts[4], parts[3], rest[0], set(rest[2].split(","))))
    return found


def _own_paths() -> dict[str, str]:
    """Controller name (or "" for v2) -> this process's cgroup path."""
    paths = {}
    try:
        with open("/proc/self/cgroup") as handle:
            for line in handle:
                _, controllers, path = line.rstrip("\n").split(":", 2)
                for name in controllers.split(",") if controllers else [""]:
                    paths[name] = path
    except OSError:
        pass
    return paths


def _join(mount_point: str, mount_root: str, path: str) -> str:
    if mount_root != "/" and path.startswith(mount_root):
        path = path[len(mount_root):]
    return os.path.join(mount_point, path.lstrip("/"))


def _write(path: str, text: str) -> None:
    with open(path, "w") as handle:
        handle.write(text)


def _read(path: str) -> str:
    with open(path) as handle:
        return handle.read()


def _is_live_server(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return b"autograder.sandbox.zygote" in handle.read()
    except OSError:
        return False


def collect_stale(base: str) -> None:
    """Remove the groups of fork servers that died without cleaning up (SIGKILL, OOM)."""
    try:
        entries = os.listdir(base)
    except OSError:
        return
    for entry in entries:
        prefix, _, pid = entry.rpartition("-")
        if prefix == "autograder" and pid.isdigit() and not _is_live_server(int(pid)):
            remove_group(Controller("", group=os.path.join(base, entry)))


def setup(name: str, tag: str) -> Controller:
    """Make this process's group for controller ``name`` ("memory" or "pids")."""
    controller = Controller(name)
    if os.geteuid() != 0:
        controller.reason = "needs root (no delegated cgroup for this user)"
        return controller
    own = _own_paths()
    mounts = _mounts()
    v2 = [m for m in mounts if m[2] == "cgroup2"]
    v1 = [m for m in mounts if m[2] == "cgroup" and name in m[3]]
    reasons = []
    for mount_point, mount_root, _, _ in v2:
        base = _join(mount_point, mount_root, own.get("", "/"))
        try:
            available = _read(os.path.join(base, "cgroup.controllers")).split()
        except OSError as exc:
            reasons.append(f"cgroup v2 at {mount_point}: {exc.strerror}")
            continue
        if name not in available:
            reasons.append(f"cgroup v2 at {mount_point} does not offer {name}")
            continue
        group = os.path.join(base, tag)
        collect_stale(base)
        try:
            enabled = _read(os.path.join(base, "cgroup.subtree_control")).split()
            if name not in enabled:
                _write(os.path.join(base, "cgroup.subtree_control"), f"+{name}")
            os.makedirs(group, exist_ok=True)
            _write(os.path.join(group, "cgroup.subtree_control"), f"+{name}")
        except OSError as exc:
            reasons.append(f"cgroup v2 at {base}: cannot enable {name} ({exc.strerror}); run "
                           "the grader in a delegated cgroup (systemd-run -p Delegate=yes)")
            continue
        controller.version, controller.group = 2, group
        return controller
    for mount_point, mount_root, _, _ in v1:
        base = _join(mount_point, mount_root, own.get(name, "/"))
        group = os.path.join(base, tag)
        collect_stale(base)
        try:
            os.makedirs(group, exist_ok=True)
        except OSError as exc:
            reasons.append(f"cgroup v1 {mount_point}: {exc.strerror}")
            continue
        controller.version, controller.group = 1, group
        return controller
    controller.reason = "; ".join(reasons) or f"no cgroup hierarchy with the {name} controller"
    return controller


@dataclass
class ChildGroups:
    """The cgroups of one submission: created before the fork, joined by the child itself."""

    paths: list[str] = field(default_factory=list)
    memory: str = ""
    memory_version: int = 0
    pids: str = ""

    def attach_self(self, controller: str) -> None:
        """Move the calling process into its ``controller`` ("memory" or "pids") group."""
        path = self.memory if controller == "memory" else self.pids
        if path:
            _write(os.path.join(path, "cgroup.procs"), "0")

    def sweep(self, timeout_s: float = 2.0) -> dict:
        """SIGKILL everything in the groups, remove them, and report what happened."""
        info: dict = {}
        if self.memory:
            info.update(_memory_facts(self.memory, self.memory_version))
        deadline = time.monotonic() + timeout_s
        for path in self.paths:
            try:
                _write(os.path.join(path, "cgroup.kill"), "1")  # v2, Linux 5.14+
            except OSError:
                pass
        for path in self.paths:
            while time.monotonic() < deadline:
                pids = _pids_in(path)
                for pid in pids:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except (ProcessLookupError, PermissionError):
                        pass
                try:
                    os.rmdir(path)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.001)
        self.paths = [p for p in self.paths if os.path.isdir(p)]
        return info


def _pids_in(path: str) -> list[int]:
    try:
        return [int(p) for p in _read(os.path.join(path, "cgroup.procs")).split()]
    except (OSError, ValueError):
        return []


def _memory_facts(path: str, version: int) -> dict:
    facts: dict = {}
    try:
        if version == 1:
            facts["peak_bytes"] = int(_read(os.path.join(path, "memory.max_usage_in_bytes")))
            text = _read(os.path.join(path, "memory.oom_control"))
        else:
            facts["peak_bytes"] = int(_read(os.path.join(path, "memory.peak")))
            text = _read(os.path.join(path, "memory.events"))
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                facts["oom_kills"] = int(value)
    except (OSError, ValueError):
        pass
    return facts


def make_child(memory: Controller, pids: Controller, name: str, *, memory_bytes: int,
               max_pids: int) -> ChildGroups:
    """Create the child's groups with their limits; raise OSError when that fails."""
    groups = ChildGroups()
    try:
        if memory.usable:
            path = os.path.join(memory.group, name)
            os.mkdir(path)
            groups.paths.append(path)
            groups.memory, groups.memory_version = path, memory.version
            if memory.version == 1:
                _write(os.path.join(path, "memory.limit_in_bytes"), str(memory_bytes))
                if os.path.exists(os.path.join(path, "memory.memsw.limit_in_bytes")):
                    _write(os.path.join(path, "memory.memsw.limit_in_bytes"), str(memory_bytes))
            else:
                _write(os.path.join(path, "memory.max"), str(memory_bytes))
                if os.path.exists(os.path.join(path, "memory.swap.max")):
                    _write(os.path.join(path, "memory.swap.max"), "0")
        if pids.usable:
            path = os.path.join(pids.group, name)
            os.mkdir(path)
            groups.paths.append(path)
            groups.pids = path
            _write(os.path.join(path, "pids.max"), str(max_pids))
    except OSError:
        groups.sweep()
        raise
    return groups


def remove_group(controller: Controller) -> None:
    """Remove this fork server's own group (its children are gone by then)."""
    if not controller.usable:
        return
    try:
        for entry in os.listdir(controller.group):
            path = os.path.join(controller.group, entry)
            if os.path.isdir(path):
                ChildGroups(paths=[path]).sweep(timeout_s=0.5)
        os.rmdir(controller.group)
    except OSError:
        pass

"""The isolation layers a forked worker applies to itself before any student code runs.

Each layer has a probe (can this machine do it, and if not, why) and an
apply step run in the child, in the order of :data:`ORDER`. The fork server
probes once at start-up, then tries every probed layer for real in a trial
child; only layers that worked there are applied to submissions, and a
layer that then fails to apply stops the child before it imports anything.

The layers, and what each one stops:

``cgroup-memory``/``cgroup-pids``
    memory and process limits that count everything (root, cgroups).
``user-namespace``
    lets an unprivileged grader make the namespaces below (not needed as root).
``netns``
    a network namespace with no interface up: no network, loopback included.
``mount-namespace``
    the private file view of :mod:`autograder.sandbox.mounts`.
``rlimits``
    CPU seconds, data/address space, processes, file size, open files, no core.
``uid-drop``
    an unprivileged uid per fork server (root only).
``no-new-privs``
    no setuid binary or file capability can give privileges back.
``landlock``
    files outside the allow-list, TCP, and signals to other processes.
``seccomp``
    sockets, ptrace, mount and namespace calls, and other kernel surface.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass, field

from autograder.sandbox import cgroups, landlock, mounts, seccomp, syscalls
from autograder.sandbox.session import LayerStatus

ORDER = ("cgroup-memory", "cgroup-pids", "user-namespace", "netns", "mount-namespace", "rlimits",
         "uid-drop", "no-new-privs", "landlock", "seccomp")
# A grading server refuses to run without these (``--sandbox strict``).
STRICT_REQUIRED = ("cgroup-memory", "cgroup-pids", "netns", "mount-namespace", "rlimits",
                   "uid-drop", "no-new-privs", "landlock", "seccomp")
_NEEDS = {"uid-drop": ("mount-namespace",), "landlock": ("no-new-privs",),
          "seccomp": ("no-new-privs",)}
# Without root, the namespaces can only be made inside a user namespace.
_NEEDS_UNPRIVILEGED = {"netns": ("user-namespace",), "mount-namespace": ("user-namespace",)}


@dataclass
class Config:
    """The limits and choices a fork server applies to each child (no secrets: it is argv)."""

    memory_bytes: int = 2 << 30
    max_pids: int = 64
    cpu_s: int = 600
    fsize_bytes: int = 64 << 20
    nofile: int = 256
    workdir_bytes: int = 256 << 20
    tmp_bytes: int = 16 << 20
    slot_uid: int | None = None
    disable: list[str] = field(default_factory=list)
    private: list[str] = field(default_factory=list)


@dataclass
class Plan:
    """What the fork server found: the layers to apply and what they need."""

    config: Config
    active: list[str] = field(default_factory=list)
    statuses: dict[str, LayerStatus] = field(default_factory=dict)
    view: mounts.FileView | None = None
    memory: cgroups.Controller | None = None
    pids: cgroups.Controller | None = None
    uid: int = -1
    gid: int = -1
    landlock_abi: int = 0
    seccomp_program: bytes = b""
    needs: dict[str, tuple[str, ...]] = field(default_factory=dict)


def _userns_allowed() -> tuple[bool, str]:
    try:
        with open("/proc/sys/user/max_user_namespaces") as handle:
            if int(handle.read()) == 0:
                return False, "user namespaces are disabled (user.max_user_namespaces = 0)"
    except (OSError, ValueError):
        pass
    try:
        with open("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") as handle:
            if handle.read().strip() == "1":
                return False, ("AppArmor blocks unprivileged user namespaces "
                               "(kernel.apparmor_restrict_unprivileged_userns = 1)")
    except OSError:
        pass
    return True, "unprivileged user namespace with this uid mapped to itself"


def probe(config: Config, tag: str) -> Plan:
    """Work out which layers this machine offers; the trial child confirms them."""
    plan = Plan(config)
    linux = syscalls.IS_LINUX
    root = linux and os.geteuid() == 0
    found: dict[str, tuple[bool, str]] = {}

    def mark(name: str, ok: bool, detail: str) -> None:
        found[name] = (ok, detail)

    if linux:
        plan.memory = cgroups.setup("memory", tag)
        plan.pids = cgroups.setup("pids", tag)
        mib = config.memory_bytes >> 20
        mark("cgroup-memory", plan.memory.usable,
             f"v{plan.memory.version}: {mib} MiB per submission, OOM kill past it"
             if plan.memory.usable else plan.memory.reason)
        mark("cgroup-pids", plan.pids.usable,
             f"v{plan.pids.version}: {config.max_pids} processes and threads per submission"
             if plan.pids.usable else plan.pids.reason)
    else:
        for name in ("cgroup-memory", "cgroup-pids"):
            mark(name, False, "cgroups are a Linux feature")
    if not linux:
        mark("user-namespace", False, "namespaces are a Linux feature")
    elif root:
        mark("user-namespace", False, "not needed: the fork server runs as root")
    else:
        mark("user-namespace", *_userns_allowed())
    namespaces = root or found["user-namespace"][0]
    why_not = "needs root or an unprivileged user namespace"
    mark("netns", namespaces, "new network namespace: no interface up, loopback included"
         if namespaces else why_not)
    plan.view = mounts.plan_view(config.private)
    if namespaces:
        detail = (f"private root: {len(plan.view.read_only)} read-only paths, "
                  f"{len(plan.view.masked)} masked, empty /tmp, "
                  f"{config.workdir_bytes >> 20} MiB tmpfs working folder")
    else:
        detail = why_not
    mark("mount-namespace", namespaces, detail)
    mark("rlimits", True, "")  # described once the memory cgroup's fate is known
    if not root:
        mark("uid-drop", False, "needs root" if linux else "needs root on Linux")
    elif config.slot_uid is None:
        mark("uid-drop", False, "no free unprivileged uid slot")
    else:
        plan.uid = plan.gid = config.slot_uid
        mark("uid-drop", True, f"uid/gid {config.slot_uid}, no supplementary groups")
    mark("no-new-privs", linux, "PR_SET_NO_NEW_PRIVS" if linux else "a Linux feature")
    plan.landlock_abi = landlock.abi_version()
    mark("landlock", plan.landlock_abi > 0,
         f"ABI {plan.landlock_abi}: files" + (", TCP" if plan.landlock_abi >= 4 else "")
         + (", signals and abstract sockets" if plan.landlock_abi >= 6 else "")
         if plan.landlock_abi else "not in this kernel (Linux 5.13+ with lsm=landlock)")
    ok, detail = seccomp.supported()
    if ok:
        plan.seccomp_program = seccomp.build_filter()
    mark("seccomp", ok, detail)

    plan.needs = dict(_NEEDS) if root else {**_NEEDS, **_NEEDS_UNPRIVILEGED}
    for name in ORDER:
        ok, detail = found[name]
        if ok and name in config.disable:
            ok, detail = False, "disabled by configuration"
        for need in plan.needs.get(name, ()):
            if ok and not plan.statuses[need].active:
                ok, detail = False, f"needs {need}"
        plan.statuses[name] = LayerStatus(name, ok, ok, detail, name in STRICT_REQUIRED)
    if root:
        # Root makes every namespace directly; a user namespace would only add cost.
        plan.statuses["user-namespace"] = LayerStatus(
            "user-namespace", True, False, "not needed: the fork server runs as root")
    _settle(plan)
    return plan


def _settle(plan: Plan) -> None:
    """Drop layers whose prerequisites are gone; describe the rlimits that will apply."""
    for name in ORDER:
        status = plan.statuses[name]
        for need in plan.needs.get(name, ()):
            if status.active and not plan.statuses[need].active:
                status.active = status.available = False
                status.detail = f"needs {need}"
    plan.active = [n for n in ORDER if plan.statuses[n].active]
    config = plan.config
    memory = "data" if "cgroup-memory" in plan.active else "address space"
    plan.statuses["rlimits"].detail = (
        f"cpu {config.cpu_s} s, {memory} +{config.memory_bytes >> 20} MiB, "
        f"nproc {config.max_pids}, fsize {config.fsize_bytes >> 20} MiB, "
        f"nofile {config.nofile}, core 0")


def confirm(plan: Plan, trial: dict[str, str]) -> None:
    """Keep only the layers that worked in the trial child; record why others failed."""
    for name in list(plan.active):
        error = trial.get(name)
        if error is None:
            continue
        status = plan.statuses[name]
        status.available = status.active = False
        status.detail = f"failed in a trial: {error}"
    _settle(plan)


def _vm_kib(field_name: str) -> int:
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _user_processes(uid: int) -> int:
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    count += 1
            except OSError:
                pass
    return count


def set_rlimits(config: Config, *, cgroup_memory: bool, dropping_uid: bool) -> None:
    """The portable limits; memory ones count from what the fork server already uses."""
    limits = [(resource.RLIMIT_CPU, config.cpu_s, config.cpu_s + 1),
              (resource.RLIMIT_FSIZE, config.fsize_bytes, config.fsize_bytes),
              (resource.RLIMIT_NOFILE, config.nofile, config.nofile),
              (resource.RLIMIT_CORE, 0, 0)]
    if syscalls.IS_LINUX:
        # RLIMIT_DATA gives a clean MemoryError but misses MAP_SHARED: only with a cgroup.
        if cgroup_memory:
            data = _vm_kib("VmData") * 1024 + config.memory_bytes
            limits.append((resource.RLIMIT_DATA, data, data))
        else:
            size = _vm_kib("VmSize") * 1024 + config.memory_bytes
            limits.append((resource.RLIMIT_AS, size, size))
        # RLIMIT_NPROC counts every process of the uid: a shared uid needs headroom.
        nproc = config.max_pids if dropping_uid else _user_processes(os.getuid()) + config.max_pids
        limits.append((resource.RLIMIT_NPROC, nproc, nproc))
    for which, soft, hard in limits:
        _, current_hard = resource.getrlimit(which)
        if current_hard != resource.RLIM_INFINITY:
            hard = min(hard, current_hard)
            soft = min(soft, hard)
        resource.setrlimit(which, (soft, hard))


def _enter_user_namespace() -> None:
    uid, gid = os.getuid(), os.getgid()
    syscalls.unshare(syscalls.CLONE_NEWUSER)
    for path, text in (("/proc/self/setgroups", "deny"), ("/proc/self/uid_map", f"{uid} {uid} 1"),
                       ("/proc/self/gid_map", f"{gid} {gid} 1")):
        with open(path, "w") as handle:
            handle.write(text)


def apply(name: str, plan: Plan, *, workdir: str, groups: cgroups.ChildGroups | None) -> None:
    """Apply one layer to this (child) process."""
    config = plan.config
    if name in ("cgroup-memory", "cgroup-pids"):
        if groups is not None:
            groups.attach_self(name.removeprefix("cgroup-"))
    elif name == "user-namespace":
        _enter_user_namespace()
    elif name == "netns":
        syscalls.unshare(syscalls.CLONE_NEWNET)
    elif name == "mount-namespace":
        syscalls.unshare(syscalls.CLONE_NEWNS | syscalls.CLONE_NEWIPC | syscalls.CLONE_NEWUTS)
        root = os.getuid() == 0 and "user-namespace" not in plan.active
        uid, gid = (plan.uid, plan.gid) if "uid-drop" in plan.active else (os.getuid(), os.getgid())
        mounts.enter_view(plan.view, workdir=workdir, uid=uid, gid=gid,
                          workdir_bytes=config.workdir_bytes, tmp_bytes=config.tmp_bytes,
                          fresh_proc=root)
    elif name == "rlimits":
        set_rlimits(config, cgroup_memory="cgroup-memory" in plan.active,
                    dropping_uid="uid-drop" in plan.active)
    elif name == "uid-drop":
        os.setgroups([])
        os.setresgid(plan.gid, plan.gid, plan.gid)
        os.setresuid(plan.uid, plan.uid, plan.uid)
    elif name == "no-new-privs":
        syscalls.prctl(syscalls.PR_SET_NO_NEW_PRIVS, 1)
    elif name == "landlock":
        if "mount-namespace" in plan.active:
            read_only = list(plan.view.read_only) + [f"/dev/{d}" for d in ("zero", "full",
                                                                         "random", "urandom")]
            # Only a fresh /proc (root) hides other users' processes; a bound one does not.
            fresh_proc = os.geteuid() == 0 and "user-namespace" not in plan.active
            read_only += ["/proc" if fresh_proc else "/proc/self"] + list(plan.view.symlinks)
            writable = [workdir, "/tmp", "/dev/shm", "/dev/null"]
        else:
            read_only = plan.view.landlock_read_only()
            read_only += ["/dev/zero", "/dev/urandom", "/dev/random", "/proc/self"]
            writable = [workdir, "/dev/null"]
        landlock.restrict(read_only, writable, abi=plan.landlock_abi)
    elif name == "seccomp":
        seccomp.install(plan.seccomp_program)
    else:
        raise ValueError(f"unknown layer {name!r}")


"""seccomp: a deny-list of system calls that numerical student code never needs.

The filter is a classic BPF program built here and installed with
``prctl(PR_SET_SECCOMP)`` through ctypes. No library is needed: PyPI's
``pyseccomp`` wraps a system ``libseccomp.so`` that a fresh machine may lack
and costs ~40 ms to import, and Debian's ``python3-seccomp`` is not on PyPI.
The price is a table of system-call numbers per architecture (x86_64 and
aarch64 here, checked against the kernel's unistd headers); other
architectures report the layer as unavailable.

Denied calls fail with EPERM, so a student sees an ordinary ``OSError``:
sockets (the network, Unix path sockets), ptrace and process_vm_* (reading
other processes), mount/namespace/pivot_root/chroot (rebuilding the
sandbox), bpf, keyrings, perf, userfaultfd, io_uring, module and kexec
loading, clock and host settings. ``clone`` with a namespace flag is denied
and ``clone3`` answers ENOSYS so that the C library falls back to ``clone``,
whose flags the filter can see.
"""

from __future__ import annotations

import ctypes
import errno
import struct

from autograder.sandbox import syscalls

_DENIED_NAMES = (
    "socket", "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd",
    "process_madvise", "mount", "umount2", "pivot_root", "chroot", "unshare", "setns",
    "move_mount", "open_tree", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
    "bpf", "keyctl", "add_key", "request_key", "perf_event_open", "userfaultfd",
    "io_uring_setup", "io_uring_enter", "io_uring_register", "kexec_load", "kexec_file_load",
    "init_module", "finit_module", "delete_module", "swapon", "swapoff", "reboot",
    "open_by_handle_at", "name_to_handle_at", "acct", "settimeofday", "clock_settime",
    "clock_adjtime", "adjtimex", "sethostname", "setdomainname", "fanotify_init",
    "lookup_dcookie", "quotactl", "quotactl_fd", "syslog", "vhangup", "memfd_secret",
    "iopl", "ioperm", "modify_ldt", "uselib", "_sysctl",
)

# From asm/unistd_64.h (x86_64) and asm-generic/unistd.h (aarch64).
_TABLES = {
    "x86_64": {
        "audit_arch": 0xC000003E,
        "clone": 56, "clone3": 435,
        "socket": 41, "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311,
        "pidfd_getfd": 438, "process_madvise": 440, "mount": 165, "umount2": 166,
        "pivot_root": 155, "chroot": 161, "unshare": 272, "setns": 308, "move_mount": 429,
        "open_tree": 428, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433,
        "mount_setattr": 442, "bpf": 321, "keyctl": 250, "add_key": 248, "request_key": 249,
        "perf_event_open": 298, "userfaultfd": 323, "io_uring_setup": 425,
        "io_uring_enter": 426, "io_uring_register": 427, "kexec_load": 246,
        "kexec_file_load": 320, "init_module": 175, "finit_module": 313, "delete_module": 176,
        "swapon": 167, "swapoff": 168, "reboot": 169, "open_by_handle_at": 304,
        "name_to_handle_at": 303, "acct": 163, "settimeofday": 164, "clock_settime": 227,
        "clock_adjtime": 305, "adjtimex": 159, "sethostname": 170, "setdomainname": 171,
        "fanotify_init": 300, "lookup_dcookie": 212, "quotactl": 179, "quotactl_fd": 443,
        "syslog": 103, "vhangup": 153, "memfd_secret": 447, "iopl": 172, "ioperm": 173,
        "modify_ldt": 154, "uselib": 134, "_sysctl": 156,
    },
    "aarch64": {
        "audit_arch": 0xC00000B7,
        "clone": 220, "clone3": 435,
        "socket": 198, "ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271,
        "pidfd_getfd": 438, "process_madvise": 440, "mount": 40, "umount2": 39,
        "pivot_root": 41, "chroot": 51, "unshare": 97, "setns": 268, "move_mount": 429,
        "open_tree": 428, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433,
        "mount_setattr": 442, "bpf": 280, "keyctl": 219, "add_key": 217, "request_key": 218,
        "perf_event_open": 241, "userfaultfd": 282, "io_uring_setup": 425,
        "io_uring_enter": 426, "io_uring_register": 427, "kexec_load": 104,
        "kexec_file_load": 294, "init_module": 105, "finit_module": 273, "delete_module": 106,
        "swapon": 224, "swapoff": 225, "reboot": 142, "open_by_handle_at": 265,
        "name_to_handle_at": 264, "acct": 89, "settimeofday": 170, "clock_settime": 112,
        "clock_adjtime": 266, "adjtimex": 171, "sethostname": 161, "setdomainname": 162,
        "fanotify_init": 262, "lookup_dcookie": 18, "quotactl": 60, "quotactl_fd": 443,
        "syslog": 116, "vhangup": 58, "memfd_secret": 447,
    },
}

_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JGE_K = 0x35
_JSET_K = 0x45
_RET_K = 0x06
_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000
_X32_SYSCALL_BIT = 0x40000000
_OFFSET_NR, _OFFSET_ARCH, _OFFSET_ARG0 = 0, 4, 16


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def supported() -> tuple[bool, str]:
    """Whether a filter can be built and installed here, and why not."""
    if not syscalls.IS_LINUX:
        return False, "seccomp is a Linux feature"
    if syscalls.ARCH not in _TABLES:
        return False, f"no system-call table for {syscalls.ARCH} (x86_64 and aarch64 only)"
    try:
        syscalls.prctl(syscalls.PR_GET_SECCOMP)
    except OSError as exc:
        return False, f"the kernel has no seccomp support ({exc.strerror})"
    return True, f"deny-list of {len(denied_syscalls())} system calls"


def denied_syscalls(arch: str | None = None) -> dict[str, int]:
    table = _TABLES[arch or syscalls.ARCH]
    return {name: table[name] for name in _DENIED_NAMES if name in table}


def build_filter(arch: str | None = None) -> bytes:
    """The BPF program as bytes of ``struct sock_filter``."""
    arch = arch or syscalls.ARCH
    table = _TABLES[arch]
    denied = sorted(set(denied_syscalls(arch).values()))
    prog: list[tuple[int, int, int, int]] = []
    # Jumps are relative; these markers are patched once the layout is known.
    deny, enosys, clone = "deny", "enosys", "clone"

    prog.append((_LD_W_ABS, 0, 0, _OFFSET_ARCH))
    prog.append((_JEQ_K, 1, 0, table["audit_arch"]))
    prog.append((_RET_K, 0, 0, _RET_ERRNO | errno.EPERM))  # another ABI (i386 on x86_64)
    prog.append((_LD_W_ABS, 0, 0, _OFFSET_NR))
    if arch == "x86_64":
        prog.append((_JGE_K, deny, 0, _X32_SYSCALL_BIT))
    prog.append((_JEQ_K, enosys, 0, table["clone3"]))
    prog.append((_JEQ_K, clone, 0, table["clone"]))
    for number in denied:
        prog.append((_JEQ_K, deny, 0, number))
    prog.append((_RET_K, 0, 0, _RET_ALLOW))
    labels = {clone: len(prog)}
    prog.append((_LD_W_ABS, 0, 0, _OFFSET_ARG0))  # clone's flags: low 32 bits, little-endian
    prog.append((_JSET_K, deny, 0, syscalls.NAMESPACE_FLAGS))
    prog.append((_RET_K, 0, 0, _RET_ALLOW))
    labels[deny] = len(prog)
    prog.append((_RET_K, 0, 0, _RET_ERRNO | errno.EPERM))
    labels[enosys] = len(prog)
    prog.append((_RET_K, 0, 0, _RET_ERRNO | errno.ENOSYS))

    out = bytearray()
    for index, (code, jt, jf, k) in enumerate(prog):
        jt = labels[jt] - index - 1 if isinstance(jt, str) else jt
        jf = labels[jf] - index - 1 if isinstance(jf, str) else jf
        if not (0 <= jt <= 255 and 0 <= jf <= 255):
            raise ValueError("seccomp filter jump out of range")
        out += struct.pack("<HBBI", code, jt, jf, k)
    return bytes(out)


def install(program: bytes) -> None:
    """Install ``program`` on this thread; needs NO_NEW_PRIVS (or CAP_SYS_ADMIN)."""
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    syscalls.prctl(syscalls.PR_SET_SECCOMP, 2, ctypes.addressof(fprog))

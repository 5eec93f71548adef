"""A hostile submission: one function per attack (see test_sandbox_attacks.py).

Never imported by the tests: it is copied into the sandbox as a submission.
Every attack is bounded (a few hundred processes, a few GiB) so that a broken
sandbox fails a test instead of taking the machine down.
"""

import ctypes
import mmap
import os
import resource
import signal
import socket
import sys
import time

import numpy as np


def ok(x):
    return x * 2


def spin():
    while True:
        pass


def spin_ignoring_xcpu():
    signal.signal(signal.SIGXCPU, signal.SIG_IGN)
    while True:
        pass


def sleep():
    time.sleep(3600)


def numpy_huge():
    return np.ones((10**6, 10**6))


def python_huge():
    return len(bytearray(10**11))


def touch_chunks():
    chunks = []
    for _ in range(64):  # at most 4 GiB: far past the test limit of 512 MiB
        chunk = np.ones(64 << 17)  # 64 MiB, touched
        chunks.append(chunk)
    return len(chunks)


def shared_mmap():
    area = mmap.mmap(-1, 3 << 30)  # MAP_SHARED: invisible to RLIMIT_DATA
    for offset in range(0, 3 << 30, 4096):
        area[offset] = 1
    return 1


def fork_many():
    pids = []
    for _ in range(300):
        pid = os.fork()
        if pid == 0:
            time.sleep(30)
            os._exit(0)
        pids.append(pid)
    return len(pids)


def thread_many():
    import threading
    event = threading.Event()
    threads = []
    for _ in range(300):
        thread = threading.Thread(target=event.wait, daemon=True)
        thread.start()
        threads.append(thread)
    return len(threads)


def escape_and_spin():
    read, write = os.pipe()
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.write(write, str(os.getpid()).encode())
            time.sleep(120)
        os._exit(0)
    print("grandchild", os.read(read, 32).decode(), flush=True)
    while True:
        pass


def kill_pid(pid):
    if os.geteuid() == 0:
        raise RuntimeError("refusing to send signals: still root")
    os.kill(pid, signal.SIGKILL)


def kill_everything():
    if os.geteuid() == 0:
        raise RuntimeError("refusing to kill(-1): still root")
    os.kill(-1, signal.SIGKILL)


def read_file(path):
    with open(path, "rb") as handle:
        return len(handle.read())


def list_folder(path):
    return len(os.listdir(path))


def write_file(path, text):
    with open(path, "w") as handle:
        handle.write(text)
    return 1


def big_file():
    with open("big.bin", "wb") as handle:
        for _ in range(256):
            handle.write(b"x" * (1 << 20))
    return 1


def many_files():
    for index in range(16):
        with open(f"part{index}.bin", "wb") as handle:
            handle.write(b"x" * (6 << 20))
    return 1


def flood_stdout():
    for _ in range(100000):
        print("x" * 100)
    return 1


def tcp_connect(port):
    with socket.create_connection(("127.0.0.1", port), timeout=2):
        return 1


def udp_send():
    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("8.8.8.8", 53))
    return 1


def unix_connect(path):
    client = socket.socket(socket.AF_UNIX)
    client.connect(path)
    return 1


def raise_cpu_limit():
    resource.setrlimit(resource.RLIMIT_CPU, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    return 1


def become_root():
    os.setuid(0)
    return 1


def new_user_namespace():
    refuse_if_root()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(0x10000000) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWUSER) failed")
    return 1


def refuse_if_root():
    # A broken sandbox must fail the test, not mount over or trace the real machine.
    if os.geteuid() == 0:
        raise RuntimeError("refusing: still root")


def mount_tmpfs():
    refuse_if_root()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.mount(b"none", b"/tmp", b"tmpfs", 0, None) != 0:
        raise OSError(ctypes.get_errno(), "mount failed")
    return 1


def ptrace_parent():
    refuse_if_root()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.ptrace(16, os.getppid(), None, None) != 0:  # PTRACE_ATTACH
        raise OSError(ctypes.get_errno(), "ptrace failed")
    return 1


class Liar(np.ndarray):
    def __eq__(self, other):
        return True


def lying_array():
    return np.zeros(3).view(Liar)


def inspect_self():
    import gc
    modules = sorted(sys.modules)
    return {"modules": [m for m in modules if "reference" in m or "assignments" in m
                        or "autograder_cases" in m or "hidden" in m],
            "environ": sorted(os.environ),
            "fds": sorted(int(fd) for fd in os.listdir("/proc/self/fd")),
            "uid": os.getuid(),
            "objects": len(gc.get_objects())}


def zygote_secrets():
    parent = os.getppid()
    out = []
    for name in ("cmdline", "environ"):
        try:
            with open(f"/proc/{parent}/{name}", "rb") as handle:
                out.append(handle.read().decode(errors="replace"))
        except OSError as exc:
            out.append(type(exc).__name__)
    return out

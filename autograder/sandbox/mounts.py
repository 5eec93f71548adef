"""The child's private view of the filesystem: an allow-list, not a deny-list.

The fork server works out once which paths a worker needs (the system
libraries, the interpreter, its site-packages, the worker's own package)
and which must stay hidden even inside those (the reference solutions,
assignment plugins with hidden tests, the grader's home and working
folder). Each child then builds a fresh root on a tmpfs holding only
read-only bind mounts of the needed paths, an empty ``/tmp``, a small
``/dev``, its own ``/proc`` and a size-capped tmpfs working folder with a
copy of the submission, and pivots into it. Whatever is not bound in does
not exist for the child: the rest of the grader's files, other submissions,
the gradebook and every home directory.

Binding the interpreter in at its own path also solves the 0700 home
directory problem: a child that drops to an unprivileged uid can still
read a Python that lives under ``/root/.pyenv``.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import stat
import sys
from dataclasses import dataclass, field

from autograder.sandbox import syscalls

_SYSTEM_DIRS = ("/usr", "/lib", "/lib64", "/lib32", "/libx32", "/bin", "/sbin")
_ETC_FILES = ("passwd", "group", "nsswitch.conf", "ld.so.cache", "ld.so.conf", "localtime",
              "mime.types", "os-release")
_DEVICES = ("null", "zero", "full", "random", "urandom")
# statvfs flags a bind mount must keep when remounted (the kernel locks them in a user namespace)
_LOCKED_FLAGS = ((os.ST_NOSUID, syscalls.MS_NOSUID), (os.ST_NODEV, syscalls.MS_NODEV),
                 (os.ST_NOEXEC, syscalls.MS_NOEXEC), (os.ST_NOATIME, 1024),
                 (os.ST_NODIRATIME, 2048), (os.ST_RELATIME, 1 << 21))


@dataclass
class FileView:
    """What the child may see; computed in the fork server, applied in each child."""

    read_only: list[str] = field(default_factory=list)
    symlinks: dict[str, str] = field(default_factory=dict)
    masked: list[str] = field(default_factory=list)

    def landlock_read_only(self) -> list[str]:
        """The read-only allow-list for Landlock, carved around the masked paths.

        Landlock can only allow, never re-deny beneath an allowed folder, so a
        folder that contains a masked path is replaced by its other entries.
        """
        out: list[str] = []
        for path in self.read_only:
            out.extend(_carve(path, self.masked))
        return out


def _carve(path: str, masked: list[str]) -> list[str]:
    inside = [m for m in masked if _is_within(m, path)]
    if not inside:
        return [path]
    if any(m == path for m in inside) or not os.path.isdir(path):
        return []
    out = []
    try:
        entries = sorted(os.listdir(path))
    except OSError:
        return []
    for entry in entries:
        out.extend(_carve(os.path.join(path, entry), inside))
    return out


def _is_within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _minimal(paths: list[str]) -> list[str]:
    """Drop paths that lie inside another path of the list."""
    out: list[str] = []
    for path in sorted(set(paths), key=len):
        if not any(_is_within(path, kept) for kept in out):
            out.append(path)
    return sorted(out)


def _spec_folders(module: str) -> list[str]:
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return []
    if spec is None:
        return []
    if spec.submodule_search_locations:
        return [os.path.realpath(p) for p in spec.submodule_search_locations]
    return [os.path.realpath(spec.origin)] if spec.origin else []


def secret_paths() -> list[str]:
    """Code no child may read even when it lies inside an exposed folder.

    The reference and assignment packages, and every plugin distribution's
    top-level package other than the engine (assignment plugins carry hidden
    tests). Only top-level specs of third-party plugins are looked up:
    finding a submodule would import, that is run, the plugin's package here.
    """
    found: list[str] = []
    for module in ("autograder.reference", "autograder.assignments"):
        found += _spec_folders(module)
    try:
        entry_points = importlib.metadata.entry_points(group="autograder")
    except Exception:  # noqa: BLE001 - broken metadata must not stop the sandbox
        entry_points = []
    for entry_point in entry_points:
        top = entry_point.value.split(":")[0].split(".")[0]
        if top != "autograder":
            found += _spec_folders(top)
    return _minimal(found)


def plan_view(private: list[str] = ()) -> FileView:
    """The allow-list for this interpreter, with ``private`` paths masked."""
    view = FileView()
    exposed: list[str] = []
    for path in _SYSTEM_DIRS:
        if os.path.islink(path):
            view.symlinks[path] = os.readlink(path)
        elif os.path.isdir(path):
            exposed.append(path)
    for name in _ETC_FILES:
        path = os.path.join("/etc", name)
        if os.path.exists(path):
            exposed.append(path)
    python = [sys.base_prefix, sys.prefix, sys.exec_prefix, sys.base_exec_prefix,
              os.path.dirname(os.path.dirname(os.path.abspath(__file__)))]
    python += [p for p in sys.path if p and os.path.isabs(p) and os.path.exists(p)]
    python.append(os.path.dirname(os.path.realpath(sys.executable)))
    # A private folder (the grader's working folder, the home folder) is never bound
    # whole, even when it is a sys.path entry (`python -m` puts the working folder
    # there): what the worker needs inside it, the engine and the venv, is listed
    # on its own above.
    private_paths = {os.path.realpath(p) for p in private if p}
    exposed += [real for real in map(os.path.realpath, python) if real not in private_paths]
    view.read_only = _minimal(exposed)
    code = secret_paths()
    # A secret package is never bound in, even when it is a whole sys.path entry.
    view.read_only = [p for p in view.read_only if p not in code]
    # Only secrets strictly inside a bound folder need masking: a secret that
    # contains one (the home folder around the interpreter) is hidden anyway.
    masked = _minimal(code + [os.path.realpath(p) for p in private if p])
    view.masked = [m for m in masked
                   if any(_is_within(m, p) and m != p for p in view.read_only)]
    return view


def _mkdirs(path: str) -> None:
    os.makedirs(path, mode=0o755, exist_ok=True)


def _touch(path: str) -> None:
    _mkdirs(os.path.dirname(path))
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o644))


class _Source:
    """A path to bind, opened before the staging tmpfs can cover it (it may lie under /tmp)."""

    def __init__(self, path: str) -> None:
        self.is_dir = os.path.isdir(path)
        self.vfs_flags = os.statvfs(path).f_flag
        self.fd = os.open(path, os.O_PATH | os.O_CLOEXEC)

    @property
    def proc_path(self) -> str:
        return f"/proc/self/fd/{self.fd}"


def _bind_read_only(source: _Source, target: str, recursive: bool = False) -> None:
    if source.is_dir:
        _mkdirs(target)
    else:
        _touch(target)
    flags = syscalls.MS_BIND | (syscalls.MS_REC if recursive else 0)
    syscalls.mount(source.proc_path, target, None, flags)
    locked = 0
    vfs = source.vfs_flags
    for st_flag, ms_flag in _LOCKED_FLAGS:
        if vfs & st_flag:
            locked |= ms_flag
    syscalls.mount(None, target, None, syscalls.MS_REMOUNT | syscalls.MS_BIND | syscalls.MS_RDONLY
                   | syscalls.MS_NOSUID | syscalls.MS_NODEV | locked)


def _tmpfs(target: str, *, size: int, mode: int, options: str = "", read_only: bool = False,
           noexec: bool = True) -> None:
    _mkdirs(target)
    flags = syscalls.MS_NOSUID | syscalls.MS_NODEV | (syscalls.MS_NOEXEC if noexec else 0)
    data = f"size={size},mode={mode:o}" + (f",{options}" if options else "")
    syscalls.mount("tmpfs", target, "tmpfs", flags | (syscalls.MS_RDONLY if read_only else 0),
                   data)


def _copy_tree(source_fd: int, target: str, uid: int, gid: int) -> None:
    """Copy the submission from the grader's folder (open as ``source_fd``) into the tmpfs."""
    for folder, dirs, files, folder_fd in os.fwalk(".", dir_fd=source_fd):
        destination = os.path.normpath(os.path.join(target, folder))
        for name in dirs:
            os.mkdir(os.path.join(destination, name), 0o755)
            os.chown(os.path.join(destination, name), uid, gid)
        for name in files:
            info = os.stat(name, dir_fd=folder_fd, follow_symlinks=False)
            if not stat.S_ISREG(info.st_mode):
                continue
            src = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=folder_fd)
            path = os.path.join(destination, name)
            dst = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                while chunk := os.read(src, 1 << 20):
                    os.write(dst, chunk)
            finally:
                os.close(src)
                os.close(dst)
            os.chown(path, uid, gid)


def enter_view(view: FileView, *, workdir: str, uid: int, gid: int, workdir_bytes: int,
               tmp_bytes: int, fresh_proc: bool) -> None:
    """Build the child's root and pivot into it. Call right after ``unshare(CLONE_NEWNS)``.

    :param fresh_proc: mount a new procfs showing only this uid's processes
        (root); otherwise the host's is bound in (a user namespace may not mount one).
    """
    source_fd = os.open(workdir, os.O_RDONLY | os.O_DIRECTORY)
    # Everything under the real /tmp vanishes once the staging tmpfs covers it:
    # look at every source first and bind through its descriptor.
    sources = {path: _Source(path) for path in view.read_only}
    masked_dirs = {path: os.path.isdir(path) for path in view.masked if os.path.exists(path)}
    try:
        syscalls.mount(None, "/", None, syscalls.MS_REC | syscalls.MS_PRIVATE)
        root = "/tmp"
        _tmpfs(root, size=1 << 20, mode=0o755, noexec=False)
        # The child's /tmp goes in first: mounted later it would cover the binds below it.
        _tmpfs(root + "/tmp", size=tmp_bytes, mode=0o1777)
        for path, source in sources.items():
            _bind_read_only(source, root + path)
        for path, target in view.symlinks.items():
            os.symlink(target, root + path)
        for path, is_dir in masked_dirs.items():
            if is_dir:
                _tmpfs(root + path, size=4096, mode=0o555, read_only=True)
            else:
                syscalls.mount("/dev/null", root + path, None, syscalls.MS_BIND)
        dev = root + "/dev"
        _tmpfs(dev, size=65536, mode=0o755)
        for name in _DEVICES:
            _touch(f"{dev}/{name}")
            syscalls.mount(f"/dev/{name}", f"{dev}/{name}", None, syscalls.MS_BIND)
        for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                             ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
            os.symlink(target, f"{dev}/{name}")
        _tmpfs(dev + "/shm", size=tmp_bytes, mode=0o1777)
        _mkdirs(root + "/proc")
        if fresh_proc:
            syscalls.mount("proc", root + "/proc", "proc", syscalls.MS_NOSUID | syscalls.MS_NODEV
                           | syscalls.MS_NOEXEC, "hidepid=2")
        else:
            syscalls.mount("/proc", root + "/proc", None, syscalls.MS_BIND | syscalls.MS_REC)
        _tmpfs(root + workdir, size=workdir_bytes, mode=0o700, options=f"uid={uid},gid={gid}")
        _copy_tree(source_fd, root + workdir, uid, gid)
    finally:
        os.close(source_fd)
        for source in sources.values():
            os.close(source.fd)
    os.chdir(root)
    syscalls.pivot_root(".", ".")
    syscalls.umount2(".", syscalls.MNT_DETACH)
    os.chdir("/")
    syscalls.mount(None, "/", None, syscalls.MS_REMOUNT | syscalls.MS_BIND | syscalls.MS_RDONLY
                   | syscalls.MS_NOSUID | syscalls.MS_NODEV)

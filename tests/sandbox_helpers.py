"""Shared helpers for the sandbox tests: a small-limits zygote, and running one attack."""

from __future__ import annotations

import os
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from autograder.sandbox import Limits
from autograder.sandbox.layers import Config
from autograder.sandbox.zygote_backend import ZygoteSandbox

LINUX = sys.platform.startswith("linux")
ROOT = LINUX and os.geteuid() == 0

# Small limits keep the attacks quick; the defaults are the same mechanisms with bigger numbers.
TEST_CONFIG = dict(memory_bytes=512 << 20, max_pids=32, cpu_s=20, fsize_bytes=8 << 20,
                   nofile=64, workdir_bytes=32 << 20, tmp_bytes=4 << 20)
LIMITS = Limits(call_timeout_s=5.0, import_timeout_s=30.0, output_bytes=1 << 16)


def make_sandbox(**overrides) -> ZygoteSandbox:
    return ZygoteSandbox(config=Config(**{**TEST_CONFIG, **overrides}))


def active_layers(sandbox: ZygoteSandbox) -> dict[str, str]:
    """{layer: detail} for every layer, with '' for the active ones."""
    return {s.name: ("" if s.active else s.detail) for s in sandbox.statuses()}


def need(sandbox: ZygoteSandbox, *names: str) -> None:
    """Skip (with the kernel's or the platform's reason) unless every layer is active here."""
    missing = {n: d for n, d in active_layers(sandbox).items() if n in names and d}
    if missing:
        pytest.skip("needs " + "; ".join(f"{n} ({d})" for n, d in missing.items()))


def write(source: str, folder: Path | None = None, name: str = "submission.py") -> Path:
    folder = Path(folder or tempfile.mkdtemp(prefix="attack-"))
    path = folder / name
    path.write_text(textwrap.dedent(source))
    return path


def process_exists(pid: int) -> bool:
    """True while ``pid`` is a live (not zombie) process."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def processes_of_uid(uid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid and process_exists(int(entry)):
                    found.append(int(entry))
            except FileNotFoundError:
                pass
    return found

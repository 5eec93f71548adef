"""Sandbox speed: cold `autograder grade`, warm submissions, per-layer cost, peak memory.

Usage (from the repository root, as root for every layer)::

    .venv/bin/python benchmarks/bench_sandbox.py [--runs 5] [--warm 20] [--only perceptron,adam]

Prints three tables:

1. per assignment (every one `autograder list` shows), grading its reference:
   cold ``autograder grade`` wall time (median of ``--runs`` fresh processes) with
   the zygote backend and with the subprocess backend; the warm time per
   submission through one running zygote (median of ``--warm``); and peak
   resident memory of the cold run (largest process), of the fork server and of
   one worker (memory newly charged to its cgroup);
2. the sandbox's own cost per submission, with a trivial submission (open,
   start a worker, import, one call, kill, clean-up): through a warm fork
   server with every layer and with none, against a fresh interpreter per
   submission (the subprocess backend), for NumPy-only and torch submissions;
3. each layer's cost inside the child (median and 90th percentile).

The load average is printed before and after: on a shared machine, numbers
taken under load are slower than the same code on a quiet one.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from autograder.grading import grade_submission
from autograder.plugins import get_registry
from autograder.sandbox import Limits, layers
from autograder.sandbox.subprocess_backend import SubprocessSandbox
from autograder.sandbox.zygote_backend import ZygoteSandbox

REPO = Path(__file__).resolve().parent.parent
AUTOGRADER = str(Path(sys.executable).with_name("autograder"))


def median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


def p90_ms(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))] * 1000


def cold_grade(assignment: str, submission: Path, sandbox: str, runs: int) -> tuple[float, float]:
    """Median wall seconds of a fresh `autograder grade`, and the largest process's peak MiB."""
    times, peaks = [], []
    for _ in range(runs):
        start = time.perf_counter()
        process = subprocess.Popen([AUTOGRADER, "grade", assignment, str(submission),
                                    "--sandbox", sandbox], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE)
        _, status, usage = os.wait4(process.pid, 0)
        times.append(time.perf_counter() - start)
        peaks.append(usage.ru_maxrss / 1024)
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            raise SystemExit(f"`autograder grade {assignment}` failed: "
                             f"{process.stderr.read().decode()[-2000:]}")
        process.stderr.close()
    return statistics.median(times), max(peaks)


def vm_hwm_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def warm_grades(assignment, runs: int) -> dict:
    """Grade the reference ``runs`` times through one warm fork server."""
    sandbox = ZygoteSandbox()
    try:
        path = assignment.reference_path()
        grade_submission(assignment=assignment, submission=path, sandbox=sandbox)  # warm-up
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            result = grade_submission(assignment=assignment, submission=path, sandbox=sandbox)
            times.append(time.perf_counter() - start)
            if result["score"] != result["max_score"]:
                raise SystemExit(f"{assignment.id}: the reference scored {result['score']}")
        reaped = sandbox.last_reaped
        return {"median_ms": median_ms(times), "tests": len(result["tests"]),
                "server_mib": vm_hwm_mib(sandbox.server_info()["pid"]),
                "child_mib": (reaped.peak_bytes or 0) / 2**20 if reaped else float("nan")}
    finally:
        sandbox.close()


TRIVIAL = "def ok(x):\n    return x\n"
TORCH = ("import torch\n\ndef ok(x):\n    model = torch.nn.Linear(4, 2)\n"
         "    loss = model(torch.ones(3, 4)).sum()\n    loss.backward()\n    return x\n")


def overhead(disable: list[str], runs: int, *, source: str = TRIVIAL,
             backend: str = "zygote") -> tuple[list[float], dict[str, list[float]]]:
    """Per-submission cost of the sandbox itself, with a submission that does (almost) nothing."""
    folder = Path(tempfile.mkdtemp(prefix="bench-sandbox-"))
    submission = folder / "submission.py"
    submission.write_text(source)
    if backend == "zygote":
        sandbox = ZygoteSandbox(config=layers.Config(disable=disable))
        sandbox.start()
    else:
        sandbox = SubprocessSandbox()
    limits = Limits(call_timeout_s=30, import_timeout_s=60)
    times, per_layer = [], {}
    try:
        for index in range(runs + 3):
            start = time.perf_counter()
            with sandbox.open(submission, forbidden=[], limits=limits) as session:
                outcome = session.call("ok", (1,))
            elapsed = time.perf_counter() - start
            if not outcome.ok:
                raise SystemExit(f"the trivial submission failed: {outcome.message}")
            if index >= 3:  # the first forks touch pages the later ones share
                times.append(elapsed)
                for name, ms in getattr(sandbox, "last_spawn_timings", {}).items():
                    per_layer.setdefault(name, []).append(ms / 1000)
    finally:
        sandbox.close()
        submission.unlink()
        folder.rmdir()
    return times, per_layer


def load() -> str:
    with open("/proc/loadavg") as handle:
        return " ".join(handle.read().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="cold runs per assignment")
    parser.add_argument("--warm", type=int, default=20, help="warm submissions per measure")
    parser.add_argument("--only", default="", help="comma-separated assignment ids")
    args = parser.parse_args()

    registry = get_registry()
    ids = [i for i in sorted(registry.assignments) if not args.only or i in args.only.split(",")]
    print(f"# bench_sandbox: {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, "
          f"Linux {platform.release()}, Python {platform.python_version()}, uid {os.getuid()}")
    print(f"# load average at start: {load()}")
    probe = ZygoteSandbox()
    try:
        active = [s.name for s in probe.statuses() if s.active]
    finally:
        probe.close()
    print(f"# zygote layers active: {', '.join(active)}\n")

    print("| assignment | uses_torch | tests | cold grade, zygote (s) | cold grade, subprocess (s) "
          "| warm grade per submission (ms) | peak RSS cold (MiB) | fork server (MiB) "
          "| worker (MiB) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for assignment_id in ids:
        assignment = registry.assignment(assignment_id)
        path = assignment.reference_path()
        cold_zygote, peak = cold_grade(assignment_id, path, "zygote", args.runs)
        cold_subprocess, _ = cold_grade(assignment_id, path, "subprocess", args.runs)
        warm = warm_grades(assignment, args.warm)
        print(f"| {assignment_id} | {'yes' if assignment.uses_torch else 'no'} | {warm['tests']} "
              f"| {cold_zygote:.2f} | {cold_subprocess:.2f} | {warm['median_ms']:.0f} "
              f"| {peak:.0f} | {warm['server_mib']:.0f} | {warm['child_mib']:.1f} |", flush=True)

    runs = args.warm * 3
    every, per_layer = overhead([], runs)
    rows = [
        ("zygote, every active layer", every),
        ("zygote, no layer (fork, pipes, import, one call, kill)",
         overhead(list(layers.ORDER), runs)[0]),
        ("subprocess backend (fresh interpreter)", overhead([], runs, backend="subprocess")[0]),
        ("zygote with torch warm, every layer; submission imports torch and runs a backward",
         overhead([], runs, source=TORCH)[0]),
        ("subprocess backend, same torch submission",
         overhead([], min(runs, 5), source=TORCH, backend="subprocess")[0]),
    ]
    print("\n| sandbox cost per submission (open, start worker, import, one call, kill) "
          "| median (ms) | p90 (ms) |")
    print("|---|---|---|")
    for label, times in rows:
        print(f"| {label} | {median_ms(times):.1f} | {p90_ms(times):.1f} |", flush=True)

    print("\n| layer (applied in the child) | median (ms) | p90 (ms) |")
    print("|---|---|---|")
    for name in layers.ORDER:
        if name in per_layer:
            print(f"| {name} | {median_ms(per_layer[name]):.2f} | {p90_ms(per_layer[name]):.2f} |")
    print(f"\n# load average at end: {load()}")


if __name__ == "__main__":
    main()

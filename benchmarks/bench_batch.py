"""Batch grading speed and memory: submissions per second, and memory over a long batch.

    .venv/bin/python benchmarks/bench_batch.py                      # the README's figures
    .venv/bin/python benchmarks/bench_batch.py --n 50 --memory-n 0  # a quick look

Each configuration runs ``autograder.batch.run.run_batch`` in a fresh
process on a fresh gradebook, so the figures include starting the pool and
the sandbox (what an instructor waits for). Submissions are copies of the
reference, each with a distinct comment so none is skipped as unchanged;
every fourth one is the stub (fails fast). The memory run samples the
resident memory of the batch process and of all its descendants (pool
workers, zygotes, sandboxed workers) every 250 submissions.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def make_source(folder: Path, assignment: str, n: int) -> Path:
    from autograder.plugins import get_registry

    found = get_registry().assignment(assignment)
    reference = found.reference_path().read_text()
    stub = found.stub_path.read_text()
    folder.mkdir(parents=True)
    for i in range(n):
        text = stub if i % 4 == 3 else reference
        (folder / f"student{i:05d}.py").write_text(f"{text}\n# student {i}\n")
    return folder


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _descendants(pid: int) -> list[int]:
    out, stack = [], [pid]
    while stack:
        parent = stack.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                children = [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
            out += children
            stack += children
    return out


def child(args: argparse.Namespace) -> None:
    """Run one batch and print its figures as JSON (in a fresh process)."""
    from autograder.batch.progress import Progress
    from autograder.batch.run import run_batch

    samples = []

    class Sampler(Progress):
        done = 0

        def advance(self, **_):
            self.done += 1
            if self.done % 250 == 0:
                me = os.getpid()
                samples.append({"graded": self.done, "parent_mib": _rss_kib(me) / 1024,
                                "tree_mib": sum(_rss_kib(p) for p in [me, *_descendants(me)])
                                / 1024})

    summary = run_batch(assignment_id=args.assignment, source=Path(args.source),
                        gradebook=Path(args.gradebook), jobs=args.jobs[0], sandbox=args.sandbox,
                        progress=Sampler())
    print(json.dumps({"graded": summary.graded, "failed": summary.failed,
                      "wall_s": summary.wall_s, "per_second": summary.per_second,
                      "samples": samples}))


def run_one(assignment: str, jobs: int, n: int, sandbox: str | None, tmp: Path) -> dict:
    source = make_source(tmp / f"{assignment}-{jobs}-{n}", assignment, n)
    command = [sys.executable, __file__, "--child", "--assignment", assignment,
               "--jobs", str(jobs), "--source", str(source),
               "--gradebook", str(tmp / f"{assignment}-{jobs}-{n}.db")]
    if sandbox:
        command += ["--sandbox", sandbox]
    proc = subprocess.run(command, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{assignment} --jobs {jobs} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--assignments", nargs="+", default=["perceptron", "attention"])
    parser.add_argument("--jobs", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--n", type=int, default=200, help="submissions per speed run")
    parser.add_argument("--memory-n", type=int, default=2000,
                        help="submissions in the memory run (0 to skip)")
    parser.add_argument("--memory-assignment", default="perceptron")
    parser.add_argument("--sandbox", default=None, help="sandbox backend [default: autograder's]")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--assignment", help=argparse.SUPPRESS)
    parser.add_argument("--source", help=argparse.SUPPRESS)
    parser.add_argument("--gradebook", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    from autograder import api

    print(f"cores: {len(os.sched_getaffinity(0))}; sandbox: {args.sandbox or api.DEFAULT_SANDBOX}")
    print(f"{'assignment':<12} {'jobs':>4} {'submissions':>11} {'failed':>6} {'wall s':>8} "
          f"{'submissions/s':>13}")
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        for assignment in args.assignments:
            for jobs in args.jobs:
                r = run_one(assignment, jobs, args.n, args.sandbox, Path(tmp))
                print(f"{assignment:<12} {jobs:>4} {r['graded'] + r['failed']:>11} "
                      f"{r['failed']:>6} {r['wall_s']:>8.1f} {r['per_second']:>13.1f}",
                      flush=True)
        if args.memory_n:
            jobs = max(args.jobs)
            r = run_one(args.memory_assignment, jobs, args.memory_n, args.sandbox, Path(tmp))
            print(f"\nmemory over {args.memory_n} {args.memory_assignment} submissions "
                  f"(--jobs {jobs}; {r['per_second']:.1f} submissions/s)")
            print(f"{'graded':>7} {'batch process MiB':>18} {'all processes MiB':>18}")
            for s in r["samples"]:
                print(f"{s['graded']:>7} {s['parent_mib']:>18.1f} {s['tree_mib']:>18.1f}")


if __name__ == "__main__":
    main()

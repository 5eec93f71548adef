"""Showing a batch's progress: a bar on a terminal, one plain line per submission otherwise."""

from __future__ import annotations

import sys
from typing import TextIO


class Progress:
    """Receives one call per finished submission. The base class shows nothing."""

    def start(self, total: int) -> None:
        """Called once with the number of submissions about to be graded."""

    def advance(self, *, student_id: str, status: str, score: float | None,
                max_score: float | None) -> None:
        """Called as each submission's result is committed."""

    def close(self) -> None:
        """Called once at the end, however the batch ends."""


class LineProgress(Progress):
    """``[  3/600] alice  graded  85/100`` per submission: for logs and pipes."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.total = self.done = 0

    def start(self, total: int) -> None:
        self.total = total
        self.stream.write(f"grading {total} submission{'s' * (total != 1)}\n")
        self.stream.flush()

    def advance(self, *, student_id: str, status: str, score: float | None,
                max_score: float | None) -> None:
        self.done += 1
        width = len(str(self.total))
        points = f"{score:g}/{max_score:g}" if score is not None and max_score else ""
        self.stream.write(f"[{self.done:>{width}}/{self.total}] {student_id}  {status}  "
                          f"{points}".rstrip() + "\n")
        self.stream.flush()


class BarProgress(Progress):
    """A tqdm bar (imported only here) counting submissions and failures."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.bar = None
        self.failed = 0

    def start(self, total: int) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=total, file=self.stream, unit="sub", dynamic_ncols=True,
                        desc="grading")

    def advance(self, *, student_id: str, status: str, score: float | None,
                max_score: float | None) -> None:
        if status != "graded":
            self.failed += 1
            self.bar.set_postfix(failed=self.failed, refresh=False)
        self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def progress_for(stream: TextIO | None = None) -> Progress:
    """A bar when ``stream`` (default stdout) is a terminal, plain lines otherwise."""
    stream = stream or sys.stdout
    return BarProgress(stream) if stream.isatty() else LineProgress(stream)

"""Score distribution and per-test pass rates of one assignment, as text and as a figure."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path

from autograder.errors import GradebookError
from autograder.gradebook.store import Gradebook

BINS = 10


@dataclass(frozen=True)
class PassRate:
    test: str
    passed: int
    total: int
    visibility: str

    @property
    def rate(self) -> float:
        return self.passed / self.total if self.total else 0.0


@dataclass(frozen=True)
class Stats:
    """Final scores (after adjustments and overrides) and the tests of the latest results."""

    assignment_id: str
    title: str
    max_score: float
    scores: tuple[float, ...]
    without_score: int
    pass_rates: tuple[PassRate, ...]

    @property
    def histogram(self) -> list[tuple[float, float, int]]:
        """``(low, high, count)`` for ``BINS`` equal bins over ``[0, max_score]``; the last
        bin includes full marks."""
        width = self.max_score / BINS if self.max_score else 1.0
        counts = [0] * BINS
        for score in self.scores:
            counts[min(BINS - 1, max(0, int(score // width)))] += 1
        return [(i * width, (i + 1) * width, c) for i, c in enumerate(counts)]


def compute_stats(book: Gradebook, *, assignment_id: str) -> Stats:
    assignment = book.assignment(assignment_id)
    grades = book.final_grades(assignment_id=assignment_id)
    if not grades:
        raise GradebookError(f"no submissions of {assignment_id!r} in {book.path} yet")
    scores = tuple(g.final_score for g in grades if g.final_score is not None)
    rates: dict[str, list] = {}
    for grade in grades:
        for test in grade.tests:
            entry = rates.setdefault(test.name, [0, 0, test.visibility])
            entry[0] += test.status == "passed"
            entry[1] += 1
    return Stats(assignment.id, assignment.title, assignment.max_score, scores,
                 len(grades) - len(scores),
                 tuple(PassRate(name, p, t, v) for name, (p, t, v) in rates.items()))


def render_stats(stats: Stats, *, width: int = 40) -> str:
    """The summary, a histogram of bars and the pass rate per test, for a terminal."""
    lines = [f"{stats.title} ({stats.assignment_id}): {len(stats.scores)} final scores"
             + (f", {stats.without_score} without a score yet" if stats.without_score else "")]
    if stats.scores:
        spread = statistics.pstdev(stats.scores) if len(stats.scores) > 1 else 0.0
        lines.append(f"mean {statistics.fmean(stats.scores):.1f}  median "
                     f"{statistics.median(stats.scores):.1f}  sd {spread:.1f}  min "
                     f"{min(stats.scores):g}  max {max(stats.scores):g}  (out of "
                     f"{stats.max_score:g})")
        lines.append("")
        lines.append("score distribution")
        top = max(c for _, _, c in stats.histogram) or 1
        for low, high, count in stats.histogram:
            bar = "#" * round(width * count / top)
            lines.append(f"  {low:>5.0f}-{high:<5.0f} {bar:<{width}} {count}")
    if stats.pass_rates:
        lines.append("")
        lines.append("pass rate per test (latest results)")
        name_width = max(len(r.test) for r in stats.pass_rates)
        for rate in sorted(stats.pass_rates, key=lambda r: r.rate):
            bar = "#" * round(width * rate.rate)
            hidden = " (hidden)" if rate.visibility == "hidden" else ""
            lines.append(f"  {rate.test:<{name_width}} {bar:<{width}} {100 * rate.rate:5.1f}% "
                         f"({rate.passed}/{rate.total}){hidden}")
    return "\n".join(lines)


def plot_stats(stats: Stats, path: Path) -> Path:
    """Save the score histogram and the pass rates as one PNG (matplotlib, Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    path = Path(path)
    rates = sorted(stats.pass_rates, key=lambda r: r.rate)
    height = max(4.0, 0.3 * len(rates) + 1.5)
    figure, (left, right) = plt.subplots(1, 2, figsize=(13, height),
                                         gridspec_kw={"width_ratios": [1, 1.3]})
    try:
        edges = [low for low, _, _ in stats.histogram] + [stats.max_score]
        left.hist(stats.scores, bins=edges, color="#4472c4", edgecolor="white")
        left.set_xlabel(f"final score (out of {stats.max_score:g})")
        left.set_ylabel("students")
        left.yaxis.get_major_locator().set_params(integer=True)
        left.set_title(f"{stats.assignment_id}: {len(stats.scores)} final scores")
        names = [r.test + (" (hidden)" if r.visibility == "hidden" else "") for r in rates]
        right.barh(names, [100 * r.rate for r in rates], color="#70ad47")
        right.set_xlim(0, 100)
        right.set_xlabel("students passing (%)")
        right.set_title("pass rate per test")
        right.tick_params(axis="y", labelsize=8)
        figure.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=100)
    finally:
        plt.close(figure)
    return path

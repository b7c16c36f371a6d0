"""Latency over time as a PNG: every operation one dot, the floors and the aims as lines.

A percentile table hides when things went slow; a dot per operation shows a stall, a warm-up or
a queue building up at a glance. The y axis is logarithmic so a 0.2 ms floor and a 2 s outlier
fit on one picture.
"""

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display, and no GUI toolkit to import

import matplotlib.pyplot as plt

from loadtest.reporting import hdr

WIDTH_IN, HEIGHT_IN, DPI = 14, 8, 100  # 1400 by 800 px
LOWEST_MS = 0.001  # a log axis cannot show 0: a zero latency is drawn at 1 µs
# Red is the bounds' colour alone, so no series or floor is mistaken for one.
PALETTE = [c for i, c in enumerate(plt.get_cmap("tab20").colors) if i not in (6, 7)]
PALETTE = PALETTE[::2] + PALETTE[1::2]  # the nine strong colours first, then their pale pairs


def _label(name: str, seconds: Sequence[float]) -> str:
    s = hdr.Latency.of(seconds).summary()
    return f"{name} (n={s.n}, p99 {s.p99_ms:.2f} ms)" if s.n else f"{name} (n=0)"


def draw(path: Path, title: str, series: dict[str, list[tuple[float, float]]],
         floors: dict[str, float] | None = None, bounds: dict[str, float] | None = None) -> None:
    """Draw `series` (name → (seconds since run start, latency s) points) to a PNG at `path`.

    `floors` (label → p99 s) are dashed lines, `bounds` (label → s) thin solid red lines.
    """
    fig, ax = plt.subplots(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    try:
        for i, (name, points) in enumerate(series.items()):
            xs = [t for t, _ in points]
            ys = [max(latency * 1000, LOWEST_MS) for _, latency in points]
            ax.scatter(xs, ys, s=6, alpha=0.4, color=PALETTE[i % len(PALETTE)], edgecolors="none",
                       label=_label(name, [latency for _, latency in points]))
        for j, (label, p99) in enumerate((floors or {}).items(), start=len(series)):
            ax.axhline(max(p99 * 1000, LOWEST_MS), linestyle="--", linewidth=1.2,
                       color=PALETTE[j % len(PALETTE)],
                       label=f"floor: {label} p99 {p99 * 1000:.2f} ms")
        for label, bound in (bounds or {}).items():
            ax.axhline(max(bound * 1000, LOWEST_MS), linestyle="-", linewidth=0.8, color="red",
                       label=f"bound: {label} {bound * 1000:g} ms")
        ax.set_yscale("log")
        if not ax.has_data():  # nothing at all: a sensible empty axis, not a warning
            ax.set_ylim(0.1, 1000)
        ax.set_xlim(left=0)
        ax.set_xlabel("seconds since run start")
        ax.set_ylabel("latency (ms, log scale)")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.2)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="upper left", fontsize="small", markerscale=3)
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png")
    finally:
        plt.close(fig)  # pyplot keeps every open figure: a long campaign would leak them

"""Latency summaries: nearest-rank percentiles in milliseconds, and ratios of them.

Nearest rank (never interpolated) so every reported number is a latency that really happened.
"""

import math
from collections.abc import Sequence

import msgspec


class Summary(msgspec.Struct, frozen=True):
    """A latency distribution in milliseconds; all zero when nothing was measured."""

    n: int
    p50_ms: float
    p99_ms: float
    max_ms: float


def percentile(ordered: Sequence[float], q: float) -> float:
    """The nearest-rank q-th percentile (0 < q ≤ 100) of an already sorted sequence."""
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def summarize(seconds: Sequence[float]) -> Summary:
    ordered = sorted(seconds)
    if not ordered:
        return Summary(0, 0.0, 0.0, 0.0)
    return Summary(n=len(ordered), p50_ms=round(percentile(ordered, 50) * 1000, 3),
                   p99_ms=round(percentile(ordered, 99) * 1000, 3),
                   max_ms=round(ordered[-1] * 1000, 3))


def ratio(top: Summary, bottom: Summary) -> float | None:
    """top.p99 ÷ bottom.p99, or None when either side measured nothing."""
    if top.n == 0 or bottom.n == 0 or bottom.p99_ms <= 0:
        return None
    return round(top.p99_ms / bottom.p99_ms, 2)

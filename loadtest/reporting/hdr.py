"""Latency histograms: HDR (High Dynamic Range) histograms of microseconds, summarized in ms.

An HDR histogram keeps every value to 3 significant figures in constant memory, so a long run
costs no more than a short one, and its standard encoding can be saved and merged by any HDR tool.
Percentiles are the histogram's own (a value equivalent to the recorded one within its precision).
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec
from hdrh.histogram import HdrHistogram

LOWEST_US = 1
HIGHEST_US = 3_600 * 1_000_000  # an hour: anything slower is a hang, not a latency
SIGNIFICANT_FIGURES = 3


class Summary(msgspec.Struct, frozen=True):
    """A latency distribution in milliseconds; all zero when nothing was measured."""

    n: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    p999_ms: float
    max_ms: float
    mean_ms: float


EMPTY = Summary(0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


def _ms(us: float) -> float:
    return round(us / 1000, 3)


class Latency:
    """Latencies given in seconds, kept as whole microseconds in one HDR histogram."""

    def __init__(self) -> None:
        self.histogram = HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_FIGURES)

    @classmethod
    def of(cls, seconds: Iterable[float]) -> Latency:
        latency = cls()
        for value in seconds:
            latency.record(value)
        return latency

    def record(self, seconds: float) -> None:
        # clamped both ways: a clock step must not go negative, and hdrh silently drops
        # a value above its highest, which would hide the worst latency of all
        us = min(max(0, round(seconds * 1_000_000)), HIGHEST_US)
        self.histogram.record_value(us)

    @property
    def n(self) -> int:
        return int(self.histogram.get_total_count())

    def summary(self) -> Summary:
        if self.n == 0:
            return EMPTY
        h = self.histogram
        return Summary(n=self.n, p50_ms=_ms(h.get_value_at_percentile(50)),
                       p90_ms=_ms(h.get_value_at_percentile(90)),
                       p99_ms=_ms(h.get_value_at_percentile(99)),
                       p999_ms=_ms(h.get_value_at_percentile(99.9)),
                       max_ms=_ms(h.get_max_value()), mean_ms=_ms(h.get_mean_value()))

    def encoded(self) -> str:
        """The standard compressed base64 form; `HdrHistogram.decode` reads it back."""
        return self.histogram.encode().decode("ascii")


def ratio(top: Summary, bottom: Summary, field: str = "p99_ms") -> float | None:
    """top.field ÷ bottom.field, or None when either side measured nothing."""
    if top.n == 0 or bottom.n == 0:
        return None
    below = float(getattr(bottom, field))
    if below <= 0:
        return None
    return round(float(getattr(top, field)) / below, 2)

"""HDR latency histograms: percentiles within HDR precision, an encoding others can read, ratios."""

import pytest
from hdrh.histogram import HdrHistogram

from loadtest.reporting.hdr import Latency, Summary, ratio

PRECISION = 1e-3  # 3 significant figures: a value is within 0.1 % of the one recorded


def close(actual: float, expected: float) -> bool:
    return abs(actual - expected) <= expected * PRECISION


def test_one_to_a_thousand_milliseconds() -> None:
    latency = Latency.of(ms / 1000 for ms in range(1, 1001))
    s = latency.summary()
    assert s.n == latency.n == 1000
    assert close(s.p50_ms, 500) and close(s.p90_ms, 900) and close(s.p99_ms, 990)
    assert close(s.p999_ms, 999) and close(s.max_ms, 1000)
    assert close(s.mean_ms, 500.5)


def test_sub_millisecond_values_keep_their_microseconds() -> None:
    s = Latency.of([0.000_250] * 10).summary()
    assert s.n == 10 and close(s.p50_ms, 0.25) and close(s.max_ms, 0.25)


def test_nothing_measured_is_all_zero() -> None:
    assert Latency().summary() == Summary(0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


def test_negative_clamps_to_zero_and_too_slow_to_the_top() -> None:
    latency = Latency()
    latency.record(-0.5)
    latency.record(7200.0)  # beyond the hour the histogram tracks: kept, not dropped
    s = latency.summary()
    assert s.n == 2
    assert s.p50_ms == 0.0
    assert close(s.max_ms, 3_600_000)


def test_the_encoding_decodes_to_the_same_histogram() -> None:
    latency = Latency.of(ms / 1000 for ms in range(1, 1001))
    text = latency.encoded()
    assert isinstance(text, str) and text.startswith("HIST")
    decoded = HdrHistogram.decode(text)
    assert decoded.get_total_count() == 1000
    assert decoded.get_value_at_percentile(99) / 1000 == latency.summary().p99_ms


def test_ratio() -> None:
    slow = Latency.of([0.020] * 100).summary()
    fast = Latency.of([0.005] * 100).summary()
    assert ratio(slow, fast) == pytest.approx(4.0, abs=0.01)
    assert ratio(slow, fast, field="p50_ms") == pytest.approx(4.0, abs=0.01)
    assert ratio(fast, slow, field="max_ms") == pytest.approx(0.25, abs=0.01)
    empty = Latency().summary()
    assert ratio(slow, empty) is None and ratio(empty, fast) is None
    zero = Latency.of([0.0]).summary()
    assert zero.n == 1 and ratio(slow, zero) is None

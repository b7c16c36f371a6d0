"""The press benchmark in small: a real `muster up`, 40 presses, 3 sites, 4 boards, alerts.

Bounds are loose on purpose (a shared CI machine is noisy): they catch a lost update, a refused
press, a lost alert or a tenfold regression, not a few milliseconds.
"""

import msgspec
import pytest

from loadtest.press import PressConfig, bench_async
from loadtest.report import Report

CONFIG = PressConfig(presses=40, sites=3, boards=4, rate=100.0, concurrency=16)


@pytest.mark.timeout(120)
async def test_every_press_is_accepted_and_reaches_every_board_of_its_site() -> None:
    report = await bench_async(CONFIG)
    counts = report.counts
    assert counts["presses_sent"] == counts["accepted_202"] == 40, report.table()
    assert report.errors == {}, report.table()
    # 40 presses round robin over 3 sites: 14 at the site with 2 boards, 13 + 13 with 1 each
    assert counts["press_board_pairs"] == 14 * 2 + 13 + 13, report.table()
    assert counts["press_board_pairs_missed"] == 0, report.table()
    assert counts["presses_not_on_every_board_in_time"] == 0, report.table()
    assert report.latency["press_to_board"].p99_ms < 2000, report.table()
    assert report.latency["press_to_202"].p99_ms < 2000, report.table()
    assert counts["raw_publishes_acked"] == counts["raw_batches_acked"] == 40, report.table()
    # Every press raises an AlertRaised for sro, district-office and staff-all (not counselor).
    assert counts["presses_that_should_alert"] == 40, report.table()
    assert counts["presses_without_alert_in_time"] == 0, report.table()
    assert counts["alerts_owed_press_x_channel"] == 40 * 3, report.table()
    assert counts["alerts_at_sink_press_x_channel"] == 40 * 3, report.table()
    first = report.latency["press_to_first_delivery"]
    assert first.n == 40 and first.max_ms < 5000, report.table()
    assert counts["direct_apprise_sends_at_sink"] == 40, report.table()
    assert report.ratios["delivery_over_direct"] is not None, report.table()
    assert report.ok
    decoded = msgspec.json.decode(report.json(), type=Report)
    assert decoded.counts == counts

"""The press scenario in small: a real `muster up`, 40 live presses over 3 sites, 4 boards, alerts.

Bounds are loose on purpose (a shared CI machine is noisy): they catch a lost update, a refused
press, a lost alert or a tenfold regression, not a few milliseconds.
"""

import msgspec
import pytest

from loadtest.reporting.result import Result
from loadtest.rig import rig
from loadtest.scenarios.press import PressConfig, scenario

CONFIG = PressConfig(sites=3, boards=4, board_processes=0, duration=0.4, rate=100.0,
                     concurrency=16, floor_count=40, apprise_count=40)


@pytest.mark.timeout(180)
async def test_every_press_is_accepted_reaches_every_board_of_its_site_and_alerts() -> None:
    async with rig(CONFIG.sites, CONFIG.notify, concurrency=CONFIG.concurrency) as r:
        result = await scenario(CONFIG, r)
    table = result.table()
    assert result.ok and result.errors == {}, table
    c = result.counts
    assert c["presses_sent"] == c["presses_accepted"] == 40, table
    assert c["incidents_opened"] == 3, table  # one per site; the other 37 presses join theirs
    opening, joining = result.latency["press → 202, opening press"], \
        result.latency["press → 202, joining press"]
    assert (opening.n, joining.n) == (3, 37), table
    # 40 presses round robin over 3 sites: 14 at the site with 2 boards, 13 + 13 with 1 each
    assert c["press_board_pairs"] == 14 * 2 + 13 + 13, table
    assert c["press_board_pairs_late"] == 0, table
    assert result.latency["press → every board"].p99_ms < 2000, table
    assert result.latency["press → 202"].p99_ms < 2000, table
    assert result.latency["raw publish (quiet)"].n == 40, table
    assert result.latency["raw 3-message batch (quiet)"].n == 40, table
    # Every press raises an AlertRaised for sro, district-office and staff-all (not counselor).
    assert c["presses_that_should_alert"] == 40, table
    assert c["presses_without_alert_in_time"] == 0, table
    assert c["alerts_owed_press_x_channel"] == c["alerts_at_sink_press_x_channel"] == 40 * 3, table
    first = result.latency["press → first alert"]
    assert first.n == 40 and first.max_ms < 5000, table
    assert result.latency["press → first alert, opening press"].n == 3, table
    assert c["direct_apprise_sends_at_sink"] == 40, table
    assert result.ratios["press → first alert ÷ direct Apprise (quiet)"] is not None, table
    again = msgspec.json.decode(result.json(), type=Result)
    assert again.counts == c

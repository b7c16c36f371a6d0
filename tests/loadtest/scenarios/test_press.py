"""The press scenario in small: a real `muster up`, 40 live presses over 3 sites, 4 boards, alerts.

Bounds are loose on purpose (a shared CI machine is noisy): they catch a lost update, a refused
press, a lost alert or a tenfold regression, not a few milliseconds.
"""

import msgspec
import pytest

from command.bootstrap.demo import DEMO_PATH
from command.domain import site as site_file
from loadtest.clients.commands import Answer, press
from loadtest.clients.pacer import Sample
from loadtest.reporting.result import Result
from loadtest.rig import rig
from loadtest.scenarios.press import KINDS, PressConfig, openers, plan, scenario
from loadtest.sites import BenchSites

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
    # Every press raises an AlertRaised for each demo channel that takes one live (sro,
    # district-office, staff-all and the principal's command channel; not the counselor's).
    hearing = [ch for ch in site_file.load(DEMO_PATH).channels
               if "AlertRaised" in ch.events and "live" in ch.modes and not ch.handle_with_care]
    assert c["presses_that_should_alert"] == 40, table
    assert c["presses_without_alert_in_time"] == 0, table
    assert c["alerts_owed_press_x_channel"] == c["alerts_at_sink_press_x_channel"] \
        == 40 * len(hearing), table
    first = result.latency["press → first alert"]
    assert first.n == 40 and first.max_ms < 5000, table
    assert result.latency["press → first alert, opening press"].n == 3, table
    assert c["direct_apprise_sends_at_sink"] == 40, table
    assert result.ratios["press → first alert ÷ direct Apprise (quiet)"] is not None, table
    again = msgspec.json.decode(result.json(), type=Result)
    assert again.counts == c


def _answer(seq: int, status: int = 202) -> Sample[Answer]:
    return Sample(index=0, due=0.0, start=0.0, end=0.001, value=Answer(status, seq, "i"),
                  started=True)


def test_the_opening_press_is_the_lowest_accepted_seq_at_its_site() -> None:
    presses = [press(site, "hold", "A-101") for site in ("a", "b", "a", "a", "b")]
    samples = [_answer(7), _answer(0, status=503), _answer(5), _answer(9), _answer(6)]
    assert openers(samples, presses) == {2, 4}  # b's first press was refused: its next opened


def test_the_plan_is_round_robin_and_the_same_for_the_same_seed() -> None:
    sites = BenchSites(ids=["a", "b", "c"], rooms={s: ["A-101", "B-112"] for s in "abc"})
    config = PressConfig(duration=0.5, rate=20.0)
    presses = plan(config, sites)
    assert [p.site for p in presses] == ["a", "b", "c"] * 3 + ["a"]
    assert presses == plan(config, sites)
    assert {p.body["kind"] for p in presses} <= set(KINDS)
    assert all(p.path == f"/v1/sites/{p.site}/alerts" and p.role == "device" for p in presses)

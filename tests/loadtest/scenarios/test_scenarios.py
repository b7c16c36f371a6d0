"""The load scenarios in small, against a real `muster up`: nothing lost, and the bounds of the
issue loosened tenfold, so a shared CI machine's noise passes and a tenfold regression does not.

Full-size runs are by hand (`python -m loadtest lockdown|drill|flood`); their numbers are in the
README.
"""

from pathlib import Path

import msgspec
import pytest

from command.bootstrap.demo import DEMO_PATH
from command.domain import site as site_file
from loadtest.reporting.result import Result
from loadtest.rig import rig
from loadtest.scenarios.drill import DrillConfig
from loadtest.scenarios.drill import scenario as drill
from loadtest.scenarios.flood import FloodConfig
from loadtest.scenarios.flood import scenario as flood
from loadtest.scenarios.lockdown import LockdownConfig
from loadtest.scenarios.lockdown import scenario as lockdown

LOOSE = 10  # the bounds times this

SMALL = {"sites": 4, "floor_count": 100, "apprise_count": 20, "concurrency": 64}


def _bound(result: Result, name: str) -> float:
    found = [b for b in result.bounds if b.name == name]
    assert found and found[0].value is not None, result.table()
    return found[0].value


@pytest.mark.timeout(240)
async def test_lockdown_in_small_keeps_within_ten_times_the_bounds(tmp_path: Path) -> None:
    config = LockdownConfig(**SMALL, boards=40, duration=8.0, background=100.0,
                            press_rate=10.0, cycle=8, plot=tmp_path / "lockdown.png")
    async with rig(config.sites, config.notify, concurrency=config.concurrency) as r:
        result = await lockdown(config, r)
    table = result.table()
    assert result.ok, table
    assert result.errors == {}, table
    c = result.counts
    assert c["presses_sent"] == c["presses_accepted"] == 80, table
    assert c["press_board_pairs"] == 80 * 10, table  # 40 boards over 4 sites: 10 at the live one
    assert c["background_accepted"] == c["background_sent"] == 800, table
    assert c["presses_that_should_alert"] == 80 and c["presses_without_alert_in_time"] == 0, table
    # Muster's own histograms, read before and after: about 10 wakes of its 100 ms lag timer a
    # second of load, and every background command in its intake histogram.
    assert (result.server["loop_lag_samples"] or 0) >= 5 * config.duration, table
    assert (result.server["intake_n"] or 0) >= 800, table
    # the presses, and each cycle's all clear, went to the emergency listener
    assert (result.server["emergency_intake_n"] or 0) >= 80 + 10, table
    intake = "raw HTTP intake (under load)"
    assert _bound(result, f"press → 202 p99 ÷ {intake} p99") <= 1.5 * LOOSE, table
    assert _bound(result, f"press → every board p99 ÷ {intake} p99") <= 2 * LOOSE, table
    assert _bound(result, f"press → first alert p99 ÷ ({intake} + direct Apprise send "
                          "(under load)) p99") <= 2 * LOOSE, table
    for floor in ("raw HTTP intake (quiet)", "raw HTTP intake (under load)"):
        assert result.latency[floor].n > 0, table  # every one answered 202
    assert result.ratios["press → 202 ÷ raw HTTP intake (under load)"] > 0, table
    assert (tmp_path / "lockdown.png").read_bytes().startswith(b"\x89PNG"), table
    again = msgspec.json.decode(result.json(), type=Result)
    assert again.latency == result.latency and again.histograms.keys() == result.latency.keys()


@pytest.mark.timeout(240)
async def test_drill_in_small_finishes_every_site_and_pages_no_live_channel() -> None:
    config = DrillConfig(**SMALL, boards=8, duration=8.0, start_within=2.0)
    async with rig(config.sites, config.notify, concurrency=config.concurrency) as r:
        result = await drill(config, r)
    table = result.table()
    assert result.ok, table
    assert result.errors == {}, table
    c = result.counts
    assert c["drills_started"] == c["sites_finished_on_every_board"] == 4, table
    assert c["reports_accepted"] == c["reports_sent"] > 4 * 40, table
    assert c["all_clears_and_closes_accepted"] == 8, table
    # Each demo channel that takes drills hears ProtocolDeclared and ProtocolLifted; the
    # counselor's, none.
    drilled = [ch for ch in site_file.load(DEMO_PATH).channels if "drill" in ch.modes
               and {"ProtocolDeclared", "ProtocolLifted"} <= set(ch.events)
               and not ch.handle_with_care]
    assert c["drill_messages_at_sink"] == 4 * len(drilled) * 2, table
    # The closing note: the drill log the run produced, a row per site, each milestone reached
    assert c["drill_log_rows"] == 4, table
    log = result.notes[-1]
    assert log.startswith("drill log (GET /v1/sites/{site}/drills?year="), table
    assert [line.split()[0] for line in log.splitlines()[3:]] == [
        f"bench-{i:02d}" for i in range(4)], table
    assert "not reached" not in log, table
    intake = "raw HTTP intake (under load)"
    assert _bound(result, f"report → every board p99 ÷ {intake} p99") <= 2 * LOOSE, table


@pytest.mark.timeout(240)
async def test_flood_in_small_accepts_every_command_at_its_rate() -> None:
    config = FloodConfig(**SMALL, boards=4, duration=5.0, rate=200.0, ceiling_s=2.0)
    async with rig(config.sites, config.notify, concurrency=config.concurrency) as r:
        result = await flood(config, r)
    table = result.table()
    assert result.ok and result.errors == {}, table
    assert result.counts["commands_accepted"] == 1000, table
    assert result.counts["commands_not_sent"] == 0, table
    assert result.counts["stream_events_written"] >= 1000, table
    # the 70 % of the raw HTTP intake on the same plan, loosened tenfold
    assert _bound(result, "sustained intake ÷ raw HTTP intake (same plan)") >= 70 / LOOSE, table
    assert _bound(result, "command → every board p99 ÷ raw HTTP intake (under load) p99",
                  ) <= 2 * LOOSE, table
    # the ceiling: the plan's first 2 s sent to the bare aiohttp + JetStream intake, all taken
    ceiling = result.latency["raw HTTP intake (quiet, at the flood's rate)"]
    assert ceiling.n == 400, table
    tp = result.throughput
    raw = tp["raw HTTP intake, same plan: accepted per second"]
    assert 200 / LOOSE <= raw <= 250, table
    assert tp["Muster's rate as % of the raw HTTP intake's"] == pytest.approx(
        100 * tp["commands (= events) accepted per second"] / raw), table
    # what was offered is measured, not assumed: open loop at 200/s, far under 64 in flight
    assert 200 / LOOSE <= tp["commands offered (sends started) per second"] <= 250, table
    assert tp["CPU ms per accepted event, Muster: all"] > 0, table
    assert tp["CPU ms per accepted event, raw intake: all"] > 0, table

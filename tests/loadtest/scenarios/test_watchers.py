"""The watchers scenario in small, against a real `muster up`: 400 boards over 20 sites, 100 of
them on the live site and 100 more on the bare broadcast floor, a few presses. Nothing lost, every
count, and the bound loosened tenfold."""

import dataclasses
import resource
from pathlib import Path

import msgspec
import pytest

from loadtest.reporting.result import Result
from loadtest.rig import rig
from loadtest.scenarios.watchers import (
    BOUND,
    FLOOR,
    PRESS,
    WatchersConfig,
    allow_files,
    overlapped,
    scenario,
)

LOOSE = 10  # the bound times this

CONFIG = WatchersConfig(quiet_sites=19, boards=400, watchers=100, duration=3.0, press_rate=4.0,
                        background=10.0, concurrency=16)


@pytest.mark.timeout(180)
async def test_watchers_in_small_lose_nothing_and_keep_within_ten_times_the_bound(
        tmp_path: Path) -> None:
    config = dataclasses.replace(CONFIG, plot=tmp_path / "watchers.png")
    async with rig(config.sites, config.notify, concurrency=config.concurrency) as r:
        result = await scenario(config, r)
    table = result.table()
    assert result.ok and result.errors == {}, table
    c = result.counts
    assert (c["sites"], c["boards"], c["live_boards"], c["floor_boards"]) == (20, 400, 100, 100)
    assert c["presses_sent"] == c["presses_accepted"] == 12, table
    assert c["press_board_pairs"] == 12 * 100 and c["press_board_pairs_never"] == 0, table
    assert c["broadcasts_sent"] == c["broadcasts_answered"] == 12, table
    assert c["broadcast_board_pairs"] == 12 * 100, table
    assert c["broadcast_board_pairs_never"] == 0, table
    assert c["background_sent"] == c["background_accepted"] == 30, table
    assert c["board_reconnects"] == 0 and c["floor_board_reconnects"] == 0, table
    assert c["message_bytes"] > 200, table  # a real AlertRaised update, not a stand-in
    assert c["open_files_limit"] >= 400 + 100 + 1024, table
    assert result.latency[PRESS].n == result.latency[FLOOR].n == 12, table
    assert FLOOR in result.floors and PRESS not in result.floors
    per_board = result.server["Muster memory per connected board (KiB)"]
    assert per_board is not None and per_board > 0, table
    bound = next(b for b in result.bounds if b.name == BOUND)
    assert bound.value is not None and bound.value <= 1.5 * LOOSE, table
    assert (tmp_path / "watchers.png").stat().st_size > 0
    assert msgspec.json.decode(result.json(), type=Result).counts == c


def test_the_open_file_limit_rises_to_the_hard_limit() -> None:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    assert allow_files(100) == hard
    assert resource.getrlimit(resource.RLIMIT_NOFILE) == (hard, hard)


def test_a_send_overlaps_when_it_leaves_before_the_other_kind_reached_its_last_board() -> None:
    presses = [(0.0, 0.3), (1.0, 0.1), (2.0, 0.6)]  # (sent at, → last board)
    broadcasts = [(0.5, 0.2), (1.5, 0.05), (2.5, 0.1)]
    assert overlapped(broadcasts, presses) == 1  # only the one at 2.5 s, inside 2.0-2.6 s
    assert overlapped(presses, broadcasts) == 0
    assert overlapped([(0.6, 0.1)], [(0.5, 0.2)]) == 1

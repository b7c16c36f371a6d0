"""Two replays of one incident against real NATS and PostgreSQL, jumping in at a minute: the
replay board's JSON over HTTP is the same at the same offsets and at the end, but for the ids
that name each run; the board keeps the original's clock; a jump past the end, or to an inject
the incident never had, is refused and writes nothing (issue 20)."""

import re
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from command.domain import events as e
from command.domain.errors import Invalid
from consumers.replay import replay, replay_incident, replayed_id
from tests.conftest import App
from tests.integration.test_report_replay import call, lockdown, run_cli


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


async def originals(app: App, incident: str) -> list[e.Event]:
    return [ev async for _, ev in app.log.read(1) if ev.incident_id == incident]


def named_alike(board: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """The board less what names the run: its stream seq, the replayed incident and event ids."""
    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items() if k != "seq"}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return names.get(value, value) if isinstance(value, str) else value

    return walk(board)


class Watcher:
    """Between replayed events: the replay board as GET /v1/sites/{site}/board answers."""

    def __init__(self, app: App, http: aiohttp.ClientSession, site: str, token: str) -> None:
        self.app, self.http, self.site, self.token = app, http, site, token
        self.boards: list[dict[str, Any]] = []

    async def board(self) -> dict[str, Any]:
        await self.app.wait_projected(await self.app.log.last_seq())
        status, doc = await call(self.http, f"{self.app.url}/v1/sites/{self.site}/board",
                                 self.token)
        assert status == 200, doc
        return doc

    async def sleep(self, seconds: float) -> None:
        assert seconds <= 0.05  # speed 200 or more on a scripted incident of a few seconds
        self.boards.append(await self.board())


async def test_two_runs_from_a_minute_show_the_same_boards_on_the_originals_clock(
        app: App, tmp_path: Path) -> None:
    incident, _ = await lockdown(app)
    events = await originals(app, incident)
    start, end = events[0].occurred_at, max(ev.occurred_at for ev in events)
    middle = (end - start).total_seconds() / 2 / 60  # minutes: half way through the original
    site, boss = f"replay-{incident}", await app.token("commander")
    names = {replay_incident(incident, run): "RUN" for run in ("one", "two")}
    names.update({replayed_id(ev.id, run): ev.id for ev in events for run in ("one", "two")})
    runs = []
    async with aiohttp.ClientSession() as http:
        for run, speed in (("one", 1000.0), ("two", 200.0)):
            watcher = Watcher(app, http, site, boss)
            await replay(app.log, incident, speed=speed, sleep=watcher.sleep, run=run,
                         from_minute=middle)
            runs.append((watcher.boards, await watcher.board()))
        (during_one, end_one), (during_two, end_two) = runs
        # What came before the middle went on at once: the first wait is past the jump
        later = [ev for ev in events if (ev.occurred_at - start).total_seconds() >= middle * 60]
        assert 0 < len(during_one) < len(events) and len(during_one) <= len(later)
        assert during_one[0]["clock"]["at"] >= iso(start)
        assert during_one[0]["incident"]["id"] == replay_incident(incident, "one")
        assert during_one[0]["incident"]["opened_at"] == iso(start)  # not the replay's time
        assert [named_alike(b, names) for b in during_one] == [
            named_alike(b, names) for b in during_two]
        assert named_alike(end_one, names) == named_alike(end_two, names)
        assert end_one["seq"] < end_two["seq"]  # two runs, one after the other
        # The original's clock, not the replay's
        assert end_two["clock"] == {"at": iso(end), "started_at": iso(start)}
        assert [b["mode"] for b in during_one] == ["replay"] * len(during_one)
        # And from the command line, a third run from the same minute ends the same
        code, out, err = await run_cli(app, tmp_path, "replay", incident, "--speed", "1000",
                                       "--from-minute", repr(middle))
        assert code == 0, err
        assert f"onto {site} from minute {middle:g} at 1000x" in out
        names.update({replay_incident(incident, r): "RUN" for r in _runs(await _copies(app,
                                                                                     site))})
        names.update({replayed_id(ev.id, r): ev.id for ev in events
                      for r in _runs(await _copies(app, site))})
        watcher = Watcher(app, http, site, boss)
        assert named_alike(await watcher.board(), names) == named_alike(end_two, names)


async def _copies(app: App, site: str) -> list[e.Event]:
    return [ev async for _, ev in app.log.read(1) if ev.site == site]


def _runs(copies: list[e.Event]) -> set[str]:
    """The run ids of a replay board's incidents: `replay-{run}-{incident}`."""
    return {ev.incident_id.split("-")[1] for ev in copies if ev.incident_id}


async def test_a_jump_past_the_end_or_to_a_missing_inject_is_refused_and_writes_nothing(
        app: App, tmp_path: Path) -> None:
    incident, _ = await lockdown(app)
    before = await app.log.last_seq()
    code, _, err = await run_cli(app, tmp_path, "replay", incident, "--from-minute", "600")
    assert code == 1 and "lasted" in err and "minute 600" in err
    code, _, err = await run_cli(app, tmp_path, "replay", incident, "--from-inject", "1")
    assert code == 1 and "has 0 inject(s)" in err
    code, _, err = await run_cli(app, tmp_path, "replay", incident, "--from-inject", "1",
                                 "--from-minute", "1")
    assert code == 2 and "not allowed with" in err  # argparse: one or the other
    assert await app.log.last_seq() == before


async def test_a_tabletop_replayed_from_its_second_inject_starts_there(app: App) -> None:
    """Given a tabletop with three injects and a room report after the first, when it is
    replayed from inject 2, then the first board a viewer can catch already shows the report
    and inject 2 (nothing before it waited), on the original's clock; inject 4 is refused."""
    boss, staff = await app.token("commander"), await app.token("staff")
    async with aiohttp.ClientSession() as http:
        status, opened = await call(http, f"{app.url}/v1/sites/test-high/tabletops", boss,
                                    {"scenario": "armed-intruder-dismissal"})
        assert status == 202, opened
        incident = opened["incident_id"]
        base = f"{app.url}/v1/incidents/{incident}"
        for index, after in ((0, "A-101"), (1, None), (2, None)):
            status, body = await call(http, f"{base}/injects", boss,
                                      {"index": index, "text": f"inject {index + 1}"})
            assert status == 202, body
            if after:
                status, body = await call(http, f"{base}/rooms/{after}/status", staff,
                                          {"status": "secured", "present": 3})
                assert status == 202, body
        await app.wait_projected(body["seq"])
        events = await originals(app, incident)
        second = [ev for ev in events if isinstance(ev, e.InjectDelivered)][1]
        watcher = Watcher(app, http, f"replay-{incident}", boss)
        await replay(app.log, incident, speed=1000, sleep=watcher.sleep, run="tt",
                     from_inject=2)
        first = watcher.boards[0]
        assert first["clock"]["at"] == iso(second.occurred_at)
        assert {r["id"]: r["status"] for r in first["rooms"]}["A-101"] == "secured"
        assert len(watcher.boards) == 1  # inject 3 alone played at speed
        before = await app.log.last_seq()
        with pytest.raises(Invalid, match=re.escape("has 3 inject(s)")):
            await replay(app.log, incident, run="t4", from_inject=4)
        assert await app.log.last_seq() == before

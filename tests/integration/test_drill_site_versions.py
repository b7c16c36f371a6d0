"""A past drill keeps the figures of the site file it was held under, on a running Muster: after
the file gains a room and a student and renames its channel, the drill log over HTTP, a fresh
fold of the read models and the report's history still give the earlier drill's own row."""

import asyncio
from datetime import UTC, datetime
from typing import Any

import aiohttp
from msgspec.structs import replace

from command.domain import school_year as sy
from command.domain.site import Channel, Person, Room, Site
from consumers import drill_history
from consumers.drill_rows import DrillRows, Sites
from tests.conftest import App, small_site
from tests.integration.test_demo_lockdown import call
from tests.integration.test_drill_api import drill

YEAR = sy.containing(datetime.now(UTC).date())
LOG = f"/v1/sites/test-high/drills?year={YEAR.label}"


def with_channel(name: str) -> Site:
    """The small site with one drill channel that never answers (port 9: refused)."""
    return replace(small_site(), channels=[
        Channel(name=name, url=f"json://127.0.0.1:9/{name}", modes=["drill"])])


async def rows(http: aiohttp.ClientSession, app: App) -> dict[str, dict[str, Any]]:
    status, log = await call(http, app, LOG, await app.token("commander"))
    assert status == 200, log
    return {r["incident_id"]: r for r in log["rows"]}


async def tried(http: aiohttp.ClientSession, app: App, inc: str) -> dict[str, Any]:
    """The drill's row once its channel's send has been tried and failed."""
    for _ in range(150):
        await app.wait_projected(await app.log.last_seq())
        row = (await rows(http, app))[inc]
        if any(n["failed"] for n in row["notifications"]):
            return row
        await asyncio.sleep(0.1)
    raise AssertionError(f"no failed send on {inc}'s row")


def without_sends(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "notifications": [(n["channel"], n["method"]) for n in row["notifications"]]}


async def test_an_earlier_drill_keeps_its_own_site_file_after_the_file_changes(app: App) -> None:
    await app.muster.import_site(with_channel("office"))
    async with aiohttp.ClientSession() as http:
        first = await drill(http, app, "lockdown")
        before = await tried(http, app, first)
        assert before["rooms_never"] == [] and before["protective_s"] is not None
        assert before["participants"]["total"] == 8
        assert [(n["channel"], n["method"]) for n in before["notifications"]] == [
            ("office", "json")]

        changed = with_channel("front-office")
        await app.muster.import_site(replace(
            changed, rooms=[*changed.rooms, Room(id="C-301", name="Art", building="C")],
            people=[*changed.people, Person(id="s-7", name="Frida Kahlo", room="C-301")]))
        second = await drill(http, app, "lockdown")  # C-301 never reports: no one secures it
        await app.wait_projected(await app.log.last_seq())
        after = await rows(http, app)

    # Not "C-301 never reported", not 9 people, not "unknown" (its sends may still be tried).
    assert without_sends(after[first]) == without_sends(before)
    assert after[second]["rooms_never"] == ["C-301"]
    assert after[second]["protective_s"] is None
    assert after[second]["participants"]["total"] == 9
    pool = app.muster.pool
    assert pool is not None
    sites = await Sites.read(pool, "test-high")
    fresh = {r.incident_id: r for r in await DrillRows(pool).of_site(sites, "test-high", YEAR)}
    assert (fresh[first].protective_s, fresh[first].participants["total"]) == (
        before["protective_s"], 8)
    assert fresh[first].rooms_never == [] and fresh[second].rooms_never == ["C-301"]
    history = await drill_history.from_read_models(pool, fresh[second],
                                                   sites.config("test-high"))
    earlier = next(r for r in history if r.incident_id == first)
    assert (earlier.protective_s, earlier.rooms_never) == (before["protective_s"], [])
    assert [n.method for n in earlier.notifications] == ["json"]
    versions = await pool.fetch("SELECT seq FROM site_versions WHERE site='test-high'")
    assert len(versions) == 3  # the fixture's file, then ours twice

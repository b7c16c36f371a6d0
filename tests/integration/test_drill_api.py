"""The drill log and the compliance view over HTTP, on a running Muster: real drills are held
through the API, then read back as JSON, as CSV, per site and per district."""

import asyncio
import csv
import io
import re
from datetime import UTC, date, datetime, timedelta

import aiohttp
import msgspec

from command.domain import drill_csv
from command.domain import school_year as sy
from command.domain.site_drills import Drills
from tests.conftest import App, small_site
from tests.integration.test_demo_lockdown import call

HEADS = {"B-112": 3, "A-101": 3, "A-102": 2, "GYM": 0}
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$")


async def drill(http: aiohttp.ClientSession, app: App, scenario: str, cancel: bool = False,
                pause: float = 0.0) -> str:
    """A drill through the API: every room secured with its head count (`pause` seconds apart),
    the all clear and the close; or two rooms, then a cancel."""
    commander, staff = await app.token("commander"), await app.token("staff")
    status, opened = await call(http, app, "/v1/sites/test-high/drills", commander,
                                {"scenario": scenario})
    assert status == 202, opened
    inc = opened["incident_id"]
    for room in list(HEADS)[: 2 if cancel else None]:
        await asyncio.sleep(pause)
        status, body = await call(http, app, f"/v1/incidents/{inc}/rooms/{room}/status", staff,
                                  {"status": "secured", "present": HEADS[room]})
        assert status == 202, body
    ends = [("cancel", {"reason": "a real alarm panel fault"})] if cancel else [
        ("all-clear", {}), ("close", {"summary": "done"})]
    for path, payload in ends:
        status, body = await call(http, app, f"/v1/incidents/{inc}/{path}", commander, payload)
        assert status == 202, body
    return inc


async def text(http: aiohttp.ClientSession, app: App, path: str, token: str,
               accept: str = "application/json") -> tuple[int, str, str]:
    async with http.get(app.url + path, headers={"Authorization": f"Bearer {token}",
                                                 "Accept": accept}) as resp:
        return resp.status, resp.content_type, await resp.text()


async def test_drills_held_through_the_api_are_logged_counted_and_exported(app: App) -> None:
    await app.muster.import_site(msgspec.structs.replace(
        small_site(), district="test-district", drills=Drills(state="MI")))
    today = datetime.now(UTC).date()
    year = sy.containing(today)
    commander = await app.token("commander")
    async with aiohttp.ClientSession() as http:
        held = await drill(http, app, "lockdown")
        cancelled = await drill(http, app, "fire", cancel=True)
        await app.wait_projected(await app.log.last_seq())
        base = "/v1/sites/test-high/drills"
        status, log = await call(http, app, f"{base}?year={year.label}", commander)
        assert status == 200, log
        assert (log["site"], log["year"], log["district"]) == ("test-high", year.label,
                                                               "test-district")
        rows = {r["incident_id"]: r for r in log["rows"]}
        assert list(rows) == [held, cancelled]
        done = rows[held]
        assert (done["kind"], done["category"], done["status"], done["ended_by"]) == (
            "lockdown", "lockdown", "closed", "all_clear")
        assert done["protective_at"] and done["accounted_at"] and done["ended_at"]
        assert 0 <= done["accounted_s"] <= done["protective_s"]  # GYM holds nobody: last
        assert done["participants"] == {"student": 6, "staff": 2, "visitor": 0, "total": 8}
        assert (rows[cancelled]["status"], rows[cancelled]["protective_at"]) == (
            "cancelled", None)
        assert rows[cancelled]["rooms_never"] == ["A-102", "GYM"]

        status, kind, body = await text(http, app, f"{base}?year={year.label}", commander,
                                        accept="text/csv")
        assert (status, kind) == (200, "text/csv")
        table = list(csv.reader(io.StringIO(body)))
        assert tuple(table[0]) == drill_csv.COLUMNS and len(table) == 3
        record = dict(zip(drill_csv.COLUMNS, table[1], strict=True))
        assert record["incident_id"] == held and ISO.match(record["start"])
        assert ISO.match(record["protective_response"]) and ISO.match(record["end"])
        assert (record["students"], record["staff"], record["participants"]) == ("6", "2", "8")
        status, _, again = await text(http, app, f"{base}?format=csv", commander)
        assert status == 200 and again == body  # the current year is the default

        status, view = await call(http, app, f"{base}/compliance?on={today}", commander)
        assert status == 200, view
        items = {i["requirement"]: i for i in view["items"]}
        assert view["state"] == "MI" and set(items) >= {"mi-fire", "mi-lockdown"}
        assert [d["incident_id"] for d in items["mi-lockdown"]["drills"]] == [held]
        assert items["mi-fire"]["held"] == 0  # the cancelled fire drill does not count
        assert view["undocumented"] == []

        later = min(today + timedelta(days=31), year.end_day - timedelta(days=1))
        if later > today + timedelta(days=30):
            status, view = await call(http, app, f"{base}/compliance?on={later}", commander)
            assert [u["incident_id"] for u in view["undocumented"]] == [held]
        status, signed = await call(http, app, f"/v1/incidents/{held}/sign-off", commander,
                                    {"signed_by": "Elena Ruiz", "title": "Principal"})
        assert status == 202, signed
        await app.wait_projected(signed["seq"])
        status, view = await call(http, app, f"{base}/compliance?on={later}", commander)
        assert view["undocumented"] == []
        status, log = await call(http, app, base, commander)
        assert log["rows"][0]["signed_off_by"] == "Elena Ruiz"  # a new event: folded again


async def test_who_may_read_the_log_and_what_a_bad_query_says(app: App) -> None:
    await app.muster.import_site(msgspec.structs.replace(small_site(), district="test-district"))
    commander = await app.token("commander")
    base = "/v1/sites/test-high/drills"
    async with aiohttp.ClientSession() as http:
        for role in ("staff", "responder", "device", "dispatch"):
            status, body = await call(http, app, base, await app.token(role))
            assert status == 403, (role, body)
        for query, field in [("year=2026-28", "year"), ("year=26-27", "year"),
                             ("format=pdf", "format")]:
            status, body = await call(http, app, f"{base}?{query}", commander)
            assert (status, body["error"]["field"]) == (400, field), body
        for query, field in [("on=2026-13-01", "on"), ("on=20261201", "on"),
                             ("year=2026", "year")]:
            status, body = await call(http, app, f"{base}/compliance?{query}", commander)
            assert (status, body["error"]["field"]) == (400, field), body
        status, body = await call(http, app, "/v1/sites/nowhere/drills",
                                  await app.token("commander", "*"))
        assert (status, body["error"]["field"]) == (404, "site")


async def test_a_district_reads_every_site_that_names_it(app: App) -> None:
    for site_id in ("test-high", "test-middle", "elsewhere"):
        await app.muster.import_site(msgspec.structs.replace(
            small_site(site_id), district="other" if site_id == "elsewhere" else "test-district",
            drills=Drills(state="NJ")))
    everywhere = await app.token("commander", "*")
    async with aiohttp.ClientSession() as http:
        held = await drill(http, app, "fire")
        await app.wait_projected(await app.log.last_seq())
        status, log = await call(http, app, "/v1/districts/test-district/drills", everywhere)
        assert status == 200, log
        assert [s["site"] for s in log["sites"]] == ["test-high", "test-middle"]
        assert [r["incident_id"] for r in log["sites"][0]["rows"]] == [held]
        assert log["sites"][1]["rows"] == []
        status, kind, body = await text(http, app, "/v1/districts/test-district/drills?format=csv",
                                        everywhere)
        assert (status, kind) == (200, "text/csv") and body.count("\r\n") == 2
        day = date.today()
        status, view = await call(http, app,
                                  f"/v1/districts/test-district/drills/compliance?on={day}",
                                  everywhere)
        assert status == 200, view
        assert [v["site"] for v in view["sites"]] == ["test-high", "test-middle"]
        assert view["counts"] == {k: sum(v["counts"][k] for v in view["sites"])
                                  for k in view["counts"]}
        status, body = await call(http, app, "/v1/districts/test-district/drills",
                                  await app.token("commander"))
        assert status == 403, body
        status, body = await call(http, app, "/v1/districts/nowhere/drills", everywhere)
        assert (status, body["error"]["field"]) == (404, "district")

"""The debrief that teaches, against a running Muster on real NATS and PostgreSQL: three drills of
the same kind in the stream, the third signed off over HTTP; its report compares it with the
other two (table and trend chart) over HTTP and from `muster report`; its print layout is one
page of Letter and of A4 in Debian's Chromium; a tabletop's report says what the team did after
each inject. Screenshots go to test-artefacts/screenshots/."""

import re
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
from msgspec.structs import replace
from playwright.async_api import Browser

from command.domain import commands as c
from command.domain import events as e
from tests.command.domain.test_site_state import COMMANDER, STAFF, configured, ctx, given, run
from tests.conftest import App
from tests.integration.browser import SHOTS, axe_violations, grave, launched
from tests.integration.test_report_replay import call, run_cli

DAY = 86400.0
ROSTER = {"A-101": 3, "A-102": 2, "B-112": 3, "GYM": 0}
PAGE = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")


def drill_events(iid: str, day: float, every_s: float, trouble: bool = False) -> list[Any]:
    """A lockdown drill `day` days after the helpers' T0: each room secured `every_s` apart,
    all clear at 400 s, closed; with `trouble`, Biology then calls for help."""
    base, cfg = day * DAY, configured()

    def on(actor: e.Actor, s: float, room: str | None = None) -> Any:
        return ctx(actor, at=base + s, incident=iid, room=room)

    steps: list[tuple[c.Command, Any]] = [
        (c.StartDrill(scenario="armed_intruder"), ctx(COMMANDER, at=base, new=iid))]
    steps += [(c.ReportRoomStatus(status="secured", present=n), on(STAFF, every_s * (i + 1),
                                                                    room))
              for i, (room, n) in enumerate(ROSTER.items())]
    if trouble:
        steps.append((c.ReportRoomStatus(status="needs_help", present=3),
                      on(STAFF, every_s * 5, "B-112")))
        steps.append((c.ReportRoomStatus(status="secured", present=3),
                      on(STAFF, every_s * 6, "B-112")))
    steps += [(c.AllClear(), on(COMMANDER, 400)), (c.Close(), on(COMMANDER, 410))]
    written = run(given(cfg), *steps)[1]
    return [replace(ev, id=str(uuid.uuid4())) for ev in written]  # unique in the stream


async def three_drills(app: App) -> str:
    """Two earlier lockdown drills and a third, each appended as intake would have written it
    on its day; the third is signed off over HTTP. The third's id."""
    ids = [f"drill-{uuid.uuid4().hex[:8]}" for _ in range(3)]
    for iid, day, every in zip(ids, (0, 14, 28), (60, 45, 30), strict=True):
        seqs = await app.log.append("test-high", drill_events(iid, day, every, day == 28),
                                    expected_last=None)
    await app.wait_projected(seqs[-1])
    async with aiohttp.ClientSession() as http:
        status, body = await call(http, f"{app.url}/v1/incidents/{ids[2]}/sign-off",
                                  await app.token("commander"),
                                  {"signed_by": "Dana Reyes", "title": "Principal"})
    assert status == 202, body
    await app.wait_projected(body["seq"])
    return ids[2]


def pages(pdf: bytes) -> int:
    return len(PAGE.findall(pdf))


async def test_the_report_compares_with_earlier_drills_and_prints_on_one_page(app: App) -> None:
    inc = await three_drills(app)
    token = await app.token("commander")
    async with aiohttp.ClientSession() as http:
        status, doc = await call(http, f"{app.url}/v1/incidents/{inc}/report", token)
        assert status == 200, doc
        status, (page, headers) = await call(
            http, f"{app.url}/v1/incidents/{inc}/report?format=print", token)
    assert status == 200 and "default-src 'none'" in headers["Content-Security-Policy"]
    assert [r["protective_s"] for r in doc["history"]] == [240.0, 180.0]
    assert doc["record"]["protective_s"] == 120.0 and doc["signed_off"]["signed_by"] == \
        "Dana Reyes"
    assert [f["kind"] for f in doc["findings"]] == ["help_after_in_place"]
    assert "Signed off by Dana Reyes, Principal, at " in page and "(recorded as event " in page
    async with launched() as browser:
        await shoot_report(browser, app, inc, token)
        await print_one_page(browser, app, inc, token)


async def shoot_report(browser: Browser, app: App, inc: str, token: str) -> None:
    """The HTML report at 1280 wide, under its own strict policy: table, chart, findings."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900},
                                        extra_http_headers={"Authorization": f"Bearer {token}"})
    try:
        page = await context.new_page()
        refused: list[str] = []
        page.on("console", lambda m: refused.append(m.text) if m.type == "error" else None)
        await page.goto(f"{app.url}/v1/incidents/{inc}/report?format=html")
        assert await page.locator("table.compare tbody tr").count() == 3
        assert await page.locator("svg.trend path").count() == 2
        assert await page.locator("svg.trend circle").count() == 6
        box = await page.locator("svg.trend").bounding_box()
        assert box is not None and box["width"] > 900  # drawn, not collapsed
        assert "reported needs help after it was secured" in await page.locator(
            "ul.found").inner_text()
        assert refused == []  # nothing the policy had to refuse
        assert grave(await axe_violations(page)) == []
        SHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=SHOTS / "report-debrief-1280.png", full_page=True)
    finally:
        await context.close()


async def print_one_page(browser: Browser, app: App, inc: str, token: str) -> None:
    context = await browser.new_context(viewport={"width": 816, "height": 1056},
                                        extra_http_headers={"Authorization": f"Bearer {token}"})
    try:
        page = await context.new_page()
        await page.goto(f"{app.url}/v1/incidents/{inc}/report?format=print")
        assert grave(await axe_violations(page)) == []
        await page.emulate_media(media="print")
        for paper in ("Letter", "A4"):
            pdf = await page.pdf(format=paper, print_background=True)
            assert pdf.startswith(b"%PDF") and pages(pdf) == 1, paper
        await page.screenshot(path=SHOTS / "report-print.png", full_page=True)
    finally:
        await context.close()


async def test_muster_report_compares_from_the_stream(app: App, tmp_path: Path) -> None:
    inc = await three_drills(app)
    code, out, err = await run_cli(app, tmp_path, "report", inc, "--format", "md")
    assert code == 0, err
    table = out[out.index("## Compared with earlier drills of this kind"):]
    assert table.count("| armed_intruder (drill) |") == 3
    assert "| +4:00 | +3:00 | +6:40 | 1 | 0 |" in table  # the first: the gym secured at +4:00
    code, out, err = await run_cli(app, tmp_path, "report", inc, "--format", "print", "-o",
                                   "record.html")
    assert code == 0, err
    printed = (tmp_path / "record.html").read_text()
    assert printed.startswith("<!doctype html>") and "Signed off by Dana Reyes" in printed


async def test_a_tabletops_report_says_what_the_team_did_after_each_inject(app: App) -> None:
    boss, staff = await app.token("commander"), await app.token("staff")
    async with aiohttp.ClientSession() as http:
        status, opened = await call(http, f"{app.url}/v1/sites/test-high/tabletops", boss,
                                    {"scenario": "armed-intruder-dismissal"})
        assert status == 202, opened
        base = f"{app.url}/v1/incidents/{opened['incident_id']}"
        steps: list[tuple[str, str, dict[str, Any]]] = [
            (f"{base}/injects", boss, {"index": 0, "clock": "15:02", "source": "a parent",
                                       "text": "A man with a gun near the bus loop",
                                       "expect": "Declare a lockdown at once"}),
            (f"{base}/protocol", boss, {"action": "lockdown"}),
            (f"{base}/rooms/B-112/status", staff, {"status": "secured", "present": 3}),
            (f"{base}/injects", boss, {"index": 1, "clock": "15:03", "text": "Bus 14 asks"}),
            (f"{base}/injects", boss, {"index": 2, "clock": "15:05", "source": "911 dispatch",
                                       "text": "Two units en route"}),
            (f"{base}/notes", staff, {"text": "front door is the entry for officers"})]
        for url, token, body in steps:
            status, last = await call(http, url, token, body)
            assert status == 202, (url, last)
        await app.wait_projected(last["seq"])
        status, doc = await call(http, f"{base}/report", boss)
        assert status == 200, doc
        async with launched() as browser:
            context = await browser.new_context(
                viewport={"width": 1280, "height": 900},
                extra_http_headers={"Authorization": f"Bearer {boss}"})
            page = await context.new_page()
            await page.goto(f"{base}/report?format=html")
            assert await page.locator("section.inject").count() == 3
            await page.locator("section.inject").first.scroll_into_view_if_needed()
            await page.screenshot(path=SHOTS / "report-tabletop-debrief-1280.png",
                                  full_page=True)
            await context.close()
    injects = doc["injects"]
    assert [(i["index"], len(i["actions"])) for i in injects] == [(0, 2), (1, 0), (2, 1)]
    assert [a["type"] for a in injects[0]["actions"]] == ["ProtocolDeclared",
                                                         "RoomStatusReported"]
    assert injects[0]["first_response_s"] >= 0 and injects[1]["first_response_s"] is None
    assert [i["expect"] for i in injects] == ["Declare a lockdown at once", None, None]
    assert injects[2]["actions"][0]["text"] == "front door is the entry for officers"
    assert doc["record"]["mode"] == "tabletop" and doc["history"] == []
    assert timedelta(seconds=injects[2]["offset_s"]) >= timedelta(seconds=injects[0]["offset_s"])


async def test_the_fullest_print_layout_still_fits_one_page() -> None:
    """Every list at its cap, every text long: still one page of Letter and of A4."""
    from command.domain import report_print
    from tests.command.domain.test_report_compare import drill
    from tests.command.domain.test_report_print import failed, printed

    long = "a very long explanation of what went wrong " * 8
    events = drill("d-5", 20, 30, rooms={"A-101": 3})
    last = events[-1][0]
    events += [(last + i + 1, failed(i + 1, f"channel-{i}", f"{long} {i}")) for i in range(12)]
    signed = e.DrillSignedOff(
        id="sig-1", site="test-high", incident_id="d-5", mode="drill",
        occurred_at=events[-1][1].occurred_at + timedelta(days=2), recorded_at=events[-1][1]
        .occurred_at, data=e.DrillSignedOffData(signed_by="Dana Reyes-Montgomery-Whitfield",
                                                title="Assistant Principal for Safety",
                                                note=long))
    page = printed([*events, (last + 20, signed)], name="Springfield Consolidated Regional "
                   "Senior High School and Career Technical Education Center",
                   district="springfield-consolidated-schools")
    assert page.count("<li>") == report_print.FINDINGS_SHOWN
    async with launched() as browser:
        context = await browser.new_context()
        try:
            tab = await context.new_page()
            await tab.set_content(page)
            await tab.emulate_media(media="print")
            for paper in ("Letter", "A4"):
                assert pages(await tab.pdf(format=paper, print_background=True)) == 1, paper
            await tab.screenshot(path=SHOTS / "report-print-fullest.png", full_page=True)
        finally:
            await context.close()

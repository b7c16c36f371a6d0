"""The drill log page (`/drills/{site}`) in a real browser (Debian's Chromium through Playwright)
against a running Muster: real drills held through the API, with channels that worked and one
that failed, are listed with their milestones, methods and sign-off; the state requirements are
said in words and colours; the CSV downloads; a phone gets cards. Screenshots go to
test-artefacts/screenshots/ (drill-log-1280.png, drill-log-390.png, compliance-1280.png)."""

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
import msgspec
import pytest
from playwright.async_api import Browser, Page, expect

from command.domain import drill_csv
from command.domain import school_year as sy
from command.domain.site import Channel
from command.domain.site_drills import Drills
from tests.conftest import App, Sink, small_site
from tests.integration.browser import SHOTS, SIZES, axe_violations, grave, launched, shoot
from tests.integration.test_demo_lockdown import call
from tests.integration.test_drill_api import drill


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with launched() as launched_browser:
        yield launched_browser


async def held(app: App, sink: Sink) -> list[str]:
    """Four drills at a school whose office channel works and whose SMS gateway fails: a
    lockdown (signed off), a fire drill cancelled halfway, two tornado drills."""
    sink.status["sms"] = 500
    channels = [Channel(name="office", url=sink.url("office"), modes=["drill"]),
                Channel(name="sms-gateway", url=sink.url("sms"), modes=["drill"])]
    await app.muster.import_site(msgspec.structs.replace(
        small_site(), district="test-district", channels=channels, drills=Drills(state="MI")))
    commander = await app.token("commander")
    async with aiohttp.ClientSession() as http:
        ids = [await drill(http, app, "lockdown", pause=1.2),
               await drill(http, app, "fire", cancel=True), await drill(http, app, "weather"),
               await drill(http, app, "weather")]
        status, body = await call(http, app, f"/v1/incidents/{ids[0]}/sign-off", commander,
                                  {"signed_by": "Elena Ruiz", "title": "Principal"})
        assert status == 202, body
        for _ in range(100):  # the notifier's sends and failures are recorded as they happen
            await app.wait_projected(await app.log.last_seq())
            _, log = await call(http, app, "/v1/sites/test-high/drills", commander)
            methods = {(m["channel"], m["worked"]) for r in log["rows"]
                       for m in r["notifications"]}
            if {("office", True), ("sms-gateway", False)} <= methods:
                break
            await asyncio.sleep(0.2)
        else:
            pytest.fail(f"the drills' sends were never recorded: {log}")
    return ids


async def opened(browser: Browser, app: App, size: str, token: str) -> Page:
    context = await browser.new_context(viewport=SIZES[size], accept_downloads=True)
    context.set_default_timeout(10_000)
    page = await context.new_page()
    await page.goto(f"{app.url}/drills/test-high#token={token}")
    return page


async def test_the_drill_log_page_lists_counts_and_exports(app: App, sink: Sink,
                                                           browser: Browser) -> None:
    lockdown, fire, weather, again = await held(app, sink)
    year = sy.containing(datetime.now(UTC).date()).label
    page = await opened(browser, app, "desktop", await app.token("commander"))
    try:
        rows = page.locator("#log tbody tr")
        await expect(rows).to_have_count(4)
        assert "#token" not in page.url  # the token left the address bar
        await expect(page.locator("#school")).to_have_text("Test High")
        await expect(page.locator("#year")).to_have_value(year)
        first = rows.nth(0)
        await expect(first).to_contain_text("lockdown")
        await expect(first).to_contain_text("✓ Elena Ruiz")
        await expect(first).to_contain_text("office (json) ✓ worked")
        await expect(first).to_contain_text("sms-gateway (json) ✗ failed")
        await expect(rows.nth(1)).to_contain_text("fire — cancelled")
        await expect(rows.nth(1)).to_contain_text("✗ not reached")
        await expect(rows.nth(1)).to_contain_text("— no record needed")  # it counts for nothing
        await expect(rows.nth(2)).to_contain_text("✎ not signed")
        protective = first.locator("td[data-label='Protective response']")
        await expect(protective).to_contain_text("+0:0")  # rooms reported 1.2 s apart
        # The requirements: words, glyphs and colours; MI's lockdowns are one of three held.
        lockdowns = page.locator(".req[data-key='mi-lockdown']")
        await expect(lockdowns).to_contain_text("1 of 3 held")
        await expect(lockdowns.locator(".badge")).to_have_text("… Due")  # until 1 July
        await expect(page.locator(".req[data-key='mi-fire']")).to_contain_text("0 of 5 held")
        tornado = page.locator(".req[data-key='mi-tornado']")
        await expect(tornado.locator(".badge")).to_have_text("✓ Done")
        await expect(tornado).to_contain_text("2 of 2 held")
        await expect(page.locator("#undocumented")).to_contain_text("✓ Every drill")
        colour = await page.locator(".counts .s-overdue").evaluate(
            "e => getComputedStyle(e).backgroundColor")
        assert colour == "rgb(179, 0, 27)", colour
        assert grave(await axe_violations(page)) == []
        await shoot(page, "drill-log", "1280")
        # A month on, the two tornado drills nobody signed off are undocumented (the cancelled
        # fire drill counts for nothing, so needs no record).
        await page.locator("#on").fill(str(datetime.now(UTC).date() + timedelta(days=31)))
        await expect(page.locator(".undoc li")).to_have_count(2)
        await expect(page.locator(".undoc")).to_contain_text("✎ Undocumented: weather drill held")
        await expect(page.locator(".counts .s-undocumented")).to_have_text("✎ 2 undocumented")
        SHOTS.mkdir(parents=True, exist_ok=True)
        await page.locator("section.compliance").screenshot(path=SHOTS / "compliance-1280.png")

        async with page.expect_download() as waiting:
            await page.locator("#csv").click()
        download = await waiting.value
        assert download.suggested_filename == f"drills-test-high-{year}.csv"
        table = list(csv.reader(io.StringIO((await download.path()).read_text("utf-8"))))
        assert tuple(table[0]) == drill_csv.COLUMNS
        assert [r[1] for r in table[1:]] == [lockdown, fire, weather, again]
    finally:
        await page.context.close()

    phone = await opened(browser, app, "390", await app.token("commander"))
    try:
        await expect(phone.locator("#log tbody tr")).to_have_count(4)
        wide = await phone.evaluate("document.documentElement.scrollWidth")
        assert wide <= 390, f"the page is {wide} px wide on a 390 px phone"
        label = await phone.locator("#log tbody tr td[data-label='Start']").first.evaluate(
            "e => getComputedStyle(e, '::before').content")
        assert label == '"Start"', label  # each card says what each value is
        await shoot(phone, "drill-log", "390")
    finally:
        await phone.context.close()


async def test_a_staff_token_is_told_it_may_not_read_drills(app: App, browser: Browser) -> None:
    page = await opened(browser, app, "desktop", await app.token("staff"))
    try:
        await expect(page.locator("#problem")).to_contain_text("may not read drills")
        await expect(page.locator("#log tbody tr")).to_have_count(0)
    finally:
        await page.context.close()

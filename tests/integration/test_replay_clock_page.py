"""The replay board page on the original incident's clock, in Debian's Chromium (issue 20): an
incident recorded on a morning long past, replayed today from its fourth minute, reads
"Original time 10:04:12 (+4:12 from the start)" in the replay bar, and "declared 4 min ago"
counts from that time, not from today's."""

import uuid
from collections.abc import AsyncIterator

import pytest
from msgspec.structs import replace
from playwright.async_api import Browser, expect

from command.domain import commands as c
from command.domain import events as e
from consumers.replay import replay
from tests.command.domain.test_site_state import COMMANDER, DEVICE, STAFF, configured, ctx, then
from tests.command.domain.test_site_state import given as site_given
from tests.conftest import App
from tests.integration.board_scenes import School
from tests.integration.browser import SHOTS, board_page, launched, live

RESPONDER = e.Actor(kind="user", id="unit-12", role="responder")
HOUR = 3600.0  # the helpers' T0 is 09:00 UTC: the original began at 10:00:00 UTC


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with launched() as launched_browser:
        yield launched_browser


async def recorded_long_ago(app: App) -> str:
    """A lockdown on 4 March 2025 from 10:00:00 to 10:04:12 UTC, written as intake wrote it
    then (decided by the real `decide`), into today's stream; its incident id."""
    incident = f"inc-{uuid.uuid4().hex[:8]}"
    state, written = then(site_given(configured()), c.RaiseAlert(kind="lockdown", room="B-112"),
                          ctx(DEVICE, HOUR, new=incident))
    for cmd, actor, at, room in [
            (c.ReportRoomStatus(status="secured", present=3), STAFF, 40, "A-101"),
            (c.Acknowledge(responder="Unit 12"), RESPONDER, 70, None),
            (c.ReportRoomStatus(status="secured", present=2), STAFF, 95, "A-102"),
            (c.ReportRoomStatus(status="clear", present=0), STAFF, 150, "GYM"),
            (c.AddNote(text="Unit 12 at the east doors"), COMMANDER, 200, None),
            (c.ReportRoomStatus(status="secured", present=3), STAFF, 252, "B-112")]:
        state, more = then(state, cmd, ctx(actor, HOUR + at, incident, room))
        written += more
    for event in written:
        await app.log.append("test-high", [replace(event, id=str(uuid.uuid4()))],
                             expected_last=None)
    return incident


async def test_a_replay_board_shows_the_original_incidents_clock(
        app: App, browser: Browser) -> None:
    school = School(app, "test-high")
    incident = await recorded_long_ago(app)
    await school.settled()

    async def no_wait(_: float) -> None:
        return None

    site = await replay(app.log, incident, speed=1000, sleep=no_wait, from_minute=4)
    await school.settled()
    async with board_page(browser, app.url, await school.token("commander"), "desktop",
                          site=site, locale="en-GB", timezone_id="UTC") as (page, _):
        await live(page)
        await expect(page.locator("#mode")).to_have_text("REPLAY")
        await expect(page.locator("#replay-clock")).to_have_text(
            "Original time 10:04:12 (+4:12 from the start) · Tue, 4 Mar 2025")
        # "ago" on the replay's clock: today's wall clock would say hundreds of days
        await expect(page.locator("#since")).to_have_text("declared 4 min ago (10:00:00)")
        await expect(page.locator("#plan g.room[data-status='secured']")).to_have_count(3)
        SHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=SHOTS / "replay-clock-1280.png", full_page=True)
        # From the start, held: the clock goes back with the board
        await page.locator("#replay-start").click()
        await page.locator("#replay-speed").select_option("0")
        await page.locator("#replay-play").click()
        await expect(page.locator("#replay-clock")).to_contain_text("+4:12 from the start")

"""The board page for everyone, in Debian's Chromium against a running Muster with the demo
school (issue 18): axe-core's WCAG 2 A/AA check on a lockdown (serious and critical violations
fail, every one is printed), prefers-reduced-motion, and the keyboard reaching a room."""

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, expect

from tests.conftest import App
from tests.integration.board_scenes import (
    School,
    demo_school,
    lockdown_acknowledged,
    lockdown_with_injured,
    shown_seq,
)
from tests.integration.browser import axe_violations, board_page, grave, launched, live


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with launched() as launched_browser:
        yield launched_browser


@pytest.fixture
async def school(app: App) -> School:
    return await demo_school(app)


@pytest.mark.parametrize(("role", "viewport"), [("responder", "desktop"), ("staff", "390")])
async def test_the_lockdown_board_passes_axe_wcag_a_and_aa(
        school: School, browser: Browser, role: str, viewport: str) -> None:
    await lockdown_acknowledged(school)
    async with board_page(browser, school.app.url, await school.token(role), viewport,
                          site=school.site) as (page, _):
        await live(page)
        await shown_seq(page, await school.settled())
        violations = await axe_violations(page)
    for v in violations:  # every one printed, the grave ones fail
        print(f"axe {v.get('impact')}: {v['id']} — {v['help']} ({len(v['nodes'])} nodes)")
    assert not grave(violations), "\n".join(grave(violations))


MOVING = "() => document.getAnimations().filter((a) => a.playState === 'running').length"


async def test_a_room_that_needs_help_moves_only_for_those_who_accept_motion(
        school: School, browser: Browser) -> None:
    await lockdown_with_injured(school)
    moving = {}
    for motion in ("no-preference", "reduce"):
        async with board_page(browser, school.app.url, await school.token("commander"),
                              site=school.site, reduced_motion=motion) as (page, _):
            await live(page)
            await expect(page.locator("#rooms button.room[data-room='B-112']")).to_have_attribute(
                "data-status", "needs_help")
            moving[motion] = await page.evaluate(MOVING)
    assert moving["no-preference"] > 0, "nothing on the board draws the eye to the room"
    assert moving["reduce"] == 0, f"{moving['reduce']} animations run under reduced motion"


async def test_the_keyboard_reaches_a_room_and_opens_it(school: School, browser: Browser) -> None:
    await lockdown_with_injured(school)
    async with board_page(browser, school.app.url, await school.token("staff"), "desktop",
                          site=school.site) as (page, _):
        await live(page)
        await shown_seq(page, await school.settled())
        for _ in range(120):
            await page.keyboard.press("Tab")
            room = await page.evaluate("() => document.activeElement.closest('.room')"
                                       " ?.getAttribute('data-room') ?? null")
            if room:
                break
        else:
            raise AssertionError("Tab never reached a room in 120 presses")
        await page.keyboard.press("Enter")
        dialog = page.locator("#room-dialog")
        await expect(dialog).to_be_visible()
        await expect(dialog).to_contain_text(room)
        await expect(page.locator("#room-history")).to_be_visible()

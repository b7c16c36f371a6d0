"""The board page's actions where a tap can go wrong, in a real browser against a running
Muster: a double tap on Acknowledge, a tick left over from another room's report, and a press
during a drill, which is real unless its sender says it is part of the drill."""

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, expect

from tests.conftest import App
from tests.integration.board_scenes import School, demo_school
from tests.integration.browser import board_page, launched, live
from tests.integration.test_board_acting import of_type


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with launched() as launched_browser:
        yield launched_browser


async def test_a_double_tap_on_acknowledge_writes_one_acknowledgement(
        app: App, browser: Browser) -> None:
    school = School(app, "test-high")
    incident = await school.press("lockdown", "B-112", "device")
    async with board_page(browser, app.url, await school.token("responder"), "390") as (page, _):
        await live(page)
        ack = page.locator("#actions").get_by_role("button", name="Acknowledge")
        await ack.evaluate("(b) => { b.click(); b.click(); }")
        done = page.locator("#actions").get_by_role("button", name="Acknowledged ✓")
        await expect(done).to_be_disabled(timeout=10_000)
        await done.evaluate("(b) => b.click()")  # a disabled button's click sends nothing
        await school.settled()
    assert len(of_type(await school.timeline(incident), "ResponderAcknowledged")) == 1


async def test_a_tick_in_one_rooms_report_never_carries_to_another_room(
        app: App, browser: Browser) -> None:
    school = await demo_school(app)
    await school.press("armed_intruder", "A-101", "device")
    async with board_page(browser, app.url, await school.token("staff"), "390",
                          site=school.site) as (page, _):
        await live(page)
        await page.locator("#actions").get_by_role("button", name="Report my room").click()
        dialog = page.locator("#report-dialog")
        await dialog.locator("#report-room").select_option("B-112")
        await dialog.locator("input[name=missing]").first.check()
        await dialog.locator("#report-room").select_option("A-101")
        await expect(dialog.locator("input[name=missing]").first).to_be_visible()
        await expect(dialog.locator("input:checked[name=missing]")).to_have_count(0)
        await dialog.get_by_role("button", name="Close").click()
        await page.locator("#actions").get_by_role("button", name="Report my room").click()
        await expect(dialog.locator("input:checked")).to_have_count(0)  # a new report, blank


async def test_a_commander_starts_a_drill_and_a_staff_press_joins_it_only_when_ticked(
        app: App, browser: Browser) -> None:
    """During a drill a press is real unless its sender says it is part of the drill: a
    practice press stays in the drill, and the unticked one opens a live incident."""
    school = School(app, "test-high")
    commander = board_page(browser, app.url, await school.token("commander"))
    staff = board_page(browser, app.url, await school.token("staff"), "390")
    async with commander as (boss, _), staff as (page, _):
        await live(boss)
        await live(page)
        await boss.locator("#actions").get_by_role("button", name="Start a drill").click()
        await boss.locator("#drill-scenario").select_option("lockdown")
        await boss.locator("#drill-note").fill("Spring lockdown drill")
        await boss.locator("#drill-dialog").get_by_role("button", name="Start drill").click()
        await expect(page.locator("#mode")).to_have_text("DRILL")
        await school.settled()  # the HTTP board is the read model's: let it catch up
        drill = (await school.board())["incident"]["id"]

        async def press(practice: bool) -> None:
            await page.locator("#actions").get_by_role("button", name="Press for help").click()
            await expect(page.locator("#press-real")).to_be_visible()
            if practice:
                await page.locator("#press-drill").check()
            await page.locator("#press-room").select_option("GYM")
            await page.locator("#press-dialog").get_by_role("button", name="Send alert").click()
            # The dialog closes on the 202 itself: an earlier press's "Sent" may still show.
            await expect(page.locator("#press-dialog")).to_be_hidden()
            await expect(page.locator("#toast")).to_have_text("Sent")
            await school.settled()

        await press(practice=True)
        board = await school.board()
        assert board["incident"]["id"] == drill and not board["other_incidents"], board
        await press(practice=False)  # the box starts unticked each time: real
        board = await school.board()
        assert board["incident"]["mode"] == "live" and board["other_incidents"] == [drill]
        await expect(page.locator("#mode")).to_have_text("LIVE")
    raised = of_type(await school.timeline(drill), "AlertRaised", room="GYM")
    assert [ev["mode"] for ev in raised] == ["drill"], raised

"""A scripted bus incident on the demo site, end to end over real servers: the driver's device
presses for bus 7 with where it is; the board page (over its WebSocket) shows the bus with its
location and the protocol; the riders are counted on the bus, not in their homerooms, and the
driver's report settles them; the alert messages and the CAP feed name the bus; screenshots on
a desktop and a phone."""

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, expect

from tests.conftest import App, Sink
from tests.integration.board_scenes import DEMO
from tests.integration.browser import board_page, launched, live
from tests.integration.demo_units import (
    cap_text,
    counted_once,
    demo_school,
    home_total,
    messages,
    row,
    shoot_whole,
)

WHERE = {"text": "I-25 northbound at exit 210", "lat": 39.7392, "lon": -104.9903}


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with launched() as launched_browser:
        yield launched_browser


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
async def test_bus_incident_on_the_demo_site(app: App, sink: Sink, browser: Browser,
                                             viewport: str) -> None:
    school, demo = await demo_school(app, sink)
    bus = next(b for b in demo.buses if b.id == "bus-7")
    commander = await school.token("commander")
    async with board_page(browser, app.url, commander, viewport, site=DEMO) as (page, sockets):
        await live(page)
        incident = (await school.send(f"/v1/sites/{DEMO}/alerts", {
            "kind": "transportation", "bus": "bus-7", "location": WHERE}, "device"))["incident_id"]
        card = page.locator("#buses [data-room='bus-7']")
        await expect(card).to_contain_text("At: I-25 northbound at exit 210 (39.73920, -104.99030)")
        await expect(card).to_contain_text("▲ alert raised here")
        await expect(card).to_contain_text(f"0/{len(bus.riders)} accounted")
        await expect(page.locator("#buses-h")).to_have_text("Buses · 0 of 1 reported")
        await expect(page.locator("#buses [data-room='bus-12']")).to_contain_text(
            "Nobody counted here · no report needed")  # bus 12's riders are at school
        await expect(page.locator("#action")).to_have_text("Hold!")
        await expect(page.locator("#where")).to_contain_text(
            "raised on Bus 7 (north route) · at I-25 northbound at exit 210")
        assert any("bus-7" in frame for frame in sockets.frames)  # it came over the WebSocket

        board = await school.board("commander")
        assert board["incident"]["room"] == "bus-7"
        assert row(board, "bus-7")["unit"] == "bus" and row(board, "bus-12")["unit"] == "bus"
        assert row(board, "bus-7")["location"] == WHERE
        assert row(board, "bus-7")["accountability"]["total"] == len(bus.riders)
        assert row(board, "bus-12")["accountability"]["total"] == 0  # its riders are home
        riders = set(bus.riders)
        first = next(p for p in demo.people if p.id == bus.riders[0])
        assert first.room is not None
        assert row(board, first.room)["accountability"]["total"] == home_total(
            demo, first.room, riders)
        assert board["accountability"]["total"] == len(demo.people)  # nobody at the game
        counted_once(board)

        hurt = bus.riders[5]
        await school.report(incident, "bus-7", "needs_help", "staff",
                            present=len(bus.riders), injured=[hurt])
        await expect(card).to_contain_text("Needs help")
        await expect(card).to_contain_text(f"{len(bus.riders)}/{len(bus.riders)} accounted")
        board = await school.board("commander")
        counts = row(board, "bus-7")["accountability"]
        assert (counts["accounted"], counts["injured"], counts["unknown"]) == (
            len(bus.riders) - 1, 1, 0)
        assert board["accountability"]["injured"] == 1
        counted_once(board)
        await expect(page.locator("#attention")).to_contain_text("Bus 7 (north route)")
        await card.click()  # the bus's detail: where it was last told, and its riders by name
        await expect(page.locator("#room-body")).to_contain_text(
            "Bus bus-7 · last told at I-25 northbound at exit 210")
        await expect(page.locator("#room-people summary")).to_have_text(
            f"People on this bus ({len(bus.riders)})")
        await page.keyboard.press("Escape")
        await shoot_whole(page, "demo-bus-incident", viewport)

    await sink.wait_for(1, "staff-all")
    said = messages(sink, "staff-all")
    assert any("Bus 7" in m and "I-25 northbound at exit 210" in m for m in said), said
    cap = await cap_text(school)
    assert "Bus 7" in cap and "I-25 northbound at exit 210" in cap


async def test_a_bus_pressed_and_reported_from_the_board_page(app: App, sink: Sink,
                                                               browser: Browser) -> None:
    """A driver's phone: "Press for help" lists the buses and sends the bus as `bus`; "Report my
    room" for the bus ticks a rider injured by name."""
    school, demo = await demo_school(app, sink)
    bus = next(b for b in demo.buses if b.id == "bus-12")
    hurt = next(p for p in demo.people if p.id == bus.riders[2])
    async with board_page(browser, app.url, await school.token("staff"), "phone",
                          site=DEMO) as (page, _):
        await live(page)
        await page.locator("#actions").get_by_role("button", name="Press for help").click()
        await page.locator("#press-kind").select_option("transportation")
        await page.locator("#press-room").select_option("bus-12")
        await page.locator("#press-dialog").get_by_role("button", name="Send alert").click()
        await expect(page.locator("#where")).to_contain_text("raised on Bus 12 (river route)")
        await page.locator("#actions").get_by_role("button", name="Report my room").click()
        await page.locator("#report-room").select_option("bus-12")
        await page.locator("#report-form input[name=status][value=needs_help]").check()
        await page.locator("#report-present").fill(str(len(bus.riders)))
        await page.locator(f"#report-form input[name=injured][value='{hurt.id}']").check()
        await page.locator("#report-dialog").get_by_role("button", name="Send report").click()
        await expect(page.locator("#attention")).to_contain_text(
            f"Injured: {hurt.name} · on Bus 12 (river route)")
    board = await school.board("commander")
    assert board["incident"]["room"] == "bus-12"
    events = await school.timeline(board["incident"]["id"])
    (alert,) = [ev for ev in events if ev["type"] == "AlertRaised"]
    assert (alert["data"]["room"], alert["data"]["unit"]) == ("bus-12", "bus")
    assert row(board, "bus-12")["injured"] == [hurt.id]
    counted_once(board)

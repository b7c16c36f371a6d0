"""A scripted away-game lockdown on the demo site, end to end over real servers: the game is
scheduled on the spot through the API; a press from the game locks it down at its place; the
game's students, staff and chaperones are counted there and the school's rooms without them
(each person once); the commander evacuates the game and relocates once to the second site from
the board page's Relocate; the page shows it all and the channels say where; screenshots on a
desktop and a phone."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Browser, expect

from tests.conftest import App, Sink
from tests.integration.board_scenes import DEMO
from tests.integration.browser import board_page, launched, live
from tests.integration.demo_units import (
    counted_once,
    demo_school,
    home_total,
    messages,
    row,
    shoot_whole,
)

GAME = "game-tonight"


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with launched() as launched_browser:
        yield launched_browser


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
async def test_away_game_lockdown_on_the_demo_site(app: App, sink: Sink, browser: Browser,
                                                   viewport: str) -> None:
    school, demo = await demo_school(app, sink)
    planned = demo.away_events[0]  # the varsity's roster and chaperones, tonight instead
    now = datetime.now(UTC)
    await school.send(f"/v1/sites/{DEMO}/away-events", {
        "id": GAME, "name": "Varsity football at Central High (tonight)", "kind": "game",
        "place": {"text": "Central High stadium, 55 Park Road", "lat": 41.9104, "lon": -87.6772},
        "starts_at": (now - timedelta(hours=1)).isoformat(),
        "ends_at": (now + timedelta(hours=3)).isoformat(),
        "people": planned.people,
        "chaperones": [{"id": c.id, "name": c.name} for c in planned.chaperones]}, "commander")
    commander = await school.token("commander")
    async with board_page(browser, app.url, commander, viewport, site=DEMO) as (page, _):
        await live(page)
        incident = (await school.send(f"/v1/sites/{DEMO}/alerts", {
            "kind": "lockdown", "away_event": GAME}, "device"))["incident_id"]
        card = page.locator(f"#away-events [data-room='{GAME}']")
        await expect(page.locator("#action")).to_have_text("Lockdown!")
        await expect(page.locator("#where")).to_contain_text(
            "raised at Varsity football at Central High (tonight) · Central High stadium")
        await expect(card).to_contain_text("Place: Central High stadium, 55 Park Road "
                                           "(41.91040, -87.67720)")
        placed = len(planned.people) + len(planned.chaperones)
        await expect(card).to_contain_text(f"0/{placed} accounted")
        # The buses are in the lot: nobody on them, so nothing is asked of them.
        await expect(page.locator("#buses-h")).to_have_text("Buses · none in use")
        await expect(page.locator("#buses [data-status='idle']")).to_have_count(2)

        board = await school.board("commander")
        game = row(board, GAME)
        assert game["unit"] == "away_event" and game["accountability"]["total"] == placed
        assert board["accountability"]["total"] == len(demo.people) + len(planned.chaperones)
        away = set(planned.people)
        for room in {p.room for p in demo.people if p.id in away} - {None}:
            assert row(board, room)["accountability"]["total"] == home_total(demo, room, away)
        counted_once(board)

        await school.report(incident, GAME, "secured", "staff", present=placed)
        await expect(card).to_contain_text(f"{placed}/{placed} accounted")
        board = await school.board("commander")
        assert row(board, GAME)["accountability"]["accounted"] == placed
        assert board["accountability"]["accounted"] == placed  # the school's rooms: no report yet
        counted_once(board)

        await school.send(f"/v1/incidents/{incident}/protocol",
                          {"action": "evacuate", "evacuate_to": "st-marks"})
        # The commander's board: Relocate, the place in force left out of the choices.
        await page.locator("#actions").get_by_role("button", name="Relocate").click()
        await expect(page.locator("#relocate-from")).to_have_text(
            "Now: St. Mark's Church, 400 Elm Street")
        choices = await page.locator("#relocate-to option").all_inner_texts()
        assert "St. Mark's Church, 400 Elm Street (off site)" not in choices
        await page.locator("#relocate-to").select_option("lincoln-ms")
        await page.locator("#relocate-reason").fill("gas leak on Elm Street")
        await page.locator("#relocate-dialog").get_by_role("button", name="Relocate").click()
        await expect(page.locator("#directive")).to_contain_text(
            "To Lincoln Middle School gym, 2100 Oak Road.")
        await expect(page.locator("#places-history li.was s")).to_have_text(
            ["St. Mark's Church, 400 Elm Street"])
        await expect(page.locator("#places-history li.was")).to_contain_text(
            "gas leak on Elm Street")
        board = await school.board("commander")
        assert [p["site_id"] for p in board["protocol"]["places"]] == ["st-marks", "lincoln-ms"]
        assert board["protocol"]["places"][-1]["reason"] == "gas leak on Elm Street"
        counted_once(board)
        await shoot_whole(page, "demo-away-game", viewport)
    moved = [ev["data"] for ev in await school.timeline(incident)
             if ev["type"] == "ProtocolDeclared" and ev["data"]["reason"] == "relocation"]
    assert [(d["evacuation_site"], d["relocated_from"], d["relocation_reason"]) for d in moved] \
        == [("lincoln-ms", "St. Mark's Church, 400 Elm Street", "gas leak on Elm Street")]

    await sink.wait_for(3, "staff-all")
    said = messages(sink, "staff-all")
    assert any("Lincoln Middle School gym" in m for m in said), said
    assert any("Central High" in m for m in said), said  # the press names the game

"""The board page's buses and away events, drawn by its one pure function from a real board with
units in it (the board JSON of issue 21's design, section 4): each unit beside the buildings with
its status, count and place in words and coordinates, none of them on the floor plan or in the
room list; the banner says where the alert was raised; a relocated evacuation shows its places,
the earlier ones struck through with the time and the reason."""

from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from tests.conftest import App
from tests.integration.board_scenes import School
from tests.integration.browser import axe_violations, board_page, grave, launched
from tests.integration.demo_units import shoot_whole

DRAW = """async ({board}) => {
  const { view } = await import("/board-static/view.js");
  const { build } = await import("/board-static/dom.js");
  const ctx = {role: "commander", name: null, now: Date.parse(board.protocol.declared_at) + 60000,
               skew: 0, selected: null};
  const root = document.createElement("div");
  for (const node of [view(board, ctx)].flat(Infinity).filter(Boolean)) root.append(build(node));
  const text = (sel) => root.querySelector(sel)?.textContent ?? null;
  const all = (sel) => [...root.querySelectorAll(sel)].map((n) => n.textContent);
  return {where: text("#where"), directive: text("#directive"), buses: all("#buses [data-room]"),
          events: all("#away-events [data-room]"), busesHead: text("#buses-h"),
          rooms: [...root.querySelectorAll("#rooms [data-room]")].map((n) => n.dataset.room),
          plan: [...root.querySelectorAll("#plan g[data-room]")].map((n) => n.dataset.room),
          struck: all("#places-history li.was s"), places: all("#places-history li"),
          reported: text("#rooms-reported"), attention: all("#attention li")};
}"""
SHOW = """async ({board}) => {
  const { S, ui } = await import("/board-static/state.js");
  S.board = board; ui.render();
}"""
BUS_AT = {"text": "I-25 northbound at exit 210", "lat": 39.7392, "lon": -104.9903}
GAME_AT = {"text": "Central High stadium, 55 Park Road", "lat": 41.9104, "lon": -87.6772}


def unit(uid: str, name: str, kind: str, where: dict[str, Any], status: str | None,
         total: int, accounted: int) -> dict[str, Any]:
    counts = {"accounted": accounted, "missing": 0, "injured": 0, "absent": 0, "reunified": 0,
              "unknown": total - accounted, "total": total}
    return {"id": uid, "name": name, "building": "", "floor": 1, "zone": "", "unit": kind,
            "location": where, "status": status, "reported_at": None, "reported_by": None,
            "present": None, "missing": [], "injured": [], "extra": [], "accountability": counts}


def with_units(real: dict[str, Any]) -> dict[str, Any]:
    """The real board, raised on bus 7 and evacuated twice: the church, then the middle school."""
    rooms = [{**r, "unit": "room", "location": None} for r in real["rooms"]]
    rooms += [unit("bus-7", "Bus 7 (north route)", "bus", BUS_AT, None, 40, 0),
              unit("bus-12", "Bus 12 (river route)", "bus", None, "secured", 40, 40),
              unit("bus-3", "Bus 3 (spare)", "bus", None, None, 0, 0),
              unit("away-game", "Varsity football at Central High", "away_event", GAME_AT,
                   "secured", 33, 31)]
    at = real["protocol"]["declared_at"]
    places = [{"name": "the north field", "site_id": "north-field", "at": at, "reason": "press"},
              {"name": "St. Mark's Church", "site_id": "st-marks", "at": at,
               "reason": "smoke over the field"},
              {"name": "Lincoln Middle School gym", "site_id": "lincoln-ms", "at": at,
               "reason": "gas leak on Elm Street"}]
    protocol = {**real["protocol"], "action": "evacuate", "places": places,
                "directive": "Evacuate! To Lincoln Middle School gym.",
                "evacuate_to": "Lincoln Middle School gym"}
    return {**real, "rooms": rooms, "protocol": protocol,
            "incident": {**real["incident"], "room": "bus-7", "kind": "transportation"}}


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with launched() as launched_browser:
        yield launched_browser


async def drawn(app: App, browser: Browser) -> tuple[dict[str, Any], dict[str, Any], str]:
    school = School(app, "test-high")
    await school.press("lockdown", "B-112", "device")
    real = await school.board("commander")
    return real, with_units(real), await school.token("commander")


async def test_units_stand_beside_the_buildings_with_status_count_and_place(
        app: App, browser: Browser) -> None:
    real, board, token = await drawn(app, browser)
    async with board_page(browser, app.url, token) as (page, _):
        await expect(page.locator("#conn")).to_have_text("live", timeout=10_000)
        got = await page.evaluate(DRAW, {"board": board})
    room_ids = [r["id"] for r in real["rooms"]]
    assert sorted(got["rooms"]) == sorted(room_ids) and sorted(got["plan"]) == sorted(room_ids)
    assert got["reported"].startswith(f"0 of {len(room_ids)}")  # rooms only: units count apart
    bus7, bus12, spare = got["buses"]
    assert spare == "○Bus 3 (spare)Not in useNobody counted here · no report needed"
    assert "Bus 7 (north route)" in bus7 and "At: I-25 northbound at exit 210" in bus7
    assert "(39.73920, -104.99030)" in bus7 and "▲ alert raised here" in bus7
    assert "0/40 accounted" in bus7 and "No report yet" in bus7
    assert "Location not given" in bus12 and "40/40 accounted" in bus12 and "Secured" in bus12
    assert got["busesHead"] == "Buses · 1 of 2 reported"
    (game,) = got["events"]
    assert "Place: Central High stadium, 55 Park Road (41.91040, -87.67720)" in game
    assert "31/33 accounted" in game
    assert got["where"] == ("transportation · raised on Bus 7 (north route) · at "
                            "I-25 northbound at exit 210 (39.73920, -104.99030)")
    assert "Alert raised on Bus 7 (north route) — no report from it yet" in got["attention"]
    assert got["directive"].startswith("To Lincoln Middle School gym.")
    assert got["struck"] == ["the north field", "St. Mark's Church"]
    first, second, now = got["places"]
    assert first.endswith(": smoke over the field") and second.endswith(": gas leak on Elm Street")
    assert now.startswith("Now: Lincoln Middle School gym · since ")


async def test_no_units_no_groups_and_one_place_no_history(app: App, browser: Browser) -> None:
    real, _, token = await drawn(app, browser)
    one = {**real, "protocol": {**real["protocol"], "places": [
        {"name": "the north field", "site_id": "north-field",
         "at": real["protocol"]["declared_at"], "reason": "press"}]}}
    async with board_page(browser, app.url, token) as (page, _):
        await expect(page.locator("#conn")).to_have_text("live", timeout=10_000)
        got = await page.evaluate(DRAW, {"board": one})
    assert got["buses"] == [] and got["events"] == [] and got["busesHead"] is None
    assert got["places"] == []  # one place: the directive says it, no history to show


async def shown(page: Page, board: dict[str, Any]) -> None:
    await expect(page.locator("#conn")).to_have_text("live", timeout=10_000)
    await page.evaluate(SHOW, {"board": board})
    await expect(page.locator("#buses [data-room]")).to_have_count(3)


@pytest.mark.parametrize("viewport", ["desktop", "phone", "1920"])
async def test_units_board_screens(app: App, browser: Browser, viewport: str) -> None:
    """The units and the places history drawn on the page itself, for the eye (screenshots);
    on a phone the unit cards stay one column within the screen's width; the wall screen is
    set up as one is, with large text from its link."""
    _, board, token = await drawn(app, browser)
    link = f"{token}&large=1" if viewport == "1920" else token
    async with board_page(browser, app.url, link, viewport) as (page, _):
        await shown(page, board)
        await expect(page.locator("#places-history li.was")).to_have_count(2)
        large = await page.evaluate("document.documentElement.classList.contains('large')")
        assert large == (viewport == "1920")
        assert grave(await axe_violations(page)) == []  # the unit cards and history: WCAG AA
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= page.viewport_size["width"], width  # type: ignore[index]
        await page.locator("[data-room='bus-7']").first.click()
        await expect(page.locator("#room-title")).to_contain_text("Bus 7")
        await expect(page.locator("#room-body")).to_contain_text(
            "last told at I-25 northbound at exit 210")
        await page.keyboard.press("Escape")
        await shoot_whole(page, "board-units", viewport)

"""Units over HTTP on real NATS and PostgreSQL (issue 21): a bus alert with its location, an away
event scheduled then pressed on, an evacuation relocated twice, and bad input that writes
nothing — each read back from the board the projector keeps."""

import asyncio

import aiohttp
import pytest
from msgspec.structs import replace

from command.bootstrap.cli import main
from command.domain.site import Bus, EvacuationSite
from tests.conftest import App, small_site

ROADSIDE = {"text": "Route 9 at mile 12", "lat": 41.88, "lon": -87.63}
STADIUM = {"text": "Central High stadium, 55 Park Road", "lat": 41.91, "lon": -87.67}
PLACES = [EvacuationSite(id="field", name="the north field", hazards=["fire"]),
          EvacuationSite(id="church", name="St. Mark's", kind="reunification", off_site=True,
                         address="400 Elm Street")]


async def post(app: App, path: str, body: object, token: str) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as http, http.post(
            app.url + path, json=body, headers={"Authorization": f"Bearer {token}"}) as resp:
        return resp.status, await resp.json()


async def board(app: App, seq: int) -> dict:
    await app.wait_projected(seq)
    async with aiohttp.ClientSession() as http, http.get(
            app.url + "/v1/sites/test-high/board",
            headers={"Authorization": f"Bearer {await app.token('commander')}"}) as resp:
        assert resp.status == 200
        return await resp.json()


@pytest.fixture
async def units_app(app: App) -> App:
    site = replace(small_site(), buses=[Bus(id="bus-7", name="Bus 7", riders=["s-1", "s-3"])],
                   evacuation_sites=PLACES)
    await app.muster.import_site(site)
    return app


async def test_a_bus_alert_with_a_location_shows_the_bus_on_the_board(units_app: App) -> None:
    app = units_app
    status, body = await post(app, "/v1/sites/test-high/alerts",
                              {"kind": "medical", "bus": "bus-7", "location": ROADSIDE},
                              await app.token("staff"))
    assert status == 202, body
    shown = await board(app, body["seq"])
    row = next(r for r in shown["rooms"] if r["id"] == "bus-7")
    assert (row["unit"], row["location"], row["building"]) == ("bus", ROADSIDE, "")
    assert row["accountability"]["unknown"] == 2  # its riders, counted there and nowhere else
    assert shown["accountability"]["total"] == 8
    assert shown["incident"]["room"] == "bus-7"
    assert next(r for r in shown["rooms"] if r["id"] == "B-112")["unit"] == "room"
    status, body = await post(app, f"/v1/incidents/{body['incident_id']}/rooms/bus-7/status",
                              {"status": "secured", "present": 2}, await app.token("staff"))
    assert status == 202, body
    shown = await board(app, body["seq"])
    assert next(r for r in shown["rooms"] if r["id"] == "bus-7")["accountability"][
        "accounted"] == 2


async def test_an_away_event_scheduled_then_pressed_on(units_app: App) -> None:
    app = units_app
    event = {"id": "game", "name": "Away game", "kind": "game", "place": STADIUM,
             "people": ["s-5", "t-2"], "chaperones": [{"id": "c-1", "name": "Pat Parent"}]}
    status, body = await post(app, "/v1/sites/test-high/away-events", event,
                              await app.token("staff"))
    assert status == 202, body
    status, body = await post(app, "/v1/sites/test-high/alerts",
                              {"kind": "lockdown", "away_event": "game"},
                              await app.token("device"))
    assert status == 202, body
    shown = await board(app, body["seq"])
    row = next(r for r in shown["rooms"] if r["id"] == "game")
    assert (row["unit"], row["location"]) == ("away_event", STADIUM)
    assert row["accountability"]["unknown"] == 3  # two from the roster and the chaperone
    assert shown["accountability"]["total"] == 9


async def test_relocating_twice_keeps_the_history(units_app: App) -> None:
    app = units_app
    _, press = await post(app, "/v1/sites/test-high/alerts", {"kind": "fire", "room": "GYM"},
                          await app.token("device"))
    inc, commander = press["incident_id"], await app.token("commander")
    status, body = await post(app, f"/v1/incidents/{inc}/relocate",
                              {"to": "church", "reason": "smoke over the field"}, commander)
    assert status == 202, body
    status, body = await post(app, f"/v1/incidents/{inc}/relocate",
                              {"to": "the middle school gym", "reason": "the church is full"},
                              commander)
    assert status == 202, body
    protocol = (await board(app, body["seq"]))["protocol"]
    assert [(p["name"], p["reason"]) for p in protocol["places"]] == [
        ("the north field", "alert"), ("St. Mark's", "smoke over the field"),
        ("the middle school gym", "the church is full")]
    assert protocol["directive"] == "Evacuate! To the middle school gym."
    staff = await app.token("staff")
    assert (await post(app, f"/v1/incidents/{inc}/relocate", {"to": "x", "reason": "y"},
                       staff))[0] == 403


@pytest.mark.parametrize("path,body,status,field", [
    ("/v1/sites/test-high/alerts", {"kind": "medical"}, 400, "$.room"),
    ("/v1/sites/test-high/alerts", {"kind": "medical", "room": "GYM", "bus": "bus-7"}, 400,
     "$.room"),
    ("/v1/sites/test-high/alerts", {"kind": "medical", "bus": "bus-99"}, 404, "$.bus"),
    ("/v1/sites/test-high/alerts", {"kind": "medical", "bus": "bus-7",
                                    "location": {"text": "x", "lat": 91}}, 400,
     "$.location.lat"),
    ("/v1/sites/test-high/away-events", {"id": "GYM", "name": "Clash"}, 409, "$.id"),
    ("/v1/sites/test-high/away-events", {"id": "g", "name": "G", "people": ["ghost"]}, 404,
     "$.people[0]"),
])
async def test_bad_input_names_the_field_and_writes_nothing(
        units_app: App, path: str, body: dict, status: int, field: str) -> None:
    app = units_app
    before = await app.log.last_seq()
    got, answer = await post(app, path, body, await app.token("staff"))
    assert (got, answer["error"]["field"]) == (status, field)
    assert await app.log.last_seq() == before


async def test_relocation_with_no_evacuation_in_force_is_409(units_app: App) -> None:
    app = units_app
    _, press = await post(app, "/v1/sites/test-high/alerts", {"kind": "lockdown", "room": "GYM"},
                          await app.token("device"))
    before = await app.log.last_seq()
    status, body = await post(app, f"/v1/incidents/{press['incident_id']}/relocate",
                              {"to": "church", "reason": "x"}, await app.token("commander"))
    assert (status, body["error"]["field"]) == (409, "$.to")
    assert await app.log.last_seq() == before


async def test_the_cli_schedules_an_away_event_and_presses_on_a_bus(units_app: App) -> None:
    """`muster away schedule` then `muster alert --bus --location`, against the running API."""
    app = units_app
    staff = await app.token("staff")
    common = ["--url", app.url, "--token", staff]
    code = await asyncio.to_thread(main, [
        "away", "schedule", "--site", "test-high", "--id", "trip", "--name", "Museum trip",
        "--place", "Field Museum", "--people", "s-5,s-6", "--chaperone", "c-1:Pat Parent",
        *common])
    assert code == 0
    code = await asyncio.to_thread(main, [
        "alert", "--site", "test-high", "--kind", "medical", "--bus", "bus-7", "--location",
        "Route 9", "--lat", "41.9", "--lon", "-87.7", *common])
    assert code == 0
    shown = await board(app, await app.log.last_seq())
    rows = {r["id"]: r for r in shown["rooms"]}
    assert rows["bus-7"]["location"] == {"text": "Route 9", "lat": 41.9, "lon": -87.7}
    assert rows["trip"]["unit"] == "away_event" and rows["trip"]["accountability"]["unknown"] == 3
    assert await asyncio.to_thread(main, ["alert", "--site", "test-high", "--kind", "medical",
                                          *common]) == 2

"""An away event scheduled while an incident is open, on a running Muster (real NATS and
PostgreSQL): the replay plays it where it came in the stream, so the replay board's units and
accountability are the live board's; and the reunification desk folds the incident from the
file in force at its first event with the change in its place, so it agrees with intake that
accounting is complete (consumers/site_versions.py `history` and `interleaved`)."""

import aiohttp

from command.domain import board
from command.domain.board_case import Case
from consumers.replay import replay
from tests.conftest import App, small_site
from tests.integration.test_demo_lockdown import call

TRIP = {"id": "trip2", "name": "Museum trip", "kind": "field_trip", "people": ["s-5"]}


async def folded(app: App, site: str) -> Case:
    """The open case of `site`'s board, folded from the stream."""
    state = board.empty(site)
    async for seq, ev in app.log.read(1, await app.log.last_seq()):
        if ev.site == site:
            state = board.evolve(state, seq, ev)
    case = board.current(state)
    assert case is not None
    return case


async def no_wait(_: float) -> None:
    return None


async def test_a_replay_plays_an_away_event_scheduled_mid_incident_in_its_place(
        app: App) -> None:
    staff, device = await app.token("staff"), await app.token("device")
    async with aiohttp.ClientSession() as http:
        status, press = await call(http, app, "/v1/sites/test-high/alerts", device,
                                   {"kind": "lockdown", "room": "B-112"})
        assert status == 202, press
        inc = press["incident_id"]
        steps = [("/v1/sites/test-high/away-events", TRIP),
                 ("/v1/sites/test-high/alerts", {"kind": "lockdown", "away_event": "trip2"}),
                 (f"/v1/incidents/{inc}/rooms/trip2/status", {"status": "secured",
                                                               "present": 1})]
        for path, body in steps:
            status, answer = await call(http, app, path, staff, body)
            assert status == 202, (path, answer)
    live = await folded(app, "test-high")
    assert live.incident.id == inc and "trip2" in live.rooms
    site = await replay(app.log, inc, speed=1000, sleep=no_wait, run="mid")
    copy = await folded(app, site)
    assert copy.rooms == live.rooms  # the trip's row and every room's, as reported
    assert (copy.tally, copy.people) == (live.tally, live.people)
    assert (copy.tally["trip2"]["accounted"], copy.tally["trip2"]["unknown"]) == (1, 0)
    assert live.people["s-5"].room == "trip2"


async def test_the_desk_agrees_with_intake_after_an_away_event_scheduled_mid_incident(
        app: App) -> None:
    staff, device = await app.token("staff"), await app.token("device")
    commander = await app.token("commander")
    rooms = {r.id: sum(1 for p in small_site().people if p.room == r.id)
             for r in small_site().rooms}
    async with aiohttp.ClientSession() as http:
        status, press = await call(http, app, "/v1/sites/test-high/alerts", device,
                                   {"kind": "fire", "room": "B-112"})
        assert status == 202, press
        base = f"/v1/incidents/{press['incident_id']}"
        steps = [(f"{base}/rooms/{room}/status", {"status": "evacuated", "present": n})
                 for room, n in rooms.items()]
        steps.append(("/v1/sites/test-high/away-events", {**TRIP, "id": "team",
                                                          "name": "Team"}))
        for path, body in steps:
            status, answer = await call(http, app, path, staff, body)
            assert status == 202, (path, answer)
        await app.wait_projected(answer["seq"])
        status, doc = await call(http, app, base + "/reunification", commander)
        assert status == 200, doc
        # s-5 was counted in A-102 before the team was scheduled: intake keeps them there.
        assert (doc["accounting_complete"], doc["releases_open"]) == (True, True)
        for path, body in [
                ("/reunification/checkin", {"person_id": "s-1"}),
                ("/reunification/guardians", {"guardian": "Anne Byron", "id_verified": True,
                                              "students": ["s-1"]}),
                ("/reunification/release", {"person_id": "s-1", "guardian": "Anne Byron",
                                            "student_consents": True})]:
            status, answer = await call(http, app, base + path, staff, body)
            assert status == 202, (path, answer)  # intake agrees: accounting is complete
        await app.wait_projected(answer["seq"])
        doc = (await call(http, app, base + "/reunification", commander))[1]
    s1 = next(s for s in doc["students"] if s["id"] == "s-1")
    assert (s1["state"], s1["released_to"]) == ("released", "Anne Byron")
    assert doc["accounting_complete"] and doc["counts"]["released"] == 1


async def test_the_desk_places_an_away_events_people_where_intake_did(app: App) -> None:
    """Scheduled before anyone reported, the team takes s-5 from A-102 in intake's ledger (the
    projector keeps the AwayEventScheduled beside its version, for its time): A-102 reports its
    one student left and the team its one, and the desk too says accounting is complete."""
    staff, device = await app.token("staff"), await app.token("device")
    commander = await app.token("commander")
    async with aiohttp.ClientSession() as http:
        status, press = await call(http, app, "/v1/sites/test-high/alerts", device,
                                   {"kind": "fire", "room": "B-112"})
        assert status == 202, press
        base = f"/v1/incidents/{press['incident_id']}"
        steps = [("/v1/sites/test-high/away-events", {**TRIP, "id": "team", "name": "Team"})]
        steps += [(f"{base}/rooms/{room}/status", {"status": "evacuated", "present": n})
                  for room, n in {"A-101": 3, "A-102": 1, "B-112": 3, "GYM": 0,
                                  "team": 1}.items()]
        for path, body in steps:
            status, answer = await call(http, app, path, staff, body)
            assert status == 202, (path, answer)
        await app.wait_projected(answer["seq"])
        status, doc = await call(http, app, base + "/reunification", commander)
    assert status == 200, doc
    assert (doc["accounting_complete"], doc["releases_open"]) == (True, True)

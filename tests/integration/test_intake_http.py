"""Intake over HTTP on real NATS and PostgreSQL: 202 means durable, bad input writes nothing."""

import uuid

import aiohttp
import pytest

from tests.conftest import App


async def post(app: App, path: str, body: object, token: str | None) -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as http, http.post(
            app.url + path, json=body, headers=headers) as resp:
        return resp.status, await resp.json()


async def test_lockdown_press_opens_incident_and_declares_at_once(app: App) -> None:
    device = await app.token("device")
    status, body = await post(app, "/v1/sites/test-high/alerts",
                              {"kind": "lockdown", "room": "B-112"}, device)
    assert status == 202, body
    assert body["duplicate"] is False
    types = [type(ev).__name__ async for _, ev in app.log.read(1)]
    assert types == ["SiteConfigured", "IncidentOpened", "AlertRaised", "ProtocolDeclared"]
    assert body["seq"] == 4
    assert await app.log.last_seq() == 4


@pytest.mark.parametrize("kind,action", [
    ("armed_intruder", "lockdown"), ("police_activity", "secure"), ("medical", "hold"),
    ("fire", "evacuate"), ("bomb_threat", "evacuate"), ("weather", "shelter"),
    ("hazmat", "shelter")])
async def test_each_hazard_declares_its_default_action(app: App, kind: str, action: str) -> None:
    status, _ = await post(app, "/v1/sites/test-high/alerts", {"kind": kind, "room": "GYM"},
                           await app.token("staff"))
    assert status == 202
    declared = [ev async for _, ev in app.log.read(1) if type(ev).__name__ == "ProtocolDeclared"]
    assert [ev.data.action for ev in declared] == [action]


async def test_same_client_event_id_twice_is_one_event(app: App) -> None:
    device = await app.token("device")
    body = {"kind": "lockdown", "room": "B-112", "client_event_id": str(uuid.uuid4())}
    s1, first = await post(app, "/v1/sites/test-high/alerts", body, device)
    s2, second = await post(app, "/v1/sites/test-high/alerts", body, device)
    assert (s1, s2) == (202, 202)
    assert first["duplicate"] is False and second["duplicate"] is True
    assert {k: v for k, v in second.items() if k != "duplicate"} == {
        k: v for k, v in first.items() if k != "duplicate"}
    assert await app.log.last_seq() == 4


@pytest.mark.parametrize("body,field", [
    ({"kind": "lockdown", "room": 5}, "$.room"),
    ({"kind": "panic", "room": "B-112"}, "$.kind"),
    ({"room": "B-112"}, "$.kind"),
    ({"kind": "lockdown", "room": "B-112", "colour": "red"}, "$.colour"),
    ({"kind": "lockdown", "room": "B-112", "note": "x" * 5000}, "$.note"),
    ({"kind": "lockdown", "room": "B-112", "client_event_id": "not-a-uuid"},
     "$.client_event_id"),
])
async def test_bad_input_is_400_naming_the_field_and_writes_nothing(
        app: App, body: dict, field: str) -> None:
    before = await app.log.last_seq()
    status, answer = await post(app, "/v1/sites/test-high/alerts", body, await app.token("staff"))
    assert status == 400
    assert answer["error"]["code"] == "invalid"
    assert answer["error"]["field"] == field
    assert field.rsplit(".", 1)[-1] in answer["error"]["message"]
    assert await app.log.last_seq() == before


async def test_unknown_room_site_and_incident_are_404(app: App) -> None:
    staff = await app.token("staff")
    everywhere = await app.token("staff", "*")
    status, body = await post(app, "/v1/sites/test-high/alerts",
                              {"kind": "hold", "room": "Z-999"}, staff)
    assert (status, body["error"]["field"]) == (404, "$.room")
    status, _ = await post(app, "/v1/sites/nowhere/alerts", {"kind": "hold", "room": "A"},
                           everywhere)
    assert status == 404
    status, _ = await post(app, f"/v1/incidents/{uuid.uuid4()}/all-clear", {},
                           await app.token("commander"))
    assert status == 404
    assert await app.log.last_seq() == 1


async def test_tokens_401_and_403(app: App) -> None:
    path = "/v1/sites/test-high/alerts"
    body = {"kind": "lockdown", "room": "B-112"}
    assert (await post(app, path, body, None))[0] == 401
    assert (await post(app, path, body, "mst_forged"))[0] == 401
    assert (await post(app, path, body, await app.token("responder")))[0] == 403
    assert (await post(app, path, body, await app.token("device", "other-school")))[0] == 403
    assert await app.log.last_seq() == 1


async def test_protocol_room_status_and_all_clear(app: App) -> None:
    _, press = await post(app, "/v1/sites/test-high/alerts", {"kind": "hold", "room": "GYM"},
                          await app.token("device"))
    inc = press["incident_id"]
    commander, staff = await app.token("commander"), await app.token("staff")
    status, _ = await post(app, f"/v1/incidents/{inc}/protocol", {"action": "lockdown"}, commander)
    assert status == 202
    status, body = await post(app, f"/v1/incidents/{inc}/protocol", {"action": "hold"}, commander)
    assert status == 409, body
    status, body = await post(app, f"/v1/incidents/{inc}/rooms/B-112/status",
                              {"status": "secured", "present": 3, "missing": ["s-2"]}, staff)
    assert status == 202, body
    status, body = await post(app, f"/v1/incidents/{inc}/rooms/B-112/status",
                              {"status": "secured", "present": -1}, staff)
    assert (status, body["error"]["field"]) == (400, "$.present")
    status, _ = await post(app, f"/v1/incidents/{inc}/rooms/NOPE/status", {"status": "clear"},
                           staff)
    assert status == 404
    assert (await post(app, f"/v1/incidents/{inc}/all-clear", {}, staff))[0] == 403
    status, body = await post(app, f"/v1/incidents/{inc}/all-clear", {}, commander)
    assert status == 202
    await app.wait_projected(body["seq"])
    async with aiohttp.ClientSession() as http, http.get(
            app.url + "/v1/sites/test-high/board",
            headers={"Authorization": f"Bearer {commander}"}) as resp:
        board = await resp.json()
    assert board["protocol"] is None
    assert board["incident"]["id"] == inc
    room = next(r for r in board["rooms"] if r["id"] == "B-112")
    assert room["status"] == "secured" and room["missing"] == ["s-2"]
    assert board["accountability"]["missing"] == 1


async def test_a_flagged_guardian_check_is_written_and_answered_409(app: App) -> None:
    """The flag reaches the board (the event is in the stream) and the gate hears 409."""
    staff = await app.token("staff")
    _, press = await post(app, "/v1/sites/test-high/alerts", {"kind": "fire", "room": "GYM"},
                          staff)
    before = await app.log.last_seq()
    status, body = await post(
        app, f"/v1/incidents/{press['incident_id']}/reunification/guardians",
        {"guardian": "Lord Byron", "id_verified": True, "students": ["s-1"]}, staff)
    assert status == 409, body
    assert body["error"] == {"code": "conflict", "field": "$.guardian",
                             "message": "guardian check flagged: s-1: custody restriction"}
    assert await app.log.last_seq() == before + 1
    written = [ev async for _, ev in app.log.read(before + 1)]
    assert [type(ev).__name__ for ev in written] == ["GuardianCheckedIn"]

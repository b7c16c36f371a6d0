"""Need to know, per role, on the JSON routes and on the WebSocket: names and custody flags for
staff and commanders, the responder packet for responders and commanders, Handle With Care for
nobody, and a revoked token's board closes."""

import asyncio
import contextlib
import json

import aiohttp
import msgspec
import websockets

from command.domain import site as site_file
from command.infra import auth
from tests.conftest import App, small_site

ROSTER_SECRETS = ("Ada Lovelace", "Alan Turing", "Lord Byron", "Anne Byron")
PACKET_SECRETS = ("4321#", "Left of the main doors")
READERS = ("staff", "responder", "commander", "dispatch")
MAY_SEE_ROSTER = {"staff", "commander"}
MAY_SEE_PACKET = {"responder", "commander"}


async def call(app: App, method: str, path: str, role: str, body: object = None,
               ) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {await app.token(role)}"}
    async with aiohttp.ClientSession() as http, http.request(
            method, app.url + path, json=body, headers=headers) as resp:
        return resp.status, await resp.text()


async def scenario(app: App) -> tuple[str, int]:
    """A lockdown with a missing student, a flagged custody check and a Handle With Care."""
    packet = site_file.ResponderPacket(knox_box="Left of the main doors", door_codes="Front 4321#")
    await app.muster.import_site(msgspec.structs.replace(small_site(), responder_packet=packet))
    _, body = await call(app, "POST", "/v1/sites/test-high/alerts", "device",
                         {"kind": "lockdown", "room": "B-112"})
    inc = json.loads(body)["incident_id"]
    base = f"/v1/incidents/{inc}"
    assert (await call(app, "POST", base + "/rooms/B-112/status", "staff",
                       {"status": "secured", "present": 1, "missing": ["s-2"]}))[0] == 202
    assert (await call(app, "POST", base + "/reunification/checkin", "staff",
                       {"person_id": "s-1"}))[0] == 202
    assert (await call(app, "POST", base + "/reunification/guardians", "staff",
                       {"guardian": "Lord Byron", "id_verified": True,
                        "students": ["s-1"]}))[0] == 409
    status, body = await call(app, "POST", base + "/reunification/guardians", "staff",
                              {"guardian": "Anne Byron", "id_verified": True,
                               "students": ["s-1"]})
    assert status == 202
    visible = json.loads(body)["seq"]
    status, body = await call(app, "POST", "/v1/sites/test-high/handle-with-care", "responder",
                              {"person_id": "s-3"})
    assert status == 202
    await app.wait_projected(json.loads(body)["seq"])
    return inc, visible  # the notice itself is never on a board, so boards end before it


async def test_json_routes_show_each_role_what_it_needs(app: App) -> None:
    inc, _ = await scenario(app)
    for role in READERS:
        status, board = await call(app, "GET", "/v1/sites/test-high/board", role)
        assert status == 200
        assert ("Alan Turing" in board) == (role in MAY_SEE_ROSTER), role  # the missing child
        assert ("Lord Byron" in board) == (role in MAY_SEE_ROSTER), role  # the custody flag
        for secret in PACKET_SECRETS:
            assert (secret in board) == (role in MAY_SEE_PACKET), (role, secret)
        status, timeline = await call(app, "GET", f"/v1/incidents/{inc}/timeline", role)
        assert status == 200
        assert ("Lord Byron" in timeline) == (role in MAY_SEE_ROSTER), role
        assert ("Anne Byron" in timeline) == (role in MAY_SEE_ROSTER), role
        assert "HandleWithCareIssued" not in timeline and "s-3" not in timeline
        assert "Grace Hopper" not in timeline
        # The notice's subject shows nowhere but in the roster, where everyone is, alike.
        shown = json.loads(board)
        roster = shown.pop("roster", {})
        assert "Grace Hopper" not in json.dumps(shown)
        grace = {"id": "s-3", "name": "Grace Hopper", "kind": "student"}
        assert (grace in roster.get("A-101", [])) == (role in MAY_SEE_ROSTER), role
    assert (await call(app, "GET", "/v1/sites/test-high/board", "device"))[0] == 403


async def snapshot_and_updates(app: App, role: str, seq: int) -> str:
    url = (app.url.replace("http", "ws") + "/v1/sites/test-high/board/ws?token="
           + await app.token(role) + "&since=1")
    seen = []
    async with websockets.connect(url) as ws:
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), 10))
            seen.append(json.dumps(message))
            if message["seq"] >= seq:
                break
        # Nothing may follow: the Handle With Care notice after it is never sent to a board.
        with contextlib.suppress(TimeoutError):
            seen.append(await asyncio.wait_for(ws.recv(), 0.5))
    return "\n".join(seen)


async def test_websocket_shows_each_role_what_it_needs(app: App) -> None:
    _, seq = await scenario(app)
    for role in READERS:
        text = await snapshot_and_updates(app, role, seq)
        assert ("Alan Turing" in text) == (role in MAY_SEE_ROSTER), role
        assert ("Lord Byron" in text) == (role in MAY_SEE_ROSTER), role
        assert ("Anne Byron" in text) == (role in MAY_SEE_ROSTER), role
        assert "HandleWithCareIssued" not in text and "Grace Hopper" not in text
        url = app.url.replace("http", "ws") + "/v1/sites/test-high/board/ws?token=" \
            + await app.token(role)
        async with websockets.connect(url) as ws:
            snap = await asyncio.wait_for(ws.recv(), 10)
        for secret in PACKET_SECRETS:
            assert (secret in snap) == (role in MAY_SEE_PACKET), (role, secret)


async def test_a_revoked_token_closes_its_board(app: App) -> None:
    pool = app.muster.pool
    assert pool is not None
    secret, _ = await auth.create(pool, "responder", "test-high", name="leaving-officer")
    url = app.url.replace("http", "ws") + "/v1/sites/test-high/board/ws?token=" + secret
    # A board that came and went first: the one sweep stops with it and must start again.
    async with websockets.connect(url) as first:
        assert json.loads(await asyncio.wait_for(first.recv(), 10))["type"] == "snapshot"
    async with websockets.connect(url) as ws:
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "snapshot"
        await auth.revoke(pool, "leaving-officer")
        with contextlib.suppress(websockets.ConnectionClosed):
            while True:
                await asyncio.wait_for(ws.recv(), 10)
        assert ws.close_code == 1008

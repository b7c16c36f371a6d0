"""`GET /v1/incidents/{id}/eido` over real HTTP, NATS and PostgreSQL: the incident as a NENA EIDO
for dispatch, responders and the commander, refused to staff and devices, live and after it
closed, by site or dispatch area; counts in it, never a roster name."""

import json
from typing import Any

import aiohttp
import msgspec

from command.domain.site_dispatch import Dispatch
from tests.conftest import App, small_site
from tests.eido_docs import body, eido, unit

LINCOLN = msgspec.structs.replace(small_site(), name="Lincoln Middle School", dispatch=Dispatch(
    ids=["CADPREMISE-88231"], area="anytown-pd", lat=41.88, lon=-87.63))
NEEDS_HELP = {"status": "needs_help", "present": 1, "missing": ["s-1"], "injured": ["s-2"]}


async def call(http: aiohttp.ClientSession, url: str, token: str,
               body: object | None = None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    method = http.get if body is None else http.post
    async with method(url, headers=headers, **({} if body is None else {"json": body})) as resp:
        return resp.status, await resp.json()


async def lockdown(app: App, http: aiohttp.ClientSession) -> tuple[str, int]:
    """A lockdown press in B-112, which then needs help, and a responder's acknowledgement."""
    device, staff = await app.token("device"), await app.token("staff")
    status, press = await call(http, f"{app.url}/v1/sites/test-high/alerts", device,
                               {"kind": "lockdown", "room": "B-112"})
    assert status == 202, press
    base = f"{app.url}/v1/incidents/{press['incident_id']}"
    status, _ = await call(http, f"{base}/rooms/B-112/status", staff, NEEDS_HELP)
    assert status == 202
    status, last = await call(http, f"{base}/acks", await app.token("responder"),
                              {"responder": "Unit 12"})
    assert status == 202, last
    await app.wait_projected(last["seq"])
    return press["incident_id"], last["seq"]


def roster_names() -> set[str]:
    people = small_site().people
    return {p.name for p in people} | {g for p in people for g in [*p.guardians, *p.restricted]}


def notes(doc: dict[str, Any]) -> list[str]:
    return [n["notesActionComments"] for n in doc["notesComponent"]]


async def test_dispatch_responders_and_the_commander_read_it_staff_and_devices_do_not(
        app: App) -> None:
    async with aiohttp.ClientSession() as http:
        incident, _ = await lockdown(app, http)
        url = f"{app.url}/v1/incidents/{incident}/eido"
        docs = []
        for role in ("dispatch", "responder", "commander"):
            async with http.get(url, headers={
                    "Authorization": f"Bearer {await app.token(role)}"}) as resp:
                assert resp.status == 200, (role, await resp.text())
                assert resp.headers["Cache-Control"] == "no-store"
                docs.append(await resp.json())
        for role in ("staff", "device"):
            status, answer = await call(http, url, await app.token(role))
            assert (status, answer["error"]["code"]) == (403, "forbidden"), role
        status, answer = await call(http, f"{app.url}/v1/incidents/no-such/eido",
                                    await app.token("dispatch"))
        assert (status, answer["error"]["field"]) == (404, "id")
        other = await app.token("dispatch", "other-school")
        assert (await call(http, url, other))[0] == 403
    doc = docs[0]
    assert docs[1] == doc and docs[2] == doc  # one document, whoever reads it
    assert doc["$id"] == f"urn:emergency:uid:incidentid:{incident}:test-high.muster.invalid"
    inc = doc["incidentComponent"]
    assert (inc["internalIncidentId"], inc["incidentTypeCommonRegistryText"]) == (
        incident, "ALRPANA")
    assert inc["incidentStatusCommonRegistryText"] == ["Active"]
    said = notes(doc)
    assert any(n.startswith("<p>LOCKDOWN since ") for n in said)
    assert "<p>Room Biology (B, floor 1, east) needs help: 1 injured, 1 missing, 1 present.</p>" \
        in said
    assert any(n.startswith("<p>Acknowledged by Unit 12 at ") for n in said)
    text = json.dumps(doc)
    assert [name for name in roster_names() if name in text] == []


async def test_a_closed_incident_keeps_its_eido_with_the_same_ids(app: App) -> None:
    boss, dispatch = await app.token("commander"), await app.token("dispatch")
    async with aiohttp.ClientSession() as http:
        incident, _ = await lockdown(app, http)
        url = f"{app.url}/v1/incidents/{incident}"
        status, live = await call(http, f"{url}/eido", dispatch)
        assert status == 200
        assert (await call(http, f"{url}/all-clear", boss, {}))[0] == 202
        status, closed = await call(http, f"{url}/close", boss, {"summary": "Ada Lovelace safe"})
        assert status == 202, closed
        await app.wait_projected(closed["seq"])
        status, ended = await call(http, f"{url}/eido", dispatch)
    assert status == 200
    assert ended["incidentComponent"]["incidentStatusCommonRegistryText"] == ["Closed"]
    assert ended["$id"] == live["$id"]
    ids = {n["$id"] for n in ended["notesComponent"]}
    assert {n["$id"] for n in live["notesComponent"]} <= ids
    assert ended["locationComponent"][0]["$id"] == live["locationComponent"][0]["$id"]
    assert ended["lastUpdateTimeStamp"] > live["lastUpdateTimeStamp"]
    assert "Ada" not in json.dumps(ended)


async def test_a_dispatch_area_token_reads_the_incidents_of_its_area_only(app: App) -> None:
    await app.muster.import_site(LINCOLN)
    async with aiohttp.ClientSession() as http:
        incident, _ = await lockdown(app, http)
        url = f"{app.url}/v1/incidents/{incident}/eido"
        status, doc = await call(http, url, await app.token("dispatch", "area:anytown-pd"))
        assert status == 200, doc
        assert (await call(http, url, await app.token("dispatch", "area:othertown-pd")))[0] \
            == 403
    location = doc["locationComponent"][0]
    assert location["localIdentifier"] == ["CADPREMISE-88231"]
    assert "<ca:NAM>Lincoln Middle School</ca:NAM>" in location["locationByValue"]
    assert "<gml:pos>41.880000 -87.630000</gml:pos>" in location["locationByValue"]


async def test_what_911_sends_in_comes_back_out(app: App) -> None:
    """Given the school's lockdown, when the CAD sends its EIDO with one unit on scene and one
    en route, then the school's EIDO carries the CAD's type, priority, stage and units."""
    await app.muster.import_site(LINCOLN)
    dispatch = await app.token("dispatch", "area:anytown-pd")
    snapshot = eido("2026-03-12T10:21:45.000-05:00", status=("ResourcesOnscene",), units=(
        unit("4A12", "OnScene"),
        unit("4A15", "Dispatched", "EnRoute", eta="2026-03-12T10:24:00.000-05:00")))
    async with aiohttp.ClientSession() as http:
        incident, _ = await lockdown(app, http)
        async with http.post(f"{app.url}/v1/dispatch/eido", data=body(snapshot), headers={
                "Authorization": f"Bearer {dispatch}"}) as resp:
            sent = await resp.json()
            assert resp.status == 202 and sent["incident_id"] == incident, sent
        await app.wait_projected(sent["seq"])
        status, doc = await call(http, f"{app.url}/v1/incidents/{incident}/eido", dispatch)
    assert status == 200, doc
    inc = doc["incidentComponent"]
    assert (inc["incidentTypeCommonRegistryText"], inc["incidentCommonPriorityNumber"]) == (
        "WEAPON", 9)
    assert inc["incidentStatusCommonRegistryText"] == [
        "Active", "ResourcesEnroute", "ResourcesOnscene"]
    assert "<p>911 incident CAD-2026-004211: 4A12 on scene; 4A15 en route, ETA 15:24.</p>" \
        in notes(doc)

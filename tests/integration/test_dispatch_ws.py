"""STA-024 subscribe/notify over WebSocket (`/v1/dispatch/ws`) against a running Muster: a CAD
subscribes, each change of its incidents arrives as a notify carrying the full EIDO, a notify
left unacknowledged is resent up to the bound and the subscription dropped, and a
resubscription after a drop is current at once."""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from command.bootstrap.muster import Muster
from command.domain import eido_out
from command.domain.site_dispatch import Dispatch
from command.infra.config import Settings
from tests.conftest import App, small_site
from tests.eido_docs import TRACKING, eido, unit
from tests.eido_schema import SCHEMAS, errors
from tests.integration.cad_ws import Cad, cad_socket, content, conveyance_errors

SITE = "test-high"
RESEND_S = 0.2
RESENDS = 2
PREMISE = "TEST-HIGH-PREMISE"
LATER = "2026-03-12T10:20:00.000-05:00"


@pytest.fixture
async def app(nats_url: str, database_url: str, tmp_path: Path) -> AsyncIterator[App]:
    """A running Muster whose unacknowledged notifies are resent fast; test-high sits in the
    dispatch area test-pd."""
    settings = Settings(nats_url=nats_url, database_url=database_url, http_port=0,
                        data_dir=str(tmp_path / "data"), rate_per_token=0, rate_per_address=0,
                        rate_emergency=0, send_timeout_s=1.0, eido_resend_s=RESEND_S,
                        eido_resends=RESENDS)
    muster = Muster(settings, say=lambda _: None)
    await muster.start()
    await muster.import_site(msgspec.structs.replace(
        small_site(), dispatch=Dispatch(ids=[PREMISE], area="test-pd")))
    yield App(muster)
    await muster.stop()


async def until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def command(app: App, path: str, body: dict[str, Any], role: str) -> dict[str, Any]:
    """A command over HTTP, once the live boards have applied all it wrote."""
    async with aiohttp.ClientSession() as http, http.post(
            app.url + path, data=msgspec.json.encode(body),
            headers={"Authorization": f"Bearer {await app.token(role)}",
                     "Content-Type": "application/json"}) as resp:
        answer = await resp.json()
        assert resp.status == 202, answer
    gateway = app.muster.gateway
    assert gateway is not None
    await until(lambda: gateway.applied >= answer["seq"])
    return answer


async def press(app: App) -> str:
    answer = await command(app, f"/v1/sites/{SITE}/alerts", {"kind": "lockdown", "room": "B-112"},
                           "device")
    return str(answer["incident_id"])


async def report(app: App, incident: str, room: str, status: str) -> None:
    await command(app, f"/v1/incidents/{incident}/rooms/{room}/status", {"status": status},
                  "staff")


async def cad_sends(app: App, doc: dict[str, Any]) -> None:
    """The CAD's own snapshot of its call, in through POST /v1/dispatch/eido."""
    await command(app, "/v1/dispatch/eido", doc, "dispatch")


def current(app: App, incident: str) -> dict[str, Any]:
    """The incident's EIDO as Muster renders it now, from the live board."""
    gateway = app.muster.gateway
    assert gateway is not None
    state = gateway.states[SITE]
    case = state.cases.get(incident) or state.ended
    assert case is not None and case.incident.id == incident
    return eido_out.render(case, SITE, state.config)


async def test_only_a_dispatch_token_may_subscribe(app: App) -> None:
    for role in ("staff", "responder", "commander", "device", "admin"):
        with pytest.raises(InvalidStatus) as refused:
            async with cad_socket(app.url, await app.token(role)):
                pass
        assert refused.value.response.status_code == 403, role
    with pytest.raises(InvalidStatus) as unknown:
        async with cad_socket(app.url, "mst_forged"):
            pass
    assert unknown.value.response.status_code == 401
    async with cad_socket(app.url, await app.token("dispatch")) as ws:
        assert (await Cad(ws).subscribe(requestSubType="new"))["statusCode"] == 200


async def test_a_press_is_notified_with_its_full_eido_and_each_change_after_it(app: App) -> None:
    async with cad_socket(app.url, await app.token("dispatch")) as ws:
        cad = Cad(ws)
        answer = await cad.subscribe(requestSubType="new")
        assert answer["statusCode"] == 200 and answer["subscriptionId"]
        await cad.quiet(RESEND_S * 2)  # no incident yet: nothing to say
        incident = await press(app)
        pressed = await cad.settle()
        assert pressed["event"]["subscriptionId"] == answer["subscriptionId"]
        doc = pressed["event"]["notification"][0]
        assert doc["$id"] == eido_out.tracking_id(incident, SITE)
        assert doc["incidentComponent"]["internalIncidentId"] == incident
        assert content(doc) == content(current(app, incident))  # the whole document
        await cad.quiet(RESEND_S * (RESENDS + 2))  # each was acknowledged: never resent
        await report(app, incident, "B-112", "needs_help")
        helped = await cad.settle()
        assert helped["event"]["transactionId"] != pressed["event"]["transactionId"]
        assert content(helped["event"]["notification"][0]) == content(current(app, incident))
        assert content(helped["event"]["notification"][0]) != content(doc)


async def test_an_unacknowledged_notify_is_resent_to_the_bound_then_the_subscription_dropped(
        app: App) -> None:
    incident = await press(app)
    async with cad_socket(app.url, await app.token("dispatch")) as ws:
        cad = Cad(ws)
        answer = await cad.subscribe(requestSubType="single", incidentId=incident)
        first = await cad.receive("event")  # the current state, at once
        assert content(first["event"]["notification"][0]) == content(current(app, incident))
        for _ in range(RESENDS):  # the same notify again, the same transaction, never acked
            assert await cad.receive("event", timeout=RESEND_S * 4) == first
        ended = await cad.receive("terminate", timeout=RESEND_S * 4)
        assert ended["terminate"]["subscriptionId"] == answer["subscriptionId"]
        assert "unacknowledged" in ended["terminate"]["reason"]
        await report(app, incident, "A-101", "secured")
        await cad.quiet(RESEND_S * 2)  # dropped: hears nothing more
        again = await cad.subscribe(requestSubType="single", incidentId=incident)
        assert again["statusCode"] == 200
        now = await cad.receive("event")  # current at once, the report included
        doc = now["event"]["notification"][0]
        assert content(doc) == content(current(app, incident))
        assert content(doc) != content(first["event"]["notification"][0])
        await cad.ack(now)
        renewed = await cad.renew(answer["subscriptionId"])  # the dropped one, by its id
        assert renewed["statusCode"] == 200
        assert renewed["subscriptionId"] == answer["subscriptionId"]
        assert (await cad.receive("event"))["event"]["subscriptionId"] == answer["subscriptionId"]


async def test_after_a_dropped_connection_a_resubscription_is_current_at_once(app: App) -> None:
    token = await app.token("dispatch", "area:test-pd")  # its dispatch area holds test-high
    async with cad_socket(app.url, token) as ws:
        cad = Cad(ws)
        old = await cad.subscribe(requestSubType="new")
        incident = await press(app)
        await cad.settle()
    await report(app, incident, "GYM", "evacuated")  # while the CAD is away
    async with cad_socket(app.url, token) as ws:
        cad = Cad(ws)
        await cad.subscribe(requestSubType="new")
        fresh = await cad.receive("event")
        assert content(fresh["event"]["notification"][0]) == content(current(app, incident))
        await cad.ack(fresh)
        renewed = await cad.renew(old["subscriptionId"])
        assert renewed["subscriptionId"] == old["subscriptionId"]
        again = await cad.receive("event")
        assert again["event"]["subscriptionId"] == old["subscriptionId"]
        await cad.ack(again)
        assert (await cad.renew("sub-never-given"))["statusCode"] == 481


async def test_a_resource_subscription_hears_of_the_incidents_its_unit_is_on(app: App) -> None:
    adam = unit("Adam12", "Dispatched", "EnRoute", eta="2026-03-12T10:18:00.000-05:00")
    async with cad_socket(app.url, await app.token("dispatch")) as ws:
        cad = Cad(ws)
        await cad.subscribe(requestSubType="resource", unitId=adam["$id"].upper())
        incident = await press(app)
        await cad.quiet(RESEND_S * 2)  # the unit is on no incident yet
        await cad_sends(app, eido(premise=PREMISE, units=(adam,)))
        onto = (await cad.settle())["event"]["notification"][0]
        assert onto["$id"] == eido_out.tracking_id(incident, SITE)
        assert content(onto) == content(current(app, incident))
        await cad_sends(app, eido(LATER, premise=PREMISE, units=()))
        off = (await cad.settle())["event"]["notification"][0]  # the change taking it off
        assert content(off) == content(current(app, incident)) != content(onto)
        await report(app, incident, "A-101", "secured")
        await cad.quiet(RESEND_S * 2)  # no longer on it: no news of it
    async with cad_socket(app.url, await app.token("dispatch")) as ws:
        cad = Cad(ws)  # the CAD names the call by its own tracking id and number
        for own in (TRACKING, "CAD-2026-004211"):
            answer = await cad.subscribe(requestSubType="single", incidentId=own)
            assert answer["statusCode"] == 200, answer
            now = await cad.receive("event")
            assert now["event"]["notification"][0]["$id"] == eido_out.tracking_id(incident, SITE)
            await cad.ack(now)


async def test_a_token_hears_only_of_its_own_sites(app: App) -> None:
    incident = await press(app)
    for binding in ("other-school", "area:other-pd"):
        async with cad_socket(app.url, await app.token("dispatch", binding)) as ws:
            cad = Cad(ws)
            refused = await cad.subscribe(requestSubType="single", incidentId=incident)
            assert refused["statusCode"] == 404 and "subscriptionId" not in refused
            assert (await cad.subscribe(requestSubType="new"))["statusCode"] == 200
            await report(app, incident, "A-102", "secured")
            await cad.quiet(RESEND_S * 2)
    async with cad_socket(app.url, await app.token("dispatch", "*")) as ws:
        cad = Cad(ws)
        unknown = await cad.subscribe(requestSubType="single", incidentId=str(uuid.uuid4()))
        assert unknown["statusCode"] == 404
        missing = await cad.subscribe(requestSubType="resource")
        assert missing["statusCode"] == 400 and "unitId" in missing["statusText"]


async def test_unsubscribe_and_messages_muster_does_not_take(app: App) -> None:
    async with cad_socket(app.url, await app.token("dispatch")) as ws:
        cad = Cad(ws)
        sub = (await cad.subscribe(requestSubType="new"))["subscriptionId"]
        assert (await cad.unsubscribe(sub))["statusCode"] == 200
        assert (await cad.unsubscribe(sub))["statusCode"] == 481
        await press(app)
        await cad.quiet(RESEND_S * 2)
        await cad.send({"requestForService": {"requestId": "rfs-1", "eido": {}}})
        assert (await cad.receive("response"))["response"] == {
            "requestId": "rfs-1", "statusCode": 501, "statusText": "Not implemented"}
        gateway = app.muster.gateway
        assert gateway is not None
        await gateway.stop()  # as the server stops: the subscriber is told to come back
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001


async def test_a_message_that_is_not_json_closes_the_socket(app: App) -> None:
    async with cad_socket(app.url, await app.token("dispatch")) as ws:
        await ws.send("subscribe me")
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1003


async def test_every_message_both_ways_is_a_conveyance_object_and_every_eido_valid(
        app: App, eido_dir: Path) -> None:
    sample = json.loads((eido_dir / "ws-subscribe.json").read_text(encoding="utf-8"))
    async with cad_socket(app.url, await app.token("dispatch")) as ws:
        cad = Cad(ws)
        await cad.send(sample)  # a third party's subscribe, its qualFilter and minRate too
        taken = (await cad.receive("subscribeResponse"))["subscribeResponse"]
        assert taken["requestId"] == sample["subscribe"]["requestId"]
        assert taken["statusCode"] == 200
        incident = await press(app)
        await cad.settle()
        await report(app, incident, "B-112", "needs_help")
        await cad.settle()
        single = await cad.subscribe(requestSubType="single", incidentId=incident)
        for _ in range(RESENDS + 1):
            await cad.receive("event", timeout=RESEND_S * 4)
        ended = await cad.receive("terminate", timeout=RESEND_S * 4)
        await cad.send({"terminateResponse": {
            "requestId": ended["terminate"]["requestId"],
            "subscriptionId": single["subscriptionId"], "statusCode": 200, "statusText": "OK"}})
        assert (await cad.subscribe(requestSubType="single", incidentId="x"))["statusCode"] == 404
        await cad.unsubscribe(taken["subscriptionId"])
        await cad.send({"requestForService": {"requestId": "rfs-1", "eido": {}}})
        await cad.receive("response")
    assert {next(iter(m)) for m in cad.received} == {
        "subscribeResponse", "event", "terminate", "unsubscribeResponse", "response"}
    assert {next(iter(m)) for m in cad.sent} >= {
        "subscribe", "eventResponse", "terminateResponse", "unsubscribe"}
    # The push message sent to draw a 501 is no subscriber message: it is left out.
    for message in [*(m for m in cad.sent if "requestForService" not in m), *cad.received]:
        assert conveyance_errors(eido_dir, message) == [], message
    docs = [d for m in cad.received if "event" in m for d in m["event"]["notification"]]
    assert docs
    for doc in docs:
        for name in SCHEMAS:
            assert errors(eido_dir, name, doc) == [], (name, doc["$id"])
    # Not vacuous: a notify without its subscription, or an answer without a status, fails.
    assert conveyance_errors(eido_dir, {"event": {"transactionId": "t"}})
    assert conveyance_errors(eido_dir, {"subscribeResponse": {"requestId": "r"}})

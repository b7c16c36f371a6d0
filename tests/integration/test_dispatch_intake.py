"""`POST /v1/dispatch/eido` over real HTTP, NATS and PostgreSQL: a CAD's EIDO snapshots matched to a
school, written once each, refused (and nothing written) when malformed, too large, unmatched or
outside the token's dispatch area; a 911 call heard first by the command channels."""

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import aiohttp
import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from command.domain import events as e
from command.domain.site import Channel
from command.domain.site_dispatch import Address, Dispatch
from command.infra import auth
from tests.conftest import App, Sink, small_site
from tests.eido_docs import TRACKING, body, eido, pidf, unit

PATH = "/v1/dispatch/eido"
T = TypeVar("T")
T1, T2, T3 = ("2026-03-12T10:13:00.000-05:00", "2026-03-12T10:16:30.000-05:00",
              "2026-03-12T10:21:45.000-05:00")
LINCOLN = Dispatch(ids=["CADPREMISE-88231"], area="anytown-pd", lat=41.88, lon=-87.63,
                   address=Address(hno="1200", rd="Lincoln", sts="Avenue", a3="Anytown"))


async def configure(app: App, channels: list[Channel] | None = None) -> None:
    """test-high as Lincoln's premise in the anytown-pd area; other-school elsewhere."""
    await app.muster.import_site(msgspec.structs.replace(
        small_site(), dispatch=LINCOLN, channels=channels or []))
    await app.muster.import_site(msgspec.structs.replace(
        small_site("other-school"), name="Other School", dispatch=Dispatch(
            ids=["CADPREMISE-1"], area="othertown-pd", lat=40.0, lon=-80.0)))


async def post(app: App, payload: bytes, token: str) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as http, http.post(
            app.url + PATH, data=payload, headers={"Authorization": f"Bearer {token}",
                                                   "Content-Type": "application/json"}) as resp:
        return resp.status, await resp.json()


async def dispatch_events(app: App) -> list[e.DispatchUpdated]:
    return [ev async for _, ev in app.log.read(1) if isinstance(ev, e.DispatchUpdated)]


async def test_a_malformed_document_is_a_400_naming_its_path_and_writes_nothing(app: App) -> None:
    await configure(app)
    token, last = await app.token("dispatch", "*"), await app.log.last_seq()
    status, answer = await post(app, b"{not json", token)
    assert status == 400 and answer["error"]["field"] == "$"
    doc = eido(T1)
    doc["incidentComponent"]["incidentCommonPriorityNumber"] = "high"
    status, answer = await post(app, body(doc), token)
    assert status == 400
    assert answer["error"]["field"] == "$.incidentComponent.incidentCommonPriorityNumber"
    no_id = eido(T1)
    del no_id["$id"]
    status, answer = await post(app, body(no_id), token)
    assert (status, answer["error"]["field"]) == (400, "$.$id")
    assert await app.log.last_seq() == last


async def test_an_oversized_document_is_a_413_and_writes_nothing(app: App) -> None:
    await configure(app)
    token, last = await app.token("dispatch", "*"), await app.log.last_seq()
    status, answer = await post(app, body(eido(T1, notes=("x" * 70_000,))), token)
    assert status == 413 and answer["error"]["code"] == "too_large"
    assert await app.log.last_seq() == last


async def test_no_matching_site_is_a_404_naming_what_was_tried(app: App) -> None:
    await configure(app)
    token, last = await app.token("dispatch", "*"), await app.log.last_seq()
    far = pidf("Nowhere Elementary", hno="9", rd="Elm", sts="Street", a3="Elsewhere",
               point=(10.0, 10.0))
    status, answer = await post(app, body(eido(T1, premise="CADPREMISE-404", location=far)),
                                token)
    assert status == 404
    message = answer["error"]["message"]
    for tried in ("CADPREMISE-404", "Nowhere Elementary", "9 Elm Street", "10"):
        assert tried in message, message
    assert await app.log.last_seq() == last


async def test_each_snapshot_writes_once_in_order_and_never_an_older_one(app: App) -> None:
    await configure(app)
    token = await app.token("dispatch", "test-high")
    status, first = await post(app, body(eido(T1)), token)
    assert status == 202 and not first["duplicate"] and first["incident_id"]
    last = await app.log.last_seq()
    status, again = await post(app, body(eido(T1)), token)  # the CAD resends it
    assert status == 202 and again["duplicate"]
    assert (again["incident_id"], again["seq"]) == (first["incident_id"], first["seq"])
    assert await app.log.last_seq() == last
    en_route = eido(T3, status=("ResourcesEnroute",), units=(unit(
        "4A15", "Dispatched", "EnRoute", eta="2026-03-12T10:24:00.000-05:00"),),
        notes=("Handgun seen in a backpack, east wing near gym.",))
    status, newer = await post(app, body(en_route), token)
    assert status == 202 and not newer["duplicate"]
    assert newer["incident_id"] == first["incident_id"]
    last = await app.log.last_seq()
    status, older = await post(app, body(eido(T2, status=("ResourcesAssigned",))), token)
    assert status == 202 and older["duplicate"]  # out of order: the newer one stands
    assert await app.log.last_seq() == last
    updates = await dispatch_events(app)
    assert [u.incident_id for u in updates] == [first["incident_id"]] * len(updates)
    latest = updates[-1].data
    assert (latest.status, latest.cad_id) == ("ResourcesEnroute", "CAD-2026-004211")
    assert [(u["id"], u["status"]) for u in latest.units] == [
        ("unit4a15@pd.anytown.example.gov", "en_route")]
    assert latest.notes == ["Handgun seen in a backpack, east wing near gym."]


async def test_matched_by_address_or_geofence_without_a_premise_id(app: App) -> None:
    await configure(app)
    token = await app.token("dispatch", "*")
    by_address = eido(T1, premise=None, location=pidf(point=None))
    status, answer = await post(app, body(by_address), token)
    assert status == 202 and answer["incident_id"]
    nearby = pidf(hno="1", rd="Unknown", sts="Road", a3="Nowhere", point=(41.881, -87.6301))
    status, again = await post(app, body(eido(T2, premise=None, location=nearby)), token)
    assert status == 202 and again["incident_id"] == answer["incident_id"]


async def test_an_area_token_sends_for_its_area_only(app: App) -> None:
    await configure(app)
    last = await app.log.last_seq()
    elsewhere = await app.token("dispatch", "area:othertown-pd")
    status, answer = await post(app, body(eido(T1)), elsewhere)
    assert status == 403 and "dispatch area" in answer["error"]["message"]
    status, _ = await post(app, body(eido(T1)), await app.token("dispatch", "other-school"))
    assert status == 403
    status, _ = await post(app, body(eido(T1)), await app.token("responder", "*"))
    assert status == 403
    assert await app.log.last_seq() == last
    status, answer = await post(app, body(eido(T1)), await app.token("dispatch",
                                                                      "area:anytown-pd"))
    assert status == 202 and not answer["duplicate"]
    assert app.muster.pool is not None
    for role, site in (("responder", "area:anytown-pd"), ("dispatch", "area:")):
        with pytest.raises(ValueError, match="dispatch area"):  # never a token of no use
            await auth.create(app.muster.pool, role, site)


async def test_a_911_call_reaches_the_command_channel_not_the_on_site_one(app: App,
                                                                       sink: Sink) -> None:
    await configure(app, [Channel(name="principal", url=sink.url("principal"),
                                  audience="command"),
                          Channel(name="staff", url=sink.url("staff"))])
    status, answer = await post(app, body(eido(T1, kind="ACTSHOOT")),
                                await app.token("dispatch", "area:anytown-pd"))
    assert status == 202
    await sink.wait_for(1, "principal")
    [heard] = sink.to("principal")
    assert heard["title"] == "911 — Test High"
    assert heard["message"].startswith("911 reports armed intruder")
    assert "Test High" in heard["message"]
    # A person's press is then heard by all: on the staff channel it is the first message.
    async with aiohttp.ClientSession() as http, http.post(
            app.url + "/v1/sites/test-high/alerts", json={"kind": "lockdown", "room": "GYM"},
            headers={"Authorization": f"Bearer {await app.token('staff')}"}) as resp:
        assert resp.status == 202 and (await resp.json())["incident_id"] == answer["incident_id"]
    await sink.wait_for(1, "staff")
    await sink.wait_for(2, "principal")
    assert [m["title"] for m in sink.to("staff")] == ["[EXTREME] LOCKDOWN — Test High"]


# Where a generated snapshot says the incident is: each way a site is found, for each site, or
# nowhere. Only test-high is in the anytown-pd area.
PLACES: dict[str, tuple[str | None, dict[str, Any]]] = {
    "test-high by premise": ("test-high", {"premise": "CADPREMISE-88231"}),
    "test-high by name": ("test-high", {"premise": None, "location": pidf(
        "TEST HIGH", hno="5", rd="X", point=None)}),
    "test-high by address": ("test-high", {"premise": None, "location": pidf(point=None)}),
    "test-high by point": ("test-high", {"premise": None, "location": pidf(
        hno="5", rd="X", point=(41.8805, -87.6305))}),
    "other-school by premise": ("other-school", {"premise": "cadpremise-1"}),
    "other-school by name": ("other-school", {"premise": None, "location": pidf(
        "Other School", hno="5", rd="X", point=None)}),
    "other-school by point": ("other-school", {"premise": None, "location": pidf(
        hno="5", rd="X", point=(40.001, -80.0))}),
    "nowhere": (None, {"premise": "CADPREMISE-0", "location": pidf(
        hno="5", rd="X", point=(0.0, 0.0))}),
}


async def test_no_snapshot_for_a_site_outside_the_area_writes_anything(app: App) -> None:
    """Property: whatever the order, the place and the time of a run of snapshots, an area
    token's snapshot for a site outside its area, or for no site, writes nothing (403, 404),
    and one for a site in its area is accepted."""
    await configure(app)
    token = await app.token("dispatch", "area:anytown-pd")
    loop = asyncio.get_running_loop()

    def drive(coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, loop).result(30)

    failures: list[str] = []

    @settings(max_examples=12, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(st.lists(st.tuples(st.sampled_from(sorted(PLACES)), st.integers(0, 3),
                              st.sampled_from(["Active", "ResourcesEnroute", "Closed"])),
                    min_size=1, max_size=5))
    def run(sends: list[tuple[str, int, str]]) -> None:
        for place, minute, status in sends:
            site, where = PLACES[place]
            doc = eido(f"2026-03-12T10:1{minute}:00.000-05:00", status=(status,),
                       tracking=f"{TRACKING}-{place}", **where)
            before = drive(app.log.last_seq())
            code, answer = drive(post(app, body(doc), token))
            after = drive(app.log.last_seq())
            wanted = 202 if site == "test-high" else 403 if site else 404
            if code != wanted or (code != 202 and after != before):
                failures.append(f"{place} {status}: {code} {answer}, seq {before} -> {after}")

    await asyncio.to_thread(run)
    assert not failures, failures

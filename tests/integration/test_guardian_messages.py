"""Guardian messages through real Apprise to the local sink, on real NATS and PostgreSQL: the
exact words (DRILL in a drill), batches at the site's rate, never a restricted adult, each batch
recorded as GuardianMessagesSent with counts only, and nothing sent again after a restart."""

import asyncio
import itertools
from collections.abc import AsyncIterator

import aiohttp
import msgspec
import pytest
from msgspec.structs import replace

from command.domain import commands as c
from command.domain import events as e
from command.domain.site import EvacuationSite, GuardianContact, GuardianMessages, Site
from command.infra.eventlog import EventLog
from tests.conftest import App, Sink, small_site
from tests.integration.test_demo_lockdown import call
from tests.integration.test_notifier import BOSS, Rig, running

TEXT = "Reunification for Test High is at St. Mark's Church; bring photo ID"
PER_MINUTE = 120  # a message every 0.5 s


def with_contacts(sink: Sink) -> Site:
    """Each student's guardian with a phone; Ada's restricted father listed as a contact too."""
    people = []
    for i, p in enumerate(small_site().people):
        if p.kind == "student":
            contacts = [GuardianContact(name=p.guardians[0], phone=f"+1555010{i}")]
            if p.restricted:
                contacts.append(GuardianContact(name=p.restricted[0], phone="+15550199"))
            p = replace(p, contacts=contacts)
        people.append(p)
    return replace(small_site(), people=people, evacuation_sites=[EvacuationSite(
        id="st-marks", name="St. Mark's Church", kind="reunification")],
        guardian_messages=GuardianMessages(
            sms=f"json://127.0.0.1:{sink.port}/sms/{{phone}}", modes=["live", "drill"],
            batch=2, per_minute=PER_MINUTE))


@pytest.fixture
async def rig(eventlog: EventLog, database_url: str, sink: Sink) -> AsyncIterator[Rig]:
    async with running(eventlog, database_url, sink, []) as rig:
        await rig.intake.execute("test-high", c.ConfigureSite(site=with_contacts(sink)), e.SYSTEM)
        yield rig


def phones(sink: Sink) -> list[str]:
    return [p.removeprefix("/sms/") for p, _, _ in sink.posts]


async def test_batches_at_the_rate_never_restricted_recorded_and_never_resent(
        rig: Rig, sink: Sink) -> None:
    iid = await rig.run(c.RaiseAlert(kind="fire", room="B-112"), BOSS)
    await rig.run(c.MessageGuardians(place="st-marks"), BOSS, incident_id=iid or "")
    [first] = await rig.wait_events(e.GuardianMessagesSent, 1)
    assert (first.data.batch, first.data.sent, first.data.skipped) == (1, 2, 1)
    await rig.stop()  # mid-way: batches 2 and 3 are still to go
    restarted = asyncio.get_running_loop().time()
    await rig.start()
    sent = await rig.wait_events(e.GuardianMessagesSent, 3)
    await sink.wait_for(6)
    assert sorted((ev.data.batch, ev.data.sent, ev.data.failed) for ev in sent) == [
        (1, 2, 0), (2, 2, 0), (3, 2, 0)]
    got = phones(sink)
    assert sorted(set(got)) == [f"+1555010{i}" for i in range(6)]
    assert "+15550199" not in got  # the restricted adult, never
    assert got[:2] == ["+15550100", "+15550101"] and got.count("+15550100") == 1
    assert got.count("+15550101") == 1  # the first batch was recorded: not sent again
    assert {body["message"] for _, body, _ in sink.posts} == {TEXT}
    times = [at for _, _, at in sink.posts]
    for run in ([t for t in times if t < restarted], [t for t in times if t > restarted]):
        # the rate holds within one notifier's run (a restart starts its own count)
        assert all(b - a >= 60 / PER_MINUTE - 0.05 for a, b in itertools.pairwise(run)), times
    for ev in sent:  # counts only, never an address
        assert "+1555" not in msgspec.json.encode(ev).decode()
    [request] = await rig.events(e.GuardianMessagesRequested)
    assert request.data.text == TEXT and {ev.data.request_id for ev in sent} == {request.id}

    posted = len(sink.posts)
    await rig.stop()
    await rig.start()
    await asyncio.sleep(1.5)
    assert len(sink.posts) == posted  # a restart after the last batch sends nothing
    assert len(await rig.events(e.GuardianMessagesSent)) == 3


async def test_a_drill_says_drill(rig: Rig, sink: Sink) -> None:
    iid = await rig.run(c.StartDrill(scenario="fire"), BOSS)
    await rig.run(c.MessageGuardians(place="st-marks"), BOSS, incident_id=iid or "")
    await sink.wait_for(6)
    assert {body["message"] for _, body, _ in sink.posts} == {"DRILL — " + TEXT}
    sent = await rig.wait_events(e.GuardianMessagesSent, 3)
    assert {ev.mode for ev in sent} == {"drill"}


async def test_over_http_a_commander_asks_and_muster_sends(app: App, sink: Sink) -> None:
    await app.muster.import_site(with_contacts(sink))
    async with aiohttp.ClientSession() as http:
        status, press = await call(http, app, "/v1/sites/test-high/alerts",
                                   await app.token("device"), {"kind": "fire", "room": "GYM"})
        assert status == 202
        path = f"/v1/incidents/{press['incident_id']}/reunification/guardian-messages"
        status, _ = await call(http, app, path, await app.token("staff"), {})
        assert status == 403
        status, _ = await call(http, app, path, await app.token("commander"), {"place": "x"})
        assert status == 202
    await sink.wait_for(6)
    assert {body["message"] for _, body, _ in sink.posts} == {
        "Reunification for Test High is at x; bring photo ID"}


async def test_a_restriction_imported_after_the_request_stops_the_rest(
        rig: Rig, sink: Sink) -> None:
    """A custody order against Mary Murray (s-3's guardian, in batch 2) is imported after the
    request, while the notifier is down: once back, it never messages her; batch 2 counts her
    as skipped."""
    iid = await rig.run(c.RaiseAlert(kind="fire", room="B-112"), BOSS)
    await rig.run(c.MessageGuardians(place="st-marks"), BOSS, incident_id=iid or "")
    await rig.wait_events(e.GuardianMessagesSent, 1)
    await rig.stop()
    people = [replace(p, guardians=[], restricted=["Mary Murray"], contacts=[])
              if p.id == "s-3" else p for p in with_contacts(sink).people]
    await rig.run(c.ImportRoster(people=people, restrictions=True), BOSS)
    await rig.start()
    sent = await rig.wait_events(e.GuardianMessagesSent, 3)
    await sink.wait_for(5)
    await asyncio.sleep(0.6)  # a sixth message would have come by now
    assert sorted((ev.data.batch, ev.data.sent, ev.data.skipped) for ev in sent) == [
        (1, 2, 1), (2, 1, 1), (3, 2, 0)]
    assert "+15550102" not in phones(sink) and len(phones(sink)) == 5

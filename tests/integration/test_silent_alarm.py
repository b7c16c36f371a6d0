"""A silent alarm through the real notifier and Apprise to a local sink: responders hear it,
all staff do not, not even by escalation, until a commander declares a protocol. A channel's
roles decide whether a message may carry a student's name."""

import asyncio
from collections.abc import AsyncIterator

import pytest

from command.domain import commands as c
from command.domain import events as e
from command.domain.site import Channel
from command.infra.eventlog import EventLog
from tests.conftest import Sink
from tests.integration.test_notifier import BOSS, Rig, running

DEVICE = e.Actor(kind="device", id="button-b112", role="device")


def channels(sink: Sink) -> list[Channel]:
    live_drill = ["live", "drill"]
    care = {"handle_with_care": True, "events": ["HandleWithCareIssued"]}
    return [
        Channel(name="sro", url=sink.url("sro"), modes=live_drill, audience="responders",
                escalate_after_s=0.6, escalate_to=["staff", "district"]),
        Channel(name="district", url=sink.url("district"), modes=live_drill,
                audience="responders", events=["ProtocolDeclared"]),
        Channel(name="staff", url=sink.url("staff"), modes=live_drill),
        Channel(name="counselor", url=sink.url("counselor"), roles=["staff"], **care),
        Channel(name="liaison", url=sink.url("liaison"), roles=["responder"], **care),
    ]


@pytest.fixture
async def rig(eventlog: EventLog, database_url: str, sink: Sink) -> AsyncIterator[Rig]:
    async with running(eventlog, database_url, sink, channels(sink)) as rig:
        yield rig


async def test_a_silent_press_reaches_responders_only_until_a_commander_declares(
        rig: Rig, sink: Sink) -> None:
    inc = await rig.run(c.RaiseAlert(kind="armed_intruder", room="B-112", silent=True), DEVICE)
    await sink.wait_for(1, "sro")
    await sink.wait_for(1, "district")
    assert sink.to("sro")[0]["title"].startswith("[EXTREME] LOCKDOWN")
    # Nobody acknowledges: the SRO channel escalates, to the district and never to all staff.
    [esc] = await rig.wait_events(e.NotificationEscalated, 1)
    assert esc.data.to == ["district"]
    await sink.wait_for(2, "district")
    await asyncio.sleep(0.5)
    assert sink.to("staff") == []
    await rig.run(c.DeclareProtocol(action="lockdown"), BOSS, incident_id=inc or "")
    await sink.wait_for(1, "staff")
    [heard] = sink.to("staff")
    assert heard["title"].startswith("[EXTREME] LOCKDOWN")
    assert heard["message"].startswith("Lockdown! Locks, lights, out of sight.")


async def test_a_press_aloud_reaches_all_staff_at_once(rig: Rig, sink: Sink) -> None:
    await rig.run(c.RaiseAlert(kind="armed_intruder", room="B-112"), DEVICE)
    await sink.wait_for(1, "staff")
    await sink.wait_for(1, "sro")


async def test_a_name_goes_only_to_a_channel_whose_roles_may_read_the_roster(
        rig: Rig, sink: Sink) -> None:
    responder = e.Actor(kind="user", id="officer", role="responder")
    await rig.run(c.HandleWithCare(person_id="s-2"), responder)
    await sink.wait_for(1, "counselor")
    await sink.wait_for(1, "liaison")
    assert sink.to("counselor")[0]["message"] == "Alan Turing"
    assert "Alan Turing" not in sink.to("liaison")[0]["message"]

"""The notifier's pure rules: who hears what, in which words; drills never reach live channels."""

import asyncio
from datetime import UTC, datetime

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from command import events as e
from command.site import Channel
from consumers import alert_rules, board
from consumers.alert_rules import Delivery, deliveries
from consumers.sender import AppriseSender, DrillLeak
from tests.conftest import small_site

AT = datetime(2026, 11, 28, 17, 41, tzinfo=UTC)
EVENT_TYPES = ["AlertRaised", "ProtocolDeclared", "ProtocolLifted", "IncidentCancelled",
               "RoomStatusReported", "NoteAdded", "HandleWithCareIssued"]


def env(cls: type, data: msgspec.Struct, mode: str = "live", incident: str | None = "inc-1",
        ) -> e.Envelope:
    return cls(id=f"{cls.__name__}-1", site="test-high", incident_id=incident, mode=mode,
               occurred_at=AT, recorded_at=AT, data=data)


def state_with(chans: list[Channel], mode: str = "live", action: str = "lockdown") -> board.State:
    site = msgspec.structs.replace(small_site(), channels=chans, timezone="America/Denver")
    state = board.evolve(board.empty("test-high"), 1, env(e.SiteConfigured, site, incident=None))
    state = board.evolve(state, 2, env(e.IncidentOpened, e.IncidentOpenedData(
        kind="lockdown", room="B-112"), mode=mode))
    return board.evolve(state, 3, env(e.ProtocolDeclared, e.ProtocolDeclaredData(
        action=action), mode=mode))  # type: ignore[arg-type]


def press(kind: str = "lockdown", action: str = "lockdown", mode: str = "live") -> e.Envelope:
    return env(e.AlertRaised, e.AlertRaisedData(kind=kind, room="B-112", action=action),
               mode=mode)  # type: ignore[arg-type]


def test_lockdown_words_and_local_time() -> None:
    state = state_with([Channel(name="sro", url="json://x")])
    [d] = deliveries(state, press())
    assert d.title == "[EXTREME] LOCKDOWN — Test High"
    assert d.body == ("Lockdown! Locks, lights, out of sight. Test High, room B-112, 10:41. "
                      "Alert: lockdown.")
    assert d.level == "failure"


def test_lesser_press_during_lockdown_keeps_the_lockdown_words() -> None:
    state = state_with([Channel(name="sro", url="json://x")])
    [d] = deliveries(state, press("medical", "hold"))
    assert d.title.startswith("[EXTREME] LOCKDOWN")
    assert "lockdown remains in force" in d.body and "Hold!" not in d.body


def test_a_press_declaration_is_not_announced_twice() -> None:
    both = Channel(name="both", url="json://x", events=["AlertRaised", "ProtocolDeclared"])
    only = Channel(name="only", url="json://y", events=["ProtocolDeclared"])
    state = state_with([both, only])
    declared = env(e.ProtocolDeclared, e.ProtocolDeclaredData(action="lockdown", reason="alert"))
    assert [d.channel for d in deliveries(state, declared)] == ["only"]


def test_replay_and_notification_events_never_notify() -> None:
    state = state_with([Channel(name="sro", url="json://x", modes=["live", "drill"],
                                events=[*EVENT_TYPES, "NotificationSent"])])
    assert deliveries(state, press(mode="replay")) == []
    sent = env(e.NotificationSent, e.NotificationSentData(channel="sro", event_id="x"))
    assert deliveries(state, sent) == []


def test_false_alarm_goes_only_to_channels_alerted() -> None:
    chans = [Channel(name=n, url=f"json://{n}", events=EVENT_TYPES) for n in ("a", "b")]
    cancel = env(e.IncidentCancelled, e.IncidentCancelledData(reason="bumped"))
    out = deliveries(state_with(chans), cancel, alerted=frozenset({"b"}))
    assert [(d.channel, d.kind) for d in out] == [("b", "false_alarm")]
    assert out[0].body.startswith("FALSE ALARM — the lockdown alert at Test High")


def test_handle_with_care_carries_the_name_only() -> None:
    chans = [Channel(name="counselor", url="json://c", handle_with_care=True,
                     events=["HandleWithCareIssued"], roles=["staff"]),
             Channel(name="all", url="json://a", events=EVENT_TYPES)]
    hwc = env(e.HandleWithCareIssued, e.HandleWithCareIssuedData(person_id="s-1"),
              incident=None)
    [d] = deliveries(state_with(chans), hwc)
    assert (d.channel, d.title, d.body) == ("counselor", "Handle With Care", "Ada Lovelace")


def test_a_severe_alert_outranks_every_other_state_and_routine_records() -> None:
    """The rank a channel sends by: extreme/severe alerts, then other incident states
    (secure, all clear, false alarm), then Handle With Care, then routine records; a drill's
    lockdown never outranks a live one."""
    chans = [Channel(name="all", url="json://a", events=EVENT_TYPES, modes=["live", "drill"])]

    def rank(event: e.Envelope) -> int:
        # under a hold: a lesser press during a lockdown reads (and ranks) as the lockdown
        [d] = deliveries(state_with(chans, event.mode, "hold"), event, frozenset({"all"}))
        return d.priority

    urgent = [rank(press()), rank(press("fire", "evacuate")),
              rank(env(e.ProtocolDeclared, e.ProtocolDeclaredData(
                  action="shelter", hazard="tornado", reason="commander")))]
    states = [rank(press("medical", "hold")),
              rank(env(e.ProtocolLifted, e.ProtocolLiftedData(action="lockdown"))),
              rank(env(e.IncidentCancelled, e.IncidentCancelledData(reason="oops"))),
              rank(press(mode="drill"))]
    routine = [rank(env(e.NoteAdded, e.NoteAddedData(text="x"))),
               rank(env(e.RoomStatusReported, e.RoomStatusReportedData(room="B-112",
                                                                       status="secured")))]
    assert min(urgent) > max(states) >= min(states) > max(routine)
    assert states == [alert_rules.STATE] * 4 and set(urgent) == {alert_rules.URGENT}
    escalated = alert_rules.escalation(deliveries(state_with(chans), press())[0], chans[0], 60)
    assert escalated is not None and escalated.priority == alert_rules.URGENT


channel_sets = st.lists(
    st.builds(Channel, name=st.sampled_from(["a", "b", "c", "d", "e"]), url=st.just("json://x"),
              events=st.lists(st.sampled_from(EVENT_TYPES), unique=True),
              modes=st.lists(st.sampled_from(["live", "drill"]), unique=True),
              handle_with_care=st.booleans()),
    max_size=6, unique_by=lambda ch: ch.name)
events_strategy = st.sampled_from([
    press(), press("fire", "evacuate"), press("medical", "hold"),
    env(e.ProtocolDeclared, e.ProtocolDeclaredData(action="secure", reason="commander")),
    env(e.ProtocolLifted, e.ProtocolLiftedData(action="lockdown")),
    env(e.IncidentCancelled, e.IncidentCancelledData(reason="oops")),
    env(e.NoteAdded, e.NoteAddedData(text="x")),
    env(e.RoomStatusReported, e.RoomStatusReportedData(room="B-112", status="secured")),
    env(e.HandleWithCareIssued, e.HandleWithCareIssuedData(person_id="s-1"), incident=None),
])


@settings(max_examples=300, deadline=None)
@given(chans=channel_sets, event=events_strategy, mode=st.sampled_from(["live", "drill"]),
       alerted=st.frozensets(st.sampled_from(["a", "b", "c", "d", "e"])))
def test_drill_traffic_never_reaches_a_live_only_channel(
        chans: list[Channel], event: e.Envelope, mode: str, alerted: frozenset[str]) -> None:
    event = msgspec.structs.replace(event, mode=mode)
    state = state_with(chans, mode=mode)
    by_name = {ch.name: ch for ch in chans}
    out = deliveries(state, event, alerted)
    for d in out:
        assert d.mode == mode and mode in by_name[d.channel].modes
        if mode == "drill":
            assert d.title.startswith("DRILL — ") and d.body.startswith("DRILL — ")
        for name in by_name[d.channel].escalate_to:
            esc = alert_rules.escalation(d, by_name[name], 1) if name in by_name else None
            assert esc is None or mode in by_name[name].modes
    if mode == "drill":
        assert not {d.channel for d in out} & {c.name for c in chans if "drill" not in c.modes}


def test_the_sender_refuses_a_drill_for_a_live_only_channel() -> None:
    live_only = Channel(name="staff", url="json://127.0.0.1:9/x", modes=["live"])
    d = Delivery(channel="staff", event_id="x", site="s", incident_id="i", mode="drill",
                 kind="alert", title="DRILL — t", body="DRILL — b")
    sender = AppriseSender(workers=1, timeout=0.5)
    with pytest.raises(DrillLeak):
        asyncio.run(sender.send(live_only, d))
    sender.close()

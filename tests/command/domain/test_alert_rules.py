"""The notifier's pure rules: who hears what, in which words; drills never reach live channels."""

import asyncio
import time
from datetime import UTC, datetime

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from command.domain import alert_rules, board
from command.domain import events as e
from command.domain.alert_rules import Delivery, deliveries
from command.domain.site import AwayEvent, Bus, Channel, Directive, EvacuationSite, Location
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
              handle_with_care=st.booleans(),
              escalate_to=st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), unique=True)),
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
            if name not in by_name:
                continue
            esc = alert_rules.escalation(d, by_name[name], 1)
            # an unacknowledged drill escalates only to channels that take drills, and says so
            assert (esc is not None) == (mode in by_name[name].modes)
            if esc is not None and mode == "drill":
                assert esc.title.startswith("DRILL — ESCALATION — ")
                assert esc.body.startswith("DRILL — ESCALATION — ")
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


# --- who hears what: the rules mutation testing found unpinned (issue 15) ------------------


def lifted(reason: str, action: str = "lockdown", mode: str = "live") -> e.Envelope:
    return env(e.ProtocolLifted, e.ProtocolLiftedData(action=action, reason=reason),
               mode=mode)  # type: ignore[arg-type]


def test_an_all_clear_reaches_every_channel_that_takes_lifts() -> None:
    """Given a lockdown, when the commander gives the all clear, then every channel that takes
    ProtocolLifted hears ALL CLEAR, as good news that stands in for the incident's older
    messages; a channel that takes no lifts hears nothing."""
    chans = [Channel(name="sro", url="json://s"), Channel(name="office", url="json://o"),
             Channel(name="notes", url="json://n", events=["NoteAdded"])]
    out = deliveries(state_with(chans), lifted("all_clear"))
    assert [d.channel for d in out] == ["sro", "office"]
    for d in out:
        assert (d.kind, d.level, d.priority, d.supersedes) == (
            "alert", "success", alert_rules.STATE, True)
        assert d.title == "ALL CLEAR — Test High"
        assert d.body == "ALL CLEAR — the lockdown at Test High is lifted, 10:41."


def test_a_lift_by_a_cancel_is_said_once_by_the_false_alarm() -> None:
    """Given a lockdown, when it is cancelled, then its lift sends nothing: only the FALSE
    ALARM message (to the channels alerted) tells people, once."""
    chans = [Channel(name="sro", url="json://s", events=EVENT_TYPES)]
    assert deliveries(state_with(chans), lifted("cancel"), frozenset({"sro"})) == []
    cancel = env(e.IncidentCancelled, e.IncidentCancelledData(reason="bumped it"))
    [d] = deliveries(state_with(chans), cancel, frozenset({"sro"}))
    assert (d.kind, d.title, d.supersedes) == ("false_alarm", "FALSE ALARM — Test High", True)
    assert d.body == ("FALSE ALARM — the lockdown alert at Test High was a false alarm, 10:41. "
                      "bumped it")


def test_an_unacknowledged_alert_escalates_with_the_alerts_own_words() -> None:
    """Given a live lockdown sent to the SRO, when nobody acknowledges it within 60 s, then
    the district hears the same alert as an escalation saying how long it went unanswered."""
    sro = Channel(name="sro", url="json://s", escalate_after_s=60, escalate_to=["district"])
    district = Channel(name="district", url="json://d", events=["NoteAdded"])
    [d] = deliveries(state_with([sro, district]), press())
    esc = alert_rules.escalation(d, district, 60)
    assert esc == msgspec.structs.replace(
        d, channel="district", kind="escalation", title=f"ESCALATION — {d.title}",
        body=f"ESCALATION — no acknowledgement after 60 s: {d.body}")
    assert esc.priority == alert_rules.URGENT and esc.level == "failure"
    later = alert_rules.escalation(d, district, 90.5)
    assert later is not None and "after 90.5 s:" in later.body


def test_an_unacknowledged_drill_never_escalates_to_a_live_only_channel() -> None:
    """Given a drill lockdown sent to a channel that takes drills, when it escalates, then a
    live-only target gets nothing, and a target that takes drills gets it marked DRILL once."""
    sro = Channel(name="sro", url="json://s", modes=["live", "drill"],
                  escalate_to=["police", "district"])
    police = Channel(name="police", url="json://p", events=["NoteAdded"])  # live only
    district = Channel(name="district", url="json://d", events=["NoteAdded"],
                       modes=["live", "drill"])
    [d] = deliveries(state_with([sro, police, district], mode="drill"), press(mode="drill"))
    assert d.mode == "drill" and d.title.startswith("DRILL — ")
    assert alert_rules.escalation(d, police, 60) is None
    esc = alert_rules.escalation(d, district, 60)
    assert esc is not None and (esc.channel, esc.mode, esc.kind) == ("district", "drill",
                                                                      "escalation")
    assert esc.title == "DRILL — ESCALATION — " + d.title.removeprefix("DRILL — ")
    assert esc.body == ("DRILL — ESCALATION — no acknowledgement after 60 s: "
                        + d.body.removeprefix("DRILL — "))


def test_a_replayed_message_never_escalates_even_to_a_channel_that_lists_replay() -> None:
    every = Channel(name="all", url="json://a", modes=["live", "drill", "replay"])
    d = Delivery(channel="sro", event_id="x", site="s", incident_id="i", mode="replay",
                 kind="alert", title="t", body="b")
    assert alert_rules.escalation(d, every, 60) is None
    assert deliveries(state_with([every], mode="replay"), press(mode="replay")) == []


@pytest.mark.parametrize("kind,action,title,level,rank", [
    ("armed_intruder", "lockdown", "[EXTREME] LOCKDOWN", "failure", alert_rules.URGENT),
    ("fire", "evacuate", "[SEVERE] EVACUATE", "warning", alert_rules.URGENT),
    ("weather", "shelter", "[SEVERE] SHELTER", "warning", alert_rules.URGENT),
    ("police_activity", "secure", "[MODERATE] SECURE", "info", alert_rules.STATE),
    ("medical", "hold", "[MINOR] HOLD", "info", alert_rules.STATE),
])
def test_a_first_press_says_its_severity_level_and_rank(
        kind: str, action: str, title: str, level: str, rank: int) -> None:
    """Given no protocol in force, when a press arrives, then its message's title, level and
    rank come from its own action: a Secure never reads or ranks like a Lockdown."""
    site = msgspec.structs.replace(small_site(), channels=[Channel(name="sro", url="json://x")])
    state = board.evolve(board.empty("test-high"), 1, env(e.SiteConfigured, site, incident=None))
    [d] = deliveries(state, press(kind, action))
    assert d.title == f"{title} — Test High"
    assert (d.level, d.priority, d.supersedes, d.kind) == (level, rank, False, "alert")
    assert d.body.endswith(f"Test High, room B-112, 17:41. Alert: {kind}.")


def test_an_equally_grave_press_keeps_the_protocol_in_force() -> None:
    """Given an evacuation, when a lockdown is pressed, then the message says the evacuation
    remains in force (as grave, so not replaced by a press); a second fire press reads as
    itself."""
    chans = [Channel(name="sro", url="json://x")]
    [d] = deliveries(state_with(chans, action="evacuate"), press("armed_intruder", "lockdown"))
    assert d.title == "[SEVERE] EVACUATE — Test High" and d.level == "warning"
    assert d.body == ("armed_intruder alert at Test High, room B-112, 10:41. "
                      "The evacuate remains in force.")
    [same] = deliveries(state_with(chans, action="evacuate"), press("fire", "evacuate"))
    assert same.title == "[SEVERE] EVACUATE — Test High"
    assert "remains in force" not in same.body and same.body.endswith("Alert: fire.")
    [graver] = deliveries(state_with(chans, action="hold"), press())
    assert graver.title.startswith("[EXTREME] LOCKDOWN") and "remains" not in graver.body


def test_a_commanders_declaration_names_the_incidents_room() -> None:
    chans = [Channel(name="sro", url="json://x")]
    declared = env(e.ProtocolDeclared, e.ProtocolDeclaredData(action="secure", reason="commander"))
    [d] = deliveries(state_with(chans), declared)
    assert (d.title, d.level, d.priority, d.supersedes) == (
        "[MODERATE] SECURE — Test High", "info", alert_rules.STATE, True)
    assert d.body == "Secure! Get inside. Lock outside doors. Test High, room B-112, 10:41."


def test_a_handle_with_care_channel_hears_only_notices() -> None:
    """Given a counselor channel marked handle_with_care that lists every event, then a press
    or a note never reaches it, and a notice reaches it whatever its event list says."""
    counselor = Channel(name="counselor", url="json://c", handle_with_care=True,
                        events=EVENT_TYPES, roles=["staff"])
    quiet = Channel(name="quiet", url="json://q", handle_with_care=True, events=[],
                    roles=["staff"])
    state = state_with([counselor, quiet])
    assert deliveries(state, press()) == []
    assert deliveries(state, env(e.NoteAdded, e.NoteAddedData(text="x"))) == []
    hwc = env(e.HandleWithCareIssued, e.HandleWithCareIssuedData(person_id="s-2"),
              incident=None)
    out = deliveries(state, hwc)
    assert [(d.channel, d.kind, d.priority) for d in out] == [
        ("counselor", "handle_with_care", alert_rules.NOTICE),
        ("quiet", "handle_with_care", alert_rules.NOTICE)]


def test_routine_records_are_named_by_their_type() -> None:
    chans = [Channel(name="log", url="json://l", events=EVENT_TYPES)]
    [d] = deliveries(state_with(chans), env(e.NoteAdded, e.NoteAddedData(text="x")))
    assert (d.title, d.body) == ("NoteAdded — Test High", "NoteAdded at Test High, 10:41.")
    assert (d.level, d.priority, d.supersedes) == ("info", alert_rules.ROUTINE, False)


def test_an_unknown_time_zone_tells_the_time_in_utc() -> None:
    site = msgspec.structs.replace(small_site(), timezone="Not/AZone")
    assert alert_rules.local_time(AT, site) == "17:41"
    assert alert_rules.local_time(AT, None) == "17:41"
    denver = msgspec.structs.replace(small_site(), timezone="America/Denver")
    assert alert_rules.local_time(AT, denver) == "10:41"


def test_the_newest_state_says_which_unsent_messages_it_replaces() -> None:
    d = Delivery(channel="sro", event_id="x", site="s", incident_id="i", mode="live",
                 kind="alert", title="ALL CLEAR", body="ALL CLEAR — lifted.")
    assert alert_rules.replacing(d, []) is d
    assert alert_rules.replacing(d, ["LOCKDOWN", "SECURE"]).body == (
        "ALL CLEAR — lifted.\n(This replaces earlier messages that could not be sent: "
        "LOCKDOWN; SECURE.)")


def test_a_site_without_a_file_or_a_quiet_event_sends_nothing() -> None:
    chans = [Channel(name="all", url="json://a", events=[*EVENT_TYPES, "NotificationFailed",
                                                         "NotificationEscalated"])]
    assert deliveries(board.empty("test-high"), press()) == []
    state = state_with(chans)
    for quiet in (env(e.NotificationFailed, e.NotificationFailedData(
            channel="all", event_id="x", error="boom", attempt=1)),
                  env(e.NotificationEscalated, e.NotificationEscalatedData(
                      channel="all", event_id="x", to=["b"]))):
        assert deliveries(state, quiet) == []


def planned_state(chans: list[Channel], action: str = "lockdown") -> board.State:
    """state_with at a site whose file names a fire's assembly area and a tornado's strategy."""
    state = state_with(chans, action=action)
    planned = msgspec.structs.replace(
        state.config, evacuation_sites=[EvacuationSite(id="north", name="the north field")],
        directives={"fire": Directive(evacuate_to="north"),
                    "weather": Directive(hazard="a tornado", strategy="drop, cover and hold")})
    return msgspec.structs.replace(state, config=planned)


def test_a_press_says_the_place_or_the_hazard_the_site_file_gives() -> None:
    """Given a site file naming the north field for a fire and drop, cover and hold for a
    tornado, when a fire or a weather press opens an incident, then its message says so in
    words; a press of a kind the file says nothing of says plainly that no place is given."""
    chans = [Channel(name="sro", url="json://x")]
    [fire] = deliveries(planned_state(chans, action="hold"), press("fire", "evacuate"))
    assert fire.body.startswith("Evacuate! To the north field. Test High, room B-112")
    [storm] = deliveries(planned_state(chans, action="hold"), press("weather", "shelter"))
    assert storm.body.startswith("Shelter! For a tornado, using drop, cover and hold. Test High")
    [bomb] = deliveries(planned_state(chans, action="hold"), press("bomb_threat", "evacuate"))
    assert bomb.body.startswith("Evacuate! Place not yet given. Test High")


def test_a_press_under_the_same_protocol_repeats_the_commanders_place() -> None:
    """Given an evacuation a commander sent to the gym, when another fire press arrives, then
    it tells people the gym, not the site file's default."""
    chans = [Channel(name="sro", url="json://x")]
    state = planned_state(chans, action="hold")
    state = board.evolve(state, 4, env(e.ProtocolDeclared, e.ProtocolDeclaredData(
        action="evacuate", evacuate_to="the gym", reason="commander")))
    [d] = deliveries(state, press("fire", "evacuate"))
    assert d.body.startswith("Evacuate! To the gym. Test High, room B-112")


def test_a_commanders_declaration_says_its_place_or_hazard_and_strategy() -> None:
    chans = [Channel(name="sro", url="json://x")]
    evacuate = env(e.ProtocolDeclared, e.ProtocolDeclaredData(
        action="evacuate", evacuate_to="the north field", reason="commander"))
    [d] = deliveries(state_with(chans), evacuate)
    assert d.body == "Evacuate! To the north field. Test High, room B-112, 10:41."
    shelter = env(e.ProtocolDeclared, e.ProtocolDeclaredData(
        action="shelter", hazard="a tornado", strategy="drop, cover and hold",
        reason="commander"))
    [d] = deliveries(state_with(chans), shelter)
    assert d.body == ("Shelter! For a tornado, using drop, cover and hold. "
                      "Test High, room B-112, 10:41.")


def test_an_incident_the_board_does_not_know_is_still_announced() -> None:
    """Given a board that has not folded an incident's opening (or has seen it end), when
    its declaration or cancellation comes, then people still hear it, naming the school."""
    chans = [Channel(name="sro", url="json://x", events=EVENT_TYPES)]
    state = state_with(chans)
    declared = env(e.ProtocolDeclared, e.ProtocolDeclaredData(action="secure",
                                                              reason="commander"),
                   incident="inc-unknown")
    [d] = deliveries(state, declared)
    assert d.body == "Secure! Get inside. Lock outside doors. Test High, 10:41."
    cancel = env(e.IncidentCancelled, e.IncidentCancelledData(reason="oops"),
                 incident="inc-unknown")
    [d] = deliveries(state, cancel, frozenset({"sro"}))
    assert d.body.startswith("FALSE ALARM — the alert alert at Test High was a false alarm")


def test_a_silent_press_never_hushes_an_incident_people_have_heard_of() -> None:
    """Given a protocol already declared aloud (a drill started, or a commander's lockdown),
    when a silent press joins it, then its message reaches on-site channels too."""
    on_site = Channel(name="staff", url="json://s", modes=["live", "drill"])
    quiet = env(e.AlertRaised, e.AlertRaisedData(kind="lockdown", room="B-112",
                                                 action="lockdown", silent=True))
    out = deliveries(state_with([on_site]), quiet)
    assert [(d.channel, d.silent) for d in out] == [("staff", False)]


def test_a_notice_for_someone_no_longer_on_the_roster_names_them_by_id() -> None:
    """Given a site file re-imported without the student, when a Handle With Care notice for
    them is sent, then the counselor still hears it (by the id), as information."""
    counselor = Channel(name="counselor", url="json://c", handle_with_care=True,
                        roles=["staff"])
    hwc = env(e.HandleWithCareIssued, e.HandleWithCareIssuedData(person_id="s-99"),
              incident=None)
    [d] = deliveries(state_with([counselor]), hwc)
    assert (d.title, d.body, d.level) == ("Handle With Care", "s-99", "info")
    known = env(e.HandleWithCareIssued, e.HandleWithCareIssuedData(person_id="s-1"),
                incident=None)
    [d] = deliveries(state_with([counselor]), known)
    assert (d.body, d.level) == ("Ada Lovelace", "info")


def test_an_unknown_time_zone_is_utc_never_the_servers_own(monkeypatch: pytest.MonkeyPatch,
                                                          ) -> None:
    """A server set to Tokyo time still tells a school whose zone it cannot read UTC."""
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        site = msgspec.structs.replace(small_site(), timezone="Not/AZone")
        assert alert_rules.local_time(AT, site) == "17:41"
    finally:
        monkeypatch.undo()
        time.tzset()


def test_each_delivery_names_its_event_site_and_incident() -> None:
    """The notifier records each send against the event, site and incident it came from."""
    chans = [Channel(name="sro", url="json://x", events=EVENT_TYPES)]
    [d] = deliveries(state_with(chans), press())
    assert (d.event_id, d.site, d.incident_id, d.mode) == ("AlertRaised-1", "test-high",
                                                           "inc-1", "live")
    cancel = env(e.IncidentCancelled, e.IncidentCancelledData(reason="oops"))
    [d] = deliveries(state_with(chans), cancel, frozenset({"sro"}))
    assert (d.event_id, d.incident_id, d.level, d.priority) == (
        "IncidentCancelled-1", "inc-1", "info", alert_rules.STATE)


def test_the_senders_last_check_lets_an_ordinary_live_message_through() -> None:
    """The check the sender repeats before every send (mode only, by default): an on-site
    channel that takes live messages takes a live one, never a drill or a replay one."""
    staff = Channel(name="staff", url="json://s")
    assert alert_rules.accepts(staff, "live")
    assert not alert_rules.accepts(staff, "drill") and not alert_rules.accepts(staff, "replay")
    assert not alert_rules.accepts(staff, "live", silent=True)
    sro = Channel(name="sro", url="json://r", audience="responders")
    assert alert_rules.accepts(sro, "live", silent=True)


# --- units and places (issue 21) ----------------------------------------------------------------

ROADSIDE = {"text": "Route 9 at mile 12", "lat": 41.88, "lon": -87.63}


def unit_state(kind: str, room: str, **site_changes: object) -> board.State:
    site = msgspec.structs.replace(
        small_site(), channels=[Channel(name="sro", url="json://x")], timezone="America/Denver",
        buses=[Bus(id="bus-7", name="Bus 7", riders=["s-1"])],
        away_events=[AwayEvent(id="game", name="the away game",
                               place=Location(text="Central High stadium"), people=["s-3"])],
        **site_changes)
    state = board.evolve(board.empty("test-high"), 1, env(e.SiteConfigured, site, incident=None))
    return board.evolve(state, 2, env(e.IncidentOpened, e.IncidentOpenedData(
        kind=kind, room=room, unit="bus" if room == "bus-7" else "away_event")))


def test_a_bus_press_names_the_bus_and_where_it_is() -> None:
    told = Location(**ROADSIDE)
    [d] = deliveries(unit_state("medical", "bus-7"), env(e.AlertRaised, e.AlertRaisedData(
        kind="medical", room="bus-7", action="hold", unit="bus", location=told)))
    assert "Test High, Bus 7 at Route 9 at mile 12 (41.88000, -87.63000), 10:41." in d.body
    assert "room bus-7" not in d.body


def test_an_away_event_press_names_the_event_at_its_place() -> None:
    [d] = deliveries(unit_state("lockdown", "game"), env(e.AlertRaised, e.AlertRaisedData(
        kind="lockdown", room="game", action="lockdown", unit="away_event")))
    assert "Test High, the away game at Central High stadium, 10:41." in d.body


def test_a_relocation_says_where_to_go_where_it_is_and_where_from() -> None:
    church = EvacuationSite(id="church", name="St. Mark's", off_site=True,
                            address="400 Elm Street")
    state = unit_state("fire", "game", evacuation_sites=[church])
    [d] = deliveries(state, env(e.ProtocolDeclared, e.ProtocolDeclaredData(
        action="evacuate", evacuate_to="St. Mark's", evacuation_site="church",
        reason="relocation", relocated_from="the north field",
        relocation_reason="smoke over the field")))
    assert d.body.startswith("Evacuate! To St. Mark's. Address: 400 Elm Street. Relocated from "
                             "the north field: smoke over the field. Test High, the away game")

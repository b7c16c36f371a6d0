"""Given events, when a command, then events: the pure `decide`/`evolve` core, with no I/O.

The helpers at the top (`given`, `when`, `then`, `ctx`) are also used by the board tests, so a
scenario reads the same wherever it is told.
"""

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from msgspec.structs import replace

from command.domain import commands as c
from command.domain import events as e
from command.domain.decide import decide, seal
from command.domain.errors import ErrorDoc, MusterError
from command.domain.site import Directive, EvacuationSite, Site
from command.domain.site_state import Ctx, Draft, SiteState, evolve
from tests.conftest import small_site

SITE_ID = "test-high"
T0 = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)
LIVE, DRILL = "inc-live", "inc-drill"
_ids = itertools.count(1)

DEVICE = e.Actor(kind="device", id="button-b112", role="device")
OTHER_DEVICE = e.Actor(kind="device", id="button-gym", role="device")
STAFF = e.Actor(kind="user", id="ms-frizzle", role="staff")
COMMANDER = e.Actor(kind="user", id="principal", role="commander")


def site(**changes: Any) -> Site:
    return replace(small_site(SITE_ID), **changes)


def configured(s: Site | None = None, at: float = -3600) -> e.SiteConfigured:
    return e.SiteConfigured(id=f"ev-{next(_ids)}", site=SITE_ID, occurred_at=T0 + timedelta(
        seconds=at), recorded_at=T0 + timedelta(seconds=at), data=s or site())


def ctx(actor: e.Actor = DEVICE, at: float = 0, incident: str | None = None,
        room: str | None = None, new: str = LIVE) -> Ctx:
    """The context intake builds: `at` is seconds after T0; commanders carry the flag."""
    return Ctx(site=SITE_ID, actor=actor, now=T0 + timedelta(seconds=at), incident_id=incident,
               room=room, new_incident_id=new, commander=actor.role == "commander")


def given(*events: e.Envelope) -> SiteState:
    state = SiteState()
    for event in events:
        state = evolve(state, event)  # type: ignore[arg-type]
    return state


def when(state: SiteState, cmd: c.Command, context: Ctx) -> list[Draft]:
    return decide(state, cmd, context)


def then(state: SiteState, cmd: c.Command, context: Ctx) -> tuple[SiteState, list[e.Envelope]]:
    """Decide, seal with fresh ids and fold: the next state and the events written."""
    drafts = when(state, cmd, context)
    events = seal(drafts, context, [f"ev-{next(_ids)}" for _ in drafts])
    for event in events:
        state = evolve(state, event)  # type: ignore[arg-type]
    return state, events


def run(state: SiteState, *steps: tuple[c.Command, Ctx]) -> tuple[SiteState, list[e.Envelope]]:
    """Several commands in a row, each of which must be accepted."""
    written: list[e.Envelope] = []
    for cmd, context in steps:
        state, events = then(state, cmd, context)
        written += events
    return state, written


def types(events: list[Any]) -> list[str]:
    """Tags of sealed events or of drafts."""
    return [(ev[0] if isinstance(ev, tuple) else type(ev)).__struct_config__.tag for ev in events]


def rejects(state: SiteState, cmd: c.Command, context: Ctx) -> MusterError:
    """The refusal `decide` raises; every refusal is the contract's error document, whose
    message says why (what it says is not the point of any test)."""
    with pytest.raises(MusterError) as info:
        decide(state, cmd, context)
    doc = msgspec.json.decode(msgspec.json.encode(info.value.doc()), type=ErrorDoc)
    assert doc.error.message.strip() and doc.error.code == info.value.code
    return info.value


def press(kind: str = "lockdown", room: str = "B-112", drill: bool = False) -> c.RaiseAlert:
    return c.RaiseAlert(kind=kind, room=room, drill=drill)  # type: ignore[arg-type]


def opened(kind: str = "lockdown", actor: e.Actor = DEVICE) -> SiteState:
    """A site with a live incident opened by `actor` pressing `kind` at T0."""
    return then(given(configured()), press(kind), ctx(actor))[0]


def evacuated() -> SiteState:
    """A live incident after a fire press, i.e. an evacuation with reunification ahead."""
    return opened("fire")


# --- alerts --------------------------------------------------------------------------------


def test_lockdown_press_opens_incident_raises_and_declares_at_once() -> None:
    _, events = then(given(configured()), press("lockdown"), ctx())
    assert types(events) == ["IncidentOpened", "AlertRaised", "ProtocolDeclared"]
    assert {ev.incident_id for ev in events} == {LIVE}
    assert {ev.mode for ev in events} == {"live"}
    assert {ev.actor for ev in events} == {DEVICE}
    assert events[1].data.room == "B-112" and events[1].data.action == "lockdown"
    assert events[2].data.action == "lockdown"


@pytest.mark.parametrize("kind,action", [
    ("armed_intruder", "lockdown"), ("police_activity", "secure"), ("medical", "hold"),
    ("fire", "evacuate"), ("bomb_threat", "evacuate"), ("weather", "shelter"),
    ("hazmat", "shelter"), ("hold", "hold"), ("secure", "secure"), ("evacuate", "evacuate")])
def test_each_hazard_declares_its_default_action(kind: str, action: str) -> None:
    _, events = then(given(configured()), press(kind), ctx())
    assert events[0].data.kind == kind
    assert [ev.data.action for ev in events if isinstance(ev, e.ProtocolDeclared)] == [action]


def test_site_policy_overrides_a_default() -> None:
    state = given(configured(site(policy={"medical": "secure", "upset_parent": "hold"})))
    _, events = then(state, press("medical"), ctx())
    assert events[-1].data.action == "secure"
    assert events[1].data.action == "secure"


def test_second_press_joins_the_open_incident() -> None:
    state, events = then(opened("lockdown"), press("lockdown", "GYM"), ctx(OTHER_DEVICE, at=5))
    assert types(events) == ["AlertRaised"]
    assert events[0].incident_id == LIVE and events[0].data.room == "GYM"
    assert state.open["live"].action == "lockdown"


def test_graver_press_escalates_hold_to_secure_to_lockdown() -> None:
    state = opened("medical")
    state, events = then(state, press("police_activity"), ctx(at=5, new="unused"))
    assert types(events) == ["AlertRaised", "ProtocolDeclared"]
    assert events[1].data.action == "secure" and events[1].incident_id == LIVE
    state, events = then(state, press("armed_intruder"), ctx(at=9, new="unused"))
    assert types(events) == ["AlertRaised", "ProtocolDeclared"]
    assert events[1].data.action == "lockdown"
    assert state.open["live"].action == "lockdown"


@pytest.mark.parametrize("kind", ["hold", "secure", "medical", "police_activity", "fight"])
def test_lesser_press_during_lockdown_is_recorded_never_downgrades(kind: str) -> None:
    state, events = then(opened("lockdown"), press(kind, "A-101"), ctx(STAFF, at=30))
    assert types(events) == ["AlertRaised"]
    assert state.open["live"].action == "lockdown"


def test_press_in_unknown_room_is_404_on_room() -> None:
    err = rejects(given(configured()), press("lockdown", "Z-999"), ctx())
    assert (err.code, err.field) == ("not_found", "$.room")


def test_press_at_unconfigured_site_is_404() -> None:
    assert rejects(given(), press(), ctx()).code == "not_found"


# --- drills --------------------------------------------------------------------------------


def test_start_drill_opens_a_drill_incident_in_drill_mode() -> None:
    state, events = then(given(configured()), c.StartDrill(scenario="armed_intruder"),
                         ctx(COMMANDER, new=DRILL))
    assert types(events) == ["IncidentOpened", "ProtocolDeclared"]
    assert {ev.mode for ev in events} == {"drill"}
    assert {ev.incident_id for ev in events} == {DRILL}
    assert events[1].data.action == "lockdown"
    assert state.open["drill"].id == DRILL and "live" not in state.open


def test_drill_press_joins_the_drill_incident() -> None:
    state, _ = then(given(configured()), c.StartDrill(scenario="fire"), ctx(COMMANDER, new=DRILL))
    _, events = then(state, press("fire", drill=True), ctx(at=3, new="unused"))
    assert types(events) == ["AlertRaised"]
    assert (events[0].incident_id, events[0].mode) == (DRILL, "drill")


def test_live_press_during_drill_opens_a_separate_live_incident() -> None:
    state, _ = then(given(configured()), c.StartDrill(scenario="lockdown"),
                    ctx(COMMANDER, new=DRILL))
    state, events = then(state, press("armed_intruder"), ctx(at=3, new=LIVE))
    assert types(events) == ["IncidentOpened", "AlertRaised", "ProtocolDeclared"]
    assert {(ev.incident_id, ev.mode) for ev in events} == {(LIVE, "live")}
    assert state.open["drill"].id == DRILL and state.open["live"].id == LIVE
    # Commands addressed to either incident stay in that incident's mode.
    _, note = then(state, c.AddNote(text="drill note"), ctx(STAFF, at=4, incident=DRILL))
    assert {(ev.incident_id, ev.mode) for ev in note} == {(DRILL, "drill")}
    _, note = then(state, c.AddNote(text="live note"), ctx(STAFF, at=4, incident=LIVE))
    assert {(ev.incident_id, ev.mode) for ev in note} == {(LIVE, "live")}


def test_drill_cannot_start_while_a_live_incident_is_open() -> None:
    err = rejects(opened(), c.StartDrill(scenario="fire"), ctx(COMMANDER, at=60, new=DRILL))
    assert err.code == "conflict"


def test_drill_press_cannot_open_a_drill_beside_a_live_incident() -> None:
    err = rejects(opened(), press("lockdown", drill=True), ctx(STAFF, at=60, new=DRILL))
    assert err.code == "conflict"


def test_second_drill_cannot_start_beside_a_running_drill() -> None:
    state, _ = then(given(configured()), c.StartDrill(scenario="fire"), ctx(COMMANDER, new=DRILL))
    refused = rejects(state, c.StartDrill(scenario="fire"), ctx(COMMANDER, new="d2"))
    assert refused.code == "conflict"


# --- protocol ------------------------------------------------------------------------------


def test_commander_declares_a_protocol_with_its_details() -> None:
    cmd = c.DeclareProtocol(action="evacuate", evacuate_to="Football field", zones=["east"])
    state, events = then(opened("medical"), cmd, ctx(COMMANDER, at=20, incident=LIVE))
    assert types(events) == ["ProtocolDeclared"]
    d = events[0].data
    assert (d.action, d.evacuate_to, d.zones, d.reason) == (
        "evacuate", "Football field", ["east"], "commander")
    assert state.open["live"].action == "evacuate"


@pytest.mark.parametrize("action", ["hold", "secure"])
def test_declaration_below_a_lockdown_is_409(action: str) -> None:
    err = rejects(opened("lockdown"), c.DeclareProtocol(action=action),  # type: ignore[arg-type]
                  ctx(COMMANDER, at=20, incident=LIVE))
    assert err.code == "conflict"


def test_evacuate_without_a_place_is_400_on_evacuate_to() -> None:
    err = rejects(opened("medical"), c.DeclareProtocol(action="evacuate"),
                  ctx(COMMANDER, incident=LIVE))
    assert (err.code, err.field) == ("invalid", "$.evacuate_to")


def test_shelter_without_a_hazard_is_400_on_hazard() -> None:
    err = rejects(opened("medical"), c.DeclareProtocol(action="shelter", strategy="drop"),
                  ctx(COMMANDER, incident=LIVE))
    assert (err.code, err.field) == ("invalid", "$.hazard")


def test_shelter_with_a_hazard_is_declared() -> None:
    cmd = c.DeclareProtocol(action="shelter", hazard="tornado", strategy="shelter area")
    _, events = then(opened("medical"), cmd, ctx(COMMANDER, incident=LIVE))
    assert (events[0].data.hazard, events[0].data.strategy) == ("tornado", "shelter area")


# --- all clear, close ----------------------------------------------------------------------


def test_all_clear_lifts_the_protocol() -> None:
    state, events = then(opened("lockdown"), c.AllClear(), ctx(COMMANDER, at=600, incident=LIVE))
    assert types(events) == ["ProtocolLifted"]
    assert (events[0].data.action, events[0].data.reason) == ("lockdown", "all_clear")
    assert state.open["live"].action is None


def test_all_clear_with_no_protocol_is_409() -> None:
    state, _ = then(opened(), c.AllClear(), ctx(COMMANDER, at=600, incident=LIVE))
    assert rejects(state, c.AllClear(), ctx(COMMANDER, at=601, incident=LIVE)).code == "conflict"


def test_close_while_a_protocol_is_in_force_is_409() -> None:
    assert rejects(opened(), c.Close(), ctx(COMMANDER, at=600, incident=LIVE)).code == "conflict"


def test_close_after_all_clear_ends_the_incident() -> None:
    state, events = run(opened(), (c.AllClear(), ctx(COMMANDER, at=600, incident=LIVE)),
                        (c.Close(summary="done"), ctx(COMMANDER, at=700, incident=LIVE)))
    assert types(events) == ["ProtocolLifted", "IncidentClosed"]
    assert state.open == {}


INCIDENT_COMMANDS: list[c.Command] = [
    c.DeclareProtocol(action="lockdown"), c.ReportRoomStatus(status="secured", present=3),
    c.AccountPersons(entries=[e.AccountingEntry(person_id="s-1", status="accounted")]),
    c.CheckIn(person_id="s-1"), c.CheckGuardian(guardian="Anne Byron", id_verified=True,
                                                 students=["s-1"]),
    c.Release(person_id="s-1", guardian="Anne Byron", student_consents=True),
    c.Acknowledge(responder="Officer Krupke"), c.AddNote(text="late"), c.AllClear(),
    c.Cancel(reason="oops"), c.TransferCommand(commander="Chief", agency="PD"), c.Close(),
]


@pytest.mark.parametrize("cmd", INCIDENT_COMMANDS, ids=lambda cmd: type(cmd).__name__)
def test_after_close_every_incident_command_is_409(cmd: c.Command) -> None:
    state, _ = run(evacuated(), (c.AllClear(), ctx(COMMANDER, at=600, incident=LIVE)),
                   (c.Close(), ctx(COMMANDER, at=700, incident=LIVE)))
    err = rejects(state, cmd, ctx(COMMANDER, at=800, incident=LIVE, room="B-112"))
    assert err.code == "conflict"


def test_press_after_close_opens_a_new_incident() -> None:
    state, _ = run(opened(), (c.AllClear(), ctx(COMMANDER, at=600, incident=LIVE)),
                   (c.Close(), ctx(COMMANDER, at=700, incident=LIVE)))
    _, events = then(state, press(), ctx(at=800, new="inc-2"))
    assert types(events)[0] == "IncidentOpened"
    assert {ev.incident_id for ev in events} == {"inc-2"}


# --- cancel --------------------------------------------------------------------------------


@pytest.mark.parametrize("seconds", [0, 9.9, 10])
def test_presser_cancels_within_the_window(seconds: float) -> None:
    state, events = then(opened(), c.Cancel(reason="bumped it"),
                         ctx(DEVICE, at=seconds, incident=LIVE))
    assert sorted(types(events)) == ["IncidentCancelled", "ProtocolLifted"]
    lifted = next(ev for ev in events if isinstance(ev, e.ProtocolLifted))
    assert (lifted.data.action, lifted.data.reason) == ("lockdown", "cancel")
    assert {ev.incident_id for ev in events} == {LIVE}
    assert state.open == {}


def test_presser_after_the_window_is_409() -> None:
    err = rejects(opened(), c.Cancel(reason="late"), ctx(DEVICE, at=10.5, incident=LIVE))
    assert err.code == "conflict"


def test_site_cancel_window_applies() -> None:
    state = then(given(configured(site(cancel_window_s=30))), press(), ctx())[0]
    assert then(state, c.Cancel(reason="oops"), ctx(DEVICE, at=25, incident=LIVE))[1]
    refused = rejects(state, c.Cancel(reason="oops"), ctx(DEVICE, at=31, incident=LIVE))
    assert refused.code == "conflict"


def test_someone_else_within_the_window_is_409() -> None:
    err = rejects(opened(), c.Cancel(reason="not mine"), ctx(OTHER_DEVICE, at=2, incident=LIVE))
    assert err.code == "conflict"


def test_a_token_sharing_the_pressers_name_cannot_cancel_as_the_presser() -> None:
    """The presser is the token that pressed, by its id: a name says nothing about who."""
    presser = e.Actor(kind="device", id="panic-b112", role="device", token_id=7)
    namesake = e.Actor(kind="device", id="panic-b112", role="device", token_id=8)
    state = opened(actor=presser)
    assert rejects(state, c.Cancel(reason="not mine"), ctx(namesake, at=2, incident=LIVE)
                   ).code == "conflict"
    assert "IncidentCancelled" in types(then(state, c.Cancel(reason="mine"),
                                             ctx(presser, at=2, incident=LIVE))[1])


def test_commander_cancels_any_time() -> None:
    _, events = then(opened(), c.Cancel(reason="false"), ctx(COMMANDER, at=3600, incident=LIVE))
    assert "IncidentCancelled" in types(events)


def test_cancel_of_a_drill_stays_in_drill_mode() -> None:
    state, _ = then(given(configured()), c.StartDrill(scenario="fire"), ctx(COMMANDER, new=DRILL))
    state, events = then(state, c.Cancel(reason="rain"), ctx(COMMANDER, at=60, incident=DRILL))
    assert {(ev.incident_id, ev.mode) for ev in events} == {(DRILL, "drill")}
    assert state.open == {}


# --- staff steps and reunification scenarios, shared with test_reunification_rules.py -------


def guardian(name: str, *students: str, verified: bool = True) -> c.CheckGuardian:
    return c.CheckGuardian(guardian=name, id_verified=verified, students=list(students))


def release(pid: str = "s-1", name: str = "Anne Byron", consents: bool = True) -> c.Release:
    return c.Release(person_id=pid, guardian=name, student_consents=consents)


def step(cmd: c.Command, at: float = 100) -> tuple[c.Command, Ctx]:
    return cmd, ctx(STAFF, at=at, incident=LIVE)


def everyone_accounted() -> tuple[c.AccountPersons, Ctx]:
    """Accounting complete: every person on the roster accounted for, by name."""
    return step(c.AccountPersons(entries=[e.AccountingEntry(person_id=p.id, status="accounted")
                                          for p in site().people]))


def ready_to_release() -> SiteState:
    """Accounting complete, s-1 checked in and Anne Byron checked and approved for s-1."""
    return run(evacuated(), everyone_accounted(), step(c.CheckIn(person_id="s-1", area="Field")),
               step(guardian("Anne Byron", "s-1")))[0]


# --- accountability and room reports -------------------------------------------------------


def test_accountability_is_recorded() -> None:
    entries = [e.AccountingEntry(person_id="s-1", status="accounted", location="Field"),
               e.AccountingEntry(person_id="s-2", status="missing")]
    _, events = then(evacuated(), *step(c.AccountPersons(entries=entries)))
    assert types(events) == ["PersonsAccounted"] and events[0].data.entries == entries


def test_accountability_with_unknown_person_is_404_naming_the_entry() -> None:
    entries = [e.AccountingEntry(person_id="s-1", status="accounted"),
               e.AccountingEntry(person_id="ghost", status="missing")]
    err = rejects(evacuated(), *step(c.AccountPersons(entries=entries)))
    assert (err.code, err.field) == ("not_found", "$.entries[1].person_id")


def test_reunified_through_accountability_without_release_is_409() -> None:
    entries = [e.AccountingEntry(person_id="s-1", status="reunified")]
    state = ready_to_release()
    assert rejects(state, *step(c.AccountPersons(entries=entries))).code == "conflict"
    state = then(state, *step(release()))[0]
    assert types(then(state, *step(c.AccountPersons(entries=entries)))[1]) == ["PersonsAccounted"]


def test_empty_accountability_is_400() -> None:
    assert rejects(evacuated(), *step(c.AccountPersons(entries=[]))).code == "invalid"


def test_room_report_is_recorded_for_the_route_room() -> None:
    cmd = c.ReportRoomStatus(status="needs_help", present=1, missing=["s-2"], injured=["s-1"])
    _, events = then(opened(), cmd, ctx(STAFF, at=40, incident=LIVE, room="B-112"))
    assert types(events) == ["RoomStatusReported"]
    assert (events[0].data.room, events[0].data.missing, events[0].data.injured) == (
        "B-112", ["s-2"], ["s-1"])


def test_room_report_for_unknown_room_or_person_is_404() -> None:
    cmd = c.ReportRoomStatus(status="secured")
    assert rejects(opened(), cmd, ctx(STAFF, incident=LIVE, room="Z-9")).code == "not_found"
    err = rejects(opened(), c.ReportRoomStatus(status="secured", extra=["s-3", "ghost"]),
                  ctx(STAFF, incident=LIVE, room="B-112"))
    assert (err.code, err.field) == ("not_found", "$.extra[1]")


# --- the rest ------------------------------------------------------------------------------


def test_ack_note_and_transfer_are_recorded_in_the_incident() -> None:
    _, events = run(opened(),
                    (c.Acknowledge(responder="Unit 12"), ctx(COMMANDER, at=30, incident=LIVE)),
                    (c.AddNote(text="suspect seen in B wing"), ctx(STAFF, at=31, incident=LIVE)),
                    (c.TransferCommand(commander="Lt. Diaz", agency="Police"),
                     ctx(COMMANDER, at=32, incident=LIVE)))
    assert types(events) == ["ResponderAcknowledged", "NoteAdded", "CommandTransferred"]
    assert {(ev.incident_id, ev.mode) for ev in events} == {(LIVE, "live")}


def test_handle_with_care_belongs_to_no_incident() -> None:
    _, events = then(opened(), c.HandleWithCare(person_id="s-3"), ctx(STAFF))
    assert types(events) == ["HandleWithCareIssued"] and events[0].incident_id is None


def test_site_import_must_match_the_site() -> None:
    _, events = then(SiteState(), c.ConfigureSite(site=site()), ctx(COMMANDER))
    assert types(events) == ["SiteConfigured"]
    err = rejects(SiteState(), c.ConfigureSite(site=small_site("elsewhere")), ctx(COMMANDER))
    assert (err.code, err.field) == ("invalid", "$.id")


def test_seal_stamps_actor_time_and_ids() -> None:
    context = ctx(STAFF, at=12)
    drafts = when(given(configured()), press(), context)
    events = seal(drafts, context, ["a", "b", "c"])
    assert [ev.id for ev in events] == ["a", "b", "c"]
    assert {(ev.site, ev.actor, ev.occurred_at, ev.recorded_at) for ev in events} == {
        (SITE_ID, STAFF, T0 + timedelta(seconds=12), T0 + timedelta(seconds=12))}
    with pytest.raises(ValueError):
        seal(drafts, context, ["a"])


# --- rules mutation testing found unpinned (issue 15) --------------------------------------


@pytest.mark.parametrize("cmd", [
    c.DeclareProtocol(action="evacuate", evacuate_to="the north field"),
    c.DeclareProtocol(action="shelter", hazard="a chemical spill", strategy="seal the room"),
    c.DeclareProtocol(action="lockdown", zones=["east"]),
], ids=lambda cmd: cmd.action)
def test_a_lockdown_may_become_an_evacuation_or_a_shelter(cmd: c.DeclareProtocol) -> None:
    """Given a lockdown, when a fire (or a spill) means everyone must move, then the commander's
    evacuation or shelter is declared: only a lesser action is refused, as a downgrade."""
    state, events = then(opened("lockdown"), cmd, ctx(COMMANDER, at=60, incident=LIVE))
    assert types(events) == ["ProtocolDeclared"]
    assert (events[0].data.action, events[0].data.reason) == (cmd.action, "commander")
    assert state.open["live"].action == cmd.action


def test_only_a_lockdown_is_protected_from_a_lesser_declaration() -> None:
    """Given a secure, when the commander judges a hold enough, then the hold is declared:
    the no-downgrade rule is the lockdown's (lifted only by an all clear)."""
    state, events = then(opened("police_activity"), c.DeclareProtocol(action="hold"),
                         ctx(COMMANDER, at=60, incident=LIVE))
    assert [ev.data.action for ev in events] == ["hold"]
    assert state.open["live"].action == "hold"


def test_a_commanders_protocol_carries_its_details_as_given() -> None:
    cmd = c.DeclareProtocol(action="secure", zones=["east", "gym"])
    _, events = then(opened("medical"), cmd, ctx(COMMANDER, at=60, incident=LIVE))
    d = events[0].data
    assert (d.action, d.zones, d.reason) == ("secure", ["east", "gym"], "commander")
    assert (events[0].incident_id, events[0].mode, events[0].actor) == (LIVE, "live", COMMANDER)


def test_a_declaration_in_a_drill_stays_in_the_drill() -> None:
    state, _ = then(given(configured()), c.StartDrill(scenario="fire"), ctx(COMMANDER, new=DRILL))
    state, events = then(state, c.DeclareProtocol(action="lockdown"),
                         ctx(COMMANDER, at=30, incident=DRILL))
    assert {(ev.incident_id, ev.mode) for ev in events} == {(DRILL, "drill")}
    assert state.open["drill"].action == "lockdown"


def test_a_drill_declares_its_scenarios_action_as_a_drill() -> None:
    _, events = then(given(configured()), c.StartDrill(scenario="weather"),
                     ctx(COMMANDER, new=DRILL))
    assert events[0].data.kind == "weather" and events[0].data.scenario == "weather"
    assert (events[1].data.action, events[1].data.reason) == ("shelter", "drill")


def test_a_handle_with_care_notice_is_live_even_during_a_drill() -> None:
    """A notice about a child is real whatever drill runs: it is written live, about the
    person named, in no incident."""
    state, _ = then(given(configured()), c.StartDrill(scenario="fire"), ctx(COMMANDER, new=DRILL))
    _, events = then(state, c.HandleWithCare(person_id="s-3"), ctx(STAFF, at=5))
    assert [(ev.mode, ev.incident_id, ev.data.person_id) for ev in events] == [
        ("live", None, "s-3")]


def test_a_site_file_is_written_live_and_whole() -> None:
    s = site(cancel_window_s=30)
    _, events = then(SiteState(), c.ConfigureSite(site=s), ctx(COMMANDER))
    assert [(ev.mode, ev.incident_id, ev.data) for ev in events] == [("live", None, s)]
    state = given(*events)
    assert state.site == s and state.students == {"s-1", "s-2", "s-3", "s-4", "s-5", "s-6"}
    assert state.people == state.students | {"t-1", "t-2"}


def test_a_cancel_after_the_all_clear_lifts_nothing_twice() -> None:
    """Given a lockdown already lifted, when the commander cancels it as a false alarm, then
    only the cancellation is written: there is no protocol left to lift."""
    state, _ = then(opened(), c.AllClear(), ctx(COMMANDER, at=60, incident=LIVE))
    state, events = then(state, c.Cancel(reason="a test"), ctx(COMMANDER, at=70, incident=LIVE))
    assert types(events) == ["IncidentCancelled"] and events[0].data.reason == "a test"
    assert state.open == {}


def test_the_commanders_flag_not_the_role_name_lets_a_late_cancel_through() -> None:
    late = replace(ctx(STAFF, at=3600, incident=LIVE), commander=True)
    assert "IncidentCancelled" in types(then(opened(), c.Cancel(reason="late"), late)[1])
    assert rejects(opened(), c.Cancel(reason="late"), ctx(STAFF, at=3600, incident=LIVE)
                   ).code == "conflict"


def test_the_presser_within_the_window_is_the_same_token_and_name() -> None:
    presser = e.Actor(kind="device", id="panic-b112", role="device", token_id=7)
    same_token_other_name = e.Actor(kind="device", id="panic-gym", role="device", token_id=7)
    state = opened(actor=presser)
    assert rejects(state, c.Cancel(reason="x"), ctx(same_token_other_name, at=2, incident=LIVE)
                   ).code == "conflict"


def test_an_incidents_events_stay_with_it_after_another_opens() -> None:
    """Given a drill and a live incident open at once, then each fold step touches only the
    incident its event names: a live check-in never checks in the drill's student."""
    state, _ = then(given(configured()), c.StartDrill(scenario="fire"), ctx(COMMANDER, new=DRILL))
    state = then(state, press("fire"), ctx(at=3, new=LIVE))[0]
    state = then(state, c.CheckIn(person_id="s-2"), ctx(STAFF, at=4, incident=LIVE))[0]
    assert state.open["live"].checked_in == {"s-2"} and state.open["drill"].checked_in == set()
    stray = e.StudentCheckedIn(id="stray", site=SITE_ID, incident_id="inc-gone", mode="live",
                               occurred_at=T0, recorded_at=T0,
                               data=e.StudentCheckedInData(person_id="s-5"))
    assert evolve(state, stray) == state


def test_ending_one_incident_leaves_the_other_open() -> None:
    state, _ = then(given(configured()), c.StartDrill(scenario="fire"), ctx(COMMANDER, new=DRILL))
    state = then(state, press("fire"), ctx(at=3, new=LIVE))[0]
    state = then(state, c.Cancel(reason="drill off"), ctx(COMMANDER, at=9, incident=DRILL))[0]
    assert list(state.open) == ["live"] and state.open["live"].id == LIVE
    wrong_mode = e.IncidentClosed(id="x", site=SITE_ID, incident_id=DRILL, mode="live",
                                  occurred_at=T0, recorded_at=T0,
                                  data=e.IncidentClosedData(summary=""))
    assert evolve(state, wrong_mode) == state


def test_a_release_record_of_no_open_incident_changes_nothing() -> None:
    """Given no live incident open (it closed), when a stray release record of it is folded,
    then intake's state is unchanged: a record never reopens or touches another incident."""
    closed = run(opened(), (c.AllClear(), ctx(COMMANDER, at=600, incident=LIVE)),
                 (c.Close(), ctx(COMMANDER, at=700, incident=LIVE)))[0]
    stray = e.StudentReleased(id="stray", site=SITE_ID, incident_id=LIVE, mode="live",
                              occurred_at=T0, recorded_at=T0, data=e.StudentReleasedData(
                                  person_id="s-1", guardian="Anne Byron",
                                  student_consents=True))
    assert evolve(closed, stray) == closed
    drill_only = then(given(configured()), c.StartDrill(scenario="fire"),
                      ctx(COMMANDER, new=DRILL))[0]
    assert evolve(drill_only, stray) == drill_only


def released_once() -> SiteState:
    return then(ready_to_release(), *step(release()))[0]


@pytest.mark.parametrize("state,cmd,status,field", [
    (released_once, release(), "conflict", "$.person_id"),
    (released_once, c.CheckIn(person_id="s-1"), "conflict", "$.person_id"),
    (lambda: then(evacuated(), *step(c.CheckIn(person_id="s-2")))[0],
     c.CheckIn(person_id="s-2"), "conflict", "$.person_id"),
    (lambda: then(evacuated(), *step(guardian("Anne Byron", "s-1")))[0],
     release(), "conflict", "$.person_id"),
    (lambda: run(evacuated(), everyone_accounted(), step(c.CheckIn(person_id="s-1")))[0],
     release(), "conflict", "$.guardian"),
    (lambda: evolve(ready_to_release(), configured(site(people=[
        replace(p, guardians=[], restricted=["Anne Byron"]) if p.id == "s-1" else p
        for p in site().people]), at=90)), release(), "conflict", "$.guardian"),
    (lambda: evacuated(), c.CheckGuardian(guardian="Anne Byron", id_verified=True,
                                          students=[]), "invalid", "$.students"),
    (lambda: evacuated(), c.ReportRoomStatus(status="needs_help", missing=["s-1", "ghost"]),
     "not_found", "$.missing[1]"),
    (lambda: evacuated(), c.ReportRoomStatus(status="needs_help", injured=["ghost"]),
     "not_found", "$.injured[0]"),
    (lambda: evacuated(), c.AccountPersons(entries=[
        e.AccountingEntry(person_id="s-2", status="accounted"),
        e.AccountingEntry(person_id="s-1", status="reunified")]), "conflict",
     "$.entries[1].status"),
    (lambda: given(), c.HandleWithCare(person_id="s-1"), "not_found", "site"),
    (lambda: evacuated(), c.DeclareProtocol(action="evacuate"), "invalid", "$.evacuate_to"),
], ids=["released-twice", "checkin-after-release", "checkin-twice", "release-unchecked-in",
        "release-unapproved", "release-after-custody-order", "check-no-students",
        "missing-unknown", "injured-unknown", "reunified-unreleased", "no-site",
        "evacuate-nowhere"])
def test_each_refusal_names_the_field_at_fault(state: Any, cmd: c.Command, status: str,
                                               field: str) -> None:
    """Given a command that breaks a rule, then the refusal's code and the field it names
    tell a client what to fix (the words are for people and are not tested)."""
    err = rejects(state(), cmd, ctx(COMMANDER, at=100, incident=LIVE, room="B-112"))
    assert (err.code, err.field) == (status, field)


def test_a_press_keeps_what_the_button_said() -> None:
    """Given a silent press with a note from a known device, then the alert carries each:
    the notifier and the board decide the silence from it, the timeline shows the note."""
    cmd = c.RaiseAlert(kind="armed_intruder", room="GYM", silent=True, note="shots heard",
                       device_id="btn-gym")
    _, events = then(given(configured()), cmd, ctx())
    d = events[1].data
    assert (d.kind, d.room, d.action, d.silent, d.note, d.device_id) == (
        "armed_intruder", "GYM", "lockdown", True, "shots heard", "btn-gym")
    assert (events[0].data.kind, events[0].data.room) == ("armed_intruder", "GYM")


def test_the_records_of_an_incident_carry_what_was_said() -> None:
    _, events = run(opened(),
                    (c.Acknowledge(responder="Unit 12"), ctx(COMMANDER, at=30, incident=LIVE)),
                    (c.AddNote(text="suspect seen"), ctx(STAFF, at=31, incident=LIVE)),
                    (c.TransferCommand(commander="Lt. Diaz", agency="Police"),
                     ctx(COMMANDER, at=32, incident=LIVE)),
                    (c.AllClear(), ctx(COMMANDER, at=600, incident=LIVE)),
                    (c.Close(summary="all safe"), ctx(COMMANDER, at=700, incident=LIVE)))
    assert [msgspec.to_builtins(ev.data) for ev in events] == [
        {"responder": "Unit 12"}, {"text": "suspect seen"},
        {"commander": "Lt. Diaz", "agency": "Police"},
        {"action": "lockdown", "reason": "all_clear"}, {"summary": "all safe"}]


def planned_site() -> Site:
    """small_site with a fire's assembly area and a tornado's shelter strategy."""
    return site(evacuation_sites=[EvacuationSite(id="north", name="the north field")],
                directives={"fire": Directive(evacuate_to="north"),
                            "weather": Directive(hazard="a tornado",
                                                 strategy="drop, cover and hold")})


def declared_by_commander(kind: str, cmd: c.DeclareProtocol) -> e.ProtocolDeclaredData:
    state = then(given(configured(planned_site())), press(kind), ctx())[0]
    return then(state, cmd, ctx(COMMANDER, at=60, incident=LIVE))[1][0].data


def test_a_commanders_shelter_takes_what_it_leaves_out_from_the_incidents_kind() -> None:
    """Given a weather incident at a site whose file says a tornado, drop, cover and hold,
    when the commander declares shelter without words, then the declaration says both; with
    another hazard and no strategy, it never borrows the tornado's strategy; a hazmat
    incident, of which the file says nothing, still names its own hazard."""
    bare = declared_by_commander("weather", c.DeclareProtocol(action="shelter"))
    assert (bare.hazard, bare.strategy) == ("a tornado", "drop, cover and hold")
    other = declared_by_commander("weather", c.DeclareProtocol(action="shelter",
                                                               hazard="a gas leak"))
    assert (other.hazard, other.strategy) == ("a gas leak", None)
    hazmat = declared_by_commander("hazmat", c.DeclareProtocol(action="shelter"))
    assert hazmat.hazard == "a hazardous materials release" and hazmat.strategy is None


def test_only_an_evacuation_resolves_a_place() -> None:
    """A place given with another action is kept as written and names no evacuation site;
    an evacuation names the site's place by its id."""
    lock = declared_by_commander("lockdown", c.DeclareProtocol(action="lockdown",
                                                               evacuate_to="north"))
    assert (lock.evacuate_to, lock.evacuation_site) == ("north", None)
    out = declared_by_commander("lockdown", c.DeclareProtocol(action="evacuate",
                                                              evacuate_to="north"))
    assert (out.evacuate_to, out.evacuation_site) == ("the north field", "north")


def test_a_drill_of_a_hazard_says_the_site_files_words_for_it() -> None:
    state = given(configured(planned_site()))
    _, events = then(state, c.StartDrill(scenario="weather"), ctx(COMMANDER, new=DRILL))
    d = events[1].data
    assert (d.action, d.hazard, d.strategy, d.reason) == (
        "shelter", "a tornado", "drop, cover and hold", "drill")


def test_empty_accountability_names_the_entries() -> None:
    err = rejects(evacuated(), *step(c.AccountPersons(entries=[])))
    assert (err.code, err.field) == ("invalid", "$.entries")


def test_stray_reunification_records_of_no_open_incident_change_nothing() -> None:
    closed = run(opened(), (c.AllClear(), ctx(COMMANDER, at=600, incident=LIVE)),
                 (c.Close(), ctx(COMMANDER, at=700, incident=LIVE)))[0]
    for data, cls in ((e.StudentCheckedInData(person_id="s-1"), e.StudentCheckedIn),
                      (e.GuardianCheckedInData(guardian="Anne Byron", id_verified=True,
                                               students=["s-1"], approved=["s-1"]),
                       e.GuardianCheckedIn)):
        stray = cls(id="stray", site=SITE_ID, incident_id=LIVE, mode="live", occurred_at=T0,
                    recorded_at=T0, data=data)
        assert evolve(closed, stray) == closed


def test_a_report_for_a_room_the_site_lacks_names_the_room() -> None:
    err = rejects(opened(), c.ReportRoomStatus(status="secured"),
                  ctx(STAFF, incident=LIVE, room="Z-9"))
    assert (err.code, err.field) == ("not_found", "room")


def test_a_press_declares_as_a_press_and_says_the_site_files_place() -> None:
    """Given a site file with a fire's assembly area, when a fire press opens an incident, or
    raises a hold to an evacuation, then the declaration is the press's own (reason "alert",
    which the notifier does not announce twice) and names the place."""
    state, events = then(given(configured(planned_site())), press("fire"), ctx())
    assert (events[2].data.reason, events[2].data.evacuate_to) == ("alert", "the north field")
    state = then(given(configured(planned_site())), press("medical"), ctx())[0]
    _, events = then(state, press("fire", "GYM"), ctx(OTHER_DEVICE, at=5, new="unused"))
    assert types(events) == ["AlertRaised", "ProtocolDeclared"]
    assert (events[1].data.action, events[1].data.reason, events[1].data.evacuate_to) == (
        "evacuate", "alert", "the north field")


def test_stray_records_never_touch_an_incident_they_do_not_name() -> None:
    """Given a live incident open, a declaration or a room report naming another incident (or
    one of a mode with nothing open) changes nothing."""
    state = opened("medical")
    for incident, mode in (("inc-other", "live"), (LIVE, "drill")):
        for data, cls in ((e.ProtocolDeclaredData(action="lockdown"), e.ProtocolDeclared),
                          (e.RoomStatusReportedData(room="B-112", status="secured", present=3),
                           e.RoomStatusReported)):
            stray = cls(id="stray", site=SITE_ID, incident_id=incident, mode=mode,
                        occurred_at=T0, recorded_at=T0, data=data)
            assert evolve(state, stray) == state

"""Given events, when a tabletop command, then events: opening a tabletop on a scenario, its
injects, the ordinary incident commands on it, and a commander's sign-off of any incident."""

import pytest

from command.domain import commands as c
from command.domain import events as e
from command.domain.errors import Conflict, Invalid, NotFound
from command.domain.scenario import Inject, Scenario
from command.domain.site_state import SiteState
from tests.command.domain.test_site_state import (
    COMMANDER,
    STAFF,
    configured,
    ctx,
    given,
    opened,
    press,
    rejects,
    run,
    then,
    types,
)

TT = "inc-tabletop"
SCENARIO = Scenario(title="Intruder at dismissal", kind="armed_intruder", injects=[
    Inject(at="15:02", source="a parent on the phone", text="A man with a gun by the buses."),
    Inject(at="15:05", source="dispatch", text="Two units en route."),
])


def tabletop(state: SiteState | None = None, at: float = 0) -> tuple[SiteState, list[e.Envelope]]:
    return then(state or given(configured()), c.StartTabletop(scenario=SCENARIO),
                ctx(COMMANDER, at=at, new=TT))


def deliver(index: int = 0, text: str = "A man with a gun by the buses.") -> c.DeliverInject:
    return c.DeliverInject(index=index, text=text, at_s=120.0 * index, clock="15:02",
                           source="a parent on the phone", expect="Lockdown")


def test_a_tabletop_opens_an_incident_of_its_own_mode_with_no_protocol() -> None:
    state, events = tabletop()
    assert types(events) == ["IncidentOpened"]
    assert events[0].mode == "tabletop" and events[0].incident_id == TT
    assert events[0].data.kind == events[0].data.scenario == "armed_intruder"
    assert events[0].data.note == "Intruder at dismissal"
    assert state.open["tabletop"].action is None


def test_a_note_given_stands_in_for_the_title() -> None:
    _, events = then(given(configured()), c.StartTabletop(scenario=SCENARIO, note="staff PD"),
                     ctx(COMMANDER, new=TT))
    assert events[0].data.note == "staff PD"


@pytest.mark.parametrize("first", ["live", "drill", "tabletop"])
def test_no_tabletop_opens_beside_another_open_incident(first: str) -> None:
    if first == "tabletop":
        state = tabletop()[0]
    else:
        state = then(given(configured()), press(drill=first == "drill"), ctx())[0]
    err = rejects(state, c.StartTabletop(scenario=SCENARIO), ctx(COMMANDER, new="another"))
    assert isinstance(err, Conflict)


@pytest.mark.parametrize("how", ["start", "press"])
def test_no_drill_opens_beside_a_tabletop_but_a_real_press_does(how: str) -> None:
    state = tabletop()[0]
    drill = c.StartDrill(scenario="fire") if how == "start" else press(drill=True)
    err = rejects(state, drill, ctx(COMMANDER, new="inc-drill"))
    assert isinstance(err, Conflict) and "tabletop" in str(err)
    _, events = then(state, press(), ctx(STAFF, new="inc-live"))  # an emergency is never refused
    assert events[0].mode == "live" and types(events)[0] == "IncidentOpened"


def test_a_name_the_edge_did_not_resolve_is_an_unknown_scenario() -> None:
    err = rejects(given(configured()), c.StartTabletop(scenario="no-such"), ctx(COMMANDER))
    assert isinstance(err, Invalid) and err.field == "$.scenario"


def test_a_script_going_back_in_time_is_refused_naming_the_inject() -> None:
    back = Scenario(title="t", kind="fire", injects=[Inject(at="10:05", text="a"),
                                                     Inject(at="10:01", text="b")])
    err = rejects(given(configured()), c.StartTabletop(scenario=back), ctx(COMMANDER))
    assert isinstance(err, Invalid) and err.field == "$.scenario.injects[1].at"


def test_an_inject_is_delivered_on_the_open_tabletop() -> None:
    state, _ = tabletop()
    _, events = then(state, deliver(1, "Two units en route."), ctx(COMMANDER, at=5, incident=TT))
    assert types(events) == ["InjectDelivered"]
    assert events[0].mode == "tabletop" and events[0].incident_id == TT
    assert (events[0].data.index, events[0].data.text, events[0].data.at_s) == (
        1, "Two units en route.", 120.0)
    assert (events[0].data.clock, events[0].data.source) == ("15:02", "a parent on the phone")
    assert events[0].data.expect == "Lockdown"


def test_no_inject_on_a_drill_or_a_live_incident() -> None:
    state = then(given(configured()), press(drill=True), ctx(new="inc-drill"))[0]
    err = rejects(state, deliver(), ctx(COMMANDER, incident="inc-drill"))
    assert isinstance(err, Conflict)
    assert isinstance(rejects(opened(), deliver(), ctx(COMMANDER, incident="inc-live")), Conflict)


def test_no_inject_once_the_tabletop_is_closed() -> None:
    state, _ = run(tabletop()[0], (c.Close(), ctx(COMMANDER, at=60, incident=TT)))
    assert isinstance(rejects(state, deliver(), ctx(COMMANDER, at=61, incident=TT)), Conflict)


def test_participants_act_on_a_tabletop_through_the_ordinary_commands() -> None:
    state, _ = tabletop()
    state, events = run(
        state,
        (c.DeclareProtocol(action="lockdown"), ctx(COMMANDER, at=30, incident=TT)),
        (c.ReportRoomStatus(status="secured", present=20), ctx(STAFF, at=60, incident=TT,
                                                              room="B-112")),
        (c.AddNote(text="doors checked"), ctx(STAFF, at=70, incident=TT)),
        (c.Acknowledge(responder="SRO"), ctx(COMMANDER, at=80, incident=TT)),
        (c.AllClear(), ctx(COMMANDER, at=300, incident=TT)),
        (c.Close(summary="good discussion"), ctx(COMMANDER, at=310, incident=TT)),
    )
    assert types(events) == ["ProtocolDeclared", "RoomStatusReported", "NoteAdded",
                             "ResponderAcknowledged", "ProtocolLifted", "IncidentClosed"]
    assert {ev.mode for ev in events} == {"tabletop"}
    assert {ev.incident_id for ev in events} == {TT}
    assert state.open == {} and state.ended == {TT: "tabletop"}


def test_a_live_press_during_a_tabletop_opens_a_live_incident_of_its_own() -> None:
    state, _ = tabletop()
    state, events = then(state, press(), ctx(new="inc-real"))
    assert events[0].mode == "live" and events[0].incident_id == "inc-real"
    assert set(state.open) == {"tabletop", "live"}


# --- sign-off --------------------------------------------------------------------------------


def sign(by: str = "Dr. Reyes") -> c.SignOff:
    return c.SignOff(signed_by=by, title="Principal", note="filed with the county")


def test_an_ended_drill_is_signed_off_once_in_its_own_mode() -> None:
    state = then(given(configured()), press(drill=True), ctx(new="inc-drill"))[0]
    state, _ = run(state, (c.AllClear(), ctx(COMMANDER, at=60, incident="inc-drill")),
                   (c.Close(), ctx(COMMANDER, at=70, incident="inc-drill")))
    state, events = then(state, sign(), ctx(COMMANDER, at=900, incident="inc-drill"))
    assert types(events) == ["DrillSignedOff"] and events[0].mode == "drill"
    assert (events[0].data.signed_by, events[0].data.title) == ("Dr. Reyes", "Principal")
    err = rejects(state, sign("Someone Else"), ctx(COMMANDER, at=950, incident="inc-drill"))
    assert isinstance(err, Conflict)
    assert "Dr. Reyes" in err.message and "09:15:00" in err.message


def test_an_open_tabletop_and_a_live_incident_may_be_signed_off() -> None:
    state, _ = tabletop()
    _, events = then(state, sign(), ctx(COMMANDER, at=10, incident=TT))
    assert events[0].mode == "tabletop" and events[0].incident_id == TT
    _, events = then(opened(), sign(), ctx(COMMANDER, at=10, incident="inc-live"))
    assert events[0].mode == "live"


def test_an_unknown_incident_is_not_found() -> None:
    err = rejects(given(configured()), sign(), ctx(COMMANDER, incident="nope"))
    assert isinstance(err, NotFound)

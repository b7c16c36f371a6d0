"""A CAD's snapshot at its school: mapped to DispatchUpdated, written only when it is news, and
opening a live incident (alerting as 911's) only when none is open; never touching a protocol."""

from datetime import UTC, datetime, timedelta

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st
from msgspec.structs import replace

from command.domain import commands as c
from command.domain import events as e
from command.domain.dispatch_rules import (
    ROOM,
    incident_status,
    is_news,
    snapshot,
    staff_summary,
    timeline_text,
    unit_status,
)
from command.domain.eido_in import Eido, Unit
from command.domain.site_dispatch import Dispatch
from command.domain.site_state import SiteState, evolve
from tests.command.domain.test_board import fold
from tests.command.domain.test_site_state import (
    COMMANDER,
    LIVE,
    configured,
    ctx,
    opened,
    press,
    rejects,
    run,
    site,
    then,
    types,
)

CAD = e.Actor(kind="integration", id="pd.example.gov", role="dispatch")
T = datetime(2025, 3, 4, 9, 5, tzinfo=UTC)


def eido(at: float = 0, kind: str = "WEAPON", status: str = "Active",
         units: tuple[Unit, ...] = (), notes: tuple[str, ...] = ()) -> Eido:
    return Eido(tracking_id="urn:emergency:uid:incidentid:abc:psap", cad_id="CAD-1",
                updated_at=T + timedelta(seconds=at), type=kind, status=[status],
                units=list(units), notes=list(notes), agency="pd.example.gov", priority=9)


def receive(snap: Eido) -> c.ReceiveDispatch:
    return c.ReceiveDispatch(dispatch=snapshot(snap))


def unit(name: str, *secondary: str, primary: str = "NotAvailable") -> Unit:
    return Unit(id=f"{name}@pd", name=name, primary=primary, secondary=list(secondary))


def fresh(dispatch: Dispatch | None = None) -> SiteState:
    return evolve(SiteState(), configured(site(dispatch=dispatch)))


def test_unit_status_is_its_furthest_secondary_status() -> None:
    assert [unit_status(unit("a", *s)) for s in (
        ["Dispatched"], ["Dispatched", "EnRoute"], ["Arrived"], ["OnScene", "Cleared"],
        ["AssignmentCancelled"], [])] == [
        "dispatched", "en_route", "on_scene", "cleared", "cleared", "dispatched"]
    assert unit_status(unit("a", primary="Available")) == "available"


def test_incident_status_is_the_furthest_along() -> None:
    assert incident_status(["Active", "ResourcesOnscene", "ResourcesEnroute"], []) == \
        "ResourcesOnscene"
    assert incident_status(["Closed", "StructureCleared"], []) == "Closed"
    assert incident_status([], ["ONSCN"]) == "ONSCN"
    assert incident_status([], []) is None


def test_snapshot_maps_units_eta_notes_and_bounds_text() -> None:
    eta = T + timedelta(minutes=3)
    snap = snapshot(replace(eido(units=(replace(unit("4A15", "EnRoute"), eta=eta),)),
                            cad_id="CAD\x00-1\n", priority=11, notes=["x" * 3000, " "]))
    assert snap.units == [{"id": "4A15@pd", "name": "4A15", "status": "en_route",
                           "eta": eta.isoformat()}]
    assert (snap.cad_id, snap.priority, snap.status, snap.type) == ("CAD -1", None, "Active",
                                                                    "WEAPON")
    assert snap.notes == ["x" * 2000]
    sealed = then(fresh(), c.ReceiveDispatch(dispatch=snap), ctx(CAD))[1]
    for event in sealed:  # every event meets the schema's bounds, as intake checks
        assert e.strict(msgspec.json.encode(event)) == event


def test_news_is_a_later_update_or_a_different_content_at_the_same_time() -> None:
    first = snapshot(eido())
    assert is_news(first, None)
    assert not is_news(first, first)
    assert is_news(snapshot(eido(at=1)), first)
    assert not is_news(first, snapshot(eido(at=1)))
    other = snapshot(eido(status="ResourcesAssigned"))
    assert is_news(other, first) != is_news(first, other)  # exactly one order wins


def test_a_call_at_a_quiet_school_opens_a_live_incident_alerting_as_911() -> None:
    state, events = then(fresh(), receive(eido()), ctx(CAD))
    assert types(events) == ["IncidentOpened", "AlertRaised", "DispatchUpdated"]
    alert = events[1]
    assert isinstance(alert, e.AlertRaised) and alert.actor.kind == "integration"
    assert (alert.data.kind, alert.data.action, alert.data.room) == (
        "armed_intruder", "lockdown", ROOM)
    assert "WEAPON" in (alert.data.note or "") and "CAD-1" in (alert.data.note or "")
    assert state.open["live"].id == LIVE and state.open["live"].action is None
    assert state.dispatch["urn:emergency:uid:incidentid:abc:psap"].cad_id == "CAD-1"


def test_the_site_maps_types_and_unknown_ones_are_police_activity() -> None:
    mine = Dispatch(types={"SCH": "hold"})
    kinds = [then(fresh(mine), receive(eido(kind=k)), ctx(CAD))[1][0].data.kind
             for k in ("sch", "WEAPON")]
    assert kinds == ["hold", "police_activity"]
    assert then(fresh(), receive(eido(kind="BOMB")), ctx(CAD))[1][0].data.kind == "bomb_threat"


def test_a_site_may_ask_for_its_protocol_declared_at_once() -> None:
    state, events = then(fresh(Dispatch(declare=True)), receive(eido()), ctx(CAD))
    assert types(events) == ["IncidentOpened", "AlertRaised", "ProtocolDeclared",
                             "DispatchUpdated"]
    assert state.open["live"].action == "lockdown"


def test_an_open_incident_gets_the_dispatch_and_its_protocol_is_untouched() -> None:
    state, events = then(opened("lockdown"), receive(eido(kind="MEDICAL")), ctx(CAD))
    assert types(events) == ["DispatchUpdated"] and events[0].incident_id == LIVE
    assert state.open["live"].action == "lockdown"


def test_the_same_snapshot_twice_or_an_older_one_writes_nothing() -> None:
    state, _ = run(fresh(), (receive(eido(at=10)), ctx(CAD)))
    assert then(state, receive(eido(at=10)), ctx(CAD))[1] == []
    assert then(state, receive(eido(at=5, status="Closed")), ctx(CAD))[1] == []
    later = then(state, receive(eido(at=20, units=(unit("4A12", "EnRoute"),))), ctx(CAD))[1]
    assert types(later) == ["DispatchUpdated"] and later[0].incident_id == LIVE


def test_a_call_whose_incident_ended_is_kept_not_reopened() -> None:
    state, _ = run(fresh(), (receive(eido()), ctx(CAD)),
                   (c.Cancel(reason="handled"), ctx(COMMANDER, incident=LIVE)))
    state, events = then(state, receive(eido(at=60, status="Closed")), ctx(CAD, new="inc-2"))
    assert types(events) == ["DispatchUpdated"] and events[0].incident_id is None
    assert "live" not in state.open and state.dispatch[events[0].data.tracking_id].status == \
        "Closed"


def test_an_ended_call_never_opens_an_incident() -> None:
    state, events = then(fresh(), receive(eido(status="Cancelled")), ctx(CAD))
    assert types(events) == ["DispatchUpdated"] and state.open == {}


def test_a_dispatch_during_a_drill_opens_a_live_incident() -> None:
    state = then(fresh(), c.StartDrill(scenario="fire"), ctx(COMMANDER, new="inc-drill"))[0]
    events = then(state, receive(eido()), ctx(CAD))[1]
    assert {ev.mode for ev in events} == {"live"} and events[0].incident_id == LIVE


def test_no_tracking_id_is_refused_and_an_unknown_site_too() -> None:
    snap = replace(snapshot(eido()), tracking_id=None)
    assert rejects(fresh(), c.ReceiveDispatch(dispatch=snap), ctx(CAD)).field == "$.$id"
    assert rejects(SiteState(), receive(eido()), ctx(CAD)).code == "not_found"


def test_staff_hear_only_how_far_911_has_got() -> None:
    assert staff_summary(None) == "911 has the call"
    assert staff_summary({"units": [{"status": "dispatched"}]}) == "911 has the call"
    assert staff_summary({"units": [{"status": "en_route"}, {"status": "cleared"}]}) == \
        "Police en route"
    assert staff_summary({"units": [{"status": "en_route"}, {"status": "on_scene"}]}) == \
        "Police on scene"


STEPS = st.lists(st.tuples(
    st.integers(0, 5), st.sampled_from(["Active", "ResourcesEnroute", "ResourcesOnscene"]),
    st.sampled_from([(), ("Dispatched",), ("EnRoute",), ("OnScene",), ("Cleared",)]),
    st.sampled_from([(), ("a note",), ("another",)])), min_size=1, max_size=6)


def _final(busy: bool, snaps: list[Eido]) -> tuple[object, object]:
    """The decision state's snapshots, and the board's dispatch part, after `snaps` in turn at
    a quiet school or (`busy`) one with a lockdown on."""
    site = configured()
    written: list[e.Envelope] = [site]
    state = evolve(SiteState(), site)
    for cmd, context in [(press(), ctx())] * busy + [(receive(s), ctx(CAD)) for s in snaps]:
        state, events = then(state, cmd, context)
        written += events
    cases = fold(written).cases
    assert len(cases) == 1  # the press's incident, or the one the first snapshot opened
    return state.dispatch, [case.dispatch for case in cases.values()]


@settings(max_examples=150, deadline=None, database=None)
@given(STEPS, st.randoms(use_true_random=False), st.booleans())
def test_any_order_or_repetition_of_snapshots_leaves_the_same_state(
        steps: list[tuple[int, str, tuple[str, ...], tuple[str, ...]]], rnd: object,
        busy: bool) -> None:
    snaps = [eido(at=t, status=s, units=(unit("4A12", *u),) if u else (), notes=n)
             for t, s, u, n in steps]
    shuffled = snaps + [rnd.choice(snaps) for _ in range(3)]  # type: ignore[attr-defined]
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert _final(busy, shuffled) == _final(busy, snaps)


def test_the_timeline_line_tells_the_call_and_each_unit() -> None:
    eta = T + timedelta(minutes=4)
    snap = snapshot(eido(status="ResourcesOnscene", notes=("east wing",), units=(
        unit("4A12", "OnScene"), replace(unit("4A15", "EnRoute"), eta=eta))))
    data = msgspec.to_builtins(snap)
    assert timeline_text(data) == (
        f"dispatch CAD-1 WEAPON ResourcesOnscene, 2 units: 4A12 on scene, 4A15 en route "
        f"(ETA {eta.isoformat()}); 1 dispatcher note")
    assert timeline_text({"cad_id": "CAD-7", "units": [{"id": "E12"}]}) == \
        "dispatch CAD-7, 1 unit: E12"
    assert timeline_text({"summary": "Police en route"}) == "911: Police en route"

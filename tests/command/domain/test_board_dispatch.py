"""911's call on the board: responders, the commander and dispatch see its units with ETAs, the
CAD number and the dispatcher's notes; staff hear only how far 911 has got."""

from datetime import timedelta
from typing import Any

import msgspec

from command.domain import commands as c
from command.domain import redact
from command.domain.eido_in import Unit
from command.domain.site_state import evolve
from tests.command.domain.test_board import fold, iso, shown
from tests.command.domain.test_dispatch_rules import CAD, T, eido, receive, unit
from tests.command.domain.test_site_state import (
    DRILL,
    LIVE,
    configured,
    ctx,
    given,
    press,
    run,
)


def call(*units: Unit, status: str = "ResourcesEnroute", busy: bool = False) -> dict[str, Any]:
    """The board after a lockdown press (when `busy`) and a CAD snapshot received at T0+400 s."""
    site = configured()
    steps: list[tuple[c.Command, Any]] = [(press(), ctx())] if busy else []
    snap = msgspec.structs.replace(eido(units=units, status=status, notes=("east wing",)),
                                   type_text="Weapon on grounds")
    steps.append((receive(snap), ctx(CAD, at=400)))
    return shown([site, *run(given(site), *steps)[1]])


def test_the_board_carries_the_call_whole() -> None:
    eta = T + timedelta(minutes=4)
    board = call(unit("4A12", "OnScene"), msgspec.structs.replace(unit("4A15", "EnRoute"),
                                                                  eta=eta))
    d = board["dispatch"]
    assert (d["cad_id"], d["type"], d["type_text"], d["status"], d["priority"]) == (
        "CAD-1", "WEAPON", "Weapon on grounds", "ResourcesEnroute", 9)
    assert d["units"] == [{"id": "4A12@pd", "name": "4A12", "status": "on_scene"},
                          {"id": "4A15@pd", "name": "4A15", "status": "en_route",
                           "eta": eta.isoformat()}]
    assert d["notes"] == ["east wing"]
    assert d["updated_at"] == T.isoformat().replace("+00:00", "Z")  # the CAD's time
    assert d["updated_at"] != iso(400)
    assert board["incident"]["kind"] == "armed_intruder"


def test_a_call_joins_the_open_incident_without_touching_its_protocol() -> None:
    board = call(unit("4A12", "Dispatched"), busy=True)
    assert board["incident"]["id"] == LIVE and board["protocol"]["action"] == "lockdown"
    assert board["dispatch"]["units"][0]["status"] == "dispatched"


def test_each_role_sees_what_it_may() -> None:
    board = call(unit("4A12", "OnScene"), unit("4A15", "EnRoute"))
    for role in ("responder", "commander", "dispatch"):
        assert redact.board_view(board, role)["dispatch"] == board["dispatch"]
    assert redact.board_view(board, "staff")["dispatch"] == {"summary": "Police on scene"}
    en_route = call(unit("4A15", "EnRoute"))
    assert redact.board_view(en_route, "staff")["dispatch"] == {"summary": "Police en route"}
    assert redact.board_view(call(), "staff")["dispatch"] == {"summary": "911 has the call"}
    changed = {"dispatch": board["dispatch"]}  # an update's changed parts are redacted alike
    assert redact.board_view(changed, "staff") == {"dispatch": {"summary": "Police on scene"}}
    idle = redact.board_view({"dispatch": None}, "staff")
    assert idle == {"dispatch": None}


def test_another_open_case_is_redacted_alike() -> None:
    board = call(unit("4A12", "OnScene"))
    other = {"incident": {"id": DRILL}, "dispatch": board["dispatch"]}
    staff = redact.board_view({**board, "other_cases": [other]}, "staff")
    assert staff["other_cases"][0]["dispatch"] == {"summary": "Police on scene"}


def test_the_timeline_tells_staff_only_how_far_911_has_got() -> None:
    site = configured()
    state, events = run(given(site), (receive(eido(units=(unit("4A12", "OnScene"),))),
                                      ctx(CAD)))
    doc = msgspec.to_builtins(events[-1])
    assert doc["type"] == "DispatchUpdated"
    assert redact.event_view(doc, "staff")["data"] == {"summary": "Police on scene"}
    for role in ("responder", "commander", "dispatch"):
        assert redact.event_view(doc, role) == doc
    assert evolve(state, events[-1]).dispatch == state.dispatch


def test_a_fold_of_the_closed_calls_update_leaves_the_board_idle() -> None:
    site = configured()
    events = run(given(site), (receive(eido(status="Cancelled")), ctx(CAD)))[1]
    assert fold([site, *events]).cases == {}


def test_staff_hear_when_the_police_have_left_and_when_the_call_is_closed() -> None:
    """Once every unit has cleared, or the CAD closed the call, staff are not still told that
    911 has the call."""
    gone = redact.board_view(call(unit("4A12", "Cleared")), "staff")["dispatch"]
    assert gone == {"summary": "Police have left the scene"}
    closed = {"dispatch": {"status": "Closed", "units": []}}
    assert redact.board_view(closed, "staff") == {"dispatch": {"summary": "911 call closed"}}

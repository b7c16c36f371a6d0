"""The SRM desk's rules, given events and a command: the greeter's queue, the reunifier's fetch,
the release's card, the exceptions track and the reunification point
(`command/domain/reunification_rules.py`, `command/domain/exception_rules.py`)."""

import pytest

from command.domain import commands as c
from command.domain.exception_rules import case_id
from command.domain.reunification_rules import point_of
from command.domain.site import EvacuationSite
from command.domain.site_state import SiteState
from tests.command.domain.test_site_state import (
    COMMANDER,
    LIVE,
    STAFF,
    configured,
    ctx,
    given,
    guardian,
    press,
    ready_to_release,
    rejects,
    release,
    run,
    site,
    step,
    then,
    types,
)


def by_commander(cmd: c.Command, at: float = 100) -> tuple[c.Command, object]:
    return cmd, ctx(COMMANDER, at=at, incident=LIVE)


def hospital(pid: str = "s-1") -> c.OpenException:
    return c.OpenException(person_id=pid, kind="hospital", assigned_to="Ms Nurse",
                           hospital="St Mary's")


def with_case(state: SiteState | None = None) -> tuple[SiteState, str]:
    state, events = then(state or ready_to_release(), *step(hospital()))
    return state, events[0].data.case_id


# --- greeter -------------------------------------------------------------------------------


def test_greeting_puts_the_guardian_in_the_queue_with_a_card() -> None:
    cmd = c.GreetGuardian(guardian="Anne Byron", students=["s-1"], card="17")
    state, events = then(ready_to_release(), *step(cmd))
    assert types(events) == ["GuardianArrived"]
    assert (events[0].data.card, events[0].actor) == ("17", STAFF)
    assert state.open["live"].arrivals == {"17": "Anne Byron"}


def test_a_second_arrival_with_the_same_card_is_409_on_card() -> None:
    cmd = c.GreetGuardian(guardian="Anne Byron", students=["s-1"], card="17")
    state = then(ready_to_release(), *step(cmd))[0]
    err = rejects(state, *step(c.GreetGuardian(guardian="Sara Turing", students=["s-2"],
                                               card="17")))
    assert (err.code, err.field) == ("conflict", "$.card")


def test_arrivals_without_a_card_may_repeat() -> None:
    cmd = c.GreetGuardian(guardian="Anne Byron", students=["s-1"])
    state = then(ready_to_release(), *step(cmd))[0]
    assert types(then(state, *step(cmd))[1]) == ["GuardianArrived"]


@pytest.mark.parametrize("students,code,field", [
    ([], "invalid", "$.students"), (["s-9"], "not_found", "$.students[0]"),
    (["s-1", "t-1"], "conflict", "$.students[1]")])
def test_greeting_names_known_students(students: list[str], code: str, field: str) -> None:
    err = rejects(ready_to_release(), *step(c.GreetGuardian(guardian="A", students=students)))
    assert (err.code, err.field) == (code, field)


def test_the_guardian_check_keeps_its_card() -> None:
    _, events = then(ready_to_release(), *step(c.CheckGuardian(
        guardian="Anne Byron", id_verified=True, students=["s-1"], card="17")))
    assert events[0].data.card == "17"


# --- reunifier -----------------------------------------------------------------------------


def test_fetch_for_the_approved_guardian_then_release_with_the_card() -> None:
    state, events = then(ready_to_release(), *step(c.FetchStudent(
        person_id="s-1", guardian="Anne Byron", card="17")))
    assert types(events) == ["StudentFetched"] and "s-1" in state.open["live"].fetched
    state, events = then(state, *step(c.Release(person_id="s-1", guardian="Anne Byron",
                                                student_consents=True, card="17")))
    assert types(events) == ["StudentReleased"] and events[0].data.card == "17"


def test_a_second_fetch_is_409() -> None:
    cmd = c.FetchStudent(person_id="s-1", guardian="Anne Byron")
    state = then(ready_to_release(), *step(cmd))[0]
    assert rejects(state, *step(cmd)).field == "$.person_id"


@pytest.mark.parametrize("pid,name,field", [
    ("s-1", "Lord Byron", "$.guardian"),  # restricted: never approved
    ("s-1", "Sara Turing", "$.guardian"),  # approved for another student
    ("s-2", "Sara Turing", "$.person_id"),  # not checked in
])
def test_fetch_is_refused_naming_why(pid: str, name: str, field: str) -> None:
    state = then(ready_to_release(), *step(guardian("Sara Turing", "s-2")))[0]
    err = rejects(state, *step(c.FetchStudent(person_id=pid, guardian=name)))
    assert (err.code, err.field) == ("conflict", field)


def test_fetch_after_release_is_409() -> None:
    state = then(ready_to_release(), *step(release()))[0]
    err = rejects(state, *step(c.FetchStudent(person_id="s-1", guardian="Anne Byron")))
    assert (err.code, err.field) == ("conflict", "$.person_id")


def test_a_student_on_the_exceptions_track_is_never_fetched_nor_released() -> None:
    state, case = with_case()
    for cmd in (c.FetchStudent(person_id="s-1", guardian="Anne Byron"), release()):
        err = rejects(state, *step(cmd))
        assert (err.code, err.field) == ("conflict", "$.person_id")
        assert "exceptions track" in err.message
    state = run(state, by_commander(c.ResolveException(case_id=case, outcome="home")))[0]
    assert rejects(state, *step(release())).code == "conflict"  # resolved: still the track's


# --- exceptions track ----------------------------------------------------------------------


def test_opening_a_hospital_case_records_where_and_who_has_it() -> None:
    state, events = then(ready_to_release(), *step(hospital()))
    d = events[0].data
    assert types(events) == ["ExceptionOpened"]
    assert (d.kind, d.hospital, d.assigned_to, d.assigned_role) == (
        "hospital", "St Mary's", "Ms Nurse", "counsellor")
    assert d.case_id == case_id(LIVE, 1) and d.case_id.startswith("x-")
    assert state.open["live"].cases == {d.case_id: "s-1"}


@pytest.mark.parametrize("cmd,field", [
    (c.OpenException(person_id="s-1", kind="hospital", assigned_to="N"), "$.hospital"),
    (c.OpenException(person_id="s-1", kind="unlisted_adult", assigned_to="N"), "$.adult"),
    (c.OpenException(person_id="s-1", kind="injured", assigned_to=" "), "$.assigned_to")])
def test_a_case_missing_what_its_kind_needs_is_400_on_that_field(cmd: c.OpenException,
                                                                 field: str) -> None:
    err = rejects(ready_to_release(), *step(cmd))
    assert (err.code, err.field) == ("invalid", field)


def test_a_second_open_case_for_one_student_is_409_and_a_new_one_after_resolving() -> None:
    state, case = with_case()
    assert rejects(state, *step(hospital())).code == "conflict"
    state = run(state, by_commander(c.ResolveException(case_id=case, outcome="discharged")))[0]
    state, events = then(state, *step(c.OpenException(person_id="s-1", kind="missing",
                                                      assigned_to="Mr Admin",
                                                      assigned_role="administrator")))
    assert events[0].data.case_id == case_id(LIVE, 2) != case


def test_resolving_hands_the_student_to_a_listed_guardian() -> None:
    state, case = with_case()
    state, events = then(state, *by_commander(c.ResolveException(
        case_id=case, outcome="collected at the hospital", released_to="Anne Byron")))
    assert types(events) == ["ExceptionResolved"] and events[0].data.released_to == "Anne Byron"
    assert case in state.open["live"].resolved_cases
    again = rejects(state, *by_commander(c.ResolveException(case_id=case, outcome="x")))
    assert (again.code, again.field) == ("conflict", "$.case_id")


@pytest.mark.parametrize("adult", ["Lord Byron", "Stranger Danger"])
def test_resolving_to_a_restricted_or_unlisted_adult_is_409(adult: str) -> None:
    state, case = with_case()
    err = rejects(state, *by_commander(c.ResolveException(case_id=case, outcome="home",
                                                          released_to=adult)))
    assert (err.code, err.field) == ("conflict", "$.released_to")


def test_resolving_an_unknown_case_is_404_and_staff_may_not_resolve() -> None:
    state, case = with_case()
    err = rejects(state, *by_commander(c.ResolveException(case_id="x-00000000", outcome="o")))
    assert (err.code, err.field) == ("not_found", "$.case_id")
    assert rejects(state, *step(c.ResolveException(case_id=case, outcome="o"))).code == \
        "conflict"


# --- reunification point -------------------------------------------------------------------


PLACES = [EvacuationSite(id="field", name="the north field"),
          EvacuationSite(id="church", name="St Paul's Church", kind="reunification",
                         off_site=True, address="1 Church Rd")]


def evacuated_to(place: str) -> SiteState:
    state = then(given(configured(site(evacuation_sites=PLACES))), press("fire"), ctx())[0]
    return run(state, by_commander(c.DeclareProtocol(action="evacuate", evacuate_to=place)))[0]


def test_a_place_id_becomes_its_name_and_address_else_the_words() -> None:
    _, events = then(evacuated_to("field"), *by_commander(c.SetReunificationPoint(
        place="church")))
    d = events[0].data
    assert (d.place, d.place_id, d.address) == ("St Paul's Church", "church", "1 Church Rd")
    state, events = then(evacuated_to("field"), *by_commander(c.SetReunificationPoint(
        place="the town hall")))
    assert (events[0].data.place, events[0].data.place_id) == ("the town hall", None)
    assert point_of(state, state.open["live"]) == "the town hall"


def test_the_default_point_is_the_evacuation_site_when_it_is_a_reunification_point() -> None:
    church, field = evacuated_to("church"), evacuated_to("field")
    assert point_of(church, church.open["live"]) == "St Paul's Church"
    assert point_of(field, field.open["live"]) is None

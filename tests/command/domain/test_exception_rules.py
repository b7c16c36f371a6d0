"""The exceptions track's rules, given events and a command: a case opened with what its kind
needs, one open case per student, resolved by a commander into a listed guardian's care only
(`command/domain/exception_rules.py`)."""

import pytest

from command.domain import commands as c
from command.domain.exception_rules import case_id
from command.domain.site_state import SiteState
from tests.command.domain.test_site_state import (
    COMMANDER,
    LIVE,
    ctx,
    ready_to_release,
    rejects,
    run,
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

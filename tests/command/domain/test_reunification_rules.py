"""Reunification's rules, given events and a command: check-in, the greeter's queue and its
cards, the guardian check, the reunifier's fetch, the controlled release (never for a student on
the exceptions track), the refusal written yet answered and the reunification point
(`command/domain/reunification_rules.py`).

The scenario helpers are the decision tests' own, so a scenario reads the same in both files.
"""

import pytest
from msgspec.structs import replace

from command.domain import commands as c
from command.domain import events as e
from command.domain.reunification_rules import point_of, refused_though_written
from command.domain.site import EvacuationSite
from command.domain.site_state import SiteState, evolve
from tests.command.domain.test_exception_rules import by_commander, with_case
from tests.command.domain.test_site_state import (
    COMMANDER,
    DRILL,
    LIVE,
    STAFF,
    configured,
    ctx,
    evacuated,
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


def test_release_after_checkin_to_an_approved_guardian() -> None:
    state, events = then(ready_to_release(), *step(release()))
    assert types(events) == ["StudentReleased"]
    assert (events[0].data.person_id, events[0].data.guardian) == ("s-1", "Anne Byron")
    assert "s-1" in state.open["live"].released


def test_listed_guardian_check_is_approved() -> None:
    _, events = then(evacuated(), *step(guardian("Anne Byron", "s-1")))
    assert (events[0].data.approved, events[0].data.flags) == (["s-1"], [])


def test_release_without_checkin_is_409() -> None:
    state = then(evacuated(), *step(guardian("Anne Byron", "s-1")))[0]
    assert rejects(state, *step(release())).code == "conflict"


def test_release_to_an_unchecked_guardian_is_409() -> None:
    state = then(evacuated(), *step(c.CheckIn(person_id="s-1")))[0]
    assert rejects(state, *step(release())).code == "conflict"


def test_release_to_a_guardian_approved_for_another_student_is_409() -> None:
    state = run(evacuated(), step(c.CheckIn(person_id="s-2")),
                step(guardian("Anne Byron", "s-1")))[0]
    assert rejects(state, *step(release("s-2", "Anne Byron"))).code == "conflict"


@pytest.mark.parametrize("name,flag", [
    ("Lord Byron", "s-1: custody restriction"), ("Stranger Danger", "s-1: guardian not listed")])
def test_flagged_guardian_is_recorded_without_approval(name: str, flag: str) -> None:
    state = then(evacuated(), *step(c.CheckIn(person_id="s-1")))[0]
    state, events = then(state, *step(guardian(name, "s-1")))
    assert types(events) == ["GuardianCheckedIn"]
    assert events[0].data.approved == [] and flag in events[0].data.flags
    assert rejects(state, *step(release("s-1", name))).code == "conflict"


def test_unverified_id_is_flagged_and_not_approved() -> None:
    _, events = then(evacuated(), *step(guardian("Anne Byron", "s-1", verified=False)))
    assert events[0].data.approved == [] and "id not verified" in events[0].data.flags


def test_a_flagged_check_is_written_yet_answered_409_naming_each_flag() -> None:
    """The check's event is written (the board shows the flag), and its answer is a refusal
    that names the flags and the guardian field: what the write edge answers, with no rule of
    its own."""
    _, events = then(evacuated(), *step(guardian("Lord Byron", "s-1", verified=False)))
    refused = refused_though_written(events)
    assert refused is not None and refused.code == "conflict" and refused.field == "$.guardian"
    assert refused.message == ("guardian check flagged: id not verified; "
                               "s-1: custody restriction")


def test_an_approved_check_and_other_commands_are_not_refused_once_written() -> None:
    _, pressed = then(given(configured()), press("lockdown"), ctx())
    assert pressed and refused_though_written(pressed) is None
    _, approved = then(evacuated(), *step(guardian("Anne Byron", "s-1")))
    assert approved[0].data.approved == ["s-1"] and refused_though_written(approved) is None
    assert refused_though_written([]) is None  # a duplicate's answer writes nothing


def test_one_flag_withholds_approval_for_every_student_of_the_check() -> None:
    _, events = then(evacuated(), *step(guardian("Anne Byron", "s-1", "s-2")))
    assert events[0].data.approved == [] and events[0].data.flags == ["s-2: guardian not listed"]


def test_custody_order_imported_after_the_check_still_blocks_release() -> None:
    ordered = site(people=[replace(p, guardians=[], restricted=["Anne Byron"])
                           if p.id == "s-1" else p for p in site().people])
    state = evolve(ready_to_release(), configured(ordered, at=90))
    assert rejects(state, *step(release())).code == "conflict"


def test_release_without_consent_is_refused() -> None:
    err = rejects(ready_to_release(), *step(release(consents=False)))
    assert (err.code, err.field) == ("conflict", "$.student_consents")


def test_release_at_most_once() -> None:
    state = then(ready_to_release(), *step(release()))[0]
    assert rejects(state, *step(release())).code == "conflict"
    assert rejects(state, *step(c.CheckIn(person_id="s-1"))).code == "conflict"


def test_checkin_twice_is_409() -> None:
    state = then(evacuated(), *step(c.CheckIn(person_id="s-1")))[0]
    assert rejects(state, *step(c.CheckIn(person_id="s-1"))).code == "conflict"


def test_checkin_of_a_non_student_is_409() -> None:
    err = rejects(evacuated(), *step(c.CheckIn(person_id="t-1")))
    assert (err.code, err.field) == ("conflict", "$.person_id")


@pytest.mark.parametrize("cmd,field", [
    (c.CheckIn(person_id="nobody"), "$.person_id"),
    (c.Release(person_id="nobody", guardian="Anne Byron", student_consents=True), "$.person_id"),
    (c.CheckGuardian(guardian="Anne Byron", id_verified=True, students=["s-1", "nobody"]),
     "$.students[1]"),
    (c.HandleWithCare(person_id="nobody"), "$.person_id"),
], ids=lambda v: type(v).__name__ if isinstance(v, c.Command) else v)
def test_unknown_person_is_404_with_the_field(cmd: c.Command, field: str) -> None:
    err = rejects(evacuated(), *step(cmd))
    assert (err.code, err.field) == ("not_found", field)


def test_reunification_stays_within_its_incident() -> None:
    """A check-in in a drill does not let a live incident release the student."""
    state, _ = then(given(configured()), c.StartDrill(scenario="fire"), ctx(COMMANDER, new=DRILL))
    state = run(state, (c.CheckIn(person_id="s-1"), ctx(STAFF, at=5, incident=DRILL)),
                (guardian("Anne Byron", "s-1"), ctx(STAFF, at=6, incident=DRILL)))[0]
    state = then(state, press("fire"), ctx(at=7, new=LIVE))[0]
    assert rejects(state, *step(release())).code == "conflict"


def test_a_flagged_check_takes_back_the_guardians_approval_until_checked_again() -> None:
    """Given Sara Turing approved for s-2, when she is flagged in a later check (for another
    student), then nothing is hers to take by that name until a clean check approves her
    again: the flagged adult may not be the one approved before (approvals are by folded
    name without a card)."""
    state = run(evacuated(), step(guardian("Sara Turing", "s-2")),
                step(guardian("Sara Turing", "s-2", "s-1")))[0]
    assert state.open["live"].approved == {}
    state = run(state, step(guardian("Sara Turing", "s-2")),
                step(guardian("Anne Byron", "s-1")))[0]
    assert state.open["live"].approved == {"sara turing": {"s-2"}, "anne byron": {"s-1"}}


def test_a_check_in_completes_accounting_for_the_student_it_finds() -> None:
    """Given everyone accounted for by name but s-1, when s-1 checks in at the assembly area,
    then accounting is complete and s-1 may go home with an approved guardian."""
    others = step(c.AccountPersons(entries=[e.AccountingEntry(person_id=p.id, status="accounted")
                                            for p in site().people if p.id != "s-1"]))
    state = run(evacuated(), others, step(c.CheckIn(person_id="s-1", area="Field")),
                step(guardian("Anne Byron", "s-1")))[0]
    _, events = then(state, *step(release()))
    assert [(ev.data.person_id, ev.data.guardian, ev.data.student_consents) for ev in events] \
        == [("s-1", "Anne Byron", True)]


def test_a_check_in_records_the_assembly_area() -> None:
    _, events = then(evacuated(), *step(c.CheckIn(person_id="s-2", area="North field")))
    assert (events[0].data.person_id, events[0].data.area) == ("s-2", "North field")


def test_a_flagged_check_approves_nobody_and_approvals_add_up() -> None:
    """A flagged check leaves no approval behind; a guardian approved in two checks may take
    the students of both."""
    state = then(evacuated(), *step(guardian("Lord Byron", "s-1")))[0]
    assert state.open["live"].approved == {}
    both = site(people=[replace(p, guardians=[*p.guardians, "Anne Byron"]) if p.id == "s-2"
                        else p for p in site().people])
    state = then(given(configured(both)), press("fire"), ctx())[0]
    state = run(state, step(guardian("Anne Byron", "s-1")), step(guardian("Anne Byron", "s-2")))[0]
    assert state.open["live"].approved == {"anne byron": {"s-1", "s-2"}}


def test_a_guardian_check_records_whether_the_id_was_seen() -> None:
    _, events = then(evacuated(), *step(guardian("Anne Byron", "s-1", verified=False)))
    assert (events[0].data.guardian, events[0].data.id_verified, events[0].data.students) == (
        "Anne Byron", False, ["s-1"])
    _, events = then(evacuated(), *step(guardian("Anne Byron", "s-1")))
    assert events[0].data.id_verified is True


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


def carded(card: str = "17") -> SiteState:
    """Ready to release, and Anne Byron greeted with `card`, then checked on it."""
    return run(ready_to_release(),
               step(c.GreetGuardian(guardian="Anne Byron", students=["s-1"], card=card)),
               step(c.CheckGuardian(guardian="Anne Byron", id_verified=True, students=["s-1"],
                                    card=card)))[0]


def test_the_guardian_check_keeps_its_card() -> None:
    state = then(ready_to_release(), *step(c.GreetGuardian(guardian="Anne Byron",
                                                           students=["s-1"], card="17")))[0]
    _, events = then(state, *step(c.CheckGuardian(
        guardian="Anne Byron", id_verified=True, students=["s-1"], card="17")))
    assert events[0].data.card == "17"


# --- reunifier -----------------------------------------------------------------------------


def test_fetch_for_the_approved_guardian_then_release_with_the_card() -> None:
    state, events = then(carded("17"), *step(c.FetchStudent(
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

"""The desk's folds into intake's incident (`command/domain/desk_state.py`) and the decisions
that read them (`reunification_rules`, `exception_rules`): an approval is bound to the card the
greeter gave the adult who was checked, a flagged check takes it back, names compare folded, and
a case resolved into a guardian's care is a release, once.

Given events and a command, as the decision tests are written.
"""

import pytest
from msgspec.structs import replace

from command.domain import accounting
from command.domain import commands as c
from command.domain.site_state import SiteState
from tests.command.domain.test_exception_rules import by_commander, with_case
from tests.command.domain.test_site_state import (
    COMMANDER,
    ctx,
    evacuated,
    everyone_accounted,
    rejects,
    release,
    run,
    step,
    then,
    types,
)


def greet(name: str, card: str, pid: str = "s-1") -> tuple[c.Command, object]:
    return step(c.GreetGuardian(guardian=name, students=[pid], card=card))


def check(name: str, card: str = "", pid: str = "s-1", verified: bool = True,
          ) -> tuple[c.Command, object]:
    return step(c.CheckGuardian(guardian=name, id_verified=verified, students=[pid], card=card))


def leave(name: str, card: str = "", pid: str = "s-1") -> c.Release:
    return c.Release(person_id=pid, guardian=name, student_consents=True, card=card)


def fresh() -> SiteState:
    """Accounting complete and s-1 checked in at the assembly area, no guardian checked yet."""
    return run(evacuated(), everyone_accounted(), step(c.CheckIn(person_id="s-1")))[0]


# --- the card in hand is the greeted adult's -----------------------------------------------


def test_a_check_on_a_card_greeted_to_another_adult_is_409_on_card() -> None:
    """Lord Byron (restricted) holds card 7; Anne Byron checked on card 7 is refused, so the
    desk can never show Lord Byron's card approved (reviewer #1)."""
    state = run(fresh(), greet("Lord Byron", "7"))[0]
    err = rejects(state, *check("Anne Byron", "7"))
    assert (err.code, err.field) == ("conflict", "$.card")
    assert "7" not in state.open["live"].approved_cards


def test_a_check_on_a_card_never_handed_out_is_409_and_without_a_card_is_allowed() -> None:
    err = rejects(fresh(), *check("Anne Byron", "99"))
    assert (err.code, err.field) == ("conflict", "$.card")
    _, events = then(fresh(), *check("Anne Byron"))
    assert events[0].data.approved == ["s-1"]


def test_the_card_greeted_in_other_letters_is_the_same_adult() -> None:
    state = run(fresh(), greet("ANNE  BYRON", "7"), check("Anne Byron", "7"))[0]
    assert state.open["live"].approved_cards["7"][1] == frozenset({"s-1"})


def test_a_release_on_another_adults_card_is_409() -> None:
    """Anne Byron is approved on card 8; a release naming card 7, Lord Byron's, is refused
    although the name typed is Anne Byron's (reviewer's test_release_card_need_not_be...)."""
    state = run(fresh(), greet("Lord Byron", "7"), greet("Anne Byron", "8"),
                check("Anne Byron", "8"))[0]
    for cmd in (leave("Anne Byron", "7"),
                c.FetchStudent(person_id="s-1", guardian="Anne Byron", card="7")):
        err = rejects(state, *step(cmd))
        assert (err.code, err.field) == ("conflict", "$.card")
    _, events = then(state, *step(leave("anne byron", "8")))
    assert types(events) == ["StudentReleased"]


def test_a_release_naming_another_guardian_on_an_approved_card_is_409() -> None:
    state = run(fresh(), greet("Anne Byron", "8"), check("Anne Byron", "8"))[0]
    err = rejects(state, *step(leave("Sara Turing", "8")))
    assert (err.code, err.field) == ("conflict", "$.guardian")


# --- a flagged check takes the approval back --------------------------------------------------


def test_a_flagged_check_of_the_same_card_revokes_its_approval() -> None:
    state = run(fresh(), greet("Anne Byron", "8"), check("Anne Byron", "8"))[0]
    state = then(state, *check("Anne Byron", "8", verified=False))[0]
    assert "8" not in state.open["live"].approved_cards
    for cmd in (leave("Anne Byron", "8"), leave("Anne Byron")):
        assert rejects(state, *step(cmd)).code == "conflict"


def test_a_second_anne_byron_failing_id_does_not_ride_on_the_first_ones_approval() -> None:
    state = run(fresh(), greet("Anne Byron", "7"), greet("Anne Byron", "8"),
                check("Anne Byron", "7"))[0]
    state = then(state, *check("Anne Byron", "8", verified=False))[0]
    for cmd in (leave("Anne Byron", "8"), leave("Anne Byron", "7"), leave("Anne Byron")):
        assert rejects(state, *step(cmd)).code == "conflict"  # every card of the name: revoked
    assert state.open["live"].approved_cards == {}
    state = then(state, *check("Anne Byron", "7"))[0]  # the first Anne, checked again
    _, events = then(state, *step(leave("Anne Byron", "7")))
    assert events[0].data.card == "7"


def test_a_card_approval_is_no_approval_by_name() -> None:
    """Anne Byron was checked holding card 7: a release or fetch naming no card is 409 on
    $.card, asking for that card; it is not let through by her name (reviewer 2, #1)."""
    state = run(fresh(), greet("Anne Byron", "7"), check("Anne Byron", "7"))[0]
    assert state.open["live"].approved == {}
    for cmd in (leave("anne byron"), c.FetchStudent(person_id="s-1", guardian="Anne Byron")):
        err = rejects(state, *step(cmd))
        assert (err.code, err.field) == ("conflict", "$.card")
        assert "give the card this guardian was checked on" in err.message
    _, events = then(state, *step(leave("Anne Byron", "7")))
    assert types(events) == ["StudentReleased"] and events[0].data.card == "7"


def test_a_flagged_check_without_a_card_takes_back_the_names_cards() -> None:
    state = run(fresh(), greet("Anne Byron", "7"), check("Anne Byron", "7"),
                check("ANNE BYRON", verified=False))[0]
    assert "7" not in state.open["live"].approved_cards
    err = rejects(state, *step(leave("Anne Byron", "7")))
    assert (err.code, err.field) == ("conflict", "$.card")


def test_without_cards_a_flagged_check_of_the_same_name_revokes_it() -> None:
    state = run(fresh(), check("Anne Byron"))[0]
    state = then(state, *check("ANNE BYRON", verified=False))[0]
    assert rejects(state, *step(release())).field == "$.guardian"


# --- names folded --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["LORD BYRON", "lord  byron", " Lord Byron "])
def test_a_restricted_adult_typed_otherwise_is_still_flagged(name: str) -> None:
    _, events = then(fresh(), *check(name))
    assert events[0].data.approved == []
    assert "s-1: custody restriction" in events[0].data.flags


def test_a_listed_guardian_typed_otherwise_is_approved_and_released_by_name() -> None:
    state = run(fresh(), check("ANNE BYRON"))[0]
    _, events = then(state, *step(release("s-1", "anne byron")))
    assert types(events) == ["StudentReleased"]


@pytest.mark.parametrize("adult", ["LORD BYRON", "lord byron"])
def test_resolving_to_a_restricted_adult_typed_otherwise_is_409(adult: str) -> None:
    state, case = with_case()
    err = rejects(state, *by_commander(c.ResolveException(case_id=case, outcome="home",
                                                          released_to=adult)))
    assert (err.code, err.field) == ("conflict", "$.released_to")


# --- a case resolved into a guardian's care is a release ------------------------------------


def resolved_home() -> SiteState:
    state, case = with_case()
    return run(state, by_commander(c.ResolveException(case_id=case, outcome="home with mum",
                                                      released_to="anne byron")))[0]


def test_a_case_resolved_with_released_to_releases_the_student_once() -> None:
    state = resolved_home()
    live = state.open["live"]
    assert "s-1" in live.released
    assert accounting.person(live.ledger, state.site, "s-1").status == "reunified"


@pytest.mark.parametrize("cmd", [
    c.CheckIn(person_id="s-1"), release(),
    c.FetchStudent(person_id="s-1", guardian="Anne Byron"),
    c.OpenException(person_id="s-1", kind="missing", assigned_to="Mr Admin")])
def test_a_student_released_through_a_case_is_never_handed_over_again(cmd: c.Command) -> None:
    err = rejects(resolved_home(), *step(cmd))
    assert (err.code, err.field) == ("conflict", "$.person_id")
    assert "already been released" in err.message


def test_a_case_resolved_without_released_to_is_no_release() -> None:
    state, case = with_case()
    state = run(state, by_commander(c.ResolveException(case_id=case, outcome="at hospital")))[0]
    assert "s-1" not in state.open["live"].released


def resolve_to(adult: str) -> c.ResolveException:
    return c.ResolveException(case_id="", outcome="home", released_to=adult)


def test_resolving_into_care_before_accounting_completes_is_409_as_a_release_is() -> None:
    """Anne Byron checked, s-1 taken to hospital, nobody accounted for: a release is refused,
    and so is resolving the case into her care, with the same words (reviewer 2, #2)."""
    state = run(evacuated(), step(c.CheckIn(person_id="s-1")), check("Anne Byron"))[0]
    state, case = with_case(state)
    err = rejects(state, *by_commander(replace(resolve_to("Anne Byron"), case_id=case)))
    assert (err.code, err.field) == ("conflict", "$.released_to")
    assert err.message.startswith("accounting is not complete")
    state = run(state, by_commander(c.OpenReunification(reason="the fire spread")))[0]
    _, events = then(state, *by_commander(replace(resolve_to("Anne Byron"), case_id=case)))
    assert types(events) == ["ExceptionResolved"]


@pytest.mark.parametrize("checks", [(), (check("Anne Byron", verified=False),),
                                    (check("Anne Byron", pid="s-2"),)])
def test_resolving_into_the_care_of_an_adult_not_id_checked_for_the_student_is_409(
        checks: tuple[tuple[c.Command, object], ...]) -> None:
    state = run(evacuated(), everyone_accounted(), *checks)[0]
    state, case = with_case(state)
    err = rejects(state, *by_commander(replace(resolve_to("Anne Byron"), case_id=case)))
    assert (err.code, err.field) == ("conflict", "$.released_to")
    assert "check the adult's photo ID first" in err.message
    _, events = then(state, *by_commander(c.ResolveException(case_id=case, outcome="at home")))
    assert types(events) == ["ExceptionResolved"]  # closing without released_to, as before


def test_the_resolver_who_saw_the_photo_id_may_resolve_into_a_listed_guardians_care() -> None:
    """At a hospital there is no desk: the commander who saw the mother's photo ID says so."""
    state = run(evacuated(), everyone_accounted())[0]
    state, case = with_case(state)
    seen = replace(resolve_to("Anne Byron"), case_id=case, id_verified=True)
    _, events = then(state, *by_commander(seen))
    assert events[0].data.released_to == "Anne Byron" and events[0].data.id_verified
    # Seeing an ID never makes a restricted or unlisted adult a guardian.
    for adult in ("Lord Byron", "A Stranger"):
        err = rejects(state, *by_commander(replace(seen, released_to=adult)))
        assert (err.code, err.field) == ("conflict", "$.released_to")


def test_resolving_into_the_care_of_an_adult_approved_on_a_card_is_allowed() -> None:
    state = run(fresh(), greet("Anne Byron", "7"), check("Anne Byron", "7"))[0]
    state, case = with_case(state)
    _, events = then(state, *by_commander(replace(resolve_to("anne byron"), case_id=case)))
    assert events[0].data.released_to == "anne byron"


def test_resolving_for_a_student_an_import_removed_is_409_on_case_id() -> None:
    state, case = with_case()
    smaller = replace(state.site, people=[p for p in state.site.people if p.id != "s-1"])
    state = then(state, c.ConfigureSite(site=smaller), ctx(COMMANDER, 15))[0]
    err = rejects(state, *by_commander(c.ResolveException(case_id=case, outcome="x",
                                                          released_to="Anne Byron")))
    assert (err.code, err.field) == ("conflict", "$.case_id")
    assert "no longer on the roster" in err.message


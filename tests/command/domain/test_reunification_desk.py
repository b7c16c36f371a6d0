"""The desk document folded from an incident's events (`command/domain/reunification_desk.py`,
`command/domain/desk_queue.py`): queue, students' states, exceptions, times, the point, and the
district's counts per point."""

from datetime import timedelta
from typing import Any

from msgspec.structs import replace

from command.domain import commands as c
from command.domain import events as e
from command.domain.reunification_desk import desk, district
from command.domain.site import EvacuationSite, GuardianContact, Site
from command.domain.site_state import Ctx
from tests.command.domain.test_site_state import (
    COMMANDER,
    LIVE,
    STAFF,
    T0,
    configured,
    ctx,
    given,
    guardian,
    press,
    run,
    site,
    then,
)

CHURCH = EvacuationSite(id="church", name="St Paul's Church", kind="reunification",
                        address="1 Church Rd")


def the_site() -> Site:
    """The small site with a reunification point, and Ada's mother's contacts."""
    contact = GuardianContact(name="Anne Byron", relationship="mother", phone="+15550100",
                              email="anne@example.org")
    s = site(evacuation_sites=[CHURCH])
    return replace(s, people=[replace(p, contacts=[contact]) if p.id == "s-1" else p
                              for p in s.people])


def at(s: float, actor: Any = STAFF) -> Ctx:
    return ctx(actor, at=s, incident=LIVE)


def exercise(*steps: tuple[c.Command, Ctx]) -> list[Any]:
    """The incident's events: a fire press at T0, then `steps`."""
    state, opened = then(given(configured(the_site())), press("fire"), ctx())
    return [*opened, *run(state, *steps)[1]]


def everyone(s: float) -> tuple[c.Command, Ctx]:
    return c.AccountPersons(entries=[e.AccountingEntry(person_id=p.id, status="accounted")
                                     for p in the_site().people]), at(s)


def student(doc: dict[str, Any], pid: str) -> dict[str, Any]:
    return next(s for s in doc["students"] if s["id"] == pid)


def test_a_greeted_guardian_waits_in_the_queue_with_the_time_they_waited() -> None:
    events = exercise((c.CheckIn(person_id="s-1"), at(10)),
                      (c.GreetGuardian(guardian="Anne Byron", students=["s-1"], card="7"), at(60)))
    doc = desk(events, the_site(), T0 + timedelta(seconds=160))
    assert [(q["card"], q["guardian"], q["state"], q["wait_s"]) for q in doc["queue"]] == [
        ("7", "Anne Byron", "waiting", 100.0)]
    assert doc["queue"][0]["students"] == [{"id": "s-1", "name": "Ada Lovelace"}]
    assert (doc["counts"]["guardians_waiting"], doc["counts"]["checked_in"]) == (1, 1)
    assert student(doc, "s-1")["state"] == "waiting"
    assert student(doc, "s-2")["state"] == "not_checked_in"
    assert student(doc, "s-1")["contacts"] == [{"name": "Anne Byron", "relationship": "mother",
                                                "phone": "+15550100",
                                                "email": "anne@example.org"}]
    assert (doc["times"]["first_arrival_at"], doc["accounting_complete"],
            doc["releases_open"]) == (T0 + timedelta(seconds=60), False, False)


def test_check_fetch_release_moves_the_student_and_ends_the_wait() -> None:
    events = exercise(everyone(5), (c.CheckIn(person_id="s-1"), at(10)),
                      (c.GreetGuardian(guardian="Anne Byron", students=["s-1"], card="7"), at(60)),
                      (c.CheckGuardian(guardian="Anne Byron", id_verified=True,
                                       students=["s-1"], card="7"), at(90)))
    doc = desk(events, the_site(), T0 + timedelta(seconds=100))
    assert (doc["queue"][0]["state"], student(doc, "s-1")["state"]) == ("approved", "requested")
    assert doc["accounting_complete"] and doc["releases_open"]
    events += run(_state(events), (c.FetchStudent(person_id="s-1", guardian="Anne Byron",
                                                  card="7"), at(120)))[1]
    assert student(desk(events, the_site(), T0), "s-1")["state"] == "fetched"
    events += run(_state(events), (c.Release(person_id="s-1", guardian="Anne Byron",
                                             student_consents=True, card="7"), at(160)))[1]
    doc = desk(events, the_site(), T0 + timedelta(seconds=999))
    s1 = student(doc, "s-1")
    assert (s1["state"], s1["released_to"], s1["card"]) == ("released", "Anne Byron", "7")
    assert doc["queue"] == [] and doc["counts"]["released"] == 1
    assert doc["times"]["median_wait_s"] == doc["times"]["longest_wait_s"] == 100.0
    assert doc["times"]["first_release_at"] == T0 + timedelta(seconds=160)


def _state(events: list[Any]) -> Any:
    return given(configured(the_site()), *events)


def test_a_flagged_check_shows_its_flags_in_the_queue() -> None:
    events = exercise((c.GreetGuardian(guardian="Lord Byron", students=["s-1"], card="9"),
                       at(30)))
    events += run(_state(events), (replace(guardian("Lord Byron", "s-1"), card="9"), at(40)))[1]
    doc = desk(events, the_site(), T0 + timedelta(seconds=50))
    assert doc["queue"][0]["state"] == "flagged"
    assert doc["queue"][0]["flags"] == ["s-1: custody restriction"]
    assert student(doc, "s-1")["restricted"] == ["Lord Byron"]


def test_an_exception_leaves_the_queue_and_lists_its_case() -> None:
    events = exercise(everyone(5), (c.CheckIn(person_id="s-2"), at(10)),
                      (c.GreetGuardian(guardian="Sara Turing", students=["s-2"], card="3"), at(20)),
                      (c.CheckGuardian(guardian="Sara Turing", id_verified=True,
                                       students=["s-2"], card="3"), at(25)),
                      (c.OpenException(person_id="s-2", kind="hospital", assigned_to="Ms Nurse",
                                       hospital="St Mary's"), at(30)))
    events += run(_state(events), (c.ResolveException(
        case_id=events[-1].data.case_id, outcome="collected", released_to="Sara Turing"),
        at(90, COMMANDER)))[1]
    doc = desk(events, the_site(), T0 + timedelta(seconds=100))
    assert student(doc, "s-2")["state"] == "released" and doc["queue"] == []  # via its case
    assert (student(doc, "s-2")["released_to"], doc["counts"]["released"]) == ("Sara Turing", 1)
    [case] = doc["exceptions"]
    assert (case["kind"], case["hospital"], case["name"], case["resolved"], case["released_to"],
            case["resolved_at"]) == ("hospital", "St Mary's", "Alan Turing", True,
                                     "Sara Turing", T0 + timedelta(seconds=90))
    assert doc["counts"]["exceptions"] == 1


def test_the_point_is_the_reunification_site_evacuated_to_or_the_one_set() -> None:
    events = exercise((c.DeclareProtocol(action="evacuate", evacuate_to="church"),
                       at(5, COMMANDER)))
    assert desk(events, the_site(), T0)["point"] == {
        "place": "St Paul's Church", "place_id": "church", "address": "1 Church Rd"}
    events += run(_state(events), (c.SetReunificationPoint(place="the town hall"),
                                   at(6, COMMANDER)))[1]
    assert desk(events, the_site(), T0)["point"] == {
        "place": "the town hall", "place_id": None, "address": ""}
    assert desk(exercise(), the_site(), T0)["point"] is None


def test_the_district_counts_per_point_and_names_nobody() -> None:
    events = exercise((c.DeclareProtocol(action="evacuate", evacuate_to="church"),
                       at(5, COMMANDER)), (c.CheckIn(person_id="s-1"), at(10)),
                      (c.CheckIn(person_id="s-2"), at(11)),
                      (c.GreetGuardian(guardian="Anne Byron", students=["s-1"]), at(20)))
    doc = desk(events, the_site(), T0 + timedelta(seconds=30))
    other = {**doc, "site": "other-high", "incident_id": "inc-2", "point": None}
    summary = district("d-1", [doc, other])
    assert summary["district"] == "d-1"
    church, nowhere = summary["points"]
    assert (church["place_id"], church["sites"], church["incidents"], church["students_waiting"],
            church["guardians_waiting"]) == ("church", ["test-high"], [LIVE], 2, 1)
    assert (nowhere["place"], nowhere["sites"]) == (None, ["other-high"])
    assert "Ada" not in repr(summary) and "Anne" not in repr(summary)


def test_a_check_without_a_card_is_the_guardians_latest_greeting_or_joins_the_queue() -> None:
    events = exercise((c.GreetGuardian(guardian="Anne Byron", students=["s-1"]), at(10)),
                      (guardian("Anne Byron", "s-1"), at(20)),
                      (guardian("Sara Turing", "s-2"), at(30)))
    queue = desk(events, the_site(), T0 + timedelta(seconds=40))["queue"]
    assert [(q["guardian"], q["state"], q["arrived_at"]) for q in queue] == [
        ("Anne Byron", "approved", T0 + timedelta(seconds=10)),
        ("Sara Turing", "approved", T0 + timedelta(seconds=30))]


def test_a_closed_incident_still_shows_how_its_reunification_ended() -> None:
    events = exercise(everyone(5), (c.CheckIn(person_id="s-1"), at(10)),
                      (guardian("Anne Byron", "s-1"), at(20)),
                      (c.Release(person_id="s-1", guardian="Anne Byron", student_consents=True),
                       at(30)))
    events += run(_state(events), (c.AllClear(), at(40, COMMANDER)),
                  (c.Close(summary="done"), at(50, COMMANDER)))[1]
    assert not desk(events[:-1], the_site(), T0)["ended"]  # the desk page follows an open one
    doc = desk(events, the_site(), T0 + timedelta(hours=2))
    assert doc["ended"]  # and moves on to the site's next incident once it has ended
    assert doc["accounting_complete"] and student(doc, "s-1")["state"] == "released"
    assert doc["times"]["longest_wait_s"] == 10.0  # to the release, not to now


def test_a_check_on_another_adults_card_never_shows_the_greeted_adult_approved() -> None:
    """A stream written before checks were bound to cards: Anne Byron checked on card 7, which
    the greeter gave Lord Byron. The card's entry stays Lord Byron's, waiting; Anne's check is
    an entry of her own (reviewer #1)."""
    events = exercise((c.GreetGuardian(guardian="Lord Byron", students=["s-1"], card="7"),
                       at(10)))
    checked = e.GuardianCheckedIn(
        id="ev-old", site=events[0].site, incident_id=LIVE, mode="live",
        occurred_at=T0 + timedelta(seconds=20), recorded_at=T0 + timedelta(seconds=20),
        actor=STAFF, data=e.GuardianCheckedInData(guardian="Anne Byron", id_verified=True,
                                                  students=["s-1"], approved=["s-1"], card="7"))
    queue = desk([*events, checked], the_site(), T0 + timedelta(seconds=30))["queue"]
    assert [(q["card"], q["guardian"], q["state"]) for q in queue] == [
        ("7", "Lord Byron", "waiting"), ("7", "Anne Byron", "approved")]


def test_a_check_without_a_card_never_approves_a_greeted_card() -> None:
    """Anne Byron greeted on card 4, then checked without a card: the card stays waiting (the
    reunifier would fetch on it and be refused), the check is an approved entry of its own."""
    events = exercise((c.GreetGuardian(guardian="Anne Byron", students=["s-1"], card="4"), at(10)),
                      (guardian("ANNE BYRON", "s-1"), at(20)))
    queue = desk(events, the_site(), T0 + timedelta(seconds=30))["queue"]
    assert [(q["card"], q["state"]) for q in queue] == [("4", "waiting"), ("", "approved")]


def test_a_flagged_check_of_a_name_flags_its_carded_entry_and_ends_the_request() -> None:
    """Anne Byron approved on card 7, then a check of 'ANNE BYRON' without ID: intake takes back
    the card's approval, so the desk shows card 7 flagged and Ada waiting, not requested."""
    events = exercise(everyone(5), (c.CheckIn(person_id="s-1"), at(10)),
                      (c.GreetGuardian(guardian="Anne Byron", students=["s-1"], card="7"), at(60)),
                      (c.CheckGuardian(guardian="Anne Byron", id_verified=True,
                                       students=["s-1"], card="7"), at(90)))
    assert student(desk(events, the_site(), T0), "s-1")["state"] == "requested"
    events += run(_state(events), (guardian("ANNE BYRON", "s-1", verified=False), at(95)))[1]
    doc = desk(events, the_site(), T0 + timedelta(seconds=100))
    assert [(q["card"], q["state"]) for q in doc["queue"]] == [("7", "flagged"), ("", "flagged")]
    assert student(doc, "s-1")["state"] == "waiting"

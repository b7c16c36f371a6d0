"""Reunification's safety, for any order of the SRM desk's commands (issue 21): random
sequences of check-ins, greetings, guardian checks, fetches, releases, exception cases, their
resolutions, accounting and custody orders imported mid-way go through decide → seal → evolve as
intake runs them; refusals are skipped. Whatever was accepted:

- no StudentReleased (nor a case resolved into an adult's care) names an adult who is not a
  listed guardian of that student, or who is restricted by the site file in force then (names
  compared folded: the adults are typed in other letters too);
- a fetch or release naming a card hands the student to the adult the greeter gave that card,
  whose latest check on it approved that student (a later flagged check takes it back): a check
  naming another adult's card, or a release on another's card, never gets through;
- no student with an exception case is ever fetched or released from the general queue;
- nobody is released twice, by a reunifier or by a case resolved into a guardian's care;
- nobody is released, by either path, before accounting is complete unless a commander opened
  reunification early; a case resolved into an adult's care goes to an adult whose ID check
  approved that student (by name without a card, or on a card);
- a fetch or release without a card never rides on a check made on a card;
- the desk document folds every accepted history, each student in exactly one state, its
  released count the releases written, either way.
"""

import itertools
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from msgspec.structs import replace

from command.domain import commands as c
from command.domain import events as e
from command.domain import names
from command.domain.decide import decide, seal
from command.domain.errors import MusterError
from command.domain.exception_rules import case_id
from command.domain.reunification_desk import desk
from command.domain.site import Site
from command.domain.site_state import Ctx, SiteState, evolve
from tests.command.domain.test_site_state import COMMANDER, LIVE, SITE_ID, STAFF, T0
from tests.conftest import small_site

STUDENTS = ["s-1", "s-2", "s-3"]
ADULTS = ["Anne Byron", "Lord Byron", "Sara Turing", "Mary Murray", "A Stranger", "LORD  BYRON",
          "anne byron"]
KINDS = ["injured", "hospital", "missing", "unlisted_adult"]

LISTED = {"s-1": "Anne Byron", "s-2": "Sara Turing", "s-3": "Mary Murray"}
# Mostly a student with their own guardian, so releases happen; else Ada's restricted father,
# a stranger, or another student's guardian.
PAIRS = [*[(s, g) for s, g in LISTED.items()] * 3, ("s-1", "Lord Byron"), ("s-2", "A Stranger"),
         ("s-3", "Anne Byron"), ("s-1", "lord byron"), ("s-1", "ANNE BYRON")]
students = st.lists(st.sampled_from(STUDENTS), min_size=1, max_size=2, unique=True)
pair = st.sampled_from(PAIRS)
mostly = st.sampled_from([True, True, True, False])
card = st.sampled_from(["", "1", "2", "3"])
ACTIONS = st.one_of(
    st.builds(c.CheckIn, person_id=st.sampled_from(STUDENTS)),
    pair.flatmap(lambda p: st.builds(c.GreetGuardian, guardian=st.just(p[1]),
                                     students=st.just([p[0]]), card=card)),
    pair.flatmap(lambda p: st.builds(c.CheckGuardian, guardian=st.just(p[1]), id_verified=mostly,
                                     students=st.just([p[0]]), card=card)),
    st.builds(c.CheckGuardian, guardian=st.sampled_from(ADULTS), id_verified=mostly,
              students=students, card=card),
    pair.flatmap(lambda p: st.builds(c.FetchStudent, person_id=st.just(p[0]),
                                     guardian=st.just(p[1]), card=card)),
    pair.flatmap(lambda p: st.builds(c.Release, person_id=st.just(p[0]), guardian=st.just(p[1]),
                                     student_consents=mostly, card=card)),
    st.builds(c.OpenException, person_id=st.sampled_from(STUDENTS),
              kind=st.sampled_from(KINDS), assigned_to=st.just("Ms Counsellor"),
              hospital=st.sampled_from(["", "St Mary's"]), adult=st.sampled_from(["", "X"])),
    st.tuples(st.just("resolve"), st.integers(0, 3),
              st.one_of(st.none(), st.sampled_from(ADULTS))),
    st.tuples(st.just("custody"), st.sampled_from(STUDENTS), st.sampled_from(ADULTS)),
    st.just("account"), st.just("open_early"),
    # The SRM's whole walk at once (accounting first or not), so releases happen often.
    # Or with a custody order against the adult imported between their check and the release.
    # With a card: greeted, checked and handed over on it; or checked, fetched or released on
    # another card than the one greeted (maybe another adult's).
    st.tuples(st.just("flow"), pair, st.booleans(), st.sampled_from([False, False, True]),
              st.sampled_from(["", "", "5", "6", "7"]), st.sampled_from(["same", "same", "other"])),
    # A case opened and resolved at once into an adult's care (maybe not a guardian's).
    st.tuples(st.just("casework"), pair),
    # Another adult checked on the card the greeter gave someone else.
    st.tuples(st.just("swap"), pair, st.sampled_from(ADULTS), st.sampled_from(["8", "9"])),
    # Greeted and checked on a card, then fetched and released without naming it.
    st.tuples(st.just("cardless"), pair, st.sampled_from(["10", "11"])),
    # The adult checked (on a card or not, ID seen or not), then a case opened and resolved
    # into their care, with accounting complete or not.
    st.tuples(st.just("caredfor"), pair, st.sampled_from(["", "12"]), mostly),
)


def commands(action: Any, state: SiteState, site: Site) -> list[tuple[c.Command, bool]]:
    """The commands an action stands for, each with whether a commander gives it."""
    if isinstance(action, tuple) and action[0] == "flow":
        (pid, adult), account, order, given_card, later = action[1:]
        first = [command("account", state, site)] if account else []
        custody = [command(("custody", pid, adult), state, site)] if order else []
        used = given_card if later == "same" or not given_card else str(int(given_card) % 3 + 5)
        return [*first, (c.CheckIn(person_id=pid), False),
                (c.GreetGuardian(guardian=adult, students=[pid], card=given_card), False),
                (c.CheckGuardian(guardian=adult, id_verified=True, students=[pid],
                                 card=given_card), False),
                *custody, (c.FetchStudent(person_id=pid, guardian=adult, card=used), False),
                (c.Release(person_id=pid, guardian=adult, student_consents=True, card=used),
                 False)]
    if isinstance(action, tuple) and action[0] == "casework":
        (pid, adult), live = action[1], state.open["live"]
        case = case_id(live.id, len(live.cases) + 1)
        return [(c.OpenException(person_id=pid, kind="injured", assigned_to="Ms Nurse"), False),
                (c.ResolveException(case_id=case, outcome="home", released_to=adult), True)]
    if isinstance(action, tuple) and action[0] == "cardless":
        (pid, adult), held = action[1:]
        return [(c.CheckIn(person_id=pid), False),
                (c.GreetGuardian(guardian=adult, students=[pid], card=held), False),
                (c.CheckGuardian(guardian=adult, id_verified=True, students=[pid], card=held),
                 False),
                (c.FetchStudent(person_id=pid, guardian=adult), False),
                (c.Release(person_id=pid, guardian=adult, student_consents=True), False)]
    if isinstance(action, tuple) and action[0] == "caredfor":
        (pid, adult), held, seen = action[1:]
        live = state.open["live"]
        greeted = [(c.GreetGuardian(guardian=adult, students=[pid], card=held), False)] \
            if held else []
        return [*greeted, (c.CheckGuardian(guardian=adult, id_verified=seen, students=[pid],
                                           card=held), False),
                (c.OpenException(person_id=pid, kind="injured", assigned_to="Ms Nurse"), False),
                (c.ResolveException(case_id=case_id(live.id, len(live.cases) + 1),
                                    outcome="home", released_to=adult), True)]
    if isinstance(action, tuple) and action[0] == "swap":
        (pid, holder), other, held = action[1:]
        return [(c.GreetGuardian(guardian=holder, students=[pid], card=held), False),
                (c.CheckGuardian(guardian=other, id_verified=True, students=[pid], card=held),
                 False),
                (c.Release(person_id=pid, guardian=other, student_consents=True, card=held),
                 False)]
    return [command(action, state, site)]


def command(action: Any, state: SiteState, site: Site) -> tuple[c.Command, bool]:
    """The command an action stands for, and whether a commander gives it."""
    if action == "account":
        return c.AccountPersons(entries=[e.AccountingEntry(person_id=p.id, status="accounted")
                                         for p in site.people]), False
    if action == "open_early":
        return c.OpenReunification(reason="the field is cold"), True
    if isinstance(action, tuple) and action[0] == "resolve":
        cases = sorted(state.open["live"].cases)
        case = cases[action[1] % len(cases)] if cases else "x-none"
        return c.ResolveException(case_id=case, outcome="done", released_to=action[2]), True
    if isinstance(action, tuple) and action[0] == "custody":  # a court order, imported now
        people = [replace(p, restricted=[*p.restricted, action[2]]) if p.id == action[1] else p
                  for p in site.people]
        return c.ConfigureSite(site=replace(site, people=people)), False
    return action, False


class Cards:
    """The test's own model of the cards: who the greeter gave each, and what the latest check
    on it approved (a flagged check approves nothing); of the approvals by name, from checks
    without a card (a flagged check of a name takes back the name's and its cards'); and of
    the release gate (everyone accounted for, or reunification opened early)."""

    def __init__(self) -> None:
        self.given: dict[str, str] = {}
        self.approved: dict[str, tuple[str, set[str]]] = {}
        self.by_name: dict[str, set[str]] = {}
        self.gate_open = False

    def saw(self, ev: e.Envelope, site: Site) -> None:
        if isinstance(ev, e.GuardianArrived) and ev.data.card:
            self.given[ev.data.card] = ev.data.guardian
        elif isinstance(ev, e.GuardianCheckedIn):
            key = names.folded(ev.data.guardian)
            if ev.data.flags:
                self.by_name.pop(key, None)
                self.approved = {k: v for k, v in self.approved.items()
                                 if names.folded(v[0]) != key}
            if ev.data.card:
                assert names.same(self.given[ev.data.card], ev.data.guardian)  # holder's card
                was = self.approved.get(ev.data.card, ("", set()))[1]
                self.approved[ev.data.card] = (ev.data.guardian, was | set(ev.data.approved))
            elif ev.data.approved:
                self.by_name.setdefault(key, set()).update(ev.data.approved)
        elif isinstance(ev, e.ReunificationOpened):
            self.gate_open = True
        elif isinstance(ev, e.PersonsAccounted):
            done = {x.person_id for x in ev.data.entries if x.status == "accounted"}
            self.gate_open |= done >= {p.id for p in site.people}

    def cardless(self, pid: str, adult: str) -> None:
        """A fetch or release without a card: its adult's name was approved without a card."""
        assert pid in self.by_name.get(names.folded(adult), set())

    def checked(self, pid: str, adult: str) -> bool:
        """Whether an ID check approved `adult` for `pid`, by name or on a card of theirs."""
        return pid in self.by_name.get(names.folded(adult), set()) or any(
            names.same(who, adult) and pid in students for who, students in self.approved.values())

    def handed(self, card: str, pid: str, adult: str) -> None:
        """A fetch or release on `card` goes to its holder, approved for `pid` on it."""
        holder, students = self.approved.get(card, ("", set()))
        assert pid in students and names.same(holder, adult)
        assert names.same(self.given[card], adult)


def check(ev: e.Envelope, state: SiteState, site: Site, released: set[str],
          on_track: set[str], cards: Cards) -> None:
    """The safety rules, for one accepted event, given the state and site file before it."""
    person = next((p for p in site.people if p.id == getattr(ev.data, "person_id", "")), None)
    if isinstance(ev, e.StudentReleased | e.ExceptionResolved) and (
            not isinstance(ev, e.ExceptionResolved) or ev.data.released_to is not None):
        assert cards.gate_open  # accounting complete, or opened early, before any release
    if isinstance(ev, e.StudentReleased | e.StudentFetched) and not ev.data.card:
        cards.cardless(ev.data.person_id, ev.data.guardian)
    cards.saw(ev, site)
    if isinstance(ev, e.StudentReleased):
        assert person is not None and ev.data.person_id not in released
        assert names.among(ev.data.guardian, person.guardians)
        assert not names.among(ev.data.guardian, person.restricted)
        assert ev.data.person_id not in on_track
        if ev.data.card:
            cards.handed(ev.data.card, ev.data.person_id, ev.data.guardian)
        released.add(ev.data.person_id)
    elif isinstance(ev, e.StudentFetched):
        assert ev.data.person_id not in on_track | released
        assert person is not None and not names.among(ev.data.guardian, person.restricted)
        if ev.data.card:
            cards.handed(ev.data.card, ev.data.person_id, ev.data.guardian)
    elif isinstance(ev, e.ExceptionOpened):
        assert ev.data.person_id not in released
        on_track.add(ev.data.person_id)
    elif isinstance(ev, e.ExceptionResolved) and ev.data.released_to is not None:
        pid = state.open["live"].cases[ev.data.case_id]
        held = next(p for p in site.people if p.id == pid)
        assert names.among(ev.data.released_to, held.guardians)
        assert not names.among(ev.data.released_to, held.restricted)
        assert cards.checked(pid, ev.data.released_to)
        assert pid not in released  # nobody twice, by either path
        released.add(pid)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ACTIONS, min_size=1, max_size=60))
def test_nobody_goes_to_a_restricted_or_unlisted_adult_or_off_the_exceptions_track(
        actions: list[Any]) -> None:
    ids = itertools.count()
    site = small_site(SITE_ID)
    state = evolve(SiteState(), e.SiteConfigured(id="cfg", site=SITE_ID, occurred_at=T0,
                                                 recorded_at=T0, data=site))
    opening = Ctx(site=SITE_ID, actor=STAFF, now=T0, new_incident_id=LIVE)
    history = seal(decide(state, c.RaiseAlert(kind="fire", room="B-112"), opening), opening,
                   ["open-1", "open-2", "open-3"])
    for ev in history:
        state = evolve(state, ev)
    released: set[str] = set()
    on_track: set[str] = set()
    cards = Cards()
    step = itertools.count(1)
    for action in actions:
        for cmd, by_commander in commands(action, state, site):
            ctx = Ctx(site=SITE_ID, actor=COMMANDER if by_commander else STAFF,
                      now=T0 + timedelta(seconds=next(step)), incident_id=LIVE,
                      commander=by_commander)
            try:
                drafts = decide(state, cmd, ctx)
            except MusterError:
                continue
            for ev in seal(drafts, ctx, [f"ev-{next(ids)}" for _ in drafts]):
                check(ev, state, site, released, on_track, cards)
                site = ev.data if isinstance(ev, e.SiteConfigured) else site
                state = evolve(state, ev)
                if not isinstance(ev, e.SiteConfigured):
                    history.append(ev)
    for kind in sorted({type(ev).__name__ for ev in history}):
        event(kind)  # --hypothesis-show-statistics: how often each step was reached
    if any(isinstance(ev, e.ExceptionResolved) and ev.data.released_to for ev in history):
        event("a case resolved into an adult's care")
    doc = desk(history, site, T0 + timedelta(hours=1))
    assert sorted(s["id"] for s in doc["students"]) == sorted(
        p.id for p in site.people if p.kind == "student")
    assert {s["id"] for s in doc["students"] if s["state"] == "exception"} == on_track - released
    assert {s["id"] for s in doc["students"] if s["state"] == "released"} == released
    assert doc["counts"]["released"] == len(released)

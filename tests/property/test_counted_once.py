"""Counted once (issue 21), for any site and any order of what people report: a random site
with rooms, buses (riders may ride two) and away events (on now or not, with chaperones), an
incident pressed on any unit, then random room reports on any unit, accounting by name moving
people anywhere, away events scheduled mid-way, check-ins, guardian checks and releases, each
through decide → seal → evolve as intake runs them (refusals skipped). After every step:

- each person is counted exactly once: the ledger's per-unit counts are exactly the places and
  statuses of the roster's people and the chaperones placed, and sum to that population;
- the board's case counts the same, so what responders see is what releases are refused on.
"""

import itertools
from collections import Counter
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from command.domain import accounting, board, units
from command.domain import commands as c
from command.domain import events as e
from command.domain.decide import decide, seal
from command.domain.errors import MusterError
from command.domain.roster_index import roster
from command.domain.site import AwayEvent, Bus, Chaperone, Person, Room, Site, validate
from command.domain.site_state import Ctx, SiteState, evolve
from tests.command.domain.test_site_state import COMMANDER, LIVE, SITE_ID, T0

WHEN = [None, T0 - timedelta(hours=2), T0 + timedelta(hours=2)]
STATUSES = ["accounted", "missing", "injured", "absent"]


@st.composite
def sites(draw: st.DrawFn) -> Site:
    rooms = [Room(id=f"r{i}", name=f"Room {i}") for i in range(draw(st.integers(1, 3)))]
    homes = [None, *(r.id for r in rooms)]
    n = draw(st.integers(1, 10))
    people = [Person(id=f"p{i}", name=f"P {i}", room=draw(st.sampled_from(homes)),
                     kind=draw(st.sampled_from(["student", "student", "staff"])),
                     guardians=["G"]) for i in range(n)]
    ids = [p.id for p in people]
    some = st.lists(st.sampled_from(ids), unique=True, max_size=n)
    buses = [Bus(id=f"b{i}", name=f"Bus {i}", riders=draw(some))
             for i in range(draw(st.integers(0, 2)))]
    events = []
    for i in range(draw(st.integers(0, 2))):
        start, end = draw(st.sampled_from(WHEN)), draw(st.sampled_from(WHEN))
        if start and end and end < start:
            start, end = end, start
        chaperones = [Chaperone(id=f"c{i}-{k}", name=f"C {i} {k}")
                      for k in range(draw(st.integers(0, 2)))]
        events.append(AwayEvent(id=f"e{i}", name=f"Event {i}", people=draw(some),
                                starts_at=start, ends_at=end, chaperones=chaperones))
    return validate(Site(id=SITE_ID, name="Random High", rooms=rooms, people=people,
                         buses=buses, away_events=events))


def unit_ids(site: Site) -> list[str]:
    return [*(r.id for r in site.rooms), *(b.id for b in site.buses),
            *(ev.id for ev in site.away_events), "e-new"]


def everyone(site: Site) -> list[str]:
    return [*(p.id for p in site.people), *(ch.id for ev in site.away_events
                                             for ch in ev.chaperones), "c-new"]


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Site, c.RaiseAlert, list[tuple[Any, str | None]]]:
    site = draw(sites())
    units, people = unit_ids(site), everyone(site)
    openers = ([c.RaiseAlert(kind="fire", room=r.id) for r in site.rooms]
               + [c.RaiseAlert(kind="medical", bus=b.id) for b in site.buses]
               + [c.RaiseAlert(kind="lockdown", away_event=ev.id) for ev in site.away_events])
    press = draw(st.sampled_from(openers))
    presses = st.sampled_from([*openers, c.RaiseAlert(kind="lockdown", away_event="e-new")])
    who = st.lists(st.sampled_from(people), unique=True, max_size=3)
    report = st.builds(lambda present, missing, injured, extra: c.ReportRoomStatus(
        status="evacuated", present=present, missing=missing, injured=injured, extra=extra),
        st.one_of(st.none(), st.integers(0, 12)), who, who, who)
    entry = st.builds(lambda pid, status, where: e.AccountingEntry(
        person_id=pid, status=status, location=where), st.sampled_from(people),
        st.sampled_from(STATUSES), st.one_of(st.none(), st.sampled_from(units)))
    ids = [p.id for p in site.people]
    few = st.sampled_from(ids[:2])  # the desk's steps on few students, so releases happen
    schedule = st.builds(lambda chosen, on: c.ScheduleAwayEvent(
        id="e-new", name="On the spot", people=chosen,
        starts_at=None if on else T0 + timedelta(days=1),
        chaperones=[Chaperone(id="c-new", name="New Chaperone")]),
        st.lists(st.sampled_from(ids), unique=True, max_size=4), st.booleans())
    step = st.one_of(
        st.tuples(report, st.sampled_from(units)),
        st.tuples(st.builds(lambda es: c.AccountPersons(entries=es),
                            st.lists(entry, min_size=1, max_size=4)), st.none()),
        st.tuples(schedule, st.none()),
        st.tuples(st.builds(lambda pid: c.CheckIn(person_id=pid), few), st.none()),
        st.tuples(st.builds(lambda pid: c.CheckGuardian(guardian="G", id_verified=True,
                                                        students=[pid]), few), st.none()),
        st.tuples(st.builds(lambda pid: c.Release(person_id=pid, guardian="G",
                                                  student_consents=True), few),
                  st.none()),
        st.tuples(presses, st.none()),  # a press on any unit joins the incident
        st.tuples(st.just(c.OpenReunification(reason="families at the gate")), st.none()),
        st.tuples(st.just(c.AccountPersons(entries=[  # everyone at once: releases may follow
            e.AccountingEntry(person_id=pid, status="accounted") for pid in people[:-1]])),
            st.none()))
    return site, press, draw(st.lists(step, max_size=25))


def chaperones_placed_by(config: Site | None, ev: e.Envelope) -> set[str]:
    """Who an event starts counting, told apart from the ledger: an incident opening places the
    chaperones of the events on then and of the event pressed on; an event scheduled on now,
    or pressed on, places its own."""
    if isinstance(ev, e.IncidentOpened):
        on = [x for x in config.away_events if units.active(x, ev.occurred_at)
              or x.id == ev.data.room] if config else []
    elif isinstance(ev, e.AwayEventScheduled) and units.active(ev.data.event, ev.occurred_at):
        on = [ev.data.event]
    elif isinstance(ev, e.AlertRaised) and ev.data.unit == "away_event" and config:
        on = [x for x in config.away_events if x.id == ev.data.room]
    else:
        return set()
    return {ch.id for x in on for ch in x.chaperones}


def expected_tally(ledger: accounting.Ledger, config: Site) -> Counter:
    """Each roster person and each placed chaperone, at their one place in their one status."""
    r = roster(config)
    ids = [*r.home, *(pid for pid in ledger.people if pid in r.chaperones)]
    return Counter((accounting.person(ledger, config, pid).room or "",
                    accounting.person(ledger, config, pid).status) for pid in ids)


def kept_tally(tally: dict[str, dict[str, int]]) -> Counter:
    return Counter({(room, status): n for room, counts in tally.items()
                    for status, n in counts.items() if n})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_every_person_is_counted_exactly_once_wherever_they_are(
        scenario: tuple[Site, c.RaiseAlert, list[tuple[Any, str | None]]]) -> None:
    site, press, steps = scenario
    ids = itertools.count(1)
    configured = e.SiteConfigured(id="ev-0", site=SITE_ID, occurred_at=T0 - timedelta(hours=3),
                                  recorded_at=T0 - timedelta(hours=3), data=site)
    state, shown = evolve(SiteState(), configured), board.evolve(board.empty(SITE_ID), 1,
                                                                   configured)
    seq, along = 1, set()  # the chaperones who count: placed when their event was on
    for i, (cmd, room) in enumerate([(press, None), *steps]):
        ctx = Ctx(site=SITE_ID, actor=COMMANDER, now=T0 + timedelta(seconds=i), room=room,
                  incident_id=LIVE, new_incident_id=LIVE, commander=True)
        try:
            drafts = decide(state, cmd, ctx)
        except MusterError:
            continue
        if room is not None and not room.startswith("r"):
            event("a report on a bus or an away event")
        for sealed in seal(drafts, ctx, [f"ev-{next(ids)}" for _ in drafts]):
            event(type(sealed).__name__)
            along |= chaperones_placed_by(state.site, sealed)
            seq += 1
            state, shown = evolve(state, sealed), board.evolve(shown, seq, sealed)  # type: ignore[arg-type]
        config = state.site
        assert config is not None
        ledger = state.open["live"].ledger
        want = expected_tally(ledger, config)
        assert kept_tally(ledger.tally) == want
        placed = {pid for pid in ledger.people if pid in roster(config).chaperones}
        assert placed == along
        assert sum(want.values()) == len(config.people) + len(placed)
        if placed:
            event("a chaperone counted")
        case = shown.cases[LIVE]
        assert kept_tally(case.tally) == want and case.people == ledger.people

"""The reunification desk's document (docs/api.md, "Reunification desk"): an incident's events
and its site file folded, given `now`, into what the greeter, checker, reunifier and the
exceptions track read; and `district`, the progress per reunification point across schools.

Pure: no clock (`now` is given), no I/O. The whole document names guardians, contacts and
custody restrictions, so only roster roles (redact.ROSTER_ROLES) are ever given it; the
district's summary holds counts alone.
"""

from collections.abc import Iterable, Sequence
from datetime import datetime
from statistics import median
from typing import Any

from command.domain import accounting
from command.domain import events as e
from command.domain.desk_queue import Queue
from command.domain.site import Person, Site
from command.domain.site_state import Incident, SiteState, evolve

WAITING = ("waiting", "requested", "fetched")  # checked in at the assembly area, still there


def _incident(events: Sequence[e.Event], site: Site) -> tuple[Incident | None, Site]:
    """The incident as intake's decisions last saw it open, and the site file then: an end is
    not folded, so a closed incident's desk still shows how it ended. `site` is the file in
    force at its first event; config changes among `events` are folded as intake did."""
    people = frozenset(p.id for p in site.people)
    students = frozenset(p.id for p in site.people if p.kind == "student")
    state = SiteState(site=site, people=people, students=students)
    for ev in events:
        if not isinstance(ev, e.IncidentClosed | e.IncidentCancelled):
            state = evolve(state, ev)
    return next(iter(state.open.values()), None), state.site or site


def point(events: Sequence[e.Event], site: Site) -> dict[str, Any] | None:
    """The point set last, else the evacuation site in force if it is a reunification point."""
    chosen: dict[str, Any] | None = None
    place_id: str | None = None
    for ev in events:
        if isinstance(ev, e.ReunificationPointSet):
            chosen = {"place": ev.data.place, "place_id": ev.data.place_id,
                      "address": ev.data.address}
        elif isinstance(ev, e.ProtocolDeclared):
            place_id = ev.data.evacuation_site
    if chosen is not None:
        return chosen
    place = next((p for p in site.evacuation_sites if p.id == place_id), None)
    if place is None or place.kind != "reunification":
        return None
    return {"place": place.name, "place_id": place.id, "address": place.address}


def _cases(events: Iterable[e.Event], names: dict[str, str]) -> list[dict[str, Any]]:
    cases: dict[str, dict[str, Any]] = {}
    for ev in events:
        if isinstance(ev, e.ExceptionOpened):
            d = ev.data
            cases[d.case_id] = {
                "case_id": d.case_id, "person_id": d.person_id,
                "name": names.get(d.person_id, d.person_id), "kind": d.kind,
                "hospital": d.hospital, "adult": d.adult, "assigned_to": d.assigned_to,
                "assigned_role": d.assigned_role, "opened_at": ev.occurred_at,
                "resolved": False, "outcome": None, "released_to": None, "resolved_at": None}
        elif isinstance(ev, e.ExceptionResolved) and ev.data.case_id in cases:
            cases[ev.data.case_id].update(
                resolved=True, outcome=ev.data.outcome, released_to=ev.data.released_to,
                resolved_at=ev.occurred_at)
    return list(cases.values())


def _student(p: Person, queue: Queue, inc: Incident | None, on_track: set[str],
             ) -> dict[str, Any]:
    checked = queue.checked_in.get(p.id)
    released = queue.released.get(p.id)
    if released is not None:  # by a reunifier, or by a commander resolving their case
        state = "released"
    elif p.id in on_track:
        state = "exception"
    elif p.id in queue.fetched:
        state = "fetched"
    elif checked is None:
        state = "not_checked_in"
    elif inc is not None and (any(p.id in s for s in inc.approved.values())  # by name or card
                              or any(p.id in v[1] for v in inc.approved_cards.values())):
        state = "requested"
    else:
        state = "waiting"
    return {
        "id": p.id, "name": p.name, "grade": p.grade, "room": p.room, "state": state,
        "checked_in_at": checked, "guardians": list(p.guardians),
        "restricted": list(p.restricted),
        "contacts": [{"name": c.name, "relationship": c.relationship, "phone": c.phone,
                      "email": c.email} for c in p.contacts],
        "released_to": released[1] if released else None,
        "released_at": released[0] if released else None, "card": queue.card_of(p.id)}


def desk(events: Sequence[e.Event], site: Site, now: datetime) -> dict[str, Any]:
    """The desk document of one incident at `now`: its events in stream order, with the config
    changes made while it was open interleaved (consumers/site_versions.py `history`), folded
    from `site`, the file in force at its first event."""
    inc, site = _incident(events, site)
    first = events[0] if events else None
    names = {p.id: p.name for p in site.people}
    queue = Queue.fold(events, names)
    cases = _cases(events, names)
    on_track = {c["person_id"] for c in cases}
    for c in cases:  # a case resolved into a guardian's arms is a release, off the queue
        if c["released_to"]:
            queue.released.setdefault(c["person_id"], (c["resolved_at"], c["released_to"], ""))
    students = [_student(p, queue, inc, on_track) for p in site.people if p.kind == "student"]
    complete = inc is not None and accounting.unknown(inc.ledger) == 0
    waits = queue.waits(now, on_track)
    releases = sorted(at for at, _, _ in queue.released.values())
    return {
        "incident_id": first.incident_id if first else None, "site": site.id,
        "school": site.name, "mode": first.mode if first else None,
        "ended": any(isinstance(ev, e.IncidentClosed | e.IncidentCancelled) for ev in events),
        "point": point(events, site), "accounting_complete": complete,
        "releases_open": complete or (inc is not None and inc.reunification_open),
        "counts": {"students": len(students), "checked_in": len(queue.checked_in),
                   "guardians_waiting": len(queue.open_entries(on_track)),
                   "released": sum(1 for s in students if s["released_at"] is not None),
                   "exceptions": len(cases)},
        "queue": queue.entries(now, on_track),
        "students": students,
        "exceptions": cases,
        "times": {"first_arrival_at": queue.first_arrival(),
                  "first_release_at": releases[0] if releases else None,
                  "last_release_at": releases[-1] if releases else None,
                  "median_wait_s": median(waits) if waits else None,
                  "longest_wait_s": max(waits) if waits else None},
    }


def district(name: str, desks: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Progress per reunification point over the district's open incidents' desks: counts
    only, never a name. Incidents with no point yet are grouped under a point of place None."""
    points: dict[str, dict[str, Any]] = {}
    for doc in desks:
        where = doc["point"] or {"place": None, "place_id": None, "address": ""}
        key = where["place_id"] or where["place"] or ""
        row = points.setdefault(key, {**where, "sites": [], "incidents": [],
                                      "students_waiting": 0, "guardians_waiting": 0,
                                      "released": 0, "exceptions": 0})
        if doc["site"] not in row["sites"]:
            row["sites"].append(doc["site"])
        row["incidents"].append(doc["incident_id"])
        row["students_waiting"] += sum(1 for s in doc["students"] if s["state"] in WAITING)
        row["guardians_waiting"] += doc["counts"]["guardians_waiting"]
        row["released"] += doc["counts"]["released"]
        row["exceptions"] += doc["counts"]["exceptions"]
    return {"district": name, "points": list(points.values())}

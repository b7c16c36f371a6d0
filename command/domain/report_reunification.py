"""The report's reunification section: how long guardians waited and when students went home,
per reunification point, and the exceptions track's cases by kind with their times.

It names nobody (no student, guardian, adult, hospital or outcome); the desk
(GET /v1/incidents/{id}/reunification) is where names are. The exceptions track's cases by kind
are the counsellor's to know: only roster roles (redact.ROSTER_ROLES) read the case table and the
kinds; a report built for any other reader holds the number of cases alone.
"""

from collections.abc import Sequence
from datetime import datetime
from statistics import median

import msgspec

from command.domain import events as e
from command.domain.desk_queue import Queue
from command.domain.report_format import at, h, md, md_table, table
from command.domain.report_timeline import offset
from command.domain.site import Site

NO_POINT = "no point named"
DESK = (e.GuardianArrived, e.GuardianCheckedIn, e.StudentCheckedIn, e.StudentFetched,
        e.StudentReleased, e.ExceptionOpened, e.ReunificationPointSet)


class PointCount(msgspec.Struct, frozen=True, kw_only=True):
    place: str  # the point in force when it happened
    arrivals: int = 0  # guardians greeted there
    released: int = 0  # students released there


class Case(msgspec.Struct, frozen=True, kw_only=True):
    kind: str
    assigned_role: str
    opened_s: float
    resolved_s: float | None = None
    released: bool = False  # into a listed guardian's care


class Reunification(msgspec.Struct, frozen=True, kw_only=True):
    checked_in: int
    guardians: int
    released: int
    first_arrival_s: float | None
    first_release_s: float | None
    last_release_s: float | None
    median_wait_s: float | None
    longest_wait_s: float | None
    still_waiting: int  # guardians still in the queue when the report was built
    points: list[PointCount]
    exceptions: dict[str, int]  # by kind; empty for a reader without the roster
    cases: list[Case]  # empty for a reader without the roster
    exception_cases: int = 0  # how many cases, for every reader


def _places(events: Sequence[e.Event], site: Site | None) -> list[tuple[datetime, str]]:
    """When each point came into force: a point set, or an evacuation to a reunification site."""
    kinds = {p.id: p for p in (site.evacuation_sites if site else [])}
    found: list[tuple[datetime, str]] = []
    chosen = False
    for ev in events:
        if isinstance(ev, e.ReunificationPointSet):
            found.append((ev.occurred_at, ev.data.place))
            chosen = True
        elif isinstance(ev, e.ProtocolDeclared) and not chosen:
            place = kinds.get(ev.data.evacuation_site or "")
            if place is not None and place.kind == "reunification":
                found.append((ev.occurred_at, place.name))
    return found


def _at_point(places: list[tuple[datetime, str]], when: datetime) -> str:
    return next((p for t, p in reversed(places) if t <= when), NO_POINT)


def build(events: Sequence[e.Event], site: Site | None, start: datetime,
          named: bool = False) -> Reunification | None:
    """The section for an incident's events; None when nobody used the desk. `named`: the
    reader has the roster (redact.ROSTER_ROLES), so reads the cases and their kinds."""
    if not any(isinstance(ev, DESK) for ev in events):
        return None
    queue = Queue.fold(events, {})
    cases: dict[str, Case] = {}
    for ev in events:
        if isinstance(ev, e.ExceptionOpened):
            cases[ev.data.case_id] = Case(kind=ev.data.kind, assigned_role=ev.data.assigned_role,
                                          opened_s=offset(ev.occurred_at, start))
        elif isinstance(ev, e.ExceptionResolved) and ev.data.case_id in cases:
            cases[ev.data.case_id] = msgspec.structs.replace(
                cases[ev.data.case_id], resolved_s=offset(ev.occurred_at, start),
                released=ev.data.released_to is not None)
    on_track = {ev.data.person_id for ev in events if isinstance(ev, e.ExceptionOpened)}
    last = max(ev.occurred_at for ev in events)
    waits = queue.waits(last, on_track)
    places = _places(events, site)
    points: dict[str, PointCount] = {}
    for entry in queue.queue:
        where = _at_point(places, entry.arrived_at)
        p = points.get(where, PointCount(place=where))
        points[where] = msgspec.structs.replace(p, arrivals=p.arrivals + 1)
    for when, _, _ in queue.released.values():
        where = _at_point(places, when)
        p = points.get(where, PointCount(place=where))
        points[where] = msgspec.structs.replace(p, released=p.released + 1)
    releases = sorted(when for when, _, _ in queue.released.values())
    first = queue.first_arrival()
    kinds: dict[str, int] = {}
    for case in cases.values():
        kinds[case.kind] = kinds.get(case.kind, 0) + 1
    return Reunification(
        checked_in=len(queue.checked_in), guardians=len(queue.queue), released=len(releases),
        first_arrival_s=offset(first, start) if first else None,
        first_release_s=offset(releases[0], start) if releases else None,
        last_release_s=offset(releases[-1], start) if releases else None,
        median_wait_s=median(waits) if waits else None,
        longest_wait_s=max(waits) if waits else None,
        still_waiting=len(queue.open_entries(on_track)), points=list(points.values()),
        exceptions=kinds if named else {}, cases=list(cases.values()) if named else [],
        exception_cases=len(cases))


def _wait(s: float | None) -> str:
    return "—" if s is None else f"{s:.0f} s"


def _facts(r: Reunification) -> list[tuple[str, str]]:
    return [("Students checked in", str(r.checked_in)), ("Guardians greeted", str(r.guardians)),
            ("Students released", str(r.released)),
            ("First guardian arrived", at(r.first_arrival_s)),
            ("First release", at(r.first_release_s)), ("Last release", at(r.last_release_s)),
            ("Median guardian wait", _wait(r.median_wait_s)),
            ("Longest guardian wait", _wait(r.longest_wait_s)),
            ("Guardians still waiting", str(r.still_waiting)),
            ("Exceptions", ", ".join(f"{k} {v}" for k, v in r.exceptions.items())
             or (f"{r.exception_cases} cases" if r.exception_cases else "none"))]


POINT_HEAD = ("point", "guardians greeted", "students released")
CASE_HEAD = ("kind", "assigned to", "opened", "resolved", "went home with a guardian")


def _rows(r: Reunification) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    points = [(p.place, str(p.arrivals), str(p.released)) for p in r.points]
    cases = [(c.kind, c.assigned_role, at(c.opened_s), at(c.resolved_s),
              "yes" if c.released else "no") for c in r.cases]
    return points, cases


def to_markdown(r: Reunification | None) -> list[str]:
    """The section's Markdown lines; none for an incident nobody reunified from."""
    if r is None:
        return []
    points, cases = _rows(r)
    lines = ["", "## Reunification", "", *(f"- **{k}:** {md(v)}" for k, v in _facts(r)), ""]
    lines += md_table(POINT_HEAD, points)
    return lines + (["", *md_table(CASE_HEAD, cases)] if cases else [])


def to_html(r: Reunification | None) -> str:
    if r is None:
        return ""
    points, cases = _rows(r)
    facts = "".join(f"<dt>{h(k)}</dt><dd>{h(v)}</dd>" for k, v in _facts(r))
    return (f"<h2>Reunification</h2><dl>{facts}</dl>{table(POINT_HEAD, points)}"
            + (table(CASE_HEAD, cases) if cases else ""))

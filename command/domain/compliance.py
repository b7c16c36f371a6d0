"""The compliance view (docs/drills.md): a site's drill requirements for a school year as they
stand on a given day, from its drill log's rows alone.

A requirement is done from the day its count-th qualifying drill was held, overdue from the day
its window closes unmet, due while its window is open and unmet, upcoming before it opens. A drill
is undocumented once its documentation deadline has passed without a commander's sign-off.
Tabletops never count, nor do cancelled drills; a live incident counts only where the state (or
the site file) says so.
"""

from collections.abc import Iterable
from datetime import UTC, date, timedelta, tzinfo
from typing import Literal

import msgspec

from command.domain.drill_log import DrillRow
from command.domain.drill_rules import DOCUMENTED_WITHIN_DAYS, STATES
from command.domain.school_year import SchoolYear, local_day
from command.domain.site import Site
from command.domain.site_drills import Requirement

Status = Literal["done", "due", "overdue", "upcoming"]
STATUSES: tuple[str, ...] = Status.__args__  # type: ignore[attr-defined]


class Rules(msgspec.Struct, frozen=True, kw_only=True):
    """What a site is held to: its state's requirements with the site file's over them."""

    state: str | None
    requirements: list[Requirement]
    documented_within_days: int
    count_live: bool


class Held(msgspec.Struct, frozen=True, kw_only=True):
    incident_id: str
    day: date
    kind: str
    category: str | None


class Item(msgspec.Struct, frozen=True, kw_only=True):
    requirement: str  # its id; a monthly one's also names the month: "nj-fire/2026-09"
    label: str
    categories: list[str]
    count: int
    opens: date  # the first day a drill counts
    closes: date  # the first day it is overdue if unmet
    status: Status
    held: int  # qualifying drills held in the window by the day
    done_on: date | None  # the day its count-th qualifying drill was held
    drills: list[Held]  # the drills that count for it, by the day


class Undocumented(msgspec.Struct, frozen=True, kw_only=True):
    incident_id: str
    kind: str
    category: str | None
    held_on: date
    deadline: date  # the last day to document it


class View(msgspec.Struct, frozen=True, kw_only=True):
    site: str
    state: str | None
    year: str
    on: date
    documented_within_days: int
    counts: dict[str, int]  # items by status, and how many drills are undocumented
    items: list[Item]
    undocumented: list[Undocumented]


def rules(site: Site | None) -> Rules:
    """The state's table, each requirement the site file gives by the same id replacing the
    state's, the file's others added after it."""
    table = site.drills if site else None
    state = STATES.get(table.state or "") if table else None
    own = {r.id: r for r in table.requirements} if table else {}
    base = state.requirements if state else []
    merged = [own.pop(r.id, r) for r in base] + list(own.values())
    days = table.documented_within_days if table else None
    live = table.count_live if table else None
    return Rules(state=table.state if table else None, requirements=merged,
                 documented_within_days=days if days is not None else (
                     state.documented_within_days if state else DOCUMENTED_WITHIN_DAYS),
                 count_live=live if live is not None else bool(state and state.count_live))


def windows(req: Requirement, year: SchoolYear) -> list[tuple[str, date, date]]:
    """Each window of a requirement in a school year: (id, opens, closes)."""
    if req.months:
        found = []
        for month in sorted(set(req.months), key=lambda m: (m < 7, m)):
            first = year.day(f"{month:02d}-01")
            after = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
            found.append((f"{req.id}/{first:%Y-%m}", first, after))
        return found
    opens, closes = year.day(req.opens), year.day(req.closes)
    return [(req.id, opens, closes if closes > opens else year.end_day)]


def counts(row: DrillRow, held: Rules) -> bool:
    """Whether a row is a drill that counts towards requirements at all."""
    return row.status != "cancelled" and (row.mode == "drill"
                                          or (row.mode == "live" and held.count_live))


def _held(rows: Iterable[DrillRow], held: Rules, year: SchoolYear, zone: tzinfo,
          ) -> list[tuple[Held, DrillRow]]:
    """The rows that count and were held in `year`, in the order held."""
    return sorted(((Held(incident_id=r.incident_id, day=local_day(r.started_at, zone),
                         kind=r.kind, category=r.category), r) for r in rows
                   if counts(r, held) and year.contains(local_day(r.started_at, zone))),
                  key=lambda x: (x[1].started_at, x[1].incident_id))


def view(rows: Iterable[DrillRow], site: Site | None, year: SchoolYear, on: date,
         zone: tzinfo = UTC, earlier: Iterable[DrillRow] = ()) -> View:
    """The requirements on day `on` from the rows of the site's drill log (any year: only this
    school year's, held by `on`, count). `earlier`, the previous school year's rows, is read
    only for drills whose documentation deadline falls in this year, which may be undocumented
    here; they never count for a requirement."""
    held = rules(site)
    drills = _held(rows, held, year, zone)
    items = []
    for req in held.requirements:
        for key, opens, closes in windows(req, year):
            fits = [h for h, _ in drills if h.category in req.categories
                    and opens <= h.day < closes]
            done_on = fits[req.count - 1].day if len(fits) >= req.count else None
            status: Status = ("done" if done_on is not None and done_on <= on else
                              "overdue" if on >= closes else "due" if on >= opens else
                              "upcoming")
            so_far = [h for h in fits if h.day <= on]
            items.append(Item(requirement=key, label=req.label or req.id,
                              categories=list(req.categories), count=req.count, opens=opens,
                              closes=closes, status=status, held=len(so_far), drills=so_far,
                              done_on=done_on if status == "done" else None))
    late = timedelta(days=held.documented_within_days)
    # A June drill's deadline may be in July: last year's view never saw it fall due.
    crossing = [(h, r) for h, r in _held(earlier, held, SchoolYear(year.start - 1), zone)
                if h.day + late >= year.first_day]
    undocumented = [
        Undocumented(incident_id=h.incident_id, kind=h.kind, category=h.category,
                     held_on=h.day, deadline=h.day + late)
        for h, r in crossing + drills if h.day + late < on
        and (r.signed_off_at is None or local_day(r.signed_off_at, zone) > on)]
    tally = {s: sum(1 for i in items if i.status == s) for s in STATUSES}
    return View(site=site.id if site else "", state=held.state, year=year.label, on=on,
                documented_within_days=held.documented_within_days,
                counts={**tally, "undocumented": len(undocumented)}, items=items,
                undocumented=undocumented)

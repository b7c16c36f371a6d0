"""Accountability: every roster person in exactly one status, folded from an incident's events.

One pure fold shared by the board (what responders see) and by intake's decisions (whether a
student may be released yet), so the count a board shows is the count a release is refused on.
Only changes from the roster are stored; per-room counts are kept as people change, so neither
a render nor a decision walks every person.
"""

from datetime import datetime

import msgspec
from msgspec.structs import replace

from command.domain import events as e
from command.domain import units
from command.domain.roster_index import roster
from command.domain.site import Site

STATUSES = ("accounted", "missing", "injured", "absent", "reunified", "unknown")
Tally = dict[str, dict[str, int]]  # status counts per room ("" for no room)


class Person(msgspec.Struct, frozen=True):
    room: str | None
    status: str = "unknown"


class Ledger(msgspec.Struct, frozen=True, kw_only=True):
    people: dict[str, Person] = {}
    tally: Tally = {}


def initial_tally(config: Site | None) -> Tally:
    return {room or "": {**dict.fromkeys(STATUSES, 0), "unknown": n}
            for room, n in roster(config).per_room.items()}


def opened(config: Site | None, at: datetime | None = None, unit: str | None = None) -> Ledger:
    """An incident's ledger as it opens at `at` on `unit`: nobody yet accounted for, each
    person once — an active away event's people and chaperones there, the alerted bus's
    riders on it, everyone else at home."""
    ledger = Ledger(tally=initial_tally(config))
    if at is None:
        return ledger
    return _placed(ledger, config, units.placement(config, at, unit))


def joined(ledger: Ledger, config: Site | None, event_id: str) -> Ledger:
    """An away event scheduled while an incident is open: its people nobody has placed or
    accounted for yet go there, and its chaperones start to count."""
    placed = {pid: event_id for pid in units.members(config, event_id)
              if pid not in ledger.people}
    return _placed(ledger, config, placed)


def _placed(ledger: Ledger, config: Site | None, placed: dict[str, str]) -> Ledger:
    """People moved to the unit each is placed at, not yet accounted for; a chaperone is
    counted from here on (nobody counted them at home)."""
    r = roster(config)
    changes = {pid: Person(room=unit) for pid, unit in placed.items()
               if pid in r.home or pid in r.chaperones}
    return changed(ledger, changes, config, placing=True)


def unknown(ledger: Ledger) -> int:
    """How many people nobody has yet accounted for: zero is accounting complete."""
    return sum(counts.get("unknown", 0) for counts in ledger.tally.values())


def person(ledger: Ledger, config: Site | None, pid: str) -> Person:
    """A person's place and status: their change, else their home room, not yet accounted for."""
    found = ledger.people.get(pid)
    if found is not None:
        return found
    return Person(room=roster(config).home.get(pid))


def changed(ledger: Ledger, changes: dict[str, Person], config: Site | None,
            placing: bool = False) -> Ledger:
    """The ledger with `changes` applied, its per-room counts moved with each person."""
    r = roster(config)
    if not placing:  # a chaperone counts only while placed at their event: never twice
        changes = {pid: p for pid, p in changes.items()
                   if pid in ledger.people or pid not in r.chaperones}
    if not changes:
        return ledger
    tally = dict(ledger.tally)
    home = r.home
    for pid, new in changes.items():
        if pid in ledger.people or pid in home:  # people from outside the roster were not counted
            old = person(ledger, config, pid)
            key = old.room or ""
            counts = tally.get(key)
            # Nor were people a site file added after the incident opened: nothing to move.
            if counts is not None and counts.get(old.status, 0) > 0:
                tally[key] = {**counts, old.status: counts[old.status] - 1}
        key = new.room or ""
        counts = tally.get(key) or dict.fromkeys(STATUSES, 0)
        tally[key] = {**counts, new.status: counts[new.status] + 1}
    return replace(ledger, people={**ledger.people, **changes}, tally=tally)


def room_reported(ledger: Ledger, d: e.RoomStatusReportedData, config: Site | None) -> Ledger:
    """A room's report: named people as named; the rest of the room as accounted only when
    its head count covers every one of them. A bus or away event's report settles the people
    placed there exactly as a room's settles its own."""
    if d.room not in roster(config).units:
        return ledger  # a unit a later site file removed
    changes: dict[str, Person] = {}
    for pid in d.extra:
        changes[pid] = Person(room=d.room, status="accounted")
    for pid in d.missing:
        changes[pid] = Person(room=person(ledger, config, pid).room, status="missing")
    for pid in d.injured:
        changes[pid] = Person(room=d.room, status="injured")
    rest = [] if d.present is None else _settled_by_count(ledger, config, d.room, set(changes))
    if d.present is not None and d.present >= len(rest) + len(d.extra):
        changes.update({pid: Person(room=d.room, status="accounted") for pid in rest})
    return changed(ledger, changes, config)


def _settled_by_count(ledger: Ledger, config: Site | None, room: str,
                      named: set[str]) -> list[str]:
    """The people in `room`, not named by a report, whose status a head count may settle.
    Roster order, then the others as placed, so every process folds to the same bytes."""
    r, people, ok = roster(config), ledger.people, ("unknown", "accounted")
    found = [pid for pid in r.homes.get(room, ()) if pid not in named
             and ((p := people.get(pid)) is None or (p.room == room and p.status in ok))]
    # Only people placed away from home (few) need the walk over the stored changes.
    moved = [pid for pid, p in people.items() if p.room == room and p.status in ok
             and pid not in named and r.home.get(pid) != room]
    if not moved:
        return found
    return sorted([*found, *moved], key=lambda pid: r.order.get(pid, len(r.order)))


def accounted(ledger: Ledger, d: e.PersonsAccountedData, config: Site | None) -> Ledger:
    """People accounted for by name, each moved to the unit given where it is one of the site's
    rooms, buses or away events."""
    rooms = roster(config).units
    changes = {}
    for entry in d.entries:
        prior = person(ledger, config, entry.person_id)
        room = entry.location if entry.location in rooms else prior.room
        changes[entry.person_id] = Person(room=room, status=entry.status)
    return changed(ledger, changes, config)


def checked_in(ledger: Ledger, pid: str, config: Site | None) -> Ledger:
    """A student reaching the assembly area is found, whatever was thought before."""
    prior = person(ledger, config, pid)
    status = "accounted" if prior.status in ("unknown", "missing") else prior.status
    return changed(ledger, {pid: Person(room=prior.room, status=status)}, config)


def released(ledger: Ledger, pid: str, config: Site | None) -> Ledger:
    prior = person(ledger, config, pid)
    return changed(ledger, {pid: Person(room=prior.room, status="reunified")}, config)

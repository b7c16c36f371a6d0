"""What a roster import changes: the site's current people against the imported ones, as the
people added, changed (any field differs: a room move, guardians, restrictions, contacts, the
name or the grade) and removed; and those changes applied to a site file. Pure.

A daily sync of the same export gives an empty diff, and decide writes nothing for it. A person
removed leaves every bus's riders and away event's people too (`dropped` says which), so a
leaver a past field trip named never blocks the next sync. An import that does not say who is
restricted (no `metadata.muster.restricted` column) keeps everyone's restrictions (`kept`),
a removed person's too: the site's `custody` holds them by id, and a person added again gets
them back, so one night's absence from an export never lifts a custody order.
"""

from collections.abc import Mapping, Sequence

import msgspec
from msgspec.structs import replace

from command.domain import events as e
from command.domain.names import among, folded
from command.domain.site import Person, Site

PART = 1000  # people in one RosterChanged: a part stays far under a NATS message's 1 MB


class Diff(msgspec.Struct, frozen=True):
    added: list[Person] = []
    changed: list[Person] = []
    removed: list[str] = []

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed)


def diff(current: Sequence[Person], imported: Sequence[Person]) -> Diff:
    """`imported` against `current`, by person id; each list in the order its source gives."""
    before = {p.id: p for p in current}
    now = {p.id for p in imported}
    return Diff(added=[p for p in imported if p.id not in before],
                changed=[p for p in imported if p.id in before and before[p.id] != p],
                removed=[p.id for p in current if p.id not in now])


def parts(found: Diff, source: str, size: int = PART) -> list[e.RosterChangedData]:
    """The diff as RosterChanged data, at most `size` people (added, changed or removed) each,
    numbered part of parts: written in one append, so no reader sees half an import."""
    items: list[tuple[str, object]] = [("added", p) for p in found.added]
    items += [("changed", p) for p in found.changed] + [("removed", r) for r in found.removed]
    chunks = [items[i:i + size] for i in range(0, len(items), size)]
    return [e.RosterChangedData(
        added=[p for k, p in chunk if k == "added"],  # type: ignore[misc]
        changed=[p for k, p in chunk if k == "changed"],  # type: ignore[misc]
        removed=[r for k, r in chunk if k == "removed"],  # type: ignore[misc]
        source=source, part=n, parts=len(chunks)) for n, chunk in enumerate(chunks, 1)]


def applied(site: Site, change: e.RosterChangedData) -> Site:
    """The site file with one RosterChanged applied: a changed person keeps their place in the
    roster, a removed one leaves it and every bus's riders and away event's people, the added
    come last. A removed person's restrictions stay in `custody`; an added one's entry goes
    (they carry their restrictions again)."""
    gone = set(change.removed)
    site = _custody(site, change)
    moved = {p.id: p for p in change.changed}
    people = [moved.get(p.id, p) for p in site.people if p.id not in gone]
    known = {p.id for p in people}
    people += [p for p in change.added if p.id not in known]
    if not gone:
        return replace(site, people=people)
    buses = [replace(b, riders=[r for r in b.riders if r not in gone])
             if gone.intersection(b.riders) else b for b in site.buses]
    away = [replace(a, people=[r for r in a.people if r not in gone])
            if gone.intersection(a.people) else a for a in site.away_events]
    return replace(site, people=people, buses=buses, away_events=away)


def _custody(site: Site, change: e.RosterChangedData) -> Site:
    """`site` with the restrictions of the people `change` removes kept, of those it adds gone."""
    gone = set(change.removed)
    leaving = {p.id: list(p.restricted) for p in site.people if p.restricted and p.id in gone}
    back = {p.id for p in change.added}.intersection(site.custody)
    if not leaving and not back:
        return site
    custody = {k: v for k, v in site.custody.items() if k not in back}
    return replace(site, custody={**custody, **leaving})


def kept_for(site: Site, removed: Sequence[str]) -> tuple[int, list[str]]:
    """The restrictions kept for the people `removed` takes off the roster, and their ids."""
    gone = set(removed)
    held = [p for p in site.people if p.id in gone and p.restricted]
    return sum(len(p.restricted) for p in held), [p.id for p in held]


def dropped(site: Site, removed: Sequence[str]) -> list[str]:
    """What removing `removed` takes off the site's buses and away events, in the file's order:
    "bus-7: riders s-5 removed"."""
    gone = set(removed)
    said = []
    for unit, field, ids in [*((b.id, "riders", b.riders) for b in site.buses),
                             *((a.id, "people", a.people) for a in site.away_events)]:
        if left := [i for i in ids if i in gone]:
            said.append(f"{unit}: {field} {', '.join(left)} removed")
    return said


def kept(current: Sequence[Person], imported: Sequence[Person],
         custody: Mapping[str, Sequence[str]] | None = None) -> list[Person]:
    """`imported` with each known person's current restrictions kept, and a person added again
    given back those `custody` kept when they were removed: for an import that does not say
    who is restricted. A kept restricted adult is never a guardian or a contact."""
    before = {p.id: p for p in current}
    custody = custody or {}
    out = []
    for person in imported:
        was = before.get(person.id)
        barred = was.restricted if was is not None else custody.get(person.id, person.restricted)
        out.append(replace(person, restricted=list(barred),
                           guardians=[g for g in person.guardians if not among(g, barred)],
                           contacts=[c for c in person.contacts if not among(c.name, barred)]))
    return out


def restrictions(current: Sequence[Person], found: Diff,
                 custody: Mapping[str, Sequence[str]] | None = None) -> tuple[int, int]:
    """The restrictions an import adds and removes (names compared folded), on the people it
    adds or changes, a person added again against those `custody` kept for them; a removed
    person's restrictions are kept (`kept_for`), neither added nor removed."""
    before = {k: {folded(n) for n in v} for k, v in (custody or {}).items()}
    before.update({p.id: {folded(n) for n in p.restricted} for p in current})
    added = removed = 0
    for person in [*found.added, *found.changed]:
        was, now = before.get(person.id, set()), {folded(n) for n in person.restricted}
        added, removed = added + len(now - was), removed + len(was - now)
    return added, removed


def moves(current: Sequence[Person], found: Diff) -> bool:
    """Whether the diff moves anyone: adds or removes a person, or changes a room or a kind."""
    before = {p.id: p for p in current}
    return bool(found.added or found.removed) or any(
        (p.room, p.kind) != (before[p.id].room, before[p.id].kind) for p in found.changed)


def counts(change: e.RosterChangedData) -> dict[str, int]:
    """What a board, a timeline or a socket shows of a RosterChanged: counts, never a name."""
    return {"added": len(change.added), "changed": len(change.changed),
            "removed": len(change.removed), "part": change.part, "parts": change.parts}

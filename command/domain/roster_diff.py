"""What a roster import changes: the site's current people against the imported ones, as the
people added, changed (any field differs: a room move, guardians, restrictions, contacts, the
name or the grade) and removed; and those changes applied to a site file. Pure.

A daily sync of the same export gives an empty diff, and decide writes nothing for it.
"""

from collections.abc import Sequence

import msgspec
from msgspec.structs import replace

from command.domain import events as e
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
    roster, a removed one leaves it, the added come last."""
    gone = set(change.removed)
    moved = {p.id: p for p in change.changed}
    people = [moved.get(p.id, p) for p in site.people if p.id not in gone]
    known = {p.id for p in people}
    people += [p for p in change.added if p.id not in known]
    return replace(site, people=people)


def counts(change: e.RosterChangedData) -> dict[str, int]:
    """What a board, a timeline or a socket shows of a RosterChanged: counts, never a name."""
    return {"added": len(change.added), "changed": len(change.changed),
            "removed": len(change.removed), "part": change.part, "parts": change.parts}

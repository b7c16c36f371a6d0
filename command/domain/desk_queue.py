"""The reunification desk's queue: each guardian from the greeter's card to the release of the
students they came for, folded from an incident's events (GuardianArrived, GuardianCheckedIn,
StudentCheckedIn, StudentFetched, StudentReleased). Pure; `reunification_desk` shapes it.

A guardian checked without being greeted joins the queue at the check. A check names its card,
or else is taken as the check of the latest card-less entry of that guardian not yet checked: an
approval without a card is no approval of a card, so a carded entry waits for its card's check.
A flagged check flags every approved entry of that name, as intake takes back all its approvals.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from command.domain import events as e
from command.domain import names as adults

Handover = tuple[datetime, str, str]  # when, to whom, on which card


@dataclass
class Entry:
    card: str
    guardian: str
    students: list[str]
    arrived_at: datetime
    state: str = "waiting"  # waiting | approved | flagged
    flags: list[str] = field(default_factory=list)
    checked: bool = False


@dataclass
class Queue:
    names: dict[str, str]
    queue: list[Entry] = field(default_factory=list)
    checked_in: dict[str, datetime] = field(default_factory=dict)
    fetched: dict[str, Handover] = field(default_factory=dict)
    released: dict[str, Handover] = field(default_factory=dict)

    @classmethod
    def fold(cls, events: Iterable[e.Event], names: dict[str, str]) -> "Queue":
        q = cls(names)
        for ev in events:
            if isinstance(ev, e.GuardianArrived):
                d = ev.data
                q.queue.append(Entry(d.card, d.guardian, list(d.students), ev.occurred_at))
            elif isinstance(ev, e.GuardianCheckedIn):
                q._checked(ev)
            elif isinstance(ev, e.StudentCheckedIn):
                q.checked_in.setdefault(ev.data.person_id, ev.occurred_at)
            elif isinstance(ev, e.StudentFetched):
                q.fetched[ev.data.person_id] = (ev.occurred_at, ev.data.guardian, ev.data.card)
            elif isinstance(ev, e.StudentReleased):
                q.released[ev.data.person_id] = (ev.occurred_at, ev.data.guardian, ev.data.card)
        return q

    def _checked(self, ev: e.GuardianCheckedIn) -> None:
        d = ev.data
        entry = next((q for q in reversed(self.queue) if q.card == d.card), None) if d.card \
            else next((q for q in reversed(self.queue)  # a carded entry needs its card's check
                       if adults.same(q.guardian, d.guardian) and not q.checked and not q.card),
                      None)
        if entry is not None and not adults.same(entry.guardian, d.guardian):
            entry = None  # a card's entry is its greeted adult's: another's check is not theirs
        if entry is None:  # straight to the checker, without a greeter's card
            entry = Entry(d.card, d.guardian, [], ev.occurred_at)
            self.queue.append(entry)
        entry.students += [s for s in d.students if s not in entry.students]
        entry.checked, entry.flags = True, list(d.flags)
        entry.state = "flagged" if d.flags else "approved" if d.approved else "waiting"
        if d.flags:  # as intake: a flagged name takes back every approval under that name
            for other in self.queue:
                if other.state == "approved" and adults.same(other.guardian, d.guardian):
                    other.state, other.flags = "flagged", list(d.flags)

    def _done(self, entry: Entry, on_track: set[str]) -> bool:
        return all(s in self.released or s in on_track for s in entry.students)

    def open_entries(self, on_track: set[str]) -> list[Entry]:
        return [q for q in self.queue if not self._done(q, on_track)]

    def entries(self, now: datetime, on_track: set[str]) -> list[dict[str, Any]]:
        """The guardians still waiting, longest wait first as they arrived."""
        return [{"card": q.card, "guardian": q.guardian,
                 "students": [{"id": s, "name": self.names.get(s, s)} for s in q.students],
                 "arrived_at": q.arrived_at, "wait_s": _seconds(now - q.arrived_at),
                 "state": q.state, "flags": q.flags} for q in self.open_entries(on_track)]

    def waits(self, now: datetime, on_track: set[str]) -> list[float]:
        """Each guardian's wait: to the last release of their students, or to now while they
        wait; a guardian whose students all went to the exceptions track is not counted."""
        found = []
        for q in self.queue:
            ends = [self.released[s][0] for s in q.students if s in self.released]
            if not self._done(q, on_track):
                found.append(_seconds(now - q.arrived_at))
            elif ends:
                found.append(_seconds(max(ends) - q.arrived_at))
        return found

    def first_arrival(self) -> datetime | None:
        return min((q.arrived_at for q in self.queue), default=None)

    def card_of(self, person_id: str) -> str | None:
        """The card the student leaves on, is fetched on, or was last asked for on."""
        for handed in (self.released, self.fetched):
            if person_id in handed and handed[person_id][2]:
                return handed[person_id][2]
        asked = [q.card for q in self.queue if person_id in q.students and q.card]
        return asked[-1] if asked else None


def _seconds(delta: Any) -> float:
    return max(0.0, round(delta.total_seconds(), 3))

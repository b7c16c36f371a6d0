"""What each event owes the notifier's outbox: its sends and the escalation timers it starts or
stops, worked out once as the event is folded and written in the fold's transaction.

Most events owe nothing, and a quiet one (rooms, people, notes, the notifier's own records) is
passed by undecoded unless a channel asks for its type: nothing a message reads can change.
"""

from datetime import timedelta
from typing import NamedTuple

import asyncpg
import msgspec

from command.domain import alert_rules, board
from command.domain import events as e
from command.domain.alert_rules import Delivery
from command.domain.site import Channel
from consumers import faults, outbox
from consumers.faults import Fault

NAME = "notifier"
ESCALATE_ON = (e.AlertRaised, e.ProtocolDeclared)
STOP_TIMERS = (e.ResponderAcknowledged, e.IncidentCancelled, e.IncidentClosed)
# Types whose fold touches only what no message reads (rooms, people, notes, notifications):
# unless a channel asks for one, the notifier passes it by without decoding it.
QUIET = frozenset({"RoomStatusReported", "PersonsAccounted", "NoteAdded", "StudentCheckedIn",
                   "StudentReleased", "GuardianCheckedIn", "DispatchUpdated",
                   "CommandTransferred", "NotificationSent", "NotificationFailed",
                   "NotificationEscalated"})
# Each message's event time (occurred_at, stamped by intake as it appends), for the dispatcher's
# first-send latency; in memory, newest events only: a row older than these is timed from its
# writing (the dispatcher's `first_send`).
EVENT_TIMES: dict[str, float] = {}
EVENT_TIMES_KEPT = 4096


class _Head(msgspec.Struct):
    type: str
    site: str


_head = msgspec.json.Decoder(_Head)


def passes_by(states: dict[str, board.State], data: bytes) -> bool:
    """Whether an event can neither send nor change what a later send reads."""
    head = _head.decode(data)
    if head.type not in QUIET:
        return False
    config = states[head.site].config if head.site in states else None
    return config is None or not any(head.type in ch.events for ch in config.channels)


def planned(state: board.State, event: e.Event) -> list[Delivery] | None:
    """The sends folding `event` on `state` writes to the outbox, or None when it writes
    nothing at all (no send, no timer to stop) and so needs no transaction."""
    if isinstance(event, e.IncidentCancelled):
        return []  # its false alarm goes to whoever heard the alerts: the outbox knows
    sends = alert_rules.deliveries(state, event)
    return sends if sends or isinstance(event, STOP_TIMERS) else None


def acts(state: board.State, event: e.Event) -> bool:
    """Whether folding `event` writes to the outbox or the timers (so needs a transaction)."""
    return planned(state, event) is not None


def channel_of(state: board.State, name: str) -> Channel | None:
    config = state.config
    return next((c for c in config.channels if c.name == name), None) if config else None


class Effect(NamedTuple):
    """An event that writes to the outbox, with the board before it and the sends it causes."""
    before: board.State
    seq: int
    event: e.Event
    sends: list[Delivery]


class Batch:
    """One pass of folding: the states it moves, the sites it faults, the effects it owes."""

    def __init__(self, states: dict[str, board.State], stopped: set[str]) -> None:
        self.states = dict(states)
        self.stopped = stopped  # sites faulted before this pass: their events are passed by
        self.new: dict[str, Fault] = {}
        self.effects: list[Effect] = []

    def step(self, seq: int, raw: bytes) -> None:
        """Fold one event unless its site is stopped; one that raises faults its site (into
        `new`), and the site's later events are passed by: never a gap."""
        try:
            if passes_by(self.states, raw):
                return
            event = e.decode(raw)
        except Exception as exc:
            fault = faults.of(NAME, seq, raw, exc)
            if fault.site not in self.stopped and fault.site not in self.new:
                self.new[fault.site] = fault
            return
        site = event.site
        if site in self.stopped or site in self.new:
            return
        before = self.states.get(site) or board.empty(site)
        try:
            sends = planned(before, event)
            self.states[site] = board.evolve(before, seq, event)
        except Exception as exc:
            self.new[site] = faults.of(NAME, seq, raw, exc, event)
            return
        if sends is not None:
            self.effects.append(Effect(before, seq, event, sends))


async def write_effects(conn: asyncpg.Connection, effect: Effect) -> None:
    """One event's outbox rows, and the escalation timers it starts or stops."""
    before, seq, event, sends = effect
    if isinstance(event, e.IncidentCancelled):
        sends = alert_rules.deliveries(before, event, await outbox.alerted(conn,
                                                                           event.incident_id))
    # One round trip for the rows and one for the timers: on the path press → first alert.
    if sends:
        await outbox.enqueue(conn, sends, seq)
    timers = []
    for d in sends:
        remember(d.event_id, event.occurred_at.timestamp())
        channel = channel_of(before, d.channel)
        if (isinstance(event, ESCALATE_ON) and channel and channel.escalate_after_s
                and channel.escalate_to and d.incident_id):
            timers.append((d, event.occurred_at + timedelta(seconds=channel.escalate_after_s)))
    if timers:
        await outbox.start_timers(conn, timers)
    if isinstance(event, STOP_TIMERS) and event.incident_id:
        await outbox.stop_timers(conn, event.incident_id)


def remember(event_id: str, at: float) -> None:
    """Keep an event's time until its messages' first sends; the oldest give way past the cap."""
    EVENT_TIMES[event_id] = at
    if len(EVENT_TIMES) > EVENT_TIMES_KEPT:
        del EVENT_TIMES[next(iter(EVENT_TIMES))]

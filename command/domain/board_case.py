"""One incident's part of a board, a case, and how each event on that incident changes it.

`board.step` hands every event of an open incident to the handler `EVOLVERS` names for its type;
the case it returns is the one the board keeps, or ends when the incident's status is no longer
open. Accountability goes through the same ledger fold intake decides on.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any

import msgspec
from msgspec.structs import replace

from command.domain import accounting, board_units
from command.domain import events as e
from command.domain.accounting import Person
from command.domain.board_units import Place, Room
from command.domain.policy import SEVERITY_LABEL, directive
from command.domain.site import Site


class Protocol(msgspec.Struct, frozen=True, kw_only=True):
    action: str
    severity: str
    directive: str
    declared_at: datetime
    zones: list[str] = []
    evacuate_to: str | None = None
    hazard: str | None = None
    strategy: str | None = None
    places: list[Place] = []  # every place the evacuation named, in order: the last in force


class Opening(msgspec.Struct, frozen=True, kw_only=True):
    at: datetime
    by: str
    reason: str


class Incident(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    kind: str
    mode: str
    status: str
    opened_at: datetime
    room: str | None = None
    commander: str | None = None
    agency: str | None = None
    false_alarm: bool = False
    ended_at: datetime | None = None
    alerts: int = 0
    updates: int = 0  # protocol changes after the first declaration: CAP Update messages
    updated_at: datetime | None = None
    silent: bool = False  # a silent alarm: only responder-facing channels have heard of it
    note: str | None = None  # a drill's note
    reunification_opened: Opening | None = None  # early, by a commander, before accounting


class Ack(msgspec.Struct, frozen=True):
    responder: str
    at: datetime


class Note(msgspec.Struct, frozen=True):
    text: str
    at: datetime
    by: str


class Inject(msgspec.Struct, frozen=True, kw_only=True):
    """A tabletop's inject as delivered: what the people at the table answer."""

    index: int
    clock: str
    source: str
    text: str
    at: datetime


class Notification(msgspec.Struct, frozen=True, kw_only=True):
    channel: str
    event_id: str
    at: datetime
    ok: bool
    attempt: int = 1
    error: str | None = None
    escalated_to: list[str] = []


class Channel(msgspec.Struct, frozen=True, kw_only=True):
    """One channel's sends on an incident, summed as they are recorded: a board shows this,
    bounded by the site's channels however many sends there were."""

    channel: str
    sent: int = 0
    failed: int = 0
    escalated: int = 0
    escalated_to: list[str] = []
    last_at: datetime | None = None
    last_ok: bool | None = None
    last_error: str | None = None
    first_ok_at: datetime | None = None  # from when an acknowledgement answers this channel


def _summed(channels: dict[str, Channel], n: Notification, kind: str) -> dict[str, Channel]:
    was = channels.get(n.channel) or Channel(channel=n.channel)
    if kind == "escalated":  # not a send: the last send's outcome stays what it was
        now = replace(was, escalated=was.escalated + 1, escalated_to=[
            *was.escalated_to, *(t for t in n.escalated_to if t not in was.escalated_to)])
    else:
        ok = kind == "sent"
        now = replace(was, sent=was.sent + int(ok), failed=was.failed + int(not ok), last_at=n.at,
                      last_ok=ok, last_error=was.last_error if ok else n.error,
                      first_ok_at=was.first_ok_at or (n.at if ok else None))
    return {**channels, n.channel: now}


class Case(msgspec.Struct, frozen=True, kw_only=True):
    """One incident's part of a board: everything that ends when the incident ends."""

    incident: Incident
    protocol: Protocol | None = None
    rooms: dict[str, Room] = {}
    people: dict[str, Person] = {}
    acks: list[Ack] = []
    notes: list[Note] = []
    notifications: list[Notification] = []
    channels: dict[str, Channel] = {}  # the notifications summed per channel, in first order
    dispatch: dict[str, Any] | None = None
    checked_in: list[str] = []
    flags: list[str] = []
    injects: list[Inject] = []  # a tabletop's, in delivery order
    tally: dict[str, dict[str, int]] = {}  # status counts per room ("" none), kept: cheap renders
    places: list[Place] = []  # the evacuation's places, kept across declarations: relocations
    exception_cases: dict[str, str] = {}  # case id -> student: board_desk's, never rendered


def _alert(case: Case, ev: e.AlertRaised, config: Site | None) -> Case:
    # An incident a silent press opened stays silent (heard by responders only) until a
    # commander declares a protocol or someone presses aloud; a silent press never hushes an
    # incident people have already heard of.
    opens = case.incident.alerts == 0 and case.protocol is None
    silent = ev.data.silent and (opens or case.incident.silent)
    case = board_units.alerted(case, ev, config)  # a bus's or away event's latest location
    return replace(case, incident=replace(case.incident, alerts=case.incident.alerts + 1,
                                          silent=silent))


def _reunification(case: Case, ev: e.ReunificationOpened, config: Site | None) -> Case:
    opening = Opening(at=ev.occurred_at, by=ev.actor.id, reason=ev.data.reason)
    return replace(case, incident=replace(case.incident, reunification_opened=opening))


def _declared(case: Case, ev: e.ProtocolDeclared, config: Site | None) -> Case:
    d = ev.data
    places = board_units.placed(case, d, ev.occurred_at)
    protocol = Protocol(
        action=d.action, severity=SEVERITY_LABEL[d.action],
        directive=directive(d.action, d.evacuate_to, d.hazard, d.strategy),
        declared_at=ev.occurred_at, zones=d.zones, evacuate_to=d.evacuate_to, hazard=d.hazard,
        strategy=d.strategy, places=places if d.action == "evacuate" else [],
    )
    if d.reason == "commander" and case.incident.silent:  # a commander's protocol is heard by all
        case = replace(case, incident=replace(case.incident, silent=False))
    return _updated(replace(case, protocol=protocol, places=places), ev, first=case.protocol is None
                    and case.incident.updates == 0 and case.incident.updated_at is None)


def _updated(case: Case, ev: e.Envelope, first: bool = False) -> Case:
    updates = case.incident.updates + (0 if first else 1)
    return replace(case, incident=replace(case.incident, updates=updates,
                                          updated_at=ev.occurred_at))


def _lifted(case: Case, ev: e.ProtocolLifted, config: Site | None) -> Case:
    return _updated(replace(case, protocol=None), ev)


def _ledger(case: Case, change: Callable[[accounting.Ledger], accounting.Ledger]) -> Case:
    ledger = change(accounting.Ledger(people=case.people, tally=case.tally))
    return replace(case, people=ledger.people, tally=ledger.tally)


def _room_report(case: Case, ev: e.RoomStatusReported, config: Site | None) -> Case:
    d = ev.data
    room = case.rooms.get(d.room)
    if room is not None:  # a room added by a later site file has no row, but its people count
        room = replace(room, status=d.status, reported_at=ev.occurred_at,
                       reported_by=ev.actor.id, present=d.present, missing=d.missing,
                       injured=d.injured, extra=d.extra)
        case = replace(case, rooms={**case.rooms, d.room: room})
    # The same fold intake decides releases on, so the board's count is the one refused on.
    return _ledger(case, lambda led: accounting.room_reported(led, d, config))


def _accounted(case: Case, ev: e.PersonsAccounted, config: Site | None) -> Case:
    return _ledger(case, lambda led: accounting.accounted(led, ev.data, config))


def _checked_in(case: Case, ev: e.StudentCheckedIn, config: Site | None) -> Case:
    case = replace(case, checked_in=[*case.checked_in, ev.data.person_id])
    return _ledger(case, lambda led: accounting.checked_in(led, ev.data.person_id, config))


def _guardian(case: Case, ev: e.GuardianCheckedIn, config: Site | None) -> Case:
    if not ev.data.flags:
        return case
    flags = [f"guardian {ev.data.guardian!r}: {f}" for f in ev.data.flags]
    return replace(case, flags=[*case.flags, *flags])


def _released(case: Case, ev: e.StudentReleased, config: Site | None) -> Case:
    return _ledger(case, lambda led: accounting.released(led, ev.data.person_id, config))


def _dispatch(case: Case, ev: e.DispatchUpdated, config: Site | None) -> Case:
    """911's call as its CAD last told it: the time is the CAD's own update when it gave one."""
    d = ev.data
    return replace(case, dispatch={"cad_id": d.cad_id, "status": d.status, "units": d.units,
                                   "notes": d.notes, "updated_at": d.updated_at or ev.occurred_at,
                                   "type": d.type, "type_text": d.type_text,
                                   "priority": d.priority, "priority_text": d.priority_text,
                                   "agency": d.agency, "tracking_id": d.tracking_id})


def _ack(case: Case, ev: e.ResponderAcknowledged, config: Site | None) -> Case:
    return replace(case, acks=[*case.acks, Ack(responder=ev.data.responder, at=ev.occurred_at)])


def _note(case: Case, ev: e.NoteAdded, config: Site | None) -> Case:
    note = Note(text=ev.data.text, at=ev.occurred_at, by=ev.actor.id)
    return replace(case, notes=[*case.notes, note])


def _inject(case: Case, ev: e.InjectDelivered, config: Site | None) -> Case:
    d = ev.data
    inject = Inject(index=d.index, clock=d.clock, source=d.source, text=d.text,
                    at=ev.occurred_at)
    return replace(case, injects=[*case.injects, inject])


def _command(case: Case, ev: e.CommandTransferred, config: Site | None) -> Case:
    incident = replace(case.incident, commander=ev.data.commander, agency=ev.data.agency)
    return replace(case, incident=incident)


def _sent(case: Case, ev: e.NotificationSent, config: Site | None) -> Case:
    n = Notification(channel=ev.data.channel, event_id=ev.data.event_id, at=ev.occurred_at,
                     ok=True, attempt=ev.data.attempt)
    return _notified(case, n, "sent")


def _failed(case: Case, ev: e.NotificationFailed, config: Site | None) -> Case:
    n = Notification(channel=ev.data.channel, event_id=ev.data.event_id, at=ev.occurred_at,
                     ok=False, attempt=ev.data.attempt, error=ev.data.error)
    return _notified(case, n, "failed")


def _escalated(case: Case, ev: e.NotificationEscalated, config: Site | None) -> Case:
    n = Notification(channel=ev.data.channel, event_id=ev.data.event_id, at=ev.occurred_at,
                     ok=True, escalated_to=ev.data.to)
    return _notified(case, n, "escalated")


def _notified(case: Case, n: Notification, kind: str) -> Case:
    return replace(case, notifications=[*case.notifications, n],
                   channels=_summed(case.channels, n, kind))


def _cancelled(case: Case, ev: e.IncidentCancelled, config: Site | None) -> Case:
    incident = replace(case.incident, status="cancelled", false_alarm=True, ended_at=ev.occurred_at)
    return replace(case, incident=incident)


def _closed(case: Case, ev: e.IncidentClosed, config: Site | None) -> Case:
    return replace(case, incident=replace(case.incident, status="closed", ended_at=ev.occurred_at))


EVOLVERS: dict[type, Callable[[Any, Any, Site | None], Any]] = {
    e.AlertRaised: _alert,
    e.ProtocolDeclared: _declared,
    e.ProtocolLifted: _lifted,
    e.RoomStatusReported: _room_report,
    e.PersonsAccounted: _accounted,
    e.StudentCheckedIn: _checked_in,
    e.GuardianCheckedIn: _guardian,
    e.StudentReleased: _released,
    e.ReunificationOpened: _reunification,
    e.DispatchUpdated: _dispatch,
    e.ResponderAcknowledged: _ack,
    e.NoteAdded: _note,
    e.CommandTransferred: _command,
    e.NotificationSent: _sent,
    e.NotificationFailed: _failed,
    e.NotificationEscalated: _escalated,
    e.IncidentCancelled: _cancelled,
    e.IncidentClosed: _closed,
    e.InjectDelivered: _inject,
}

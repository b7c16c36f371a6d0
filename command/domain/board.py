"""The board: a pure fold of a site's events into what responders see (CONTRACT §2, §3).

`evolve(state, seq, event)` is the only way a board changes, and `render(state)` the only way it
is shown, so the PostgreSQL read model, the live WebSocket boards, a replay and a report are one
fold and can never disagree. Accountability keeps every roster person in exactly one status.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any

import msgspec
from msgspec.structs import replace

from command.domain import accounting, redact
from command.domain import events as e
from command.domain.accounting import STATUSES, Person
from command.domain.policy import SEVERITY_LABEL, directive
from command.domain.render_cache import Memo, NoMemo
from command.domain.roster_index import roster
from command.domain.site import Site

NOTES_SHOWN = 20  # a board's notes: the latest; GET /v1/incidents/{id}/timeline has them all


class Room(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    building: str
    floor: int
    zone: str
    status: str | None = None
    reported_at: datetime | None = None
    reported_by: str | None = None
    present: int | None = None
    missing: list[str] = []
    injured: list[str] = []
    extra: list[str] = []


class Protocol(msgspec.Struct, frozen=True, kw_only=True):
    action: str
    severity: str
    directive: str
    declared_at: datetime
    zones: list[str] = []
    evacuate_to: str | None = None
    hazard: str | None = None
    strategy: str | None = None


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


class Notification(msgspec.Struct, frozen=True, kw_only=True):
    channel: str
    event_id: str
    at: datetime
    ok: bool
    attempt: int = 1
    error: str | None = None
    escalated_to: list[str] = []


class Case(msgspec.Struct, frozen=True, kw_only=True):
    """One incident's part of a board: everything that ends when the incident ends."""

    incident: Incident
    protocol: Protocol | None = None
    rooms: dict[str, Room] = {}
    people: dict[str, Person] = {}
    acks: list[Ack] = []
    notes: list[Note] = []
    notifications: list[Notification] = []
    dispatch: dict[str, Any] | None = None
    checked_in: list[str] = []
    flags: list[str] = []
    # Status counts per room ("" for no room), kept as people change so a render is cheap.
    tally: dict[str, dict[str, int]] = {}


class State(msgspec.Struct, frozen=True, kw_only=True):
    site: str
    seq: int = 0
    config: Site | None = None
    cases: dict[str, Case] = {}  # open incidents by id; a live one outranks a drill
    mode: str = "live"
    ended: Case | None = None  # the last incident to end, for CAP's Cancel and the notifier
    hidden: frozenset[str] = frozenset()  # ids of events never shown: their records neither


def empty(site: str, mode: str = "live") -> State:
    return State(site=site, mode=mode)


def _fresh_rooms(config: Site | None) -> dict[str, Room]:
    if config is None:
        return {}
    return {
        r.id: Room(id=r.id, name=r.name, building=r.building, floor=r.floor, zone=r.zone)
        for r in config.rooms
    }


def step(state: State, seq: int, event: e.Event) -> tuple[State, Case | None]:
    """Fold one event; also the incident's case it touched, as it stands after the event."""
    if seq <= state.seq:
        return state, None
    apply = _EVOLVERS.get(type(event))
    state = replace(state, seq=seq)
    if redact.never_shown(event):
        return replace(state, hidden=state.hidden | {event.id}), None
    if apply is None or redact.never_shown(event, state.hidden):  # touches no case, shows nowhere
        return state, None
    if isinstance(event, e.SiteConfigured):
        return apply(state, event), None
    if isinstance(event, e.IncidentOpened):
        state = apply(state, event)
        return state, state.cases.get(event.incident_id or "")
    case = state.cases.get(event.incident_id or "")
    if case is None:
        return state, None
    case = apply(case, event, state.config)
    if case.incident.status != "open":
        remaining = {k: v for k, v in state.cases.items() if k != case.incident.id}
        return replace(state, cases=remaining, ended=case), case
    return replace(state, cases={**state.cases, case.incident.id: case}), case


def evolve(state: State, seq: int, event: e.Event) -> State:
    """Fold one event at stream sequence `seq`; an event at or below the board's seq is a no-op."""
    return step(state, seq, event)[0]


def _configured(state: State, ev: e.SiteConfigured, *_: object) -> State:
    mode = "replay" if ev.mode == "replay" else state.mode  # a replay board stays one
    return replace(state, config=ev.data, mode=mode)


def _opened(state: State, ev: e.IncidentOpened) -> State:
    incident = Incident(
        id=ev.incident_id or "", kind=ev.data.kind, mode=ev.mode, status="open",
        opened_at=ev.occurred_at, room=ev.data.room, note=ev.data.note,
    )
    case = Case(incident=incident, rooms=_fresh_rooms(state.config),
                tally=accounting.initial_tally(state.config))
    return replace(state, cases={**state.cases, incident.id: case})


def _alert(case: Case, ev: e.AlertRaised, config: Site | None) -> Case:
    # An incident a silent press opened stays silent (heard by responders only) until a
    # commander declares a protocol or someone presses aloud; a silent press never hushes an
    # incident people have already heard of.
    opens = case.incident.alerts == 0 and case.protocol is None
    silent = ev.data.silent and (opens or case.incident.silent)
    return replace(case, incident=replace(case.incident, alerts=case.incident.alerts + 1,
                                          silent=silent))


def _reunification(case: Case, ev: e.ReunificationOpened, config: Site | None) -> Case:
    opening = Opening(at=ev.occurred_at, by=ev.actor.id, reason=ev.data.reason)
    return replace(case, incident=replace(case.incident, reunification_opened=opening))


def _declared(case: Case, ev: e.ProtocolDeclared, config: Site | None) -> Case:
    d = ev.data
    protocol = Protocol(
        action=d.action, severity=SEVERITY_LABEL[d.action],
        directive=directive(d.action, d.evacuate_to, d.hazard, d.strategy),
        declared_at=ev.occurred_at, zones=d.zones, evacuate_to=d.evacuate_to, hazard=d.hazard,
        strategy=d.strategy,
    )
    if d.reason == "commander" and case.incident.silent:  # a commander's protocol is heard by all
        case = replace(case, incident=replace(case.incident, silent=False))
    return _updated(replace(case, protocol=protocol), ev, first=case.protocol is None
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
    d = ev.data
    return replace(case, dispatch={"cad_id": d.cad_id, "status": d.status, "units": d.units,
                                   "notes": d.notes, "updated_at": ev.occurred_at})


def _ack(case: Case, ev: e.ResponderAcknowledged, config: Site | None) -> Case:
    return replace(case, acks=[*case.acks, Ack(responder=ev.data.responder, at=ev.occurred_at)])


def _note(case: Case, ev: e.NoteAdded, config: Site | None) -> Case:
    note = Note(text=ev.data.text, at=ev.occurred_at, by=ev.actor.id)
    return replace(case, notes=[*case.notes, note])


def _command(case: Case, ev: e.CommandTransferred, config: Site | None) -> Case:
    incident = replace(case.incident, commander=ev.data.commander, agency=ev.data.agency)
    return replace(case, incident=incident)


def _sent(case: Case, ev: e.NotificationSent, config: Site | None) -> Case:
    n = Notification(channel=ev.data.channel, event_id=ev.data.event_id, at=ev.occurred_at,
                     ok=True, attempt=ev.data.attempt)
    return replace(case, notifications=[*case.notifications, n])


def _failed(case: Case, ev: e.NotificationFailed, config: Site | None) -> Case:
    n = Notification(channel=ev.data.channel, event_id=ev.data.event_id, at=ev.occurred_at,
                     ok=False, attempt=ev.data.attempt, error=ev.data.error)
    return replace(case, notifications=[*case.notifications, n])


def _escalated(case: Case, ev: e.NotificationEscalated, config: Site | None) -> Case:
    n = Notification(channel=ev.data.channel, event_id=ev.data.event_id, at=ev.occurred_at,
                     ok=True, escalated_to=ev.data.to)
    return replace(case, notifications=[*case.notifications, n])


def _cancelled(case: Case, ev: e.IncidentCancelled, config: Site | None) -> Case:
    incident = replace(case.incident, status="cancelled", false_alarm=True, ended_at=ev.occurred_at)
    return replace(case, incident=incident)


def _closed(case: Case, ev: e.IncidentClosed, config: Site | None) -> Case:
    return replace(case, incident=replace(case.incident, status="closed", ended_at=ev.occurred_at))


_EVOLVERS: dict[type, Callable[[Any, Any], Any]] = {
    e.SiteConfigured: _configured,
    e.IncidentOpened: _opened,
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
}


# --- rendering -------------------------------------------------------------------------------


def current(state: State) -> Case | None:
    """The case a board shows: a live incident outranks a drill at the same site."""
    cases = sorted(state.cases.values(), key=lambda c: (c.incident.mode != "live",
                                                         c.incident.opened_at))
    return cases[0] if cases else None


def _with_total(counts: dict[str, int]) -> dict[str, int]:
    return {"total": sum(counts.values()), **counts}


def _site_counts(rooms: dict[str, dict[str, int]]) -> dict[str, int]:
    """Accountability for the site, from the counts kept per room as people change."""
    site = dict.fromkeys(STATUSES, 0)
    for counts in rooms.values():
        for status, n in counts.items():
            site[status] += n
    return _with_total(site)


def _of_concern(state: State, case: Case) -> list[dict[str, Any]]:
    """Missing and injured people by name: what staff and commanders act on first."""
    if not any(counts.get("missing") or counts.get("injured") for counts in case.tally.values()):
        return []  # the usual case, from the per-room counts: no walk over every person
    names = roster(state.config).names
    return [{"id": pid, "name": names.get(pid, pid), "status": p.status, "room": p.room}
            for pid, p in case.people.items() if p.status in ("missing", "injured")]


_EMPTY_ROOM = _with_total(dict.fromkeys(STATUSES, 0))


def _room_row(room: Room, counts: dict[str, int] | None) -> dict[str, Any]:
    return {**msgspec.to_builtins(room),
            "accountability": _EMPTY_ROOM if counts is None else _with_total(counts)}


def render(state: State, memo: Memo | None = None) -> dict[str, Any]:
    """The board as the contract spells it, as plain data ready for JSON. With the board's
    `memo`, only the parts changed since its last render are converted again."""
    memo = memo or NoMemo()
    case = current(state)
    config = state.config
    rooms = case.rooms if case else _fresh_rooms(config)
    tally = case.tally if case else accounting.initial_tally(config)
    room_rows = [memo.row(room.id, room, tally.get(room.id), _room_row) for room in rooms.values()]
    mode = state.mode if state.mode == "replay" else (case.incident.mode if case else "live")
    board = {
        "site": state.site,
        "name": config.name if config else None,
        "seq": state.seq,
        "mode": mode,
        "incident": memo.built(case.incident) if case else None,
        "protocol": memo.built(case.protocol) if case and case.protocol else None,
        "rooms": room_rows,
        "accountability": memo.part("site", tally, None, lambda: _site_counts(tally)),
        "dispatch": memo.built(case.dispatch) if case and case.dispatch else None,
        "acks": memo.built(case.acks) if case else [],
        "notifications": memo.built(case.notifications) if case else [],
        # The latest only: every note's update carries the part whole, and an incident's 200th
        # note was then a 15.7 KB message to every board (the timeline keeps them all).
        "notes": memo.part("notes", case.notes, None,
                           lambda: msgspec.to_builtins(case.notes[-NOTES_SHOWN:])) if case else [],
        "notes_total": len(case.notes) if case else 0,
        "flags": list(case.flags) if case else [],
        "people": memo.part("people", case.people, config, lambda: _of_concern(state, case))
        if case else [],
        "responder_packet": memo.built(config.responder_packet) if config else None,
        "other_incidents": [c.incident.id for c in state.cases.values()
                            if case and c.incident.id != case.incident.id],
    }
    memo.done()
    return board


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The parts of a rendered board that changed; `rooms` carries only the rooms that did."""
    changed: dict[str, Any] = {}
    for key, value in after.items():
        if key == "rooms":
            old = {r["id"]: r for r in before.get("rooms", [])}
            rooms = [r for r in value if (o := old.get(r["id"])) is not r and o != r]
            if rooms:
                changed["rooms"] = rooms
        elif (old_value := before.get(key)) is not value and old_value != value:
            changed[key] = value
    return changed


def fold(site: str, events: list[tuple[int, e.Event]], mode: str = "live") -> State:
    """A board from scratch: the same result as evolving it one event at a time."""
    state = empty(site, mode)
    for seq, event in events:
        state = evolve(state, seq, event)
    return state

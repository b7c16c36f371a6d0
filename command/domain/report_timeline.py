"""The after-action report's timeline: each event of an incident said in one plain line, as the
reader's role may see it. Shared by the report's timeline and its per-inject debrief."""

from collections.abc import Callable
from datetime import datetime
from typing import Any

import msgspec

from command.domain import events as e
from command.domain.dispatch_rules import timeline_text
from command.domain.policy import directive

View = Callable[[dict[str, Any]], dict[str, Any] | None]


class Entry(msgspec.Struct, frozen=True, kw_only=True):
    at: datetime
    offset_s: float
    type: str
    actor: str
    text: str


def actor(a: dict[str, Any]) -> str:
    return f"{a.get('kind')}:{a.get('id')}" + (f" ({a['role']})" if a.get("role") else "")


def people(n: int) -> str:
    return f"{n} {'person' if n == 1 else 'people'}"


def short(text: Any, limit: int = 160) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def offset(at: datetime, start: datetime) -> float:
    return (at - start).total_seconds()


_TEXT: dict[str, Callable[[dict[str, Any]], str]] = {
    "IncidentOpened": lambda d: f"{d.get('kind')} incident opened"
    + (f" in room {d['room']}" if d.get("room") else "")
    + (f" — drill note: {short(d['note'])}" if d.get("note") else ""),
    "AlertRaised": lambda d: f"{d.get('kind')} alert in room {d.get('room')} → "
    f"{d.get('action')}" + (" (silent)" if d.get("silent") else "")
    + (f" — {d['note']}" if d.get("note") else ""),
    "ProtocolDeclared": lambda d: f"{str(d.get('action')).upper()} declared: "
    + directive(d.get("action"), d.get("evacuate_to"), d.get("hazard"),  # type: ignore[arg-type]
                d.get("strategy")),
    "ProtocolLifted": lambda d: f"{d.get('action')} lifted"
    + (": all clear" if d.get("reason") == "all_clear" else ": cancelled"),
    "RoomStatusReported": lambda d: f"room {d.get('room')}: {d.get('status')}"
    + (f", {d['present']} present" if d.get("present") is not None else "")
    + (f", {len(d['missing'])} missing" if d.get("missing") else "")
    + (f", {len(d['injured'])} injured" if d.get("injured") else ""),
    "PersonsAccounted": lambda d: f"{people(len(d.get('entries') or []))} accounted for",
    "StudentCheckedIn": lambda d: f"{d.get('person_id')} checked in"
    + (f" at {d['area']}" if d.get("area") else ""),
    "GuardianCheckedIn": lambda d: "guardian " + (f"{d['guardian']} " if "guardian" in d else "")
    + f"checked for {', '.join(d.get('students') or [])}"
    + (f" — flagged: {'; '.join(d['flags'])}" if d.get("flags") else ""),
    "ReunificationOpened": lambda d: "reunification opened before accounting was complete: "
    + short(d.get("reason")),
    "StudentReleased": lambda d: f"{d.get('person_id')} released to "
    + (d["guardian"] if "guardian" in d else "a checked guardian"),
    "GuardianArrived": lambda d: "guardian " + (f"{d['guardian']} " if "guardian" in d else "")
    + f"arrived for {', '.join(d.get('students') or [])}"
    + (f" (card {d['card']})" if d.get("card") else ""),
    "StudentFetched": lambda d: f"{d.get('person_id')} fetched for "
    + (d["guardian"] if "guardian" in d else "a checked guardian"),
    # Roster roles read whose case and why; the others' view keeps only that a case exists.
    "ExceptionOpened": lambda d: f"{d['person_id']} to the exceptions track: {d.get('kind')}, "
    f"case {d.get('case_id')} ({d.get('assigned_role')})" if "person_id" in d
    else f"exceptions-track case {d.get('case_id')} opened",
    "ExceptionResolved": lambda d: f"case {d.get('case_id')} resolved",
    "ReunificationPointSet": lambda d: f"reunification point: {d.get('place')}",
    "DispatchUpdated": timeline_text,
    "ResponderAcknowledged": lambda d: f"acknowledged by {d.get('responder')}",
    "NoteAdded": lambda d: short(str(d.get("text", ""))),
    "CommandTransferred": lambda d: f"command to {d.get('commander')} ({d.get('agency')})",
    "NotificationSent": lambda d: f"sent to {d.get('channel')} (attempt {d.get('attempt')})",
    "NotificationFailed": lambda d: f"failed to {d.get('channel')}: {short(d.get('error'))}",
    "NotificationEscalated": lambda d: f"{d.get('channel')} escalated to "
    + ", ".join(d.get("to") or []),
    "IncidentCancelled": lambda d: f"cancelled as a false alarm: {short(d.get('reason'))}",
    "IncidentClosed": lambda d: "closed" + (f": {short(d['summary'])}" if d.get("summary")
                                            else ""),
    "InjectDelivered": lambda d: f"inject {int(d.get('index') or 0) + 1}"
    + (f" ({d['clock']})" if d.get("clock") else "")
    + (f", {d['source']}" if d.get("source") else "") + f": {short(d.get('text'))}",
    "DrillSignedOff": lambda d: f"signed off by {d.get('signed_by')}"
    + (f", {d['title']}" if d.get("title") else "")
    + (f": {short(d['note'])}" if d.get("note") else ""),
}


def describe(ev: e.Event, start: datetime, view: View | None) -> Entry | None:
    """One event as a timeline entry, as `view` lets its reader see it (None: not at all)."""
    doc: dict[str, Any] | None = msgspec.to_builtins(ev)
    doc = view(doc) if view and doc is not None else doc
    if doc is None:
        return None
    said = _TEXT.get(doc["type"])
    text = said(doc.get("data") or {}) if said else doc["type"]
    return Entry(at=ev.occurred_at, offset_s=offset(ev.occurred_at, start), type=doc["type"],
                 actor=actor(doc.get("actor") or {}), text=text)


def timeline(events: list[e.Event], start: datetime, view: View | None) -> list[Entry]:
    return [x for x in (describe(ev, start, view) for ev in events) if x is not None]


def since(s: float) -> str:
    """Seconds after the start as a reader says them: +1:40, +1:02:03."""
    whole = int(s)
    h, m, sec = whole // 3600, whole % 3600 // 60, whole % 60
    return f"+{h}:{m:02d}:{sec:02d}" if h else f"+{m}:{sec:02d}"

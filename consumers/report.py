"""The after-action report (DOMAIN.md "Drills and debriefs"): one incident's events folded into
what a debrief needs, rendered as JSON, Markdown or one self-contained HTML page.

`build` is pure and folds the board's own `step`, so the accountability a report shows is the one
the boards showed. Renderers escape every text they did not write themselves.
"""

import html
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
from msgspec.structs import replace

from command import events as e
from command.site import Site
from consumers import board

View = Callable[[dict[str, Any]], dict[str, Any] | None]
NOT_REACHED = "not reached"
MILESTONES = {"protocol": "Protocol declared", "first_ack": "First acknowledgement",
              "rooms_reported": "Every room reported", "all_accounted": "All accounted for",
              "all_clear": "All clear", "last_reunified": "Last student reunified",
              "end": "Incident ended"}


class Milestone(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    label: str
    at: datetime | None = None
    offset_s: float | None = None
    note: str | None = None  # why it was not reached


class Entry(msgspec.Struct, frozen=True, kw_only=True):
    at: datetime
    offset_s: float
    type: str
    actor: str
    text: str


class Point(msgspec.Struct, frozen=True, kw_only=True):
    offset_s: float
    accounted: int
    unknown: int


class Command(msgspec.Struct, frozen=True, kw_only=True):
    at: datetime
    offset_s: float
    commander: str
    agency: str


class Counts(msgspec.Struct, frozen=True, kw_only=True):
    alerts: int = 0
    rooms: dict[str, int] = {}
    people: dict[str, int] = {}
    notifications: dict[str, dict[str, int]] = {}  # channel -> sent, failed, escalated


class Report(msgspec.Struct, frozen=True, kw_only=True):
    title: str
    incident_id: str
    site: str
    school: str
    timezone: str
    kind: str
    mode: str
    status: str  # open, closed or cancelled
    false_alarm: bool
    opened_at: datetime
    ended_at: datetime | None
    opened_by: str
    commanders: list[Command]
    participants: list[str]
    milestones: list[Milestone]
    counts: Counts
    accountability: list[Point]
    timeline: list[Entry]
    summary: str | None = None
    cancel_reason: str | None = None


def _actor(a: dict[str, Any]) -> str:
    return f"{a.get('kind')}:{a.get('id')}" + (f" ({a['role']})" if a.get("role") else "")


def _people(n: int) -> str:
    return f"{n} {'person' if n == 1 else 'people'}"


_TEXT: dict[str, Callable[[dict[str, Any]], str]] = {
    "IncidentOpened": lambda d: f"{d.get('kind')} incident opened"
    + (f" in room {d['room']}" if d.get("room") else ""),
    "AlertRaised": lambda d: f"{d.get('kind')} alert in room {d.get('room')} → "
    f"{d.get('action')}" + (" (silent)" if d.get("silent") else "")
    + (f" — {d['note']}" if d.get("note") else ""),
    "ProtocolDeclared": lambda d: f"{str(d.get('action')).upper()} declared"
    + (f" to {d['evacuate_to']}" if d.get("evacuate_to") else "")
    + (f", hazard {d['hazard']}" if d.get("hazard") else ""),
    "ProtocolLifted": lambda d: f"{d.get('action')} lifted"
    + (": all clear" if d.get("reason") == "all_clear" else ": cancelled"),
    "RoomStatusReported": lambda d: f"room {d.get('room')}: {d.get('status')}"
    + (f", {d['present']} present" if d.get("present") is not None else "")
    + (f", {len(d['missing'])} missing" if d.get("missing") else "")
    + (f", {len(d['injured'])} injured" if d.get("injured") else ""),
    "PersonsAccounted": lambda d: f"{_people(len(d.get('entries') or []))} accounted for",
    "StudentCheckedIn": lambda d: f"{d.get('person_id')} checked in"
    + (f" at {d['area']}" if d.get("area") else ""),
    "GuardianCheckedIn": lambda d: "guardian " + (f"{d['guardian']} " if "guardian" in d else "")
    + f"checked for {', '.join(d.get('students') or [])}"
    + (f" — flagged: {'; '.join(d['flags'])}" if d.get("flags") else ""),
    "StudentReleased": lambda d: f"{d.get('person_id')} released to "
    + (d["guardian"] if "guardian" in d else "a checked guardian"),
    "DispatchUpdated": lambda d: f"dispatch {d.get('cad_id') or ''} {d.get('status') or ''}"
    .rstrip() + f", {len(d.get('units') or [])} units",
    "ResponderAcknowledged": lambda d: f"acknowledged by {d.get('responder')}",
    "NoteAdded": lambda d: _short(str(d.get("text", ""))),
    "CommandTransferred": lambda d: f"command to {d.get('commander')} ({d.get('agency')})",
    "NotificationSent": lambda d: f"sent to {d.get('channel')} (attempt {d.get('attempt')})",
    "NotificationFailed": lambda d: f"failed to {d.get('channel')}: {_short(d.get('error'))}",
    "NotificationEscalated": lambda d: f"{d.get('channel')} escalated to "
    + ", ".join(d.get("to") or []),
    "IncidentCancelled": lambda d: f"cancelled as a false alarm: {_short(d.get('reason'))}",
    "IncidentClosed": lambda d: "closed" + (f": {_short(d['summary'])}" if d.get("summary")
                                            else ""),
}


def _short(text: Any, limit: int = 160) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _unknown(case: board.Case) -> tuple[int, int]:
    """Accounted and unknown across the site, from the counts the board keeps."""
    rooms = case.tally.values()
    return sum(c["accounted"] for c in rooms), sum(c["unknown"] for c in rooms)


def _total(case: board.Case) -> int:
    return sum(sum(c.values()) for c in case.tally.values())


def build(events: list[tuple[int, e.Event]], site: Site | None, view: View | None = None,
          ) -> Report:
    """The report of the one incident in `events` (a site file among them is folded first);
    `view` redacts each timeline entry as a reader's role may see it (None: drop it)."""
    ordered = sorted(events, key=lambda x: x[0])
    mine = [ev for _, ev in ordered if ev.incident_id and not isinstance(ev, e.SiteConfigured)]
    if not mine:
        raise ValueError("no events of an incident")
    first, iid = mine[0], mine[0].incident_id
    start = first.occurred_at
    state = replace(board.empty(first.site), config=site)
    case: board.Case | None = None
    points: list[Point] = []
    accounted_at = None
    for seq, ev in ordered:
        state, touched = board.step(state, seq, ev)
        if touched is None or touched.incident.id != iid:
            continue
        case = touched
        accounted, unknown = _unknown(case)
        if not points or (points[-1].accounted, points[-1].unknown) != (accounted, unknown):
            points.append(Point(offset_s=_off(ev.occurred_at, start), accounted=accounted,
                                unknown=unknown))
        if accounted_at is None and unknown == 0 and _total(case):
            accounted_at = ev.occurred_at
    if case is None:
        raise ValueError(f"incident {iid} was never opened in these events")
    config = state.config
    inc = case.incident
    times = _Times(start)
    reported: dict[str, datetime] = {}
    for ev in mine:
        times.see(ev)
        if isinstance(ev, e.RoomStatusReported) and ev.data.room in case.rooms:
            reported.setdefault(ev.data.room, ev.occurred_at)
    missing_rooms = len(case.rooms) - len(reported)
    people = dict.fromkeys(board.STATUSES, 0)
    for counts in case.tally.values():
        for status, n in counts.items():
            people[status] += n
    ended = inc.ended_at
    milestones = [
        times.milestone("protocol", times.first.get("ProtocolDeclared")),
        times.milestone("first_ack", times.first.get("ResponderAcknowledged")),
        times.milestone("rooms_reported", max(reported.values()) if not missing_rooms
                        and reported else None,
                        f"{missing_rooms} of {len(case.rooms)} rooms never reported"),
        times.milestone("all_accounted", accounted_at,
                        f"{_people(people['unknown'])} still unknown at the end"),
        times.milestone("all_clear", times.all_clear,
                        "cancelled as a false alarm" if inc.false_alarm else None),
        times.milestone("last_reunified", times.last.get("StudentReleased"),
                        "no student was released"),
        times.milestone("end", ended, "the incident is still open"),
    ]
    room_counts: dict[str, int] = {}
    for room in case.rooms.values():
        key = room.status or "not reported"
        room_counts[key] = room_counts.get(key, 0) + 1
    notes: dict[str, dict[str, int]] = {}
    for n in case.notifications:
        kind = "escalated" if n.escalated_to else "sent" if n.ok else "failed"
        notes.setdefault(n.channel, {"sent": 0, "failed": 0, "escalated": 0})[kind] += 1
    drill = {"drill": "DRILL — ", "replay": "REPLAY — "}.get(inc.mode, "")
    school = config.name if config else first.site
    return Report(
        title=f"{drill}After-action report: {inc.kind} at {school}", incident_id=inc.id,
        site=first.site, school=school, timezone=config.timezone if config else "UTC",
        kind=inc.kind, mode=inc.mode, status=inc.status, false_alarm=inc.false_alarm,
        opened_at=inc.opened_at, ended_at=ended, opened_by=_actor(msgspec.to_builtins(
            first.actor)), commanders=times.commands, participants=sorted(times.actors),
        milestones=milestones, accountability=points, timeline=_timeline(mine, start, view),
        counts=Counts(alerts=inc.alerts, rooms=room_counts,
                      people={"total": sum(people.values()), **people}, notifications=notes),
        summary=times.summary, cancel_reason=times.reason)


def _off(at: datetime, start: datetime) -> float:
    return (at - start).total_seconds()


class _Times:
    """The first and last time of each event type, and the facts only one type carries."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self.first: dict[str, datetime] = {}
        self.last: dict[str, datetime] = {}
        self.all_clear: datetime | None = None
        self.commands: list[Command] = []
        self.actors: set[str] = set()
        self.summary: str | None = None
        self.reason: str | None = None

    def see(self, ev: e.Event) -> None:
        kind = e.type_of(ev)
        self.first.setdefault(kind, ev.occurred_at)
        self.last[kind] = ev.occurred_at
        if ev.actor.kind != "system":
            self.actors.add(_actor(msgspec.to_builtins(ev.actor)))
        if isinstance(ev, e.ProtocolLifted) and ev.data.reason == "all_clear":
            self.all_clear = ev.occurred_at  # the last lift: a protocol may be declared again
        elif isinstance(ev, e.CommandTransferred):
            self.commands.append(Command(at=ev.occurred_at, offset_s=_off(ev.occurred_at,
                                 self.start), commander=ev.data.commander, agency=ev.data.agency))
        elif isinstance(ev, e.IncidentClosed):
            self.summary = ev.data.summary
        elif isinstance(ev, e.IncidentCancelled):
            self.reason = ev.data.reason

    def milestone(self, key: str, at: datetime | None, why: str | None = None) -> Milestone:
        if at is None:
            return Milestone(key=key, label=MILESTONES[key], note=f"{NOT_REACHED}: {why}"
                             if why else NOT_REACHED)
        return Milestone(key=key, label=MILESTONES[key], at=at, offset_s=_off(at, self.start))


def _timeline(events: list[e.Event], start: datetime, view: View | None) -> list[Entry]:
    entries = []
    for ev in events:
        if isinstance(ev, e.HandleWithCareIssued):
            continue  # never on any board or timeline, whoever reads
        doc: dict[str, Any] | None = msgspec.to_builtins(ev)
        doc = view(doc) if view and doc is not None else doc
        if doc is None:
            continue
        describe = _TEXT.get(doc["type"])
        text = describe(doc.get("data") or {}) if describe else doc["type"]
        entries.append(Entry(at=ev.occurred_at, offset_s=_off(ev.occurred_at, start),
                             type=doc["type"], actor=_actor(doc.get("actor") or {}), text=text))
    return entries


# --- rendering -------------------------------------------------------------------------------


def to_json(report: Report) -> bytes:
    return msgspec.json.encode(report)


def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def _clock(at: datetime | None, zone: tzinfo, date: bool = False) -> str:
    return at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z" if date else "%H:%M:%S") \
        if at else "—"


def _dur(s: float | None) -> str:
    if s is None:
        return NOT_REACHED
    whole = int(s)
    h, m, sec = whole // 3600, whole % 3600 // 60, whole % 60
    return f"+{h}:{m:02d}:{sec:02d}" if h else f"+{m}:{sec:02d}"


def _facts(r: Report) -> list[tuple[str, str]]:
    zone = _zone(r.timezone)
    chain = "; ".join(f"{c.commander} ({c.agency}) at {_clock(c.at, zone)}" for c in r.commanders)
    return [("Incident", f"{r.incident_id} — {r.kind}, {r.mode}"),
            ("School", f"{r.school} ({r.site})"),
            ("Opened", f"{_clock(r.opened_at, zone, True)} by {r.opened_by}"),
            ("Ended", f"{_clock(r.ended_at, zone, True)} ({r.status})"),
            ("False alarm", f"yes: {r.cancel_reason}" if r.false_alarm else "no"),
            ("Command", chain or "not transferred"), ("Summary", r.summary or "—"),
            ("Participants", ", ".join(r.participants) or "—")]


def _counts(r: Report) -> list[tuple[str, str]]:
    c = r.counts
    rows = [("Alerts raised", str(c.alerts)),
            ("Rooms", ", ".join(f"{k} {v}" for k, v in c.rooms.items()) or "—"),
            ("People at the end", ", ".join(f"{k} {v}" for k, v in c.people.items()
                                            if v or k == "total"))]
    return rows + [(f"Channel {ch}", ", ".join(f"{k} {v}" for k, v in n.items()))
                   for ch, n in c.notifications.items()]


def _md(text: str) -> str:
    return html.escape(" ".join(text.split()), quote=False).replace("|", "\\|")


def to_markdown(r: Report) -> str:
    zone = _zone(r.timezone)
    lines = [f"# {_md(r.title)}", "", *(f"- **{k}:** {_md(v)}" for k, v in _facts(r)), "",
             "## Milestones", "", "| milestone | time | after start |", "|---|---|---|"]
    lines += [f"| {m.label} | {_clock(m.at, zone)} | {_md(m.note or _dur(m.offset_s))} |"
              for m in r.milestones]
    lines += ["", "## Counts", "", *(f"- **{k}:** {_md(v)}" for k, v in _counts(r)), "",
              "## Timeline", "", "| time | after start | event | by | what |",
              "|---|---|---|---|---|"]
    lines += [f"| {_clock(x.at, zone)} | {_dur(x.offset_s)} | {x.type} | {_md(x.actor)} | "
              f"{_md(x.text)} |" for x in r.timeline]
    return "\n".join(lines) + "\n"


def _h(text: object) -> str:
    return html.escape(str(text), quote=True)


def _table(head: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    cells = "".join(f"<th>{_h(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{_h(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"


CSS = ("body{font:15px/1.4 system-ui,sans-serif;margin:2em auto;max-width:1000px;color:#222}"
       "table{border-collapse:collapse;margin:.5em 0 1.5em;width:100%}"
       "td,th{border-bottom:1px solid #ddd;padding:.25em .5em;text-align:left;vertical-align:top}"
       "dt{font-weight:600;float:left;width:9em}dd{margin:0 0 .3em 9.5em}"
       ".drill{background:#fff3c4}.replay{background:#e4ecff}svg{width:100%;height:auto}"
       ".axis{stroke:#444}.ms{stroke:#999;stroke-dasharray:4 3}.lbl{font-size:11px}"
       ".alert{fill:#c62828}.room{fill:#1565c0}.people{fill:#2e7d32}.note{fill:#777}"
       ".acc{fill:none;stroke:#2e7d32;stroke-width:2}.unk{fill:none;stroke:#ef6c00;stroke-width:2}")
_LANES = {"AlertRaised": "alert", "ProtocolDeclared": "alert", "ProtocolLifted": "alert",
          "RoomStatusReported": "room", "PersonsAccounted": "people",
          "StudentCheckedIn": "people", "StudentReleased": "people"}
W, LEFT, RIGHT, TOP, BOTTOM = 960, 60, 30, 150, 290


def _svg(r: Report) -> str:
    """Events as marks on a time axis, milestones labelled, accountability as two lines."""
    span = max([1.0, *(x.offset_s for x in r.timeline),
                *(m.offset_s or 0.0 for m in r.milestones)])
    total = max(r.counts.people.get("total", 0), 1)

    def x(t: float) -> str:
        return f"{LEFT + (W - LEFT - RIGHT) * max(t, 0.0) / span:.1f}"

    def y(v: int) -> str:
        return f"{BOTTOM - (BOTTOM - TOP) * v / total:.1f}"

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} 320" role="img" '
           f'aria-label="Timeline chart"><line class="axis" x1="{LEFT}" y1="110" '
           f'x2="{W - RIGHT}" y2="110"/><line class="axis" x1="{LEFT}" y1="{BOTTOM}" '
           f'x2="{W - RIGHT}" y2="{BOTTOM}"/>']
    for i in range(6):
        t = span * i / 5
        out.append(f'<text class="lbl" x="{x(t)}" y="{BOTTOM + 16}" text-anchor="middle">'
                   f"{_h(_dur(t))}</text>")
    for i, m in enumerate(m for m in r.milestones if m.offset_s is not None):
        t = m.offset_s or 0.0
        anchor = "end" if t > span / 2 else "start"  # labels stay inside the chart's edges
        out.append(f'<line class="ms" x1="{x(t)}" y1="{16 + 14 * (i % 4)}" x2="{x(t)}" '
                   f'y2="{BOTTOM}"/><text class="lbl" x="{x(t)}" y="{12 + 14 * (i % 4)}" '
                   f'text-anchor="{anchor}">{_h(m.label)}</text>')
    for entry in r.timeline:
        out.append(f'<circle class="{_LANES.get(entry.type, "note")}" cx="{x(entry.offset_s)}" '
                   f'cy="110" r="4"><title>{_h(_dur(entry.offset_s))} {_h(entry.type)}: '
                   f"{_h(entry.text)}</title></circle>")
    for field, css in (("accounted", "acc"), ("unknown", "unk")):
        if r.accountability:
            values = [(p.offset_s, getattr(p, field)) for p in r.accountability]
            path = f"M{x(values[0][0])},{y(values[0][1])}" + "".join(
                f" H{x(t)} V{y(v)}" for t, v in values[1:]) + f" H{x(span)}"
            out.append(f'<path class="{css}" d="{path}"><title>{field}</title></path>')
    out.append(f'<text class="lbl" x="{LEFT}" y="{TOP - 6}">accountability of {total}: '
               '<tspan class="acc">accounted (green)</tspan>, unknown (orange)</text></svg>')
    return "".join(out)


def to_html(r: Report) -> str:
    zone = _zone(r.timezone)
    facts = "".join(f"<dt>{_h(k)}</dt><dd>{_h(v)}</dd>" for k, v in _facts(r))
    miles = [(m.label, _clock(m.at, zone), m.note or _dur(m.offset_s)) for m in r.milestones]
    rows = [(_clock(x.at, zone), _dur(x.offset_s), x.type, x.actor, x.text) for x in r.timeline]
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{_h(r.title)}'
            f'</title><style>{CSS}</style></head><body class="{_h(r.mode)}">'
            f"<h1>{_h(r.title)}</h1><dl>{facts}</dl><h2>Milestones</h2>"
            f"{_table(('milestone', 'time', 'after start'), miles)}<h2>Timeline chart</h2>"
            f"{_svg(r)}<h2>Counts</h2>{_table(('what', 'count'), _counts(r))}<h2>Timeline</h2>"
            f"{_table(('time', 'after start', 'event', 'by', 'what'), rows)}</body></html>\n")

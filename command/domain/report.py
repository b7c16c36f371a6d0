"""The after-action report (DOMAIN.md "Drills and debriefs"): one incident's events folded into
what a debrief needs, rendered as JSON, Markdown or one self-contained HTML page.

`build` is pure and folds the board's own `step`, so the accountability a report shows is the one
the boards showed. Renderers escape every text they did not write themselves.
"""

from datetime import datetime

import msgspec
from msgspec.structs import replace

from command.domain import accounting, board, board_case, board_units, drill_log, redact
from command.domain import events as e
from command.domain import report_timeline as tl
from command.domain.drill_log import DrillRow
from command.domain.report_compare import same_kind
from command.domain.report_findings import Finding, find
from command.domain.report_format import NOT_REACHED
from command.domain.report_injects import InjectStep, debrief
from command.domain.report_reunification import Reunification
from command.domain.report_reunification import build as reunified
from command.domain.report_timeline import Entry, View, offset
from command.domain.site import Site

__all__ = ["NOT_REACHED", "Entry", "Report", "View", "build"]
MILESTONES = {"protocol": "Protocol declared", "first_ack": "First acknowledgement",
              "rooms_reported": "Every room reported", "all_accounted": "All accounted for",
              "all_clear": "All clear", "last_reunified": "Last student reunified",
              "end": "Incident ended"}
HISTORY = 10  # earlier drills a report compares with
MODE_TITLES = {"drill": "DRILL — ", "replay": "REPLAY — ", "tabletop": "TABLETOP — "}


class Milestone(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    label: str
    at: datetime | None = None
    offset_s: float | None = None
    note: str | None = None  # why it was not reached


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


class SignOff(msgspec.Struct, frozen=True, kw_only=True):
    """The commander's sign-off of the record, as the DrillSignedOff event says it."""

    signed_by: str
    title: str
    note: str | None
    at: datetime
    event_id: str


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
    note: str | None = None  # a drill's note: what it practised
    reunification_opened: str | None = None  # early, by a commander: when, who and why
    findings: list[Finding] = []  # what went wrong, in time order
    injects: list[InjectStep] = []  # a tabletop's, each with what the team did after it
    signed_off: SignOff | None = None
    district: str | None = None  # the site file's
    address: str | None = None  # the school's street address, from the site file's [dispatch]
    record: DrillRow | None = None  # this incident's row of the drill log
    history: list[DrillRow] = []  # earlier drills of the same kind at the site, oldest first
    reunification: Reunification | None = None  # the desk's times and counts; no names


def _unknown(case: board_case.Case) -> tuple[int, int]:
    """Accounted and unknown across the site, from the counts the board keeps."""
    rooms = case.tally.values()
    return sum(c["accounted"] for c in rooms), sum(c["unknown"] for c in rooms)


def _total(case: board_case.Case) -> int:
    return sum(sum(c.values()) for c in case.tally.values())


def build(events: list[tuple[int, e.Event]], site: Site | None, view: View | None = None,
          history: list[DrillRow] | None = None, role: str | None = None) -> Report:
    """The report of the one incident in `events` (a site file among them is folded first);
    `view` redacts each timeline entry as a reader's role may see it (None: drop it); of
    `history`, the site's earlier rows, the last `HISTORY` of the same kind are compared;
    `role`, the reader's: only roster roles read the exceptions track's cases (None: nobody)."""
    ordered = sorted(events, key=lambda x: x[0])
    hidden = redact.hidden_ids(ev for _, ev in ordered)
    mine = [ev for _, ev in ordered if ev.incident_id and not isinstance(ev, e.SiteConfigured)
            and not redact.never_shown(ev, hidden)]  # nor counted among the sends
    if not mine:
        raise ValueError("no events of an incident")
    first, iid = mine[0], mine[0].incident_id
    start = first.occurred_at
    state = replace(board.empty(first.site), config=site)
    case: board_case.Case | None = None
    points: list[Point] = []
    accounted_at = None
    for seq, ev in ordered:
        state, touched = board.step(state, seq, ev)
        if touched is None or touched.incident.id != iid:
            continue
        case = touched
        accounted, unknown = _unknown(case)
        if not points or (points[-1].accounted, points[-1].unknown) != (accounted, unknown):
            points.append(Point(offset_s=offset(ev.occurred_at, start), accounted=accounted,
                                unknown=unknown))
        if accounted_at is None and unknown == 0 and _total(case):
            accounted_at = ev.occurred_at
    if case is None:
        raise ValueError(f"incident {iid} was never opened in these events")
    config = state.config
    inc = case.incident
    record = drill_log.row(events, site, incident_id=iid)
    times = _Times(start)
    reported: dict[str, datetime] = {}
    expected = board_units.reporting(case)  # rooms, and the buses and events people are on
    for ev in mine:
        times.see(ev)
        if isinstance(ev, e.RoomStatusReported) and ev.data.room in expected:
            reported.setdefault(ev.data.room, ev.occurred_at)
    missing_rooms = len(expected) - len(reported)
    people = dict.fromkeys(accounting.STATUSES, 0)
    for counts in case.tally.values():
        for status, n in counts.items():
            people[status] += n
    ended = inc.ended_at
    milestones = [
        times.milestone("protocol", times.first.get("ProtocolDeclared")),
        times.milestone("first_ack", times.first.get("ResponderAcknowledged")),
        times.milestone("rooms_reported", max(reported.values()) if not missing_rooms
                        and reported else None,
                        f"{missing_rooms} of {len(expected)} rooms never reported"
                        if expected else "no rooms in the site file"),
        times.milestone("all_accounted", accounted_at,
                        f"{tl.people(people['unknown'])} still unknown at the end"
                        if _total(case) else "no roster in the site file"),
        times.milestone("all_clear", times.all_clear,
                        "cancelled as a false alarm" if inc.false_alarm else None),
        times.milestone("last_reunified", times.last.get("StudentReleased"),
                        "no student was released"),
        times.milestone("end", ended, "the incident is still open"),
    ]
    room_counts: dict[str, int] = {}
    for room in expected.values():
        key = room.status or "not reported"
        room_counts[key] = room_counts.get(key, 0) + 1
    drill = MODE_TITLES.get(inc.mode, "")
    school = config.name if config else first.site
    return Report(
        title=f"{drill}After-action report: {inc.kind} at {school}", incident_id=inc.id,
        site=first.site, school=school, timezone=config.timezone if config else "UTC",
        kind=inc.kind, mode=inc.mode, status=inc.status, false_alarm=inc.false_alarm,
        opened_at=inc.opened_at, ended_at=ended, opened_by=tl.actor(msgspec.to_builtins(
            first.actor)), commanders=times.commands, participants=sorted(times.actors),
        milestones=milestones, accountability=points, timeline=tl.timeline(mine, start, view),
        counts=Counts(alerts=inc.alerts, rooms=room_counts, notifications=times.sends,
                      people={"total": sum(people.values()), **people}),
        summary=times.summary, cancel_reason=times.reason, note=inc.note,
        reunification_opened=times.opened_early,
        findings=find(mine, {r.id: r.name for r in case.rooms.values()}, config,
                      [(p.offset_s, p.unknown) for p in points]),
        injects=debrief(mine, start, view), signed_off=_signed(mine), record=record,
        history=_earlier(record, history or []), district=config.district if config else None,
        address=_address(config), reunification=reunified(
            mine, config, start, named=role in redact.ROSTER_ROLES))


def _address(config: Site | None) -> str | None:
    where = config.dispatch.address if config and config.dispatch else None
    if where is None:
        return None
    street = " ".join(x for x in (where.hno, where.rd, where.sts) if x)
    region = " ".join(x for x in (where.a1, where.pc) if x)
    return ", ".join(x for x in (street, where.a3, region) if x) or None


def _earlier(record: DrillRow, history: list[DrillRow]) -> list[DrillRow]:
    same = [r for r in history if same_kind(record, r) and r.incident_id != record.incident_id
            and r.started_at < record.started_at and r.mode in ("drill", "live")]
    return sorted(same, key=lambda r: r.started_at)[-HISTORY:]


def _signed(events: list[e.Event]) -> SignOff | None:
    ev = next((ev for ev in events if isinstance(ev, e.DrillSignedOff)), None)
    return None if ev is None else SignOff(signed_by=ev.data.signed_by, title=ev.data.title,
                                           note=ev.data.note, at=ev.occurred_at, event_id=ev.id)


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
        self.opened_early: str | None = None
        self.sends: dict[str, dict[str, int]] = {}  # counted from events: some follow the close

    def see(self, ev: e.Event) -> None:
        kind = e.type_of(ev)
        self.first.setdefault(kind, ev.occurred_at)
        self.last[kind] = ev.occurred_at
        if ev.actor.kind != "system":
            self.actors.add(tl.actor(msgspec.to_builtins(ev.actor)))
        if isinstance(ev, e.ProtocolLifted) and ev.data.reason == "all_clear":
            self.all_clear = ev.occurred_at  # the last lift: a protocol may be declared again
        elif isinstance(ev, e.CommandTransferred):
            self.commands.append(Command(at=ev.occurred_at, offset_s=offset(ev.occurred_at,
                                 self.start), commander=ev.data.commander, agency=ev.data.agency))
        elif isinstance(ev, e.IncidentClosed):
            self.summary = ev.data.summary
        elif isinstance(ev, e.IncidentCancelled):
            self.reason = ev.data.reason
        elif isinstance(ev, e.ReunificationOpened):
            self.opened_early = (f"by {ev.actor.id} at +{offset(ev.occurred_at, self.start):g} s: "
                                 f"{ev.data.reason}")
        elif isinstance(ev, e.NotificationSent | e.NotificationFailed | e.NotificationEscalated):
            outcome = {"NotificationSent": "sent", "NotificationFailed": "failed"}.get(kind,
                                                                                      "escalated")
            self.sends.setdefault(ev.data.channel, {"sent": 0, "failed": 0, "escalated": 0})[
                outcome] += 1

    def milestone(self, key: str, at: datetime | None, why: str | None = None) -> Milestone:
        if at is None:
            return Milestone(key=key, label=MILESTONES[key], note=f"{NOT_REACHED}: {why}"
                             if why else NOT_REACHED)
        return Milestone(key=key, label=MILESTONES[key], at=at, offset_s=offset(at, self.start))

"""The drill log (docs/drills.md): each drill, tabletop and live incident of a site as one row of
the figures a state's drill record asks for.

`row` is pure and folds the board's own `step`, as the after-action report does, so "accounted
for" is exactly what the board showed; every time comes from the events' `occurred_at`, so a
replay that keeps the original times gives the same row.
"""

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, tzinfo
from urllib.parse import urlsplit

import msgspec
from msgspec.structs import replace

from command.domain import board, board_case, board_units, redact
from command.domain import events as e
from command.domain.school_year import SchoolYear, local_day
from command.domain.site import Site
from command.domain.site_drills import LATE_S

# A room is "in place" once its latest report is one of these: "clear" is a room checked and
# found empty, as much in place as one secured or evacuated.
IN_PLACE = frozenset({"secured", "evacuated", "clear"})
SCHEME = re.compile(r"[a-z][a-z0-9+.-]{0,20}")  # an Apprise scheme: "json", "mailto", "tgram"
INTERRUPTED = "interrupted by a live incident"
KIND_CATEGORY = {"fire": "fire", "weather": "severe_weather", "hazmat": "hazmat",
                 "armed_intruder": "lockdown", "lockdown": "lockdown", "secure": "secure",
                 "police_activity": "secure", "evacuate": "evacuation", "hold": "hold",
                 "bomb_threat": "bomb_threat", "medical": "hold"}
ACTION_CATEGORY = {"lockdown": "lockdown", "secure": "secure", "evacuate": "evacuation",
                   "hold": "hold", "shelter": "shelter"}
WEATHER_WORDS = ("tornado", "weather", "storm", "wind", "hurricane", "earthquake")
HAZMAT_WORDS = ("chemical", "hazmat", "hazardous", "gas", "toxic", "spill", "release")


class Method(msgspec.Struct, frozen=True, kw_only=True):
    channel: str  # the channel's name
    method: str  # the Apprise URL's scheme only ("json", "mailto"): never the URL itself
    sent: int
    failed: int
    escalated: int
    worked: bool  # at least one send succeeded


class DrillRow(msgspec.Struct, frozen=True, kw_only=True):
    incident_id: str
    site: str
    mode: str  # live, drill or tabletop (a replay's rows are never listed)
    kind: str
    scenario: str | None
    action: str | None  # the first SRP action declared
    category: str | None  # what it counts as for a state's requirements; None if nothing
    status: str  # open, closed or cancelled
    started_at: datetime
    protective_at: datetime | None
    protective_s: float | None  # seconds from the start
    accounted_at: datetime | None
    accounted_s: float | None
    ended_at: datetime | None
    ended_by: str | None  # all_clear, closed or cancelled
    first_ack_s: float | None
    participants: dict[str, int]  # roster counts by kind: student, staff, visitor, total
    rooms_total: int
    rooms_never: list[str]  # room ids that never reported
    rooms_late: list[str]  # in place more than `late_after_s` after the start, or never
    unaccounted: int  # people still unknown at the end
    notifications: list[Method]
    signed_off_by: str | None
    signed_off_at: datetime | None
    notes: list[str]  # plain findings, e.g. "interrupted by a live incident"


def category(kind: str, action: str | None, hazard: str | None) -> str | None:
    """What a drill of `kind` that declared `action` (and `hazard`) counts as: its kind's own
    category, else the hazard's words for a shelter, else the action's."""
    if kind in KIND_CATEGORY:
        return KIND_CATEGORY[kind]
    if (action == "shelter" or kind == "shelter") and hazard:
        words = hazard.lower()
        if any(w in words for w in WEATHER_WORDS):
            return "severe_weather"
        if any(w in words for w in HAZMAT_WORDS):
            return "hazmat"
    return ACTION_CATEGORY.get(kind) or ACTION_CATEGORY.get(action or "")


def counted_as(row: DrillRow) -> str:
    """How a record names the row's category: a tabletop or a cancelled drill counts as none."""
    if row.mode == "tabletop":
        return "a tabletop exercise: not a drill"
    if row.status == "cancelled":
        return "cancelled: not counted"
    return f"{row.category.replace('_', ' ')} category" if row.category else "no drill category"


def _off(at: datetime | None, start: datetime) -> float | None:
    return None if at is None else (at - start).total_seconds()


def _scheme(site: Site | None, channel: str) -> str:
    """The channel URL's scheme alone, or "unknown": a URL without `://` may begin with a secret."""
    found = next((c for c in site.channels if c.name == channel), None) if site else None
    if found is None or "://" not in found.url:
        return "unknown"
    scheme = urlsplit(found.url).scheme
    return scheme if SCHEME.fullmatch(scheme) else "unknown"


def _participants(site: Site | None) -> dict[str, int]:
    counts = {"student": 0, "staff": 0, "visitor": 0}
    for person in site.people if site else []:
        counts[person.kind] = counts.get(person.kind, 0) + 1
    return {**counts, "total": sum(counts.values())}


class _Fold:
    """The milestones and findings of one incident, seen one folded event at a time."""

    def __init__(self, iid: str) -> None:
        self.iid = iid
        self.case: board_case.Case | None = None
        self.config: Site | None = None
        self.protective_at: datetime | None = None
        self.accounted_at: datetime | None = None
        self.in_place: dict[str, datetime] = {}  # each room's first report in place
        self.reported: set[str] = set()
        self.action: str | None = None
        self.hazard: str | None = None
        self.scenario: str | None = None
        self.first_ack: datetime | None = None
        self.all_clear: datetime | None = None
        self.sends: dict[str, dict[str, int]] = {}  # counted from events: some follow the close
        self.signed: e.DrillSignedOff | None = None
        self.notes: list[str] = []

    def folded(self, ev: e.Event, case: board_case.Case, config: Site | None) -> None:
        """After the board folded `ev` into this incident's `case`."""
        if self.case is None:
            self.config = config
        self.case = case
        at = ev.occurred_at
        if isinstance(ev, e.RoomStatusReported) and ev.data.room in case.rooms:
            self.reported.add(ev.data.room)
            if ev.data.status in IN_PLACE:
                self.in_place.setdefault(ev.data.room, at)
            elif self.protective_at is not None:
                self.notes.append(f"room {ev.data.room} reported {ev.data.status.replace('_', ' ')}"
                                  " after the protective action was in place")
        rooms = board_units.reporting(case).values()  # an idle bus is no room to wait for
        if self.protective_at is None and rooms and all(r.status in IN_PLACE for r in rooms):
            self.protective_at = at
        unknown = sum(c["unknown"] for c in case.tally.values())
        total = sum(sum(c.values()) for c in case.tally.values())
        if self.accounted_at is None and unknown == 0 and total:
            self.accounted_at = at

    def seen(self, ev: e.Event) -> None:
        """Every event of this incident, folded by the board or not."""
        if isinstance(ev, e.IncidentOpened):
            self.scenario = ev.data.scenario
        elif isinstance(ev, e.ProtocolDeclared) and self.action is None:
            self.action, self.hazard = ev.data.action, ev.data.hazard
        elif isinstance(ev, e.ProtocolLifted) and ev.data.reason == "all_clear":
            self.all_clear = ev.occurred_at  # the last lift: a protocol may be declared again
        elif isinstance(ev, e.ResponderAcknowledged) and self.first_ack is None:
            self.first_ack = ev.occurred_at
        elif isinstance(ev, e.DrillSignedOff) and self.signed is None:
            self.signed = ev
        elif isinstance(ev, e.IncidentCancelled):
            self.notes.append(f"cancelled: {' '.join(ev.data.reason.split())}")
        elif isinstance(ev, e.NotificationSent | e.NotificationFailed | e.NotificationEscalated):
            outcome = ("sent" if isinstance(ev, e.NotificationSent) else
                       "failed" if isinstance(ev, e.NotificationFailed) else "escalated")
            self.sends.setdefault(ev.data.channel, {"sent": 0, "failed": 0, "escalated": 0})[
                outcome] += 1


def row(events: Sequence[tuple[int, e.Event]], site: Site | None, *,
        incident_id: str | None = None) -> DrillRow:
    """The row of one incident (`incident_id`, else the first the events name) from its events
    in stream order; a SiteConfigured among them is folded first, as the board does. Another
    incident's live opening while this one is open is noted as an interruption."""
    ordered = sorted(events, key=lambda x: x[0])
    hidden = redact.hidden_ids(ev for _, ev in ordered)
    shown = [(s, ev) for s, ev in ordered if not redact.never_shown(ev, hidden)]
    iid = incident_id or next((ev.incident_id for _, ev in shown if ev.incident_id
                               and not isinstance(ev, e.SiteConfigured)), None)
    if iid is None or not shown:
        raise ValueError("no events of an incident")
    fold = _Fold(iid)
    state = replace(board.empty(shown[0][1].site), config=site)
    for seq, ev in shown:
        state, touched = board.step(state, seq, ev)
        if ev.incident_id == iid:
            fold.seen(ev)
        if touched is not None and touched.incident.id == iid:
            fold.folded(ev, touched, state.config)
        elif (isinstance(ev, e.IncidentOpened) and ev.mode == "live" and fold.case is not None
              and fold.case.incident.status == "open" and ev.incident_id != iid):
            fold.notes.append(f"{INTERRUPTED} ({ev.incident_id})")
    if fold.case is None:
        raise ValueError(f"incident {iid} was never opened in these events")
    return _row(state.site, fold, fold.case, fold.config)


def _row(site: str, fold: _Fold, case: board_case.Case, config: Site | None) -> DrillRow:
    inc = case.incident
    start = inc.opened_at
    late_s = config.drills.late_after_s if config and config.drills else LATE_S
    ended_at, ended_by = (fold.all_clear, "all_clear") if fold.all_clear else (
        inc.ended_at, {"closed": "closed", "cancelled": "cancelled"}.get(inc.status))
    methods = [Method(channel=name, method=_scheme(config, name), sent=n["sent"],
                      failed=n["failed"], escalated=n["escalated"], worked=n["sent"] > 0)
               for name, n in fold.sends.items()]
    signed = fold.signed
    return DrillRow(
        incident_id=inc.id, site=site,
        mode=inc.mode, kind=inc.kind, scenario=fold.scenario, action=fold.action,
        category=category(inc.kind, fold.action, fold.hazard), status=inc.status,
        started_at=start, protective_at=fold.protective_at,
        protective_s=_off(fold.protective_at, start), accounted_at=fold.accounted_at,
        accounted_s=_off(fold.accounted_at, start), ended_at=ended_at, ended_by=ended_by,
        first_ack_s=_off(fold.first_ack, start), participants=_participants(config),
        rooms_total=len(expected := board_units.reporting(case)),
        rooms_never=[r for r in expected if r not in fold.reported],
        rooms_late=[r for r in expected if r not in fold.in_place
                    or (fold.in_place[r] - start).total_seconds() > late_s],
        unaccounted=sum(c["unknown"] for c in case.tally.values()), notifications=methods,
        signed_off_by=signed.data.signed_by if signed else None,
        signed_off_at=signed.occurred_at if signed else None, notes=fold.notes)


def log(rows: Iterable[DrillRow], year: SchoolYear, zone: tzinfo = UTC) -> list[DrillRow]:
    """A school year's rows in start order (by the day each started in `zone`), replays left
    out; a drill a live incident began during is noted as interrupted, by the times alone."""
    mine = sorted((r for r in rows if r.mode != "replay"
                   and year.contains(local_day(r.started_at, zone))),
                  key=lambda r: (r.started_at, r.incident_id))
    live = [r for r in mine if r.mode == "live"]
    out = []
    for r in mine:
        during = [x.incident_id for x in live if r.mode != "live"
                  and r.started_at <= x.started_at and (r.ended_at is None
                                                        or x.started_at < r.ended_at)]
        if during and not any(n.startswith(INTERRUPTED) for n in r.notes):
            r = replace(r, notes=[*r.notes, f"{INTERRUPTED} ({', '.join(during)})"])
        out.append(r)
    return out

"""Who hears what, and in which words: the notifier's pure rules (CONTRACT §5, DOMAIN.md).

`deliveries(state, event)` says which channels an event goes to and what each reads, from the
board state *before* the event. Drill traffic goes only to channels whose `modes` include
`drill`, and every drill message starts with `DRILL —`; a replayed event goes nowhere. The words
are the SRP's, with severity in the title, so a Secure never reads like a Lockdown.
"""

from datetime import datetime
from typing import Literal

import msgspec

from command.domain import board, board_case, units
from command.domain import events as e
from command.domain.policy import SEVERITY, SEVERITY_LABEL, directive
from command.domain.redact import ROSTER_ROLES
from command.domain.site import Channel, Location, Site, plan_for, zone

Level = Literal["info", "success", "warning", "failure"]
DRILL = "DRILL — "
# A 911 call's own alert (a CAD's EIDO opened the incident): heard by "command" channels alone,
# in 911's words, until a person presses or a commander declares; its title starts so.
CALL = "911 — "
ESCALATED = "ESCALATION — "
FALSE_ALARM = "FALSE ALARM — "
LEVEL: dict[str, Level] = {
    "lockdown": "failure", "evacuate": "warning", "shelter": "warning",
    "secure": "info", "hold": "info",
}
# The order a channel sends in, highest first (CONTRACT §5): an extreme or severe alert before
# all else, then what else says an incident's state; at or above STATE a newer message of the
# same incident supersedes an older one that could not be sent.
ROUTINE, NOTICE, STATE, URGENT = 0, 1, 2, 3
# Events about notifications never notify: that way lies a loop.
STATES = (e.ProtocolDeclared, e.ProtocolLifted, e.IncidentCancelled)
# A Handle With Care notice to a channel whose readers may not see the roster.
UNNAMED = "A Handle With Care notice for one student. This channel may not carry names."
QUIET = (e.NotificationSent, e.NotificationFailed, e.NotificationEscalated, e.SiteConfigured)
# Modes no channel ever hears, whatever it asks for: a replay, and a tabletop's discussion.
NEVER_SENT = frozenset({"replay", "tabletop"})


class Delivery(msgspec.Struct, frozen=True, kw_only=True):
    channel: str
    event_id: str
    site: str
    incident_id: str | None
    mode: str
    kind: Literal["alert", "false_alarm", "escalation", "handle_with_care"]
    title: str
    body: str
    level: Level = "info"
    priority: int = ROUTINE
    # Says the incident's whole state (a protocol, its lifting, a false alarm): it may stand in
    # for older failed messages; a press never does, as each names a room people must hear of.
    supersedes: bool = False
    # Of a silent alarm: for responder-facing channels only, escalations included.
    silent: bool = False


def priority(event: e.Event, level: Level) -> int:
    """How soon an event's message goes, against the others queued for its channel."""
    if isinstance(event, e.HandleWithCareIssued):
        rank = NOTICE
    elif isinstance(event, (e.AlertRaised, e.ProtocolDeclared)):
        rank = URGENT if level in ("failure", "warning") else STATE  # lockdown, evacuate, shelter
    elif isinstance(event, (e.ProtocolLifted, e.IncidentCancelled)):
        rank = STATE
    else:
        rank = ROUTINE
    return min(rank, STATE) if event.mode == "drill" else rank  # no drill before a live alert


def replacing(d: Delivery, titles: list[str]) -> Delivery:
    """The newest state of an incident, saying which earlier messages it stands in for."""
    if not titles:
        return d
    note = f"\n(This replaces earlier messages that could not be sent: {'; '.join(titles)}.)"
    return msgspec.structs.replace(d, body=d.body + note)


def accepts(channel: Channel, mode: str, silent: bool = False) -> bool:
    """The one check every send passes: a channel hears only the modes it asked for, and a
    silent alarm reaches only channels that face responders."""
    return mode in channel.modes and mode not in NEVER_SENT and (
        not silent or channel.audience == "responders")


def from_dispatch(event: e.Event, config: Site | None) -> bool:
    """Whether `event` is the alert a 911 call opened an incident with (its actor the CAD's
    integration), at a site that does not ask for its protocol to be declared at once."""
    if not isinstance(event, e.AlertRaised) or event.actor.kind != "integration":
        return False
    return not (config is not None and config.dispatch is not None and config.dispatch.declare)


def may_name(channel: Channel) -> bool:
    """Whether a channel's messages may carry roster data: its readers' roles may see it."""
    return any(role in ROSTER_ROLES for role in channel.roles)


def silent(state: board.State, event: e.Event) -> bool:
    """Whether `event` belongs to a silent alarm: a silent press that opens an incident or
    joins a silent one, or anything else of a silent incident, until a commander declares a
    protocol or someone presses aloud (every channel then hears)."""
    if isinstance(event, e.ProtocolDeclared) and event.data.reason == "commander":
        return False
    case = state.cases.get(event.incident_id or "")
    if isinstance(event, e.AlertRaised):
        opens = case is None or (case.incident.alerts == 0 and case.protocol is None)
        return event.data.silent and (opens or case.incident.silent)  # type: ignore[union-attr]
    return case is not None and case.incident.silent


def local_time(at: datetime, config: Site | None) -> str:
    return at.astimezone(zone(config)).strftime("%H:%M")


def _where(config: Site | None, room: str | None, case: board_case.Case | None = None,
           told: Location | None = None) -> str:
    """The school, and the room — or the bus or away event, by name, with where it is now: the
    location a press told, else the latest on the board, else an event's place."""
    school = config.name if config else "the school"
    row = case.rooms.get(room) if case and room else None
    unit = units.described(config, room, told or (row.location if row else None)) if room \
        else None
    if unit is not None:
        return f"{school}, {unit}"
    return f"{school}, room {room}" if room else school


def _protocol_text(config: Site | None, d: e.ProtocolDeclaredData) -> str:
    """The directive, with where an off-the-map place is and, for a relocation, what changed."""
    said = directive(d.action, d.evacuate_to, d.hazard, d.strategy)
    place = next((p for p in config.evacuation_sites if p.id == d.evacuation_site), None) \
        if config and d.action == "evacuate" else None
    if place is not None and place.address and place.address not in said:
        said = f"{said} Address: {place.address}."
    if d.reason == "relocation":
        why = f": {d.relocation_reason}" if d.relocation_reason else ""
        said = f"{said} Relocated from {d.relocated_from or 'the earlier place'}{why}."
    return said


def _press_text(case: board_case.Case | None, config: Site | None, d: e.AlertRaisedData) -> str:
    """What a press tells people to do: the protocol in force if it is this action (with the
    place a commander gave), else the site file's place or hazard for this kind of press."""
    if case is not None and case.protocol is not None and case.protocol.action == d.action:
        return case.protocol.directive
    plan = plan_for(config, d.kind, d.action) if config else None
    return directive(d.action, *((plan.evacuate_to, plan.hazard, plan.strategy) if plan else ()))


def _title(action: str, config: Site | None) -> str:
    school = config.name if config else "school"
    return f"[{SEVERITY_LABEL[action].upper()}] {action.upper()} — {school}"  # type: ignore[index]


def message(state: board.State, event: e.Event) -> tuple[str, str, Level] | None:
    """The title, body and level an event reads as, or None when it is not announced."""
    config = state.config
    at = local_time(event.occurred_at, config)
    case = state.cases.get(event.incident_id or "")
    if isinstance(event, e.AlertRaised) and from_dispatch(event, config):
        d = event.data
        what = d.kind.replace("_", " ") + (f" ({d.note})" if d.note else "")
        body = f"911 reports {what} at {_where(config, None)}, {at}."
        return f"{CALL}{config.name if config else 'school'}", body, "warning"
    if isinstance(event, e.AlertRaised):
        d = event.data
        # A 911 call's alert names no room: its room field holds a placeholder, not a place.
        d = msgspec.structs.replace(d, room=None) if event.actor.kind == "integration" else d
        held = case.protocol.action if case and case.protocol else None
        if held and SEVERITY[held] >= SEVERITY[d.action] and held != d.action:  # type: ignore[index]
            where = _where(config, d.room, case, d.location)
            body = f"{d.kind} alert at {where}, {at}. The {held} remains in force."
            return _title(held, config), body, LEVEL[held]
        where = _where(config, d.room, case, d.location)
        body = f"{_press_text(case, config, d)} {where}, {at}. Alert: {d.kind}."
        return _title(d.action, config), body, LEVEL[d.action]
    if isinstance(event, e.ProtocolDeclared):
        room = case.incident.room if case else None
        body = f"{_protocol_text(config, event.data)} {_where(config, room, case)}, {at}."
        return _title(event.data.action, config), body, LEVEL[event.data.action]
    if isinstance(event, e.ProtocolLifted):
        if event.data.reason == "cancel":
            return None  # the FALSE ALARM message says it, once
        body = f"ALL CLEAR — the {event.data.action} at {_where(config, None)} is lifted, {at}."
        return f"ALL CLEAR — {config.name if config else 'school'}", body, "success"
    if isinstance(event, e.IncidentCancelled):
        kind = case.incident.kind if case else "alert"
        body = (f"{FALSE_ALARM}the {kind} alert at {_where(config, None)} was a false alarm, "
                f"{at}. {event.data.reason}")
        return f"{FALSE_ALARM}{config.name if config else 'school'}", body, "info"
    if isinstance(event, e.HandleWithCareIssued):
        person = next((p for p in config.people if p.id == event.data.person_id), None) \
            if config else None
        return "Handle With Care", person.name if person else event.data.person_id, "info"
    return f"{e.type_of(event)} — {config.name if config else 'school'}", \
        f"{e.type_of(event)} at {_where(config, None)}, {at}.", "info"


def deliveries(state: board.State, event: e.Event, alerted: frozenset[str] = frozenset(),
               ) -> list[Delivery]:
    """The sends an event causes; `alerted` are the channels that got this incident's alerts."""
    config = state.config
    if config is None or isinstance(event, QUIET) or event.mode in NEVER_SENT:
        return []
    words = message(state, event)
    if words is None:
        return []
    title, body, level = words
    rank = priority(event, level)
    kind: Literal["alert", "false_alarm", "handle_with_care"] = "alert"
    if isinstance(event, e.HandleWithCareIssued):
        chosen = [ch for ch in config.channels if ch.handle_with_care]
        kind = "handle_with_care"
    elif isinstance(event, e.IncidentCancelled):
        chosen = [ch for ch in config.channels if ch.name in alerted]
        kind = "false_alarm"
    else:
        chosen = [ch for ch in config.channels
                  if e.type_of(event) in ch.events and not ch.handle_with_care]
        if from_dispatch(event, config):  # those who command hear of a 911 call first
            chosen = [ch for ch in chosen if ch.audience == "command"]
        if isinstance(event, e.ProtocolDeclared) and event.data.reason == "alert":
            # The press's own AlertRaised already carried this directive to these channels.
            chosen = [ch for ch in chosen if "AlertRaised" not in ch.events]
    prefix = DRILL if event.mode == "drill" else ""
    hush = silent(state, event)
    return [Delivery(channel=ch.name, event_id=event.id, site=event.site,
                     incident_id=event.incident_id, mode=event.mode, kind=kind,
                     title=prefix + title, level=level, priority=rank,
                     body=prefix + (body if kind != "handle_with_care" or may_name(ch)
                                    else UNNAMED),
                     supersedes=isinstance(event, STATES), silent=hush)
            for ch in chosen if accepts(ch, event.mode, hush)]


def escalation(original: Delivery, target: Channel, after_s: float) -> Delivery | None:
    """The message an unacknowledged alert escalates to `target` with, if it takes that mode
    (and, for a silent alarm, faces responders)."""
    if original.mode in NEVER_SENT or not accepts(target, original.mode, original.silent):
        return None
    if original.title.removeprefix(ESCALATED).startswith(CALL) and target.audience != "command":
        return None  # a 911 call's alert goes no further than command channels
    prefix = DRILL if original.mode == "drill" else ""
    body = original.body.removeprefix(DRILL)
    if original.kind == "handle_with_care" and not may_name(target):
        body = UNNAMED  # a name goes no further than the roles that may read it
    return msgspec.structs.replace(
        original, channel=target.name, kind="escalation",
        title=f"{prefix}{ESCALATED}{original.title.removeprefix(DRILL)}",
        body=f"{prefix}{ESCALATED}no acknowledgement after {after_s:g} s: {body}")

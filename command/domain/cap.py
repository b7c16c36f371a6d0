"""CAP 1.2: a site's current alert as an OASIS Common Alerting Protocol message (CONTRACT §2).

`document(state)` is a pure function of the board state, so every replica answers the same
bytes for the same stream sequence. One incident's messages are tied together: the first is an
`Alert` whose identifier is derived from the incident; a protocol change, the all clear or the
close is an `Update`, a false alarm a `Cancel`, and both name the first in `references`.
Only the site's name, timezone and rooms are read from the site file, never its roster.
"""

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, tzinfo
from typing import NamedTuple

from command.domain import board, board_case, units
from command.domain.policy import SEVERITY_LABEL
from command.domain.site import zone as site_zone

NS = "urn:oasis:names:tc:emergency:cap:1.2"
# The media type OASIS registered for CAP, so a client can tell an alert from any other XML.
CONTENT_TYPE = "application/cap+xml"
SECURITY = ("lockdown", "secure", "hold", "armed_intruder", "police_activity", "fight",
            "upset_parent", "bomb_threat")
CATEGORY: dict[str, str] = {
    **dict.fromkeys(SECURITY, "Security"),
    "fire": "Fire", "weather": "Met", "hazmat": "CBRNE", "medical": "Health",
    "transportation": "Transport",
}
RESPONSE: dict[str, str] = {"lockdown": "Shelter", "secure": "Shelter", "hold": "Shelter",
                            "shelter": "Shelter", "evacuate": "Evacuate"}
# Derived from the policy's labels, so CAP can never rank a Secure like a Lockdown.
SEVERITY: dict[str, str] = {action: label.capitalize() for action, label in SEVERITY_LABEL.items()}
# Restricted, not Private: Private needs `addresses` naming each recipient, which a reader's GET
# cannot know; not Public, because a lockdown broadcast to all could reach the threat itself.
RESTRICTION = "School staff and emergency responders only; not for public release."


class Message(NamedTuple):
    """Where in its incident's life a CAP message stands."""

    phase: str  # alert, update, clear, closed or cancel
    msg_type: str
    suffix: str  # the last part of the identifier: unique per message of the incident
    sent: datetime


def _message(incident: board_case.Incident, protocol: board_case.Protocol | None) -> Message:
    if incident.status == "cancelled":
        return Message("cancel", "Cancel", "cancel", incident.ended_at or incident.opened_at)
    if incident.status == "closed":
        return Message("closed", "Update", "closed", incident.ended_at or incident.opened_at)
    if incident.updates == 0:
        return Message("alert", "Alert", "0", incident.opened_at)
    # A lift bumps `updates` too, so an all clear and any later re-declaration stay distinct.
    phase = "update" if protocol is not None else "clear"
    return Message(phase, "Update", str(incident.updates), incident.updated_at or
                   incident.opened_at)


def cap_time(at: datetime, zone: tzinfo) -> str:
    """CAP's dateTime: local offset, whole seconds, and UTC written -00:00 as CAP 1.2 requires."""
    at = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    text = at.astimezone(zone).replace(microsecond=0).isoformat()
    return text[:-6] + "-00:00" if text.endswith("+00:00") else text


def identifier(site: str, incident_id: str, suffix: str = "0") -> str:
    return f"muster:{site}:{incident_id}:{suffix}"


def _title(word: str) -> str:
    return word.replace("_", " ").capitalize()


def _place(state: board.State, school: str, room_id: str | None,
           row: board_case.Room | None = None) -> str:
    rooms = {r.id: r.name for r in state.config.rooms} if state.config else {}
    if room_id is None:
        return school
    unit = units.described(state.config, room_id, row.location if row else None)
    if unit is not None:  # a bus or an away event: by name, and where it is
        return f"{school}, {unit}"
    name = rooms.get(room_id)
    return f"{school}, room {room_id}" + (f" ({name})" if name and name != room_id else "")


def _texts(msg: Message, case: board_case.Case, school: str, at: str) -> tuple[str, str, str]:
    """Headline, description and instruction: facts and directives, never a person's name."""
    inc, protocol = case.incident, case.protocol
    kind = _title(inc.kind)
    if msg.phase == "cancel":
        return (f"FALSE ALARM: {kind} at {school} cancelled",
                f"The {kind.lower()} alert was a false activation; cancelled at {at}.",
                "FALSE ALARM: there is no emergency. Resume normal activities.")
    if msg.phase == "closed":
        return (f"Incident closed: {kind} at {school}", f"The incident was closed at {at}.",
                "The incident is over. No protective action is in force.")
    if msg.phase == "clear" or protocol is None:
        cleared = msg.phase == "clear"
        return ((f"All clear at {school}" if cleared else f"{kind} at {school}"),
                (f"The protocol was lifted at {at}." if cleared else f"{kind} reported at {at}."),
                ("All clear: the protocol is lifted. Follow staff and responder directions."
                 if cleared else "Await directions from school staff and responders."))
    action = _title(protocol.action)
    facts = [f"{kind} reported. {action} declared at {at}."]
    if protocol.zones:
        facts.append("Zones: " + ", ".join(protocol.zones) + ".")
    # The directive already names the place, or the hazard and the strategy, in words.
    return f"{action} at {school}", " ".join(facts), protocol.directive


def _add(parent: ET.Element, tag: str, text: str) -> ET.Element:
    child = ET.SubElement(parent, f"{{{NS}}}{tag}")
    child.text = text
    return child


def _pair(parent: ET.Element, tag: str, name: str, value: str) -> None:
    group = ET.SubElement(parent, f"{{{NS}}}{tag}")
    _add(group, "valueName", name)
    _add(group, "value", value)


def published(state: board.State) -> board_case.Case | None:
    """The incident CAP tells of: the board's, else another open one, else the last ended; never
    a tabletop, which is a discussion, not an alert."""
    shown = board.current(state)
    cases = [*([shown] if shown else []), *state.cases.values(),
             *([state.ended] if state.ended else [])]
    return next((c for c in cases if c.incident.mode != "tabletop"), None)


def document(state: board.State, sender: str = "muster") -> str | None:
    """The CAP 1.2 XML of the site's current (or last ended) incident; None if it never had one."""
    case = published(state)
    if case is None:
        return None
    inc, protocol = case.incident, case.protocol
    school = state.config.name if state.config else state.site
    zone = site_zone(state.config)
    msg = _message(inc, protocol)
    # A replay re-tells a recorded incident for a debrief: never an Actual alert to a poller.
    drill = inc.mode != "live"
    label = "REPLAY" if inc.mode == "replay" else "DRILL"
    first = identifier(state.site, inc.id)
    headline, description, instruction = _texts(msg, case, school, cap_time(msg.sent, zone))
    if drill:
        headline, description = f"{label} — {headline}", f"{label} — no emergency. {description}"

    alert = ET.Element(f"{{{NS}}}alert")
    _add(alert, "identifier", identifier(state.site, inc.id, msg.suffix))
    _add(alert, "sender", sender)
    _add(alert, "sent", cap_time(msg.sent, zone))
    _add(alert, "status", "Exercise" if drill else "Actual")
    _add(alert, "msgType", msg.msg_type)
    _add(alert, "scope", "Restricted")
    _add(alert, "restriction", RESTRICTION)
    notes = (["DRILL — an exercise, not an emergency."] if drill else []) + (
        ["FALSE ALARM — the earlier alert is cancelled."] if msg.phase == "cancel" else [])
    if notes:
        _add(alert, "note", " ".join(notes))
    if msg.msg_type != "Alert":
        _add(alert, "references", f"{sender},{first},{cap_time(inc.opened_at, zone)}")
    _add(alert, "incidents", inc.id)

    info = ET.SubElement(alert, f"{{{NS}}}info")
    _add(info, "language", "en-US")
    _add(info, "category", CATEGORY.get(inc.kind, "Other"))
    _add(info, "event", _title(inc.kind))
    ended = msg.phase in ("clear", "closed", "cancel")
    if msg.phase == "cancel":
        _add(info, "responseType", "None")
    elif ended:
        _add(info, "responseType", "AllClear")
    elif protocol is not None:
        _add(info, "responseType", RESPONSE[protocol.action])
    _add(info, "urgency", "Past" if ended else "Immediate")
    _add(info, "severity", SEVERITY[protocol.action] if protocol is not None else "Unknown")
    _add(info, "certainty", "Observed")  # drills are told apart by status Exercise, not doubt
    _pair(info, "eventCode", "muster:kind", inc.kind)
    _add(info, "senderName", f"Muster — {school}")
    _add(info, "headline", headline)
    _add(info, "description", description)
    _add(info, "instruction", instruction)
    if protocol is not None:
        _pair(info, "parameter", "muster:srp_action", protocol.action)
    area = ET.SubElement(info, f"{{{NS}}}area")
    row = case.rooms.get(inc.room) if inc.room else None
    _add(area, "areaDesc", _place(state, school, inc.room, row))
    where = row.location if row and row.unit != "room" else None
    if where is not None and where.lat is not None and where.lon is not None:
        _add(area, "circle", f"{where.lat},{where.lon} 0")  # CAP: "lat,lon radius-km"
    ET.indent(alert)
    return ET.tostring(alert, encoding="unicode", xml_declaration=True, default_namespace=NS)

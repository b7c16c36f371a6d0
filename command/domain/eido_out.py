"""One incident as a NENA EIDO (STA-021, eidoVersion 1.0) document, for a 911 CAD (issue 19).

`render` writes it from a board case, the fold every board shows, so a live board, a closed
incident's timeline and a subscriber's notify say the same. An EIDO is the full current state,
and each component keeps one `$id` across versions: ids are made of the incident id and what the
component is, never of a position that can shift. Counts only: no roster name is ever written.
"""

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from html import escape
from typing import Any
from urllib.parse import quote

from msgspec.structs import replace

from command.domain import board, board_case, board_units, eido_pidf, redact, units
from command.domain import events as e
from command.domain.accounting import STATUSES
from command.domain.site import Site, zone

VERSION = "1.0"
ISSUER = "muster"
# Each alert kind as an APCO common incident type (STA-021 Incident Type registry).
TYPES: dict[str, str] = {
    "armed_intruder": "WEAPON", "bomb_threat": "BOMB", "fire": "ALRF", "medical": "ALRMED",
    "hazmat": "HAZMAT", "weather": "HAZ", "police_activity": "SUSP", "fight": "FIGHT",
    "upset_parent": "DISORD", "transportation": "NCRTRANS", "other": "TROUBLE",
    "hold": "SCH", "secure": "SUSP", "lockdown": "ALRPANA", "evacuate": "TROUBLE",
    "shelter": "HAZ",
}
SILENT_TYPE = "ALRPANS"  # a silent panic alarm: the lockdown press nobody on site heard
LIFECYCLE = {"open": "Active", "closed": "Closed", "cancelled": "Cancelled"}
# The registry statuses a CAD may add while the incident runs, in the order a response goes.
STAGES = ("ResourcesAssigned", "ResourcesEnroute", "ResourcesOnscene", "FireUnderControl",
          "StructureCleared")
UNIT_STAGE = {"dispatched": "ResourcesAssigned", "en_route": "ResourcesEnroute",
              "on_scene": "ResourcesOnscene"}
UNIT_WORDS = {"dispatched": "dispatched", "en_route": "en route", "on_scene": "on scene",
              "cleared": "cleared", "available": "available"}
QUIET = (*redact.RECORDS, e.NoteAdded, e.GuardianCheckedIn, e.CommandTransferred,
         e.ReunificationOpened)
HELP = ("needs_help", "unreachable")  # room statuses a responder goes to first


def domain(site_id: str) -> str:
    """The school's own agency domain in EIDO ids: the site id under muster.invalid (RFC 2606
    reserves .invalid: a name that claims no real domain)."""
    return f"{site_id.lower().replace('_', '-')}.muster.invalid"


def tracking_id(incident_id: str, site_id: str) -> str:
    """The incident tracking id, the EIDO's top-level `$id`."""
    return f"urn:emergency:uid:incidentid:{quote(incident_id, safe='')}:{domain(site_id)}"


def component_id(incident_id: str, part: str, site_id: str) -> str:
    """A component's `$id`: the incident and what the component is, so it never changes."""
    key = quote(f"{incident_id}.{part}", safe="-._~")
    return f"urn:emergency:uid:eidodatacomponent:{key}:{domain(site_id)}"


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _time(at: datetime) -> str:
    return _aware(at).isoformat(timespec="milliseconds")


def last_change(case: board_case.Case) -> datetime:
    """The latest time the case itself records: a render's time when none is given."""
    inc = case.incident
    times = [inc.opened_at, inc.updated_at, inc.ended_at,
             case.protocol.declared_at if case.protocol else None,
             *(a.at for a in case.acks), *(r.reported_at for r in case.rooms.values()),
             (case.dispatch or {}).get("updated_at")]
    return max(_aware(t) for t in times if isinstance(t, datetime))


def changes(event: e.Event) -> bool:
    """Whether `event` can change an incident's EIDO: a send record, a free-text note, a
    guardian's check, a transfer of command or an early reunification are not written in one,
    so they leave its last update time as it was."""
    return not isinstance(event, QUIET)


def fold(events: Iterable[tuple[int, e.Event]], incident_id: str, site: Site | None,
         ) -> tuple[board_case.Case, datetime]:
    """The incident's case as the board folded it last (also after it ended), and the time of
    the last event that changed its EIDO (`changes`). ValueError if the events never opened it.
    """
    state = None
    case, at = None, None
    for seq, ev in sorted(events, key=lambda x: x[0]):
        if state is None:
            state = replace(board.empty(ev.site), config=site)
        state, touched = board.step(state, seq, ev)
        if touched is not None and touched.incident.id == incident_id:
            case = touched
            at = ev.occurred_at if changes(ev) or at is None else at
    if case is None or at is None:
        raise ValueError(f"incident {incident_id} was never opened in these events")
    return case, at


def render(case: board_case.Case, site_id: str, site: Site | None,
           at: datetime | None = None) -> dict[str, Any]:
    """The incident as an EIDO document, as it stood at `at` (default: its last change)."""
    inc, own = case.incident, domain(site_id)
    at = at or last_change(case)
    stamp = _time(at)
    agency = {"$ref": own}

    def prologue(part: str, when: datetime) -> dict[str, Any]:
        return {"$id": component_id(inc.id, part, site_id), "lastUpdateTimeStamp": _time(when),
                "updatedByAgencyReference": agency}

    room = case.rooms.get(inc.room) if inc.room else None
    where = ", ".join(filter(None, [room.name, room.building])) if room else None
    away = None
    if room is not None and room.unit != "room":  # a bus or away event: where it is, told
        where = units.described(site, room.id, room.location) or room.name
        away = (room.location.lat, room.location.lon) if room.location else (None, None)
    location = {**prologue("location", inc.opened_at),
                "locationTypeDescriptionRegistryText": "CurrentIncident",
                "locationByValue": eido_pidf.location(site, site_id, own, where, away),
                "locationDescriptionText": ", ".join(filter(None, [
                    site.name if site else site_id, where]))}
    if site is not None and site.dispatch is not None and site.dispatch.ids:
        location["localIdentifier"] = list(site.dispatch.ids)
    notes = [{**prologue(part, when), "notesActionComments": _html(text)}
             for part, when, text in _notes(case, site, at)]
    dispatch = case.dispatch or {}
    incident: dict[str, Any] = {
        **prologue("incident", at),
        "incidentTypeInternalCode": inc.kind,
        "incidentTypeInternalText": _type_text(case),
        "incidentTypeCommonRegistryText": incident_type(case),
        "incidentStatusInternalText": [inc.status, *([case.protocol.action]
                                                     if case.protocol else [])],
        "incidentStatusCommonRegistryText": statuses(case),
        "internalIncidentId": inc.id,
        "locationReference": [{"$ref": location["$id"]}],
        "notesReference": [{"$ref": n["$id"]} for n in notes],
    }
    if isinstance(dispatch.get("priority"), int):
        incident["incidentCommonPriorityNumber"] = dispatch["priority"]
    school = {**prologue("agency", inc.opened_at), "$id": own,
              "agencyRoleDescriptionRegistryText": ["Assisting"], "agencyType": ["school"],
              "incidentOwningAgencyIndicator": False}
    return {"$id": tracking_id(inc.id, site_id), "lastUpdateTimeStamp": stamp,
            "updatedByAgencyReference": agency, "eidoVersion": VERSION,
            "issuingElementIdentification": f"{ISSUER}.{own}", "incidentComponent": incident,
            "notesComponent": notes, "locationComponent": [location],
            "agencyComponent": [school]}


def incident_type(case: board_case.Case) -> str:
    """The APCO common type: the CAD's own when it sent one, else the alert kind's."""
    sent = (case.dispatch or {}).get("type")
    if isinstance(sent, str) and sent:
        return sent
    if case.incident.kind == "lockdown" and case.incident.silent:
        return SILENT_TYPE
    return TYPES.get(case.incident.kind, "TROUBLE")


def _type_text(case: board_case.Case) -> str:
    inc = case.incident
    words = inc.kind.replace("_", " ").capitalize()
    if case.protocol is not None and case.protocol.action != inc.kind:
        words += f" ({case.protocol.action})"
    mode = {"drill": "DRILL: ", "replay": "REPLAY: ", "tabletop": "TABLETOP: "}.get(inc.mode, "")
    return mode + words


def statuses(case: board_case.Case) -> list[str]:
    """The registry statuses: the incident's own lifecycle, and how far the response has got,
    from the CAD's statuses and its units."""
    dispatch = case.dispatch or {}
    said = {s for s in dispatch.get("statuses") or [dispatch.get("status")] if s in STAGES}
    said |= {UNIT_STAGE[u.get("status")] for u in _units(case) if u.get("status") in UNIT_STAGE}
    return [LIFECYCLE.get(case.incident.status, "Active"), *(s for s in STAGES if s in said)]


def _units(case: board_case.Case) -> list[dict[str, Any]]:
    return [u for u in (case.dispatch or {}).get("units") or [] if isinstance(u, dict)]


def _html(text: str) -> str:
    return f"<p>{escape(text)}</p>"


def _notes(case: board_case.Case, site: Site | None, at: datetime,
           ) -> list[tuple[str, datetime, str]]:
    """Each note as (its part of the `$id`, when it last changed, its text)."""
    tz, inc = zone(site), case.incident

    def clock(t: datetime) -> str:
        return t.astimezone(tz).strftime("%H:%M")

    notes = []
    if inc.mode != "live":
        notes.append(("mode", inc.opened_at, f"This is a {inc.mode}, not an emergency."))
    if case.protocol is not None:
        p = case.protocol
        notes.append(("protocol", p.declared_at, f"{p.action.upper()} since "
                      f"{clock(p.declared_at)}: {p.directive}"))
    else:
        notes.append(("protocol", inc.updated_at or inc.opened_at, "No protocol in force."))
    for room in sorted(case.rooms.values(), key=lambda r: r.id):
        if room.status in HELP and room.reported_at is not None:
            notes.append((f"room.{room.id}", room.reported_at, _room(room)))
    notes.append(("accountability", at, _counts(case)))
    for n, ack in enumerate(case.acks, 1):
        notes.append((f"ack.{n}", ack.at, f"Acknowledged by {ack.responder} at "
                      f"{clock(ack.at)}."))
    dispatch = case.dispatch or {}
    if dispatch:
        units = "; ".join(_unit(u, clock) for u in _units(case)) or "no units"
        cad = dispatch.get("cad_id") or "no CAD number"
        when = dispatch.get("updated_at")
        notes.append(("dispatch", when if isinstance(when, datetime) else at,
                      f"911 incident {cad}: {units}."))
    return notes


def _room(room: board_case.Room) -> str:
    said = {"needs_help": "needs help", "unreachable": "cannot be reached"}[str(room.status)]
    place = ", ".join(filter(None, [room.building, f"floor {room.floor}", room.zone]))
    counts = [f"{len(room.injured)} injured" if room.injured else "",
              f"{len(room.missing)} missing" if room.missing else "",
              f"{room.present} present" if room.present is not None else ""]
    detail = ", ".join(filter(None, counts))
    return f"Room {room.name} ({place}) {said}" + (f": {detail}." if detail else ".")


def _counts(case: board_case.Case) -> str:
    people = dict.fromkeys(STATUSES, 0)
    for tally in case.tally.values():
        for status, n in tally.items():
            people[status] = people.get(status, 0) + n
    total = sum(people.values())
    if not total:
        return "Accountability: no roster in the site file."
    said = ", ".join(f"{people[s]} {s}" for s in STATUSES)
    reported = sum(1 for r in case.rooms.values() if r.status is not None)
    return (f"Accountability of {total} people: {said}. Rooms reported: {reported} of "
            f"{len(board_units.reporting(case))}.")


def _unit(unit: dict[str, Any], clock: Callable[[datetime], str]) -> str:
    name = str(unit.get("name") or unit.get("id") or "unit")
    said = UNIT_WORDS.get(str(unit.get("status")), str(unit.get("status") or "status unknown"))
    eta = unit.get("eta")
    if isinstance(eta, str) and eta:
        try:
            said += f", ETA {clock(_aware(datetime.fromisoformat(eta)))}"
        except ValueError:
            said += f", ETA {eta}"
    return f"{name} {said}"


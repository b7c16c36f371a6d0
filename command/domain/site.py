"""The site file (CONTRACT §6): a school's rooms, roster, responder packet and alert channels.

It is decoded from TOML by msgspec and travels, whole, as the data of a `SiteConfigured` event,
so every fold knows the site exactly as it was imported.
"""

from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from command.domain import names
from command.domain.drill_rules import STATES
from command.domain.site_dispatch import Dispatch, check
from command.domain.site_drills import Drills
from command.domain.site_drills import check as check_drills
from command.domain.types import (
    AlertKind,
    CancelWindow,
    ChannelMode,
    Count,
    Floor,
    Ident,
    Label,
    Latitude,
    Longitude,
    Name,
    Seconds,
    SrpAction,
    Text,
    Zone,
)


class Base(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Site-file tables: frozen, and a misspelt key is an error rather than silently ignored."""


Coord = Annotated[float, msgspec.Meta(ge=-1e6, le=1e6)]  # plan units, any scale per floor
Extent = Annotated[float, msgspec.Meta(gt=0, le=1e6)]


class Room(Base):
    id: Ident
    name: Name
    building: Label = ""
    floor: Floor = 1
    zone: Label = ""
    # Optional geometry on the floor plan: a rectangle (all four) or a polygon, not both.
    x: Coord | None = None
    y: Coord | None = None
    w: Extent | None = None
    h: Extent | None = None
    points: Annotated[list[tuple[Coord, Coord]], msgspec.Meta(max_length=200)] | None = None


class GuardianContact(Base):
    """How to reach one of a student's adults: shown only to roles that need it, and messaged
    (guardian_messages) only where the adult is listed in `guardians`, never when restricted."""

    name: Name
    relationship: Label = ""
    phone: Label = ""
    email: Label = ""


class Person(Base):
    id: Ident
    name: Name
    kind: str = "student"  # student | staff | visitor | chaperone
    room: Ident | None = None
    grade: str | None = None
    guardians: list[Name] = []
    restricted: list[Name] = []
    contacts: list[GuardianContact] = []


class Location(Base):
    """Where something is off the floor plan: words people can act on, and GPS where known."""

    text: Label = ""
    lat: Latitude | None = None
    lon: Longitude | None = None


class Contact(Base):
    role: Name
    name: Name
    phone: Label = ""


class ResponderPacket(Base):
    knox_box: Text = ""
    door_codes: Text = ""
    maps: list[str] = []
    cameras: list[str] = []
    aeds: list[Text] = []
    contacts: list[Contact] = []


class EvacuationSite(Base):
    """A named place people go: an assembly area on the grounds, or an off-site reunification
    point. `name` is said as written after "To": "the north field"."""

    id: Ident
    name: Name
    kind: Literal["assembly", "reunification"] = "assembly"
    off_site: bool = False
    address: Text = ""
    lat: Latitude | None = None
    lon: Longitude | None = None
    capacity: Count | None = None  # people it holds
    hazards: list[AlertKind] = []  # the hazards and actions it serves; none listed: every one


class Bus(Base):
    """A bus route and who rides it: accounted for like a room, its riders counted once."""

    id: Ident  # shares the rooms' namespace: an alert or a report names it as its `room`
    name: Name
    driver: Label = ""
    riders: list[Ident] = []  # person ids


class Chaperone(Base):
    """An adult on an away event who is not on the school's roster (a parent volunteer)."""

    id: Ident
    name: Name
    phone: Label = ""


class AwayEvent(Base):
    """A game or a field trip: its own roster at its own place, planned or raised on the spot."""

    id: Ident  # shares the rooms' namespace, as a bus's id does
    name: Name
    kind: Literal["game", "field_trip", "other"] = "other"
    place: Location = Location()
    starts_at: datetime | None = None
    ends_at: datetime | None = None  # none: until the school says so
    people: list[Ident] = []  # roster person ids: students and staff
    chaperones: list[Chaperone] = []


class GuardianMessages(Base):
    """Optional messages to guardians where reunification is (through Apprise): URL templates
    with `{phone}` or `{email}` put in per contact."""

    sms: str = ""  # an Apprise URL with {phone}, e.g. twilio://SID:TOKEN@+15550100/{phone}
    email: str = ""  # an Apprise URL with {email}, e.g. mailtos://user:pw@smtp.host?to={email}
    modes: list[ChannelMode] = msgspec.field(default_factory=lambda: ["live"])
    batch: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 50  # messages per batch
    per_minute: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 300  # the rate limit


class Directive(Base):
    """What a press of one kind (or one SRP action) tells people: where to evacuate to, or the
    hazard and the safety strategy to shelter with."""

    evacuate_to: Ident | None = None  # an evacuation site's id
    hazard: Name | None = None  # said as written after "For": "a tornado"
    strategy: Name | None = None  # said after "using": "drop, cover and hold"


class Channel(Base):
    name: Ident
    url: str
    # Who reads it: people on site or all staff, or responders, dispatch and the commander.
    # A silent alarm reaches only "responders" until a commander declares a protocol or
    # someone presses aloud. "command": the commander's and administrators' own, which alone
    # hear a 911 call's alert until someone presses or a commander declares.
    audience: Literal["on_site", "responders", "command"] = "on_site"
    events: list[str] = msgspec.field(
        default_factory=lambda: ["AlertRaised", "ProtocolDeclared", "ProtocolLifted"]
    )
    modes: list[ChannelMode] = msgspec.field(default_factory=lambda: ["live"])
    escalate_after_s: Seconds | None = None
    escalate_to: list[Ident] = []
    roles: list[str] = []
    handle_with_care: bool = False


class Site(Base):
    id: Ident
    name: Name
    timezone: Zone = "UTC"
    cancel_window_s: CancelWindow = 10.0
    policy: dict[AlertKind, SrpAction] = {}
    rooms: list[Room] = []
    people: list[Person] = []
    responder_packet: ResponderPacket = ResponderPacket()
    channels: list[Channel] = []
    evacuation_sites: list[EvacuationSite] = []
    directives: dict[AlertKind, Directive] = {}  # by alert kind or SRP action
    dispatch: Dispatch | None = None  # how a 911 CAD's EIDO finds this school
    district: Ident | None = None  # the district whose drill log and compliance list it
    drills: Drills | None = None  # the state requirements its drills are held to
    buses: list[Bus] = []
    away_events: list[AwayEvent] = []  # planned in the file, or scheduled through the API
    guardian_messages: GuardianMessages | None = None
    # "oneroster": people come from a OneRoster import, and a site file's import keeps them.
    roster_source: Literal["site_file", "oneroster"] = "site_file"
    # Kept by imports: the custody restrictions of people an import removed, by person id, so a
    # student absent from one night's export is restricted again when they come back.
    custody: dict[Ident, list[Name]] = {}


class SiteError(ValueError):
    """A site file that cannot be imported, with the reason a person can act on."""


def validate(site: Site) -> Site:
    """Cross-field rules msgspec cannot express: unique ids and references that resolve."""
    room_ids = [r.id for r in site.rooms]
    if len(set(room_ids)) != len(room_ids):
        raise SiteError("rooms: duplicate room id")
    people_ids = [p.id for p in site.people]
    if len(set(people_ids)) != len(people_ids):
        raise SiteError("people: duplicate person id")
    for i, room in enumerate(site.rooms):
        _check_shape(i, room)
    known = set(room_ids)
    for i, person in enumerate(site.people):
        if person.room is not None and person.room not in known:
            raise SiteError(f"people[{i}].room: unknown room {person.room!r}")
    _check_units(site, set(people_ids))
    places = [p.id for p in site.evacuation_sites]
    if len(set(places)) != len(places):
        raise SiteError("evacuation_sites: duplicate evacuation site id")
    for key, plan in site.directives.items():
        if plan.evacuate_to is not None and plan.evacuate_to not in places:
            raise SiteError(f"directives.{key}.evacuate_to: unknown evacuation site "
                            f"{plan.evacuate_to!r}")
    names = {c.name for c in site.channels}
    if len(names) != len(site.channels):  # the second of a name would never hear a thing
        raise SiteError("channels: duplicate channel name")
    for i, channel in enumerate(site.channels):
        for target in channel.escalate_to:
            if target not in names:
                raise SiteError(f"channels[{i}].escalate_to: unknown channel {target!r}")
    if site.dispatch is not None:
        try:
            check(site.dispatch)
        except ValueError as exc:
            raise SiteError(str(exc)) from exc
    if site.drills is not None:
        if site.drills.state is not None and site.drills.state not in STATES:
            raise SiteError(f"drills.state: no requirements ship for {site.drills.state!r} "
                            f"(known: {', '.join(sorted(STATES))}): leave it out and give "
                            "[[drills.requirements]]")
        try:
            check_drills(site.drills)
        except ValueError as exc:
            raise SiteError(str(exc)) from exc
    return site


def _check_units(site: Site, people: set[str]) -> None:
    """Rooms, buses and away events share one id namespace; riders, an event's people and its
    chaperones are each who they say."""
    seen = {r.id: "a room's" for r in site.rooms}
    for table, rows in (("buses", site.buses), ("away_events", site.away_events)):
        for i, row in enumerate(rows):
            if row.id in seen:
                raise SiteError(f"{table}[{i}].id: {row.id!r} is already {seen[row.id]} id "
                                "(rooms, buses and away events share one namespace)")
            seen[row.id] = "a bus's" if table == "buses" else "an away event's"
    for i, bus in enumerate(site.buses):
        for j, pid in enumerate(bus.riders):
            if pid not in people:
                raise SiteError(f"buses[{i}].riders[{j}]: unknown person {pid!r}")
    chaperones: dict[str, str] = {}
    for i, event in enumerate(site.away_events):
        for j, pid in enumerate(event.people):
            if pid not in people:
                raise SiteError(f"away_events[{i}].people[{j}]: unknown person {pid!r}")
        for j, ch in enumerate(event.chaperones):
            if ch.id in people:
                raise SiteError(f"away_events[{i}].chaperones[{j}].id: {ch.id!r} is a "
                                "person's id: list them in people")
            if chaperones.setdefault(ch.id, ch.name) != ch.name:
                raise SiteError(f"away_events[{i}].chaperones[{j}].id: {ch.id!r} is already "
                                f"another chaperone's ({chaperones[ch.id]})")
        if event.starts_at and event.ends_at and (event.starts_at.tzinfo is None) != (
                event.ends_at.tzinfo is None):
            raise SiteError(f"away_events[{i}].ends_at: give both times with a zone, or neither")
        if event.starts_at and event.ends_at and event.ends_at < event.starts_at:
            raise SiteError(f"away_events[{i}].ends_at: before it starts")


def _check_shape(i: int, room: Room) -> None:
    box = {"x": room.x, "y": room.y, "w": room.w, "h": room.h}
    given = [k for k, v in box.items() if v is not None]
    if given and room.points is not None:
        raise SiteError(f"rooms[{i}].points: give a rectangle (x, y, w, h) or points, not both")
    if given and len(given) < 4:
        missing = next(k for k in box if k not in given)
        raise SiteError(f"rooms[{i}].{missing}: a room's rectangle needs all of x, y, w and h")
    if room.points is not None and len(room.points) < 3:
        raise SiteError(f"rooms[{i}].points: a polygon needs at least 3 [x, y] points")


def shape(room: Room) -> dict[str, object] | None:
    """A room's geometry on its floor's plan as a board shows it; None without one."""
    if room.points is not None:
        return {"points": [list(p) for p in room.points]}
    if room.x is not None:
        return {"x": room.x, "y": room.y, "w": room.w, "h": room.h}
    return None


class Plan(msgspec.Struct, frozen=True, kw_only=True):
    """A protocol's particulars as the site file gives them for a press of one kind."""

    evacuate_to: str | None = None  # the place's name, as people hear it
    evacuation_site: str | None = None  # its id
    hazard: str | None = None
    strategy: str | None = None


HAZARDS: dict[str, str] = {"weather": "severe weather", "hazmat": "a hazardous materials release"}


def plan_for(site: Site, kind: str, action: str) -> Plan:
    """The place, or the hazard and strategy, for a press of `kind` declaring `action`: the
    kind's own directive, else the action's, else what the kind itself says of the hazard. An
    evacuation no directive places goes to the first site serving the hazard (or the action)."""
    own, general = site.directives.get(kind), site.directives.get(action)  # type: ignore[call-overload]
    if action == "evacuate":
        where = (own.evacuate_to if own else None) or (general.evacuate_to if general else None)
        where = where or next((p.id for p in site.evacuation_sites
                               if kind in p.hazards or action in p.hazards), None)
        place = next((p for p in site.evacuation_sites if p.id == where), None)
        return Plan(evacuate_to=place.name if place else None, evacuation_site=where)
    if action == "shelter":
        # A hazard's own words, never another hazard's strategy: the action's table serves a
        # press of the action itself or of a hazard Muster has no words for.
        chosen = own if own is not None else None if kind in HAZARDS else general
        hazard = (chosen.hazard if chosen else None) or HAZARDS.get(kind)
        return Plan(hazard=hazard, strategy=chosen.strategy if chosen else None)
    return Plan()


def place_named(site: Site, given: str) -> tuple[str, str | None]:
    """A commander's `evacuate_to`: an evacuation site's id becomes its name (and id); any other
    text is the place as written."""
    place = next((p for p in site.evacuation_sites if p.id == given), None)
    return (place.name, place.id) if place else (given, None)


def warnings(site: Site) -> list[str]:
    """What a valid site file leaves unsaid that people will miss in an emergency."""
    said = []
    if site.channels and not any(ch.audience == "responders" for ch in site.channels):
        said.append("no channel has audience = \"responders\": a silent alarm reaches nobody")
    if "evacuate" not in site.directives and not any(
            d.evacuate_to for d in site.directives.values()):
        said.append("no [directives] name an evacuation site: an evacuation will say "
                    "\"place not yet given\" until a commander names one")
    for place in site.evacuation_sites:
        if place.off_site and not place.address:
            said.append(f"evacuation site {place.id!r} is off site with no address: people "
                        "cannot be sent there by name alone")
    for p in site.people:  # the restriction wins at the desk: the listing is wrong or stale
        if any(names.among(g, p.restricted) for g in p.guardians):  # no name: need to know
            said.append(f"person {p.id!r} lists a guardian their custody restriction also names: "
                        "the desk will refuse that adult; correct the roster")
    return said


def zone_named(name: str) -> tzinfo:
    """The time zone `name`; UTC where this machine has no such zone, never the server's own."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def zone(config: Site | None) -> tzinfo:
    """The site's time zone, which every message, CAP document and report tells times in."""
    return zone_named(config.timezone) if config is not None else UTC


def loads(text: str | bytes) -> Site:
    """Decode a TOML site file; msgspec's errors already name the offending key path."""
    try:
        return validate(msgspec.toml.decode(text, type=Site))
    except msgspec.ValidationError as exc:
        raise SiteError(str(exc)) from exc
    except msgspec.DecodeError as exc:
        raise SiteError(f"not valid TOML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise SiteError("the site file is not valid UTF-8") from exc


def load(path: str | Path) -> Site:
    return loads(Path(path).read_bytes())



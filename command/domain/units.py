"""Units: where people are accounted for — a room, a bus route or an away event.

Their ids share one namespace (site.validate refuses a collision), so an alert or a room report
names any of them as its `room`. Placement at an incident's open puts each person in exactly one
unit: an active away event's people and chaperones there, the alerted bus's riders on it, the
rest at home. Pure: the time arrives as an argument.
"""

from datetime import UTC, datetime, tzinfo

from msgspec.structs import replace

from command.domain.site import AwayEvent, Bus, Location, Site, zone
from command.domain.types import UnitKind


def aware(at: datetime, tz: tzinfo = UTC) -> datetime:
    """A time with its zone: one written without is the site's local time."""
    return at if at.tzinfo is not None else at.replace(tzinfo=tz)


def active(event: AwayEvent, at: datetime, tz: tzinfo = UTC) -> bool:
    """Whether an away event is on at `at`: a missing bound is open."""
    at = aware(at, tz)
    return (event.starts_at is None or aware(event.starts_at, tz) <= at) and (
        event.ends_at is None or at <= aware(event.ends_at, tz))


def active_events(config: Site | None, at: datetime) -> list[AwayEvent]:
    """The site's away events on at `at`, in site-file order."""
    if config is None:
        return []
    tz = zone(config)
    return [ev for ev in config.away_events if active(ev, at, tz)]


def kind_of(config: Site | None, unit: str) -> UnitKind | None:
    """What a unit id names, or None when the site has no such unit."""
    if config is None:
        return None
    if any(r.id == unit for r in config.rooms):
        return "room"
    if any(b.id == unit for b in config.buses):
        return "bus"
    if any(ev.id == unit for ev in config.away_events):
        return "away_event"
    return None


def bus(config: Site | None, unit: str) -> Bus | None:
    return next((b for b in config.buses if b.id == unit), None) if config else None


def away_event(config: Site | None, unit: str) -> AwayEvent | None:
    return next((ev for ev in config.away_events if ev.id == unit), None) if config else None


def members(config: Site | None, unit: str) -> list[str]:
    """A bus's riders, or an away event's people then chaperones; a room's are its home people
    (roster_index has those): none here."""
    found = bus(config, unit)
    if found is not None:
        return list(found.riders)
    event = away_event(config, unit)
    if event is not None:
        return [*event.people, *(ch.id for ch in event.chaperones)]
    return []


def placement(config: Site | None, at: datetime, unit: str | None = None) -> dict[str, str]:
    """Who is away from their home room as an incident opens at `at` on `unit`: person id to
    unit id. Each person once: the alerted unit wins, then active events in site-file order."""
    placed: dict[str, str] = {}
    for event in active_events(config, at):
        for pid in members(config, event.id):
            placed.setdefault(pid, event.id)
    if unit is not None and kind_of(config, unit) in ("bus", "away_event"):
        for pid in members(config, unit):
            placed[pid] = unit
    return placed


def on_case(config: Site | None, at: datetime, unit: str | None = None) -> list[str]:
    """The non-room units a case shows: every bus, the away events active at open, and the
    unit the incident was raised on."""
    if config is None:
        return []
    tz = zone(config)
    shown = [b.id for b in config.buses]
    shown += [ev.id for ev in config.away_events if active(ev, at, tz) or ev.id == unit]
    return shown


def with_away_event(site: Site, event: AwayEvent) -> Site:
    """`site` with `event` added, or in place of the one of its id: a new config object."""
    events = [event if ev.id == event.id else ev for ev in site.away_events]
    if not any(ev.id == event.id for ev in site.away_events):
        events.append(event)
    return replace(site, away_events=events)


def spoken(location: Location | None) -> str:
    """A location as words people act on: its text, with the coordinates where known."""
    if location is None:
        return ""
    point = f"{location.lat:.5f}, {location.lon:.5f}" if location.lat is not None \
        and location.lon is not None else ""
    if location.text and point:
        return f"{location.text} ({point})"
    return location.text or point


def described(config: Site | None, unit: str, told: Location | None = None) -> str | None:
    """A bus or away event as a message names it: its name and where it is (the location told,
    else an event's place); None for a room or an unknown id."""
    found = bus(config, unit) or away_event(config, unit)
    if found is None:
        return None
    place = told or (found.place if isinstance(found, AwayEvent) else None)
    where = spoken(place)
    return f"{found.name} at {where}" if where else found.name

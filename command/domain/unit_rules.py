"""Decisions about units and places: where an alert is (a room, a bus or an away event), an
away event scheduled ahead or on the spot, and an evacuation relocated to another place.

Pure, like `decide`, which routes these commands here: the time arrives in `Ctx`.
"""

from command.domain import commands as c
from command.domain import events as e
from command.domain import units
from command.domain.errors import Conflict, Invalid, NotFound
from command.domain.site import AwayEvent, Site, SiteError, place_named, validate
from command.domain.site_state import Ctx, Draft, SiteState, incident_of, known_person, site_of
from command.domain.types import UnitKind

_FIELDS: tuple[UnitKind, ...] = ("room", "bus", "away_event")
_NAMES = {"room": "room", "bus": "bus", "away_event": "away event"}


def alerted_unit(site: Site, cmd: c.RaiseAlert) -> tuple[str, UnitKind]:
    """The unit a press names, by exactly one of `room`, `bus` or `away_event`."""
    given = [(f, uid) for f, uid in zip(_FIELDS, (cmd.room, cmd.bus, cmd.away_event),
                                        strict=True) if uid is not None]
    if len(given) != 1:
        said = " and ".join(f for f, _ in given) or "none"
        raise Invalid(f"name exactly one of room, bus or away_event: where the alert is "
                      f"(given: {said})", field="$.room")
    field, uid = given[0]
    if units.kind_of(site, uid) != field:
        raise NotFound(f"unknown {_NAMES[field]} {uid!r}", field=f"$.{field}")
    return uid, field


def relocate(state: SiteState, cmd: c.Relocate, ctx: Ctx) -> list[Draft]:
    """The evacuation site is unsafe: one declaration moves everyone on, naming where from."""
    inc = incident_of(state, ctx.incident_id)
    if inc.action != "evacuate":
        raise Conflict("a relocation moves an evacuation, and no evacuate is in force",
                       field="$.to")
    place, place_id = place_named(site_of(state), cmd.to)
    if place == inc.evacuate_to:
        raise Conflict(f"the evacuation is already going to {place}", field="$.to")
    data = e.ProtocolDeclaredData(action="evacuate", evacuate_to=place,
                                  evacuation_site=place_id, reason="relocation",
                                  relocated_from=inc.evacuate_to, relocation_reason=cmd.reason)
    return [(e.ProtocolDeclared, data, inc.id, inc.mode)]


def schedule(state: SiteState, cmd: c.ScheduleAwayEvent, ctx: Ctx) -> list[Draft]:
    """An away event with its own roster and place: added, or replacing the one of its id."""
    site = site_of(state)
    if units.kind_of(site, cmd.id) in ("room", "bus"):
        raise Conflict(f"{cmd.id!r} is already a {units.kind_of(site, cmd.id)}'s id: rooms, "
                       "buses and away events share one namespace", field="$.id")
    for i, pid in enumerate(cmd.people):
        known_person(state, pid, f"$.people[{i}]")
    if len(set(cmd.people)) != len(cmd.people):
        raise Invalid("people: a person is listed twice", field="$.people")
    for i, ch in enumerate(cmd.chaperones):
        if ch.id in state.people:
            raise Conflict(f"chaperone {ch.id!r} is a roster person's id: list them in people",
                           field=f"$.chaperones[{i}].id")
    event = AwayEvent(id=cmd.id, name=cmd.name, kind=cmd.kind, place=cmd.place,
                      starts_at=cmd.starts_at, ends_at=cmd.ends_at, people=cmd.people,
                      chaperones=cmd.chaperones)
    try:
        validate(units.with_away_event(site, event))
    except SiteError as exc:  # a chaperone another event already names under another person
        raise Conflict(str(exc), field="$.chaperones") from exc
    return [(e.AwayEventScheduled, e.AwayEventScheduledData(event=event), None, "live")]


def kept_away_events(current: Site | None, new: Site, scheduled: frozenset[str]) -> Site:
    """A site file's import keeps the away events scheduled through the API that it does not
    name itself, where they still fit it (ids free, people on its roster)."""
    if current is None:
        return new
    named = {ev.id for ev in new.away_events}
    kept = [ev for ev in current.away_events if ev.id in scheduled and ev.id not in named]
    merged = new
    for event in kept:
        try:
            merged = validate(units.with_away_event(merged, event))
        except SiteError:
            continue  # it no longer fits this file: the file is the truth
    return merged

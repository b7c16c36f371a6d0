"""Decisions about a site's roster: an import writes only what changed since the last one, and
a site file's import keeps a OneRoster roster (`roster_source = "oneroster"`). Pure.

ImportRoster decides against the site's current people: one RosterChanged, or several parts of
at most roster_diff.PART people in one append, or nothing at all when the same export comes
again (a daily sync must not write a whole roster every day). An import that does not say who
is restricted keeps every restriction; one during an open live or drill incident is taken only
when it moves nobody.
"""

from msgspec.structs import replace

from command.domain import commands as c
from command.domain import events as e
from command.domain import roster_diff
from command.domain.errors import Conflict, Invalid
from command.domain.site import Site, SiteError, validate
from command.domain.site_state import Ctx, Draft, SiteState, site_of


def import_roster(state: SiteState, cmd: c.ImportRoster, ctx: Ctx) -> list[Draft]:
    """The RosterChanged drafts that bring the site's people to `cmd.people`; [] for none."""
    site = site_of(state)
    rooms = {r.id for r in site.rooms}
    seen: set[str] = set()
    for i, person in enumerate(cmd.people):
        if person.id in seen:
            raise Invalid(f"duplicate person id {person.id!r}", field=f"$.people[{i}].id")
        seen.add(person.id)
        if person.room is not None and person.room not in rooms:
            raise Invalid(f"unknown room {person.room!r}", field=f"$.people[{i}].room")
    people = cmd.people if cmd.restrictions else roster_diff.kept(site.people, cmd.people,
                                                                  site.custody)
    found = roster_diff.diff(site.people, people)
    if not found:
        return []
    busy = sorted(m for m in ("live", "drill") if m in state.open)
    # A count half on yesterday's roster and half on today's adds up to neither; guardians,
    # restrictions and contacts move nobody, and a custody order may come mid-incident.
    if busy and roster_diff.moves(site.people, found):
        raise Conflict(f"a {busy[0]} incident is open: an import that adds, removes or moves "
                       "people waits until it has ended (the same import then writes what "
                       "changed); guardians, restrictions and contacts may change now")
    after = site
    drafts: list[Draft] = []
    for data in roster_diff.parts(found, cmd.source):
        after = roster_diff.applied(after, data)
        drafts.append((e.RosterChanged, data, None, "live"))
    try:  # e.g. a new person's id a chaperone already has: truly inconsistent
        validate(after)
    except SiteError as exc:
        raise Conflict(f"the roster cannot change so: {exc}", field="$.people") from None
    return drafts


def kept_roster(current: Site | None, imported: Site) -> Site:
    """A site file whose roster comes from OneRoster keeps the people imported so far (its own
    `people`, if any, are ignored): re-importing the file never undoes a roster import. Any
    site file keeps the custody restrictions imports hold for people they removed."""
    if current is None:
        return imported
    if current.custody:
        imported = replace(imported, custody={**imported.custody, **current.custody})
    if imported.roster_source != "oneroster":
        return imported
    kept = replace(imported, people=current.people)
    try:
        return validate(kept)
    except SiteError as exc:
        raise Invalid(f"the site file does not fit the imported roster: {exc}",
                      field="$.rooms") from None

"""A commander's sign-off of an incident's record (live, drill or tabletop), as filed with the
state: once per incident, while it is open or after it ended."""

from command.domain import commands as c
from command.domain import events as e
from command.domain.errors import Conflict, NotFound
from command.domain.site_state import Ctx, Draft, SiteState, site_of
from command.domain.types import Mode


def _mode_of(state: SiteState, incident_id: str | None) -> Mode:
    """The named incident's mode, open or ended; unknown at this site: 404."""
    for inc in state.open.values():
        if inc.id == incident_id:
            return inc.mode
    mode = state.ended.get(incident_id or "")
    if mode is None:
        raise NotFound("unknown incident", field="id")
    return mode


def sign_off(state: SiteState, cmd: c.SignOff, ctx: Ctx) -> list[Draft]:
    site_of(state)
    mode = _mode_of(state, ctx.incident_id)
    signed = state.signed.get(ctx.incident_id or "")
    if signed is not None:
        raise Conflict(f"already signed off by {signed.by} at {signed.at.isoformat()}")
    data = e.DrillSignedOffData(signed_by=cmd.signed_by, title=cmd.title, note=cmd.note)
    return [(e.DrillSignedOff, data, ctx.incident_id, mode)]

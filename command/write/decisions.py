"""A queued command turned into the events to append: decided on its site's state, given ids
derived from its client_event_id (so a retry is known), and admitted only if every reader of the
stream can read them back."""

from collections.abc import Callable

import msgspec

from command.domain import commands as c
from command.domain import events as e
from command.domain.decide import decide, seal
from command.domain.errors import Invalid, from_validation
from command.domain.site_state import Ctx, SiteState
from command.write.site_queue import Pending

# The commands whose decision may open an incident: a press, a drill, a 911 call, a tabletop.
OPENERS = (c.RaiseAlert, c.StartDrill, c.ReceiveDispatch, c.StartTabletop)


class Unchanged(Exception):  # not an error: an answer (202, duplicate)
    """A decision that writes nothing: a CAD snapshot that changes nothing Muster knows."""


def events_for(site: str, state: SiteState, job: Pending,
               rehearse: Callable[[e.Envelope], None] | None) -> list[e.Envelope]:
    """The events `job`'s command causes at `site` in `state`; raises why it must not."""
    ctx = Ctx(site=site, actor=job.actor, now=e.now(), incident_id=job.incident_id,
              room=job.room, commander=job.commander,
              new_incident_id=_new_incident_id(job.cmd, job.cid))
    drafts = decide(state, job.cmd, ctx)  # type: ignore[arg-type]
    if not drafts:
        raise Unchanged(f"{type(job.cmd).__name__} changes nothing at {site}")
    ids = e.client_event_ids(job.cid, len(drafts), start=1 if job.first_id else 0)
    events = seal(drafts, ctx, [job.first_id, *ids] if job.first_id else ids)
    for event in events:
        admit(event, rehearse)
    return events


def _new_incident_id(cmd: c.Command | None, cid: str | None) -> str:
    """The id an incident this command opens would get; only presses and drills open one."""
    if not isinstance(cmd, OPENERS):
        return ""
    return e.client_event_ids(f"{cid}/incident", 1)[0] if cid else e.new_id()


def admit(event: e.Envelope, rehearse: Callable[[e.Envelope], None] | None = None) -> None:
    """Refuse (400, naming the field) an event its readers could not read back exactly as
    written, or, for a site file, one the consumers could not apply (`rehearse`): once in the
    stream, such an event would stop every consumer that meets it."""
    try:
        same = e.strict(e.encode(event)) == event
    except msgspec.ValidationError as exc:
        raise _on_command(from_validation(exc)) from None
    except (msgspec.MsgspecError, ValueError) as exc:  # not encodable: NaN never gets here
        raise Invalid(f"the command cannot be recorded: {exc}", field="$") from None
    if not same:  # e.g. a float that JSON turns into null
        raise Invalid("the command does not read back as written", field="$")
    # Only a site file is folded: it alone carries numbers and names from a file, and a fold
    # of a whole school per press would cost what a panic press cannot wait.
    if rehearse is not None and isinstance(event, e.SiteConfigured):
        rehearse(event)


def _on_command(error: Invalid) -> Invalid:
    """An event's path (`$.data.x`) as the command's: the data is the command's body."""
    field = error.field or "$"
    if field.startswith("$.data"):
        field = "$" + field.removeprefix("$.data")
    return Invalid(error.message, field=field)

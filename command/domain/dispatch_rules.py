"""What a 911 CAD's EIDO snapshot does at its school (issue 19): the snapshot mapped to a
`DispatchUpdated`, whether it is news against the last one stored for its tracking id, and the
decision for `ReceiveDispatch`: update the open live incident, or open one from the APCO type.

A snapshot is news when it sorts after the stored one by (update time, content): a duplicate
or an older snapshot writes nothing, so any order or repetition of one CAD's snapshots leaves
the state of the newest. A dispatch never lifts, downgrades or changes a protocol in force.
"""

import re

import msgspec

from command.domain import commands as c
from command.domain import events as e
from command.domain.eido_in import Eido, Unit
from command.domain.errors import Invalid
from command.domain.policy import action_for
from command.domain.site import plan_for
from command.domain.site_dispatch import kind_for
from command.domain.site_state import Ctx, Draft, SiteState, site_of

UnitStatus = str  # dispatched | en_route | on_scene | cleared | available
# A unit's secondary statuses, the furthest along first: the one a unit is shown with.
UNIT_STEPS: tuple[tuple[str, frozenset[str]], ...] = (
    ("cleared", frozenset({"Cleared", "AssignmentCancelled"})),
    ("on_scene", frozenset({"OnScene", "Arrived"})),
    ("en_route", frozenset({"EnRoute"})),
    ("dispatched", frozenset({"Dispatched", "Assigned", "AcknowledgedTransmission"})),
)
# The incident's common registry statuses, the furthest along last: the one shown.
STATUS_ORDER = ("NewLocation", "ReOpened", "Active", "ResourcesAssigned", "ResourcesEnroute",
                "ResourcesOnscene", "FireUnderControl", "StructureCleared", "Cancelled", "Closed")
ENDED = frozenset({"Closed", "Cancelled"})
ROOM = "911"  # the room a dispatch-opened alert names: a CAD knows the school, not the room
MAX_UNITS, MAX_NOTES = 200, 50
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def label(text: str | None, limit: int = 200) -> str | None:
    """A CAD's text as an event holds it: no control characters, bounded; None when empty."""
    clean = " ".join(_CONTROL.sub(" ", text or "").split())[:limit]
    return clean or None


def unit_status(unit: Unit) -> UnitStatus:
    """Where a unit is: its furthest secondary status, else available or dispatched."""
    given = set(unit.secondary)
    for status, names in UNIT_STEPS:
        if given & names:
            return status
    return "available" if unit.primary == "Available" else "dispatched"


def incident_status(statuses: list[str], internal: list[str]) -> str | None:
    """The furthest-along registry status; the CAD's own first status when none is known."""
    known = [s for s in statuses if s in STATUS_ORDER]
    if known:
        return max(known, key=STATUS_ORDER.index)
    return label(next(iter(statuses + internal), None))


def _unit(unit: Unit) -> dict[str, str]:
    shown = {"id": label(unit.id) or "", "name": label(unit.name) or label(unit.id) or "",
             "status": unit_status(unit)}
    if unit.eta is not None:
        shown["eta"] = unit.eta.isoformat()
    return shown


def snapshot(eido: Eido) -> e.DispatchUpdatedData:
    """The part of an EIDO a board, timeline and report show, bounded as an event's fields."""
    priority = eido.priority if eido.priority is not None and 0 <= eido.priority <= 10 else None
    return e.DispatchUpdatedData(
        tracking_id=label(eido.tracking_id), updated_at=eido.updated_at,
        cad_id=label(eido.cad_id), type=label(eido.type), type_text=label(eido.type_text),
        status=incident_status(eido.status, eido.status_text),
        statuses=[s for s in (label(t) for t in eido.status) if s],
        priority=priority, priority_text=label(eido.priority_text),
        units=[_unit(u) for u in eido.units[:MAX_UNITS]],
        notes=[n for n in (label(t, 2000) for t in eido.notes[:MAX_NOTES]) if n],
        agency=label(eido.agency),
    )


def _content(data: e.DispatchUpdatedData) -> bytes:
    return msgspec.json.encode(msgspec.structs.replace(data, updated_at=None))


def _key(data: e.DispatchUpdatedData) -> tuple[float, bytes]:
    when = data.updated_at.timestamp() if data.updated_at is not None else float("-inf")
    return when, _content(data)


def is_news(new: e.DispatchUpdatedData, stored: e.DispatchUpdatedData | None) -> bool:
    """Whether `new` sorts after the snapshot stored for its tracking id: a later update, or
    at the same instant a different content (ordered by its bytes, so every order agrees)."""
    return stored is None or _key(new) > _key(stored)


def receive(state: SiteState, cmd: c.ReceiveDispatch, ctx: Ctx) -> list[Draft]:
    """The events one CAD snapshot causes at its matched site: none when it is not news."""
    site = site_of(state)
    snap = cmd.dispatch
    if not snap.tracking_id:
        raise Invalid("a dispatch needs its EIDO tracking id", field="$.$id")
    if not is_news(snap, state.dispatch.get(snap.tracking_id)):
        return []
    live = state.open.get("live")
    if live is not None:
        return [(e.DispatchUpdated, snap, live.id, "live")]
    if snap.tracking_id in state.dispatch or snap.status in ENDED:
        # Its incident has ended here (or the call ended before reaching us): kept, not reopened.
        return [(e.DispatchUpdated, snap, None, "live")]
    kind = kind_for(site.dispatch, snap.type or "")
    action = action_for(kind, site.policy)
    iid = ctx.new_incident_id
    told = ", ".join(filter(None, (snap.type, snap.type_text, snap.cad_id and
                                   f"CAD {snap.cad_id}")))
    raised = e.AlertRaisedData(kind=kind, room=ROOM, action=action, note=label(told, 2000))
    drafts: list[Draft] = [
        (e.IncidentOpened, e.IncidentOpenedData(kind=kind, note=raised.note), iid, "live"),
        (e.AlertRaised, raised, iid, "live"),
    ]
    if site.dispatch is not None and site.dispatch.declare:
        plan = plan_for(site, kind, action)
        declared = e.ProtocolDeclaredData(
            action=action, evacuate_to=plan.evacuate_to, evacuation_site=plan.evacuation_site,
            hazard=plan.hazard, strategy=plan.strategy, reason="alert")
        drafts.append((e.ProtocolDeclared, declared, iid, "live"))
    return [*drafts, (e.DispatchUpdated, snap, iid, "live")]


def staff_summary(dispatch: dict[str, object] | None) -> str:
    """What staff are told of 911's response: the call closed, police on scene, en route, gone
    from the scene, or 911 has the call."""
    statuses = {u.get("status") for u in (dispatch or {}).get("units", [])  # type: ignore[union-attr]
                if isinstance(u, dict)}
    if (dispatch or {}).get("status") in ENDED:
        return "911 call closed"
    if statuses and statuses <= {"cleared", "available"}:
        return "Police have left the scene"
    if "on_scene" in statuses:
        return "Police on scene"
    if "en_route" in statuses:
        return "Police en route"
    return "911 has the call"


UNIT_WORDS = {"dispatched": "dispatched", "en_route": "en route", "on_scene": "on scene",
              "cleared": "cleared", "available": "available"}


def timeline_text(data: dict[str, object]) -> str:
    """A DispatchUpdated as one timeline line: the call, its status and each unit (with its
    ETA); as staff see it, the summary alone."""
    if "summary" in data:
        return f"911: {data['summary']}"
    call = " ".join(str(data[k]) for k in ("cad_id", "type", "status") if data.get(k))
    units = [u for u in data.get("units") or [] if isinstance(u, dict)]  # type: ignore[attr-defined]
    said = ", ".join(f"{u.get('name') or u.get('id')} {UNIT_WORDS.get(u.get('status'), '')}"
                     .strip() + (f" (ETA {u['eta']})" if u.get("eta") else "") for u in units)
    notes = len(data.get("notes") or [])  # type: ignore[arg-type]
    return (f"dispatch {call}".strip() + f", {_count(len(units), 'unit')}"
            + (f": {said}" if said else "")
            + (f"; {_count(notes, 'dispatcher note')}" if notes else ""))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")

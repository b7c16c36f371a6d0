"""A site's decision state, and the pure `evolve` that intake folds each event with.

`evolve(state, event)` folds one event into `SiteState`; the queries at the end (`site_of`,
`incident_of`, ...) raise the error a command gets when what it names is not there. What a
command causes is decided in `decide.py`, and for reunification in `reunification_rules.py`.
Nothing here does I/O or reads a clock: the time and the acting token arrive in `Ctx`.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

import msgspec
from msgspec.structs import replace

from command.domain import accounting, desk_state, roster_diff, units
from command.domain import events as e
from command.domain.errors import Conflict, NotFound
from command.domain.roster_index import roster
from command.domain.site import Site, zone
from command.domain.types import Mode, SrpAction

Status = Literal["open", "cancelled", "closed"]


class Incident(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    mode: Mode
    kind: str
    opened_at: datetime
    opened_by: str
    opened_by_token: int | None = None  # who may cancel as the presser: names are not proof
    status: Status = "open"
    action: SrpAction | None = None
    checked_in: frozenset[str] = frozenset()
    approved: dict[str, frozenset[str]] = {}  # folded guardian name -> students (no card)
    approved_cards: dict[str, tuple[str, frozenset[str]]] = {}  # card -> (guardian, students)
    released: frozenset[str] = frozenset()
    ledger: accounting.Ledger = accounting.Ledger()  # who is accounted for: the board's count
    reunification_open: bool = False  # opened early by a commander, before accounting completed
    evacuate_to: str | None = None  # the evacuation's place as declared last: a relocation's from
    # The SRM desk's: cards handed out (card -> guardian), students fetched, exception cases
    # (case id -> person id) and those resolved, the point set, the evacuation site in force.
    arrivals: dict[str, str] = {}
    fetched: frozenset[str] = frozenset()
    cases: dict[str, str] = {}
    resolved_cases: frozenset[str] = frozenset()
    point: str | None = None
    evacuation_site: str | None = None


class Signed(msgspec.Struct, frozen=True):
    """Who signed an incident's record off, and when."""

    by: str
    at: datetime


class SiteState(msgspec.Struct, frozen=True, kw_only=True):
    site: Site | None = None
    seq: int = 0
    open: dict[str, Incident] = {}  # mode -> the open incident of that mode, at most one each
    people: frozenset[str] = frozenset()
    students: frozenset[str] = frozenset()
    # A 911 CAD's last snapshot per EIDO tracking id, which the next one is diffed against.
    dispatch: dict[str, e.DispatchUpdatedData] = {}
    # Ended incidents' modes, and sign-offs by incident id: a record is signed after the end.
    ended: dict[str, Mode] = {}
    signed: dict[str, Signed] = {}
    scheduled: frozenset[str] = frozenset()  # away events' ids scheduled through the API


class Ctx(msgspec.Struct, frozen=True, kw_only=True):
    """What a decision may know besides state: who acts, when, and the ids it may use."""

    site: str
    actor: e.Actor
    now: datetime
    incident_id: str | None = None
    room: str | None = None
    new_incident_id: str = ""
    commander: bool = False


Draft = tuple[type[e.Envelope], Any, str | None, Mode]


def evolve(state: SiteState, event: e.Event) -> SiteState:
    """Fold one event into the site's decision state."""
    apply = _EVOLVERS.get(type(event))
    return apply(state, event) if apply else state


def _configured(state: SiteState, ev: e.SiteConfigured) -> SiteState:
    site = ev.data
    people = frozenset(p.id for p in site.people)
    students = frozenset(p.id for p in site.people if p.kind == "student")
    # An API's away event the file kept is still the API's; one the file redefined is the file's.
    before = {x.id: x for x in state.site.away_events} if state.site else {}
    scheduled = frozenset(x.id for x in site.away_events
                          if x.id in state.scheduled and before.get(x.id) == x)
    return replace(state, site=site, people=people, students=students, scheduled=scheduled)


def _roster_changed(state: SiteState, ev: e.RosterChanged) -> SiteState:
    """An import's changes: a new site config every fold reads, as a SiteConfigured gives."""
    if state.site is None:
        return state
    site = roster_diff.applied(state.site, ev.data)
    return replace(state, site=site, people=frozenset(p.id for p in site.people),
                   students=frozenset(p.id for p in site.people if p.kind == "student"))


def _scheduled(state: SiteState, ev: e.AwayEventScheduled) -> SiteState:
    """An away event added, or replaced by id: a new site config every fold reads, as a
    SiteConfigured would give; an open incident's ledger places its people if it is on now."""
    if state.site is None:
        return state
    site = units.with_away_event(state.site, ev.data.event)
    state = replace(state, site=site, scheduled=state.scheduled | {ev.data.event.id})
    if not units.active(ev.data.event, ev.occurred_at, zone(site)):
        return state
    opened = {mode: replace(inc, ledger=accounting.joined(inc.ledger, site, ev.data.event.id))
              for mode, inc in state.open.items()}
    return replace(state, open=opened)


def _opened(state: SiteState, ev: e.IncidentOpened) -> SiteState:
    inc = Incident(
        id=ev.incident_id or "", mode=ev.mode, kind=ev.data.kind, opened_at=ev.occurred_at,
        opened_by=ev.actor.id, opened_by_token=ev.actor.token_id,
        ledger=accounting.opened(state.site, ev.occurred_at, ev.data.room),
    )
    return replace(state, open={**state.open, ev.mode: inc})


def _pressed(state: SiteState, ev: e.AlertRaised) -> SiteState:
    """A press on a bus or an away event joining an incident: its people nobody has placed or
    accounted for yet are there (the board's fold places them alike)."""
    if ev.data.unit == "room":
        return state
    return _counted(state, ev, lambda led: accounting.joined(led, state.site, ev.data.room))


def _with_incident(state: SiteState, ev: e.Envelope, **changes: Any) -> SiteState:
    inc = state.open.get(ev.mode)
    if inc is None or inc.id != ev.incident_id:
        return state
    return replace(state, open={**state.open, ev.mode: replace(inc, **changes)})


def _ended(state: SiteState, ev: e.Envelope) -> SiteState:
    inc = state.open.get(ev.mode)
    if inc is None or inc.id != ev.incident_id:
        return state
    return replace(state, open={m: i for m, i in state.open.items() if m != ev.mode},
                   ended={**state.ended, inc.id: inc.mode})


def _signed(state: SiteState, ev: e.DrillSignedOff) -> SiteState:
    if ev.incident_id is None or ev.incident_id in state.signed:
        return state
    signed = Signed(by=ev.data.signed_by, at=ev.occurred_at)
    return replace(state, signed={**state.signed, ev.incident_id: signed})


def _declared(state: SiteState, ev: e.ProtocolDeclared) -> SiteState:
    return _with_incident(state, ev, action=ev.data.action,
                          evacuation_site=ev.data.evacuation_site,
                          evacuate_to=ev.data.evacuate_to if ev.data.action == "evacuate" else None)


def _lifted(state: SiteState, ev: e.ProtocolLifted) -> SiteState:
    return _with_incident(state, ev, action=None)


def _counted(state: SiteState, ev: e.Envelope,
             change: Callable[[accounting.Ledger], accounting.Ledger], **changes: Any) -> SiteState:
    """An accountability event, folded exactly as the board folds it."""
    inc = state.open.get(ev.mode)
    if inc is None or inc.id != ev.incident_id:
        return state
    return _with_incident(state, ev, ledger=change(inc.ledger), **changes)


def _room_reported(state: SiteState, ev: e.RoomStatusReported) -> SiteState:
    return _counted(state, ev, lambda led: accounting.room_reported(led, ev.data, state.site))


def _accounted(state: SiteState, ev: e.PersonsAccounted) -> SiteState:
    return _counted(state, ev, lambda led: accounting.accounted(led, ev.data, state.site))


def _checked_in(state: SiteState, ev: e.StudentCheckedIn) -> SiteState:
    inc = state.open.get(ev.mode)
    if inc is None or inc.id != ev.incident_id:
        return state
    pid = ev.data.person_id
    return _counted(state, ev, lambda led: accounting.checked_in(led, pid, state.site),
                    checked_in=inc.checked_in | {pid})


def _released(state: SiteState, ev: e.StudentReleased) -> SiteState:
    inc = state.open.get(ev.mode)
    if inc is None or inc.id != ev.incident_id:
        return state
    pid = ev.data.person_id
    return _counted(state, ev, lambda led: accounting.released(led, pid, state.site),
                    released=inc.released | {pid})


def _reunification(state: SiteState, ev: e.ReunificationOpened) -> SiteState:
    return _with_incident(state, ev, reunification_open=True)


def _desk(state: SiteState, ev: e.Envelope) -> SiteState:
    """A reunification desk event, folded into its open incident (desk_state says how)."""
    inc = state.open.get(ev.mode)
    if inc is None or inc.id != ev.incident_id:
        return state
    return _with_incident(state, ev, **desk_state.CHANGES[type(ev)](ev, inc, state.site))


def _dispatched(state: SiteState, ev: e.DispatchUpdated) -> SiteState:
    tracking = ev.data.tracking_id
    if not tracking:  # written before EIDO intake: nothing to diff against
        return state
    return replace(state, dispatch={**state.dispatch, tracking: ev.data})


_EVOLVERS: dict[type, Callable[[SiteState, Any], SiteState]] = {
    e.SiteConfigured: _configured,
    e.RosterChanged: _roster_changed,
    e.AwayEventScheduled: _scheduled,
    e.IncidentOpened: _opened,
    e.AlertRaised: _pressed,
    e.ProtocolDeclared: _declared,
    e.ProtocolLifted: _lifted,
    e.RoomStatusReported: _room_reported,
    e.PersonsAccounted: _accounted,
    e.StudentCheckedIn: _checked_in,
    e.StudentReleased: _released,
    e.ReunificationOpened: _reunification,
    e.DispatchUpdated: _dispatched,
    e.IncidentCancelled: _ended,
    e.IncidentClosed: _ended,
    e.DrillSignedOff: _signed,
    **{t: _desk for t in desk_state.CHANGES},
}


# --- what decisions ask of the state ---------------------------------------------------------


def site_of(state: SiteState) -> Site:
    if state.site is None:
        raise NotFound("unknown site", field="site")
    return state.site


def known_room(state: SiteState, room: str, field: str) -> None:
    """A room, or a bus or away event: a room report names any unit as its room."""
    if room not in roster(site_of(state)).units:  # indexed once per site file
        raise NotFound(f"unknown room {room!r}", field=field)


def known_person(state: SiteState, person_id: str, field: str) -> None:
    if person_id not in state.people:
        raise NotFound(f"unknown person {person_id!r}", field=field)


def known_accountable(state: SiteState, person_id: str, field: str) -> None:
    """A roster person, or an away event's chaperone: reported on like anyone there."""
    if person_id not in state.people and person_id not in roster(state.site).chaperones:
        raise NotFound(f"unknown person {person_id!r}", field=field)


def incident_of(state: SiteState, incident_id: str | None) -> Incident:
    """The open incident named, or the error that explains why commands cannot reach it."""
    for inc in state.open.values():
        if inc.id == incident_id:
            return inc
    raise Conflict("the incident is closed; nothing more can be written to it")

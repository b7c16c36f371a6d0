"""A site's decision state, and the pure `evolve` and `decide` that intake runs.

`evolve(state, event)` folds one event; `decide(state, command, ctx)` turns a command into the
events it causes or raises the error that explains why not. Neither does I/O nor reads a clock:
the time and the acting token arrive in `Ctx`, so both are replayable and testable without a
server.
"""

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Literal

import msgspec
from msgspec.structs import replace

from command.domain import accounting
from command.domain import commands as c
from command.domain import events as e
from command.domain.errors import Conflict, Invalid, NotFound
from command.domain.policy import action_for, downgrades, escalates
from command.domain.site import Site, place_named, plan_for
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
    approved: dict[str, frozenset[str]] = {}
    released: frozenset[str] = frozenset()
    ledger: accounting.Ledger = accounting.Ledger()  # who is accounted for: the board's count
    reunification_open: bool = False  # opened early by a commander, before accounting completed


class SiteState(msgspec.Struct, frozen=True, kw_only=True):
    site: Site | None = None
    seq: int = 0
    open: dict[str, Incident] = {}  # mode -> the open incident of that mode, at most one each
    people: frozenset[str] = frozenset()
    students: frozenset[str] = frozenset()


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
    return replace(state, site=site, people=people, students=students)


def _opened(state: SiteState, ev: e.IncidentOpened) -> SiteState:
    inc = Incident(
        id=ev.incident_id or "", mode=ev.mode, kind=ev.data.kind, opened_at=ev.occurred_at,
        opened_by=ev.actor.id, opened_by_token=ev.actor.token_id,
        ledger=accounting.opened(state.site),
    )
    return replace(state, open={**state.open, ev.mode: inc})


def _with_incident(state: SiteState, ev: e.Envelope, **changes: Any) -> SiteState:
    inc = state.open.get(ev.mode)
    if inc is None or inc.id != ev.incident_id:
        return state
    return replace(state, open={**state.open, ev.mode: replace(inc, **changes)})


def _ended(state: SiteState, ev: e.Envelope) -> SiteState:
    inc = state.open.get(ev.mode)
    if inc is None or inc.id != ev.incident_id:
        return state
    return replace(state, open={m: i for m, i in state.open.items() if m != ev.mode})


def _declared(state: SiteState, ev: e.ProtocolDeclared) -> SiteState:
    return _with_incident(state, ev, action=ev.data.action)


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


def _guardian(state: SiteState, ev: e.GuardianCheckedIn) -> SiteState:
    inc = state.open.get(ev.mode)
    if inc is None or inc.id != ev.incident_id or not ev.data.approved:
        return state
    prior = inc.approved.get(ev.data.guardian, frozenset())
    approved = {**inc.approved, ev.data.guardian: prior | set(ev.data.approved)}
    return _with_incident(state, ev, approved=approved)


def _released(state: SiteState, ev: e.StudentReleased) -> SiteState:
    inc = state.open.get(ev.mode)
    if inc is None or inc.id != ev.incident_id:
        return state
    pid = ev.data.person_id
    return _counted(state, ev, lambda led: accounting.released(led, pid, state.site),
                    released=inc.released | {pid})


def _reunification(state: SiteState, ev: e.ReunificationOpened) -> SiteState:
    return _with_incident(state, ev, reunification_open=True)


_EVOLVERS: dict[type, Callable[[SiteState, Any], SiteState]] = {
    e.SiteConfigured: _configured,
    e.IncidentOpened: _opened,
    e.ProtocolDeclared: _declared,
    e.ProtocolLifted: _lifted,
    e.RoomStatusReported: _room_reported,
    e.PersonsAccounted: _accounted,
    e.StudentCheckedIn: _checked_in,
    e.GuardianCheckedIn: _guardian,
    e.StudentReleased: _released,
    e.ReunificationOpened: _reunification,
    e.IncidentCancelled: _ended,
    e.IncidentClosed: _ended,
}


# --- decisions -------------------------------------------------------------------------------


def _site(state: SiteState) -> Site:
    if state.site is None:
        raise NotFound("unknown site", field="site")
    return state.site


def _room(state: SiteState, room: str, field: str) -> None:
    if not any(r.id == room for r in _site(state).rooms):
        raise NotFound(f"unknown room {room!r}", field=field)


def _person(state: SiteState, person_id: str, field: str) -> None:
    if person_id not in state.people:
        raise NotFound(f"unknown person {person_id!r}", field=field)


def incident_of(state: SiteState, incident_id: str | None) -> Incident:
    """The open incident named, or the error that explains why commands cannot reach it."""
    for inc in state.open.values():
        if inc.id == incident_id:
            return inc
    raise Conflict("the incident is closed; nothing more can be written to it")


def _planned(site: Site, kind: str, action: SrpAction, reason: str) -> e.ProtocolDeclaredData:
    """A declaration that names the site's place, or hazard and strategy, for this kind."""
    plan = plan_for(site, kind, action)
    return e.ProtocolDeclaredData(action=action, evacuate_to=plan.evacuate_to,
                                  evacuation_site=plan.evacuation_site, hazard=plan.hazard,
                                  strategy=plan.strategy, reason=reason)


def _alert(state: SiteState, cmd: c.RaiseAlert, ctx: Ctx) -> list[Draft]:
    site = _site(state)
    _room(state, cmd.room, "$.room")
    mode: Mode = "drill" if cmd.drill else "live"
    action = action_for(cmd.kind, site.policy)
    raised = e.AlertRaisedData(
        kind=cmd.kind, room=cmd.room, action=action, silent=cmd.silent, note=cmd.note,
        device_id=cmd.device_id,
    )
    inc = state.open.get(mode)
    if inc is None and mode == "drill" and "live" in state.open:
        # A drill press would start a drill beside a live emergency, as StartDrill would.
        raise Conflict("a live incident is open at this site; no drill may start beside it")
    if inc is None:
        iid = ctx.new_incident_id
        return [
            (e.IncidentOpened, e.IncidentOpenedData(kind=cmd.kind, room=cmd.room), iid, mode),
            (e.AlertRaised, raised, iid, mode),
            (e.ProtocolDeclared, _planned(site, cmd.kind, action, "alert"), iid, mode),
        ]
    drafts: list[Draft] = [(e.AlertRaised, raised, inc.id, mode)]
    if escalates(inc.action, action):
        declared = _planned(site, cmd.kind, action, "alert")
        drafts.append((e.ProtocolDeclared, declared, inc.id, mode))
    return drafts


def _drill(state: SiteState, cmd: c.StartDrill, ctx: Ctx) -> list[Draft]:
    site = _site(state)
    if "drill" in state.open:
        raise Conflict("a drill is already running at this site")
    if "live" in state.open:
        raise Conflict("a live incident is open at this site; no drill may start beside it")
    iid = ctx.new_incident_id
    action = action_for(cmd.scenario, site.policy)
    opened = e.IncidentOpenedData(kind=cmd.scenario, scenario=cmd.scenario, note=cmd.note)
    return [
        (e.IncidentOpened, opened, iid, "drill"),
        (e.ProtocolDeclared, _planned(site, cmd.scenario, action, "drill"), iid, "drill"),
    ]


def _protocol(state: SiteState, cmd: c.DeclareProtocol, ctx: Ctx) -> list[Draft]:
    inc = incident_of(state, ctx.incident_id)
    site = _site(state)
    plan = plan_for(site, inc.kind, cmd.action)  # what the commander leaves out, the site file says
    place, place_id = place_named(site, cmd.evacuate_to) if cmd.evacuate_to else \
        (plan.evacuate_to, plan.evacuation_site)
    hazard = cmd.hazard or plan.hazard
    strategy = cmd.strategy or (None if cmd.hazard else plan.strategy)  # not another hazard's
    if cmd.action == "evacuate" and not place:
        raise Invalid("evacuate needs a location to evacuate to", field="$.evacuate_to")
    if cmd.action == "shelter" and not hazard:
        raise Invalid("shelter needs the hazard it shelters from", field="$.hazard")
    if inc.action == "lockdown" and downgrades(inc.action, cmd.action):
        raise Conflict("a lockdown is lifted only by an all clear, never downgraded")
    data = e.ProtocolDeclaredData(
        action=cmd.action, zones=cmd.zones, reason="commander",
        evacuate_to=place if cmd.action == "evacuate" else cmd.evacuate_to,
        evacuation_site=place_id if cmd.action == "evacuate" else None,
        hazard=hazard if cmd.action == "shelter" else cmd.hazard,
        strategy=strategy if cmd.action == "shelter" else cmd.strategy,
    )
    return [(e.ProtocolDeclared, data, inc.id, inc.mode)]


def _room_status(state: SiteState, cmd: c.ReportRoomStatus, ctx: Ctx) -> list[Draft]:
    inc = incident_of(state, ctx.incident_id)
    _room(state, ctx.room or "", "room")
    for name in ("missing", "injured", "extra"):
        for i, pid in enumerate(getattr(cmd, name)):
            _person(state, pid, f"$.{name}[{i}]")
    data = e.RoomStatusReportedData(
        room=ctx.room or "", status=cmd.status, present=cmd.present, missing=cmd.missing,
        injured=cmd.injured, extra=cmd.extra,
    )
    return [(e.RoomStatusReported, data, inc.id, inc.mode)]


def _accountability(state: SiteState, cmd: c.AccountPersons, ctx: Ctx) -> list[Draft]:
    inc = incident_of(state, ctx.incident_id)
    if not cmd.entries:
        raise Invalid("entries must not be empty", field="$.entries")
    for i, entry in enumerate(cmd.entries):
        _person(state, entry.person_id, f"$.entries[{i}].person_id")
        if entry.status == "reunified" and entry.person_id not in inc.released:
            raise Conflict(
                "a person is reunified only through a controlled release",
                field=f"$.entries[{i}].status",
            )
    return [(e.PersonsAccounted, e.PersonsAccountedData(entries=cmd.entries), inc.id, inc.mode)]


def _checkin(state: SiteState, cmd: c.CheckIn, ctx: Ctx) -> list[Draft]:
    inc = incident_of(state, ctx.incident_id)
    _person(state, cmd.person_id, "$.person_id")
    if cmd.person_id not in state.students:
        raise Conflict("only students check in at the assembly area", field="$.person_id")
    if cmd.person_id in inc.released:
        raise Conflict("this student has already been released", field="$.person_id")
    if cmd.person_id in inc.checked_in:
        raise Conflict("this student is already checked in", field="$.person_id")
    data = e.StudentCheckedInData(person_id=cmd.person_id, area=cmd.area)
    return [(e.StudentCheckedIn, data, inc.id, inc.mode)]


def guardian_flags(site: Site, guardian: str, verified: bool, students: list[str]) -> list[str]:
    """Why a guardian may not take each student; empty where every student may go with them."""
    people = {p.id: p for p in site.people}
    flags = [] if verified else ["id not verified"]
    for pid in students:
        person = people[pid]
        if guardian in person.restricted:
            flags.append(f"{pid}: custody restriction")
        elif guardian not in person.guardians:
            flags.append(f"{pid}: guardian not listed")
    return flags


def _guardian_check(state: SiteState, cmd: c.CheckGuardian, ctx: Ctx) -> list[Draft]:
    inc = incident_of(state, ctx.incident_id)
    if not cmd.students:
        raise Invalid("students must name at least one student", field="$.students")
    for i, pid in enumerate(cmd.students):
        _person(state, pid, f"$.students[{i}]")
    flags = guardian_flags(_site(state), cmd.guardian, cmd.id_verified, cmd.students)
    approved = [] if flags else list(cmd.students)
    data = e.GuardianCheckedInData(
        guardian=cmd.guardian, id_verified=cmd.id_verified, students=cmd.students,
        approved=approved, flags=flags,
    )
    return [(e.GuardianCheckedIn, data, inc.id, inc.mode)]


def refused_though_written(events: Sequence[e.Envelope]) -> Conflict | None:
    """The refusal a command is answered with although its events are written, or None. A
    guardian check that raised a flag is recorded, so the board shows it and no release follows,
    and answered 409, so whoever checks the guardian at the gate stops."""
    for ev in events:
        if isinstance(ev, e.GuardianCheckedIn) and ev.data.flags:
            return Conflict("guardian check flagged: " + "; ".join(ev.data.flags), "$.guardian")
    return None


def _release(state: SiteState, cmd: c.Release, ctx: Ctx) -> list[Draft]:
    inc = incident_of(state, ctx.incident_id)
    _person(state, cmd.person_id, "$.person_id")
    if cmd.person_id in inc.released:
        raise Conflict("this student has already been released", field="$.person_id")
    if cmd.person_id not in inc.checked_in:
        raise Conflict("the student has not checked in at the assembly area", "$.person_id")
    left = accounting.unknown(inc.ledger)
    if left and not inc.reunification_open:  # SRM: nobody goes home while anyone is unaccounted
        raise Conflict(f"accounting is not complete: {left} people not yet accounted for; a "
                       "commander may open reunification early, with a reason", "$.person_id")
    if cmd.person_id not in inc.approved.get(cmd.guardian, frozenset()):
        raise Conflict("this guardian was not checked and approved for this student", "$.guardian")
    # A custody order imported after the guardian check must still stop the release.
    if guardian_flags(_site(state), cmd.guardian, True, [cmd.person_id]):
        raise Conflict("this guardian may no longer take this student", "$.guardian")
    if not cmd.student_consents:
        raise Conflict("the student's consent to leave with this adult is needed",
                       "$.student_consents")
    data = e.StudentReleasedData(
        person_id=cmd.person_id, guardian=cmd.guardian, student_consents=True,
    )
    return [(e.StudentReleased, data, inc.id, inc.mode)]


def _open_reunification(state: SiteState, cmd: c.OpenReunification, ctx: Ctx) -> list[Draft]:
    inc = incident_of(state, ctx.incident_id)
    if not cmd.reason.strip():
        raise Invalid("say why reunification opens before accounting is complete", "$.reason")
    if inc.reunification_open:
        raise Conflict("reunification is already open for this incident")
    data = e.ReunificationOpenedData(reason=cmd.reason)
    return [(e.ReunificationOpened, data, inc.id, inc.mode)]


def _ack(state: SiteState, cmd: c.Acknowledge, ctx: Ctx) -> list[Draft]:
    inc = incident_of(state, ctx.incident_id)
    data = e.ResponderAcknowledgedData(responder=cmd.responder)
    return [(e.ResponderAcknowledged, data, inc.id, inc.mode)]


def _note(state: SiteState, cmd: c.AddNote, ctx: Ctx) -> list[Draft]:
    inc = incident_of(state, ctx.incident_id)
    return [(e.NoteAdded, e.NoteAddedData(text=cmd.text), inc.id, inc.mode)]


def _all_clear(state: SiteState, cmd: c.AllClear, ctx: Ctx) -> list[Draft]:
    inc = incident_of(state, ctx.incident_id)
    if inc.action is None:
        raise Conflict("no protocol is in force to lift")
    data = e.ProtocolLiftedData(action=inc.action, reason="all_clear")
    return [(e.ProtocolLifted, data, inc.id, inc.mode)]


def _cancel(state: SiteState, cmd: c.Cancel, ctx: Ctx) -> list[Draft]:
    inc = incident_of(state, ctx.incident_id)
    window = _site(state).cancel_window_s
    in_window = (ctx.now - inc.opened_at).total_seconds() <= window
    presser = (ctx.actor.token_id, ctx.actor.id) == (inc.opened_by_token, inc.opened_by)
    if not ctx.commander and not (presser and in_window):
        raise Conflict(
            f"only the presser within {window:g} s, or a commander, may cancel this incident"
        )
    drafts: list[Draft] = []
    if inc.action is not None:  # lifted first, so every fold sees the lift on an open incident
        lifted = e.ProtocolLiftedData(action=inc.action, reason="cancel")
        drafts.append((e.ProtocolLifted, lifted, inc.id, inc.mode))
    data = e.IncidentCancelledData(reason=cmd.reason)
    return [*drafts, (e.IncidentCancelled, data, inc.id, inc.mode)]


def _transfer(state: SiteState, cmd: c.TransferCommand, ctx: Ctx) -> list[Draft]:
    inc = incident_of(state, ctx.incident_id)
    data = e.CommandTransferredData(commander=cmd.commander, agency=cmd.agency)
    return [(e.CommandTransferred, data, inc.id, inc.mode)]


def _handle_with_care(state: SiteState, cmd: c.HandleWithCare, ctx: Ctx) -> list[Draft]:
    _site(state)
    _person(state, cmd.person_id, "$.person_id")
    data = e.HandleWithCareIssuedData(person_id=cmd.person_id)
    return [(e.HandleWithCareIssued, data, None, "live")]


def _close(state: SiteState, cmd: c.Close, ctx: Ctx) -> list[Draft]:
    inc = incident_of(state, ctx.incident_id)
    if inc.action is not None:
        raise Conflict(f"the {inc.action} is still in force; give the all clear first")
    return [(e.IncidentClosed, e.IncidentClosedData(summary=cmd.summary), inc.id, inc.mode)]


def _configure(state: SiteState, cmd: c.ConfigureSite, ctx: Ctx) -> list[Draft]:
    if cmd.site.id != ctx.site:
        raise Invalid("the site file's id differs from the site it is imported to", "$.id")
    return [(e.SiteConfigured, cmd.site, None, "live")]


_DECIDERS: dict[type, Callable[[SiteState, Any, Ctx], list[Draft]]] = {
    c.ConfigureSite: _configure,
    c.RaiseAlert: _alert,
    c.StartDrill: _drill,
    c.DeclareProtocol: _protocol,
    c.ReportRoomStatus: _room_status,
    c.AccountPersons: _accountability,
    c.CheckIn: _checkin,
    c.CheckGuardian: _guardian_check,
    c.Release: _release,
    c.OpenReunification: _open_reunification,
    c.Acknowledge: _ack,
    c.AddNote: _note,
    c.AllClear: _all_clear,
    c.Cancel: _cancel,
    c.TransferCommand: _transfer,
    c.HandleWithCare: _handle_with_care,
    c.Close: _close,
}


def decide(state: SiteState, cmd: c.Command, ctx: Ctx) -> list[Draft]:
    """The events `cmd` causes in `state`, as drafts; raises a MusterError when it must not."""
    return _DECIDERS[type(cmd)](state, cmd, ctx)


def seal(drafts: list[Draft], ctx: Ctx, ids: list[str]) -> list[e.Envelope]:
    """Drafts become envelopes with the ids given, stamped with the actor and the time."""
    return [
        cls(id=eid, site=ctx.site, incident_id=iid, mode=mode, occurred_at=ctx.now,
            recorded_at=ctx.now, actor=ctx.actor, data=data)
        for (cls, data, iid, mode), eid in zip(drafts, ids, strict=True)
    ]

"""The pure `decide` that intake runs: a command becomes the events it causes, or an error.

`decide(state, command, ctx)` turns a command into drafts of the events it causes, or raises the
error that explains why not; `seal` stamps the drafts with ids, the actor and the time. Neither
does I/O nor reads a clock: the time and the acting token arrive in `Ctx`, so both are
replayable and testable without a server. Reunification's rules live in `reunification_rules`.
"""

from collections.abc import Callable
from typing import Any

from command.domain import commands as c
from command.domain import events as e
from command.domain.dispatch_rules import receive
from command.domain.errors import Conflict, Invalid
from command.domain.exception_rules import open_exception, resolve_exception
from command.domain.guardian_messages import message_guardians
from command.domain.policy import action_for, downgrades, escalates
from command.domain.reunification_rules import (
    check_guardian,
    check_in,
    fetch,
    greet,
    open_reunification,
    release,
    set_point,
)
from command.domain.roster_rules import import_roster, kept_roster
from command.domain.sign_off_rules import sign_off
from command.domain.site import Site, place_named, plan_for
from command.domain.site_state import (
    Ctx,
    Draft,
    SiteState,
    incident_of,
    known_accountable,
    known_person,
    known_room,
    site_of,
)
from command.domain.tabletop_rules import inject, start
from command.domain.types import Mode, SrpAction
from command.domain.unit_rules import alerted_unit, kept_away_events, relocate, schedule


def _planned(site: Site, kind: str, action: SrpAction, reason: str) -> e.ProtocolDeclaredData:
    """A declaration that names the site's place, or hazard and strategy, for this kind."""
    plan = plan_for(site, kind, action)
    return e.ProtocolDeclaredData(action=action, evacuate_to=plan.evacuate_to,
                                  evacuation_site=plan.evacuation_site, hazard=plan.hazard,
                                  strategy=plan.strategy, reason=reason)


def _alert(state: SiteState, cmd: c.RaiseAlert, ctx: Ctx) -> list[Draft]:
    site = site_of(state)
    where, unit = alerted_unit(site, cmd)
    mode: Mode = "drill" if cmd.drill else "live"
    action = action_for(cmd.kind, site.policy)
    raised = e.AlertRaisedData(
        kind=cmd.kind, room=where, action=action, silent=cmd.silent, note=cmd.note,
        device_id=cmd.device_id, unit=unit, location=cmd.location,
    )
    inc = state.open.get(mode)
    if inc is None and mode == "drill" and "live" in state.open:
        # A drill press would start a drill beside a live emergency, as StartDrill would.
        raise Conflict("a live incident is open at this site; no drill may start beside it")
    if inc is None and mode == "drill":
        _no_drill_beside_tabletop(state)
    if inc is None:
        iid = ctx.new_incident_id
        return [
            (e.IncidentOpened, e.IncidentOpenedData(kind=cmd.kind, room=where, unit=unit), iid,
             mode),
            (e.AlertRaised, raised, iid, mode),
            (e.ProtocolDeclared, _planned(site, cmd.kind, action, "alert"), iid, mode),
        ]
    drafts: list[Draft] = [(e.AlertRaised, raised, inc.id, mode)]
    if escalates(inc.action, action):
        declared = _planned(site, cmd.kind, action, "alert")
        drafts.append((e.ProtocolDeclared, declared, inc.id, mode))
    return drafts


def _drill(state: SiteState, cmd: c.StartDrill, ctx: Ctx) -> list[Draft]:
    site = site_of(state)
    if "drill" in state.open:
        raise Conflict("a drill is already running at this site")
    if "live" in state.open:
        raise Conflict("a live incident is open at this site; no drill may start beside it")
    _no_drill_beside_tabletop(state)
    iid = ctx.new_incident_id
    action = action_for(cmd.scenario, site.policy)
    opened = e.IncidentOpenedData(kind=cmd.scenario, scenario=cmd.scenario, note=cmd.note)
    return [
        (e.IncidentOpened, opened, iid, "drill"),
        (e.ProtocolDeclared, _planned(site, cmd.scenario, action, "drill"), iid, "drill"),
    ]


def _no_drill_beside_tabletop(state: SiteState) -> None:
    """Exercises are never stacked on one board: a tabletop is closed before a drill opens."""
    if "tabletop" in state.open:
        raise Conflict("a tabletop exercise is open at this site; close it before a drill starts")


def _protocol(state: SiteState, cmd: c.DeclareProtocol, ctx: Ctx) -> list[Draft]:
    inc = incident_of(state, ctx.incident_id)
    site = site_of(state)
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
    known_room(state, ctx.room or "", "room")
    for name in ("missing", "injured", "extra"):
        for i, pid in enumerate(getattr(cmd, name)):
            known_accountable(state, pid, f"$.{name}[{i}]")
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
        known_accountable(state, entry.person_id, f"$.entries[{i}].person_id")
        if entry.status == "reunified" and entry.person_id not in inc.released:
            raise Conflict(
                "a person is reunified only through a controlled release",
                field=f"$.entries[{i}].status",
            )
    return [(e.PersonsAccounted, e.PersonsAccountedData(entries=cmd.entries), inc.id, inc.mode)]


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
    window = site_of(state).cancel_window_s
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
    site_of(state)
    known_person(state, cmd.person_id, "$.person_id")
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
    cmd = c.ConfigureSite(site=kept_roster(state.site, cmd.site))  # a OneRoster roster stays
    kept = kept_away_events(state.site, cmd.site, state.scheduled)  # the API's away events stay
    return [(e.SiteConfigured, kept, None, "live")]


_DECIDERS: dict[type, Callable[[SiteState, Any, Ctx], list[Draft]]] = {
    c.ConfigureSite: _configure,
    c.RaiseAlert: _alert,
    c.StartDrill: _drill,
    c.DeclareProtocol: _protocol,
    c.ReportRoomStatus: _room_status,
    c.AccountPersons: _accountability,
    c.CheckIn: check_in,
    c.CheckGuardian: check_guardian,
    c.Release: release,
    c.OpenReunification: open_reunification,
    c.GreetGuardian: greet,
    c.FetchStudent: fetch,
    c.OpenException: open_exception,
    c.ResolveException: resolve_exception,
    c.SetReunificationPoint: set_point,
    c.Acknowledge: _ack,
    c.AddNote: _note,
    c.AllClear: _all_clear,
    c.Cancel: _cancel,
    c.TransferCommand: _transfer,
    c.HandleWithCare: _handle_with_care,
    c.Close: _close,
    c.Relocate: relocate,
    c.ScheduleAwayEvent: schedule,
    c.ImportRoster: import_roster,
    c.MessageGuardians: message_guardians,
    c.ReceiveDispatch: receive,
    c.StartTabletop: start,
    c.DeliverInject: inject,
    c.SignOff: sign_off,
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

"""The HTTP edge of the write side: routes as data, one generic command handler, errors as JSON.

A handler authenticates, decodes the body with msgspec, calls intake once and encodes the answer;
every rule lives in the pure `decide`. The read side adds its own routes to the same app.
"""

from typing import Any, Literal, NamedTuple

import msgspec
from aiohttp import web

from command.domain import commands as c
from command.domain.errors import Invalid, MusterError, NotFound
from command.domain.reunification_rules import refused_though_written
from command.infra.auth import TokenStore, authorize
from command.infra.metrics import EVENTS_APPENDED, INTAKE_LATENCY, INTAKE_REQUESTS
from command.infra.web import MAX_SITE_FILE, Handler, decode, json_response, read_body, status_of
from command.write.dispatch_intake import dispatch_routes
from command.write.intake import Intake
from command.write.roster_import import RosterParser, roster_routes
from command.write.scenario_library import resolved, shipped
from command.write.site_parse import SiteParser


class WriteRoute(NamedTuple):
    path: str
    command: type[c.Command]
    roles: tuple[str, ...]
    scope: Literal["site", "incident"]


# Commands whose events nobody sees (events.NEVER_SHOWN): /metrics never counts their requests,
# as a count, or its first time (`_created`), would tell that a notice was issued.
DISCREET: tuple[type[c.Command], ...] = (c.HandleWithCare,)
WRITE_ROUTES: list[WriteRoute] = [
    WriteRoute("/v1/sites/{site}/alerts", c.RaiseAlert, ("device", "staff", "commander"), "site"),
    WriteRoute("/v1/sites/{site}/drills", c.StartDrill, ("commander",), "site"),
    WriteRoute("/v1/incidents/{id}/protocol", c.DeclareProtocol, ("commander",), "incident"),
    WriteRoute("/v1/incidents/{id}/relocate", c.Relocate, ("commander",), "incident"),
    WriteRoute("/v1/sites/{site}/away-events", c.ScheduleAwayEvent, ("staff", "commander"),
               "site"),
    WriteRoute("/v1/incidents/{id}/rooms/{room}/status", c.ReportRoomStatus,
               ("staff", "commander"), "incident"),
    WriteRoute("/v1/incidents/{id}/accountability", c.AccountPersons,
               ("staff", "commander"), "incident"),
    WriteRoute("/v1/incidents/{id}/reunification/checkin", c.CheckIn,
               ("staff", "commander"), "incident"),
    WriteRoute("/v1/incidents/{id}/reunification/guardians", c.CheckGuardian,
               ("staff", "commander"), "incident"),
    WriteRoute("/v1/incidents/{id}/reunification/open", c.OpenReunification, ("commander",),
               "incident"),
    WriteRoute("/v1/incidents/{id}/reunification/release", c.Release,
               ("staff", "commander"), "incident"),
    WriteRoute("/v1/incidents/{id}/reunification/arrivals", c.GreetGuardian,
               ("staff", "commander"), "incident"),
    WriteRoute("/v1/incidents/{id}/reunification/fetch", c.FetchStudent,
               ("staff", "commander"), "incident"),
    WriteRoute("/v1/incidents/{id}/reunification/exceptions", c.OpenException,
               ("staff", "commander"), "incident"),
    WriteRoute("/v1/incidents/{id}/reunification/exceptions/resolve", c.ResolveException,
               ("commander",), "incident"),
    WriteRoute("/v1/incidents/{id}/reunification/point", c.SetReunificationPoint,
               ("commander",), "incident"),
    WriteRoute("/v1/incidents/{id}/reunification/guardian-messages", c.MessageGuardians,
               ("commander",), "incident"),
    WriteRoute("/v1/incidents/{id}/acks", c.Acknowledge,
               ("responder", "commander", "dispatch"), "incident"),
    WriteRoute("/v1/incidents/{id}/notes", c.AddNote,
               ("staff", "responder", "commander"), "incident"),
    WriteRoute("/v1/incidents/{id}/all-clear", c.AllClear, ("commander",), "incident"),
    WriteRoute("/v1/incidents/{id}/cancel", c.Cancel,
               ("device", "staff", "commander"), "incident"),
    WriteRoute("/v1/incidents/{id}/command", c.TransferCommand, ("commander",), "incident"),
    WriteRoute("/v1/sites/{site}/handle-with-care", c.HandleWithCare,
               ("responder", "dispatch"), "site"),
    WriteRoute("/v1/incidents/{id}/close", c.Close, ("commander",), "incident"),
    WriteRoute("/v1/sites/{site}/tabletops", c.StartTabletop, ("commander",), "site"),
    WriteRoute("/v1/incidents/{id}/injects", c.DeliverInject, ("commander",), "incident"),
    WriteRoute("/v1/incidents/{id}/sign-off", c.SignOff, ("commander",), "incident"),
]
# What the emergency listener takes (MUSTER_EMERGENCY_PORT): a call for help and what stops or
# directs one, never the routine reports that come in hundreds a second during a drill.
EMERGENCY: frozenset[type[c.Command]] = frozenset({
    c.RaiseAlert, c.DeclareProtocol, c.Acknowledge, c.AllClear, c.Cancel, c.TransferCommand})


def command_handler(route: WriteRoute, intake: Intake, tokens: TokenStore) -> Handler:
    decoder = msgspec.json.Decoder(route.command)
    answered: dict[str, Any] = {}  # this route's counter per status, without labels() each time
    discreet = issubclass(route.command, DISCREET)

    async def handle(request: web.Request) -> web.Response:
        status = "error"
        try:
            token = await tokens.authenticate(request.headers.get("Authorization"))
            incident_id = request.match_info.get("id")
            if route.scope == "incident":
                site = intake.site_of(incident_id or "")
                if site is None:
                    raise NotFound("unknown incident", field="id")
            else:
                site = request.match_info["site"]
            authorize(token, route.roles, site)
            if intake.state(site).site is None:
                raise NotFound(f"unknown site {site!r}", field="site")
            cmd = resolved(decode(decoder, await read_body(request)))  # a scenario's name
            accepted, events = await intake.execute(
                site, cmd, token.actor(), incident_id=incident_id,
                room=request.match_info.get("room"), commander=token.role == "commander")
            if not discreet:
                EVENTS_APPENDED.inc(len(events))
            # Written, yet refused: the domain says which answers those are (a flagged guardian).
            if (refused := refused_though_written(events)) is not None:
                raise refused
            status = "202"
            return json_response(accepted, status=202)
        except MusterError as exc:
            status = str(status_of(exc))
            raise
        finally:
            if not discreet:
                counter = answered.get(status)
                if counter is None:
                    counter = answered[status] = INTAKE_REQUESTS.labels(route.path, status)
                counter.inc()

    return handle


def site_import_handler(intake: Intake, tokens: TokenStore, parser: SiteParser) -> Handler:
    """PUT a site file (TOML, or the same as JSON); the import is itself an event. It is parsed
    in a worker process, within limits and a time bound: never on the loop every press needs."""

    async def handle(request: web.Request) -> web.Response:
        token = await tokens.authenticate(request.headers.get("Authorization"))
        site_id = request.match_info["site"]
        authorize(token, ("admin",), site_id)
        async with parser.admitted():
            body = await read_body(request, MAX_SITE_FILE)
            doc = await parser.parse(body, toml="toml" in (request.content_type or ""))
        if doc.id != site_id:
            raise Invalid("the site file's id differs from the URL's site", field="$.id")
        accepted, _ = await intake.execute(site_id, c.ConfigureSite(site=doc), token.actor())
        return json_response(accepted, status=202)

    return handle


def write_routes(intake: Intake, tokens: TokenStore, parser: SiteParser,
                 ) -> list[web.RouteDef]:
    shipped()  # read the shipped scenarios now, not on the loop at a facilitator's first start
    routes = [web.post(r.path, command_handler(r, intake, tokens)) for r in WRITE_ROUTES]
    routes.append(web.put("/v1/sites/{site}", site_import_handler(intake, tokens, parser)))
    routes += roster_routes(intake, tokens, RosterParser())  # a OneRoster bundle
    return routes + dispatch_routes(intake, tokens)


def emergency_routes(intake: Intake, tokens: TokenStore) -> list[web.RouteDef]:
    """The life-safety commands alone, for the emergency listener."""
    return [web.post(r.path, command_handler(r, intake, tokens)) for r in WRITE_ROUTES
            if r.command in EMERGENCY]


def observe_latency(seconds: float) -> None:
    INTAKE_LATENCY.observe(seconds)

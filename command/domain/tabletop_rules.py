"""The decisions of a tabletop exercise: opening one on a scenario, and delivering its injects.

A tabletop is an incident of mode `tabletop`: the people at the table answer each inject on the
board through the ordinary incident routes (protocol, rooms, accountability, notes, all clear,
close), so it opens with no protocol declared. It never opens beside another incident: the
board would show two exercises, or an exercise over a real emergency.
"""

from command.domain import commands as c
from command.domain import events as e
from command.domain.errors import Conflict, Invalid
from command.domain.scenario import Scenario, timeline
from command.domain.site_state import Ctx, Draft, SiteState, incident_of, site_of


def start(state: SiteState, cmd: c.StartTabletop, ctx: Ctx) -> list[Draft]:
    site_of(state)
    if not isinstance(cmd.scenario, Scenario):  # the edge puts a shipped scenario in its place
        raise Invalid(f"unknown scenario {cmd.scenario!r}", field="$.scenario")
    timeline(cmd.scenario, "$.scenario")
    if state.open:
        mode = "live incident" if "live" in state.open else next(iter(state.open))
        raise Conflict(f"a {mode} is open at this site; no tabletop may start beside it")
    opened = e.IncidentOpenedData(kind=cmd.scenario.kind, scenario=cmd.scenario.kind,
                                  note=cmd.note or cmd.scenario.title)
    return [(e.IncidentOpened, opened, ctx.new_incident_id, "tabletop")]


def inject(state: SiteState, cmd: c.DeliverInject, ctx: Ctx) -> list[Draft]:
    inc = incident_of(state, ctx.incident_id)
    if inc.mode != "tabletop":
        raise Conflict(f"injects belong to a tabletop; this incident is a {inc.mode}")
    data = e.InjectDeliveredData(index=cmd.index, text=cmd.text, at_s=cmd.at_s,
                                 clock=cmd.clock or "", source=cmd.source, expect=cmd.expect)
    return [(e.InjectDelivered, data, inc.id, inc.mode)]

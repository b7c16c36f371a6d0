"""The board: a pure fold of a site's events into what responders see (CONTRACT §2, §3).

`evolve(state, seq, event)` is the only way a board changes, and `board_render.render(state)` the
only way it is shown, so the PostgreSQL read model, the live WebSocket boards, a replay and a
report are one fold and can never disagree. Each open incident is a `board_case.Case`;
accountability keeps every roster person in exactly one status.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any

import msgspec
from msgspec.structs import replace

from command.domain import (
    accounting,
    board_case,
    board_desk,
    board_units,
    redact,
    roster_diff,
    units,
)
from command.domain import events as e
from command.domain.board_case import Case, Incident, Room
from command.domain.site import Site

# Events that change the site's config (a new Site object), never a case: the projector stores
# the config after each as the site's file and a version of it, as for a SiteConfigured.
CONFIGURING = (e.SiteConfigured, e.RosterChanged, e.AwayEventScheduled)


class State(msgspec.Struct, frozen=True, kw_only=True):
    site: str
    seq: int = 0
    config: Site | None = None
    cases: dict[str, Case] = {}  # open incidents by id; a live one outranks a drill
    mode: str = "live"
    ended: Case | None = None  # the last incident to end, not a tabletop: CAP and the notifier
    hidden: frozenset[str] = frozenset()  # ids of events never shown: their records neither
    clock: datetime | None = None  # the latest folded incident event's occurred_at


def empty(site: str, mode: str = "live") -> State:
    return State(site=site, mode=mode)


def fresh_rooms(config: Site | None) -> dict[str, Room]:
    """Every room and bus of the site file, none reported yet: the rows of an idle board."""
    return board_units.unit_rows(config)


def step(state: State, seq: int, event: e.Event) -> tuple[State, Case | None]:
    """Fold one event; also the incident's case it touched, as it stands after the event."""
    if seq <= state.seq:
        return state, None
    apply = _EVOLVERS.get(type(event))
    if redact.never_shown(event):
        return replace(state, seq=seq, hidden=state.hidden | {event.id}), None
    shown = not redact.never_shown(event, state.hidden)
    # A replay board's clock is the original's: the time of the latest incident event it shows.
    state = replace(state, seq=seq, clock=event.occurred_at if shown and event.incident_id
                    else state.clock)
    if apply is None or not shown:  # touches no case, shows nowhere
        return state, None
    if isinstance(event, CONFIGURING):  # the site's config, not a case
        return apply(state, event), None
    if isinstance(event, e.IncidentOpened):
        state = apply(state, event)
        return state, state.cases.get(event.incident_id or "")
    case = state.cases.get(event.incident_id or "")
    if case is None:
        return state, None
    case = apply(case, event, state.config)
    if case.incident.status != "open":
        remaining = {k: v for k, v in state.cases.items() if k != case.incident.id}
        # A tabletop is no alert: CAP keeps telling of the last real or drill incident.
        ended = state.ended if case.incident.mode == "tabletop" else case
        return replace(state, cases=remaining, ended=ended), case
    return replace(state, cases={**state.cases, case.incident.id: case}), case


def evolve(state: State, seq: int, event: e.Event) -> State:
    """Fold one event at stream sequence `seq`; an event at or below the board's seq is a no-op."""
    return step(state, seq, event)[0]


def _configured(state: State, ev: e.SiteConfigured, *_: object) -> State:
    mode = "replay" if ev.mode == "replay" else state.mode  # a replay board stays one
    # On a replay board a site file starts a run: the last run's clock is not this one's.
    return replace(state, config=ev.data, mode=mode,
                   clock=None if ev.mode == "replay" else state.clock)


def _roster_changed(state: State, ev: e.RosterChanged, *_: object) -> State:
    """An import's changes: a new Site object, exactly as a SiteConfigured gives one."""
    if state.config is None:
        return state
    return replace(state, config=roster_diff.applied(state.config, ev.data))


def _scheduled(state: State, ev: e.AwayEventScheduled, *_: object) -> State:
    """An away event added or replaced: a new Site object, as a SiteConfigured gives one; an
    open case shows it, its people placed there, when it is on now."""
    if state.config is None:
        return state
    config = units.with_away_event(state.config, ev.data.event)
    cases = {k: board_units.scheduled(c, config, ev) for k, c in state.cases.items()}
    return replace(state, config=config, cases=cases)


def _opened(state: State, ev: e.IncidentOpened) -> State:
    incident = Incident(
        id=ev.incident_id or "", kind=ev.data.kind, mode=ev.mode, status="open",
        opened_at=ev.occurred_at, room=ev.data.room, note=ev.data.note,
    )
    # Each person placed once: an away event that is on, the bus pressed on, else at home.
    ledger = accounting.opened(state.config, ev.occurred_at, ev.data.room)
    case = Case(incident=incident, people=ledger.people, tally=ledger.tally,
                rooms=board_units.unit_rows(state.config, ev.occurred_at, ev.data.room))
    return replace(state, cases={**state.cases, incident.id: case})


_EVOLVERS: dict[type, Callable[..., Any]] = {
    e.SiteConfigured: _configured,
    e.RosterChanged: _roster_changed,
    e.AwayEventScheduled: _scheduled,
    e.IncidentOpened: _opened,
    **board_case.EVOLVERS,
    **board_desk.EVOLVERS,
}


def current(state: State) -> Case | None:
    """The case a board shows: a live incident outranks a drill, and a drill a tabletop."""
    cases = sorted(state.cases.values(), key=lambda c: (c.incident.mode != "live",
                                                         c.incident.mode == "tabletop",
                                                         c.incident.opened_at))
    return cases[0] if cases else None


def fold(site: str, events: list[tuple[int, e.Event]], mode: str = "live") -> State:
    """A board from scratch: the same result as evolving it one event at a time."""
    state = empty(site, mode)
    for seq, event in events:
        state = evolve(state, seq, event)
    return state

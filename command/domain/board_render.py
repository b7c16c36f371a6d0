"""A board shown: `render` turns a board's state into the contract's JSON document (CONTRACT
§2), and `diff` into the parts of it that changed, as a live board's update carries them.
"""

from typing import Any

import msgspec

from command.domain import accounting, board_site
from command.domain.accounting import STATUSES
from command.domain.board import State, current, fresh_rooms
from command.domain.board_case import Case, Room
from command.domain.render_cache import Memo, NoMemo
from command.domain.roster_index import roster

NOTES_SHOWN = 20  # a board's notes: the latest; GET /v1/incidents/{id}/timeline has them all
NOTIFICATIONS_SHOWN = 20  # a board's sends: the latest; `channels` sums them all per channel
INJECTS_SHOWN = 5  # a tabletop's latest injects, newest last; the timeline has them all


def _with_total(counts: dict[str, int]) -> dict[str, int]:
    return {"total": sum(counts.values()), **counts}


def _site_counts(rooms: dict[str, dict[str, int]]) -> dict[str, int]:
    """Accountability for the site, from the counts kept per room as people change."""
    site = dict.fromkeys(STATUSES, 0)
    for counts in rooms.values():
        for status, n in counts.items():
            site[status] += n
    return _with_total(site)


def _of_concern(state: State, case: Case) -> list[dict[str, Any]]:
    """Missing and injured people by name: what staff and commanders act on first."""
    if not any(counts.get("missing") or counts.get("injured") for counts in case.tally.values()):
        return []  # the usual case, from the per-room counts: no walk over every person
    names = roster(state.config).names
    return [{"id": pid, "name": names.get(pid, pid), "status": p.status, "room": p.room}
            for pid, p in case.people.items() if p.status in ("missing", "injured")]


_EMPTY_ROOM = _with_total(dict.fromkeys(STATUSES, 0))


def _room_row(room: Room, counts: dict[str, int] | None) -> dict[str, Any]:
    return {**msgspec.to_builtins(room),
            "accountability": _EMPTY_ROOM if counts is None else _with_total(counts)}


def _channels(case: Case) -> list[dict[str, Any]]:
    """The case's sends summed per channel, each with the first acknowledgement since the
    channel first reached someone."""
    rows = []
    for ch in case.channels.values():
        acked = next((a.at for a in case.acks
                      if ch.first_ok_at is not None and a.at >= ch.first_ok_at), None)
        row = msgspec.to_builtins(ch)
        del row["first_ok_at"]
        rows.append({**row, "acknowledged_at": msgspec.to_builtins(acked)})
    return rows


def _other(state: State, case: Case) -> dict[str, Any]:
    """Another open incident (a drill under a live one) with the same case keys as the board's."""
    parts = _case_parts(state, case, NoMemo())
    del parts["notifications"], parts["notifications_total"]  # its channels sum them
    return {"incident": msgspec.to_builtins(case.incident),
            "rooms": [_room_row(r, case.tally.get(r.id)) for r in case.rooms.values()], **parts}


def _case_parts(state: State, case: Case | None, memo: Memo) -> dict[str, Any]:
    """What the board shows of its case besides the incident and its rooms."""
    if case is None:
        config = state.config  # an idle board's counts, kept while the site file stays
        return {"protocol": None, "dispatch": None, "accountability": memo.part(
                    "site", config, None,
                    lambda: _site_counts(accounting.initial_tally(config))),
                "acks": [], "notifications": [], "notifications_total": 0, "channels": [],
                "notes": [], "notes_total": 0, "flags": [], "people": [], "injects": [],
                "injects_total": 0}
    return {
        "protocol": memo.built(case.protocol) if case.protocol else None,
        "accountability": memo.part("site", case.tally, None, lambda: _site_counts(case.tally)),
        "dispatch": memo.built(case.dispatch) if case.dispatch else None,
        "acks": memo.built(case.acks),
        # The latest only, like the notes; `channels` sums them all per channel.
        "notifications": memo.part("sends", case.notifications, None, lambda: msgspec.to_builtins(
            case.notifications[-NOTIFICATIONS_SHOWN:])),
        "notifications_total": len(case.notifications),
        "channels": memo.part("channels", case.channels, case.acks, lambda: _channels(case)),
        # The latest only: every note's update carries the part whole, and an incident's 200th
        # note was then a 15.7 KB message to every board (the timeline keeps them all).
        "notes": memo.part("notes", case.notes, None,
                           lambda: msgspec.to_builtins(case.notes[-NOTES_SHOWN:])),
        "notes_total": len(case.notes),
        "flags": list(case.flags),
        "injects": memo.part("injects", case.injects, None,
                             lambda: msgspec.to_builtins(case.injects[-INJECTS_SHOWN:])),
        "injects_total": len(case.injects),
        "people": memo.part("people", case.people, state.config,
                            lambda: _of_concern(state, case)),
    }


def _clock(state: State, case: Case | None) -> dict[str, Any] | None:
    """A replay board's clock, the original incident's: the time of the latest event shown and
    when that incident opened. Other boards run on the wall clock: None."""
    if state.mode != "replay" or state.clock is None:
        return None
    started = case or state.ended
    return {"at": msgspec.to_builtins(state.clock),
            "started_at": msgspec.to_builtins(started.incident.opened_at) if started else None}


def render(state: State, memo: Memo | None = None) -> dict[str, Any]:
    """The board as the contract spells it, as plain data ready for JSON. With the board's
    `memo`, only the parts changed since its last render are converted again."""
    memo = memo or NoMemo()
    case = current(state)
    config = state.config
    rooms = case.rooms if case else fresh_rooms(config)
    tally = case.tally if case else accounting.initial_tally(config)
    mode = state.mode if state.mode == "replay" else (case.incident.mode if case else "live")
    others = [c for c in state.cases.values() if case and c.incident.id != case.incident.id]
    board = {
        "site": state.site,
        "name": config.name if config else None,
        "seq": state.seq,
        "mode": mode,
        "incident": memo.built(case.incident) if case else None,
        "rooms": [memo.row(r.id, r, tally.get(r.id), _room_row) for r in rooms.values()],
        **_case_parts(state, case, memo),
        "responder_packet": memo.built(config.responder_packet) if config else None,
        "other_incidents": [c.incident.id for c in others],
        "other_cases": [memo.part("other", c, config, lambda c=c: _other(state, c))
                        for c in others],
        # From the site file alone: the same objects while it stays, so no update carries them.
        "roster": memo.part("roster", config, None, lambda: board_site.roster_by_room(config)),
        "plan": memo.part("plan", config, None, lambda: board_site.plan(config)),
        "places": memo.part("places", config, None, lambda: board_site.places(config)),
        "cancel_window_s": config.cancel_window_s if config else None,
        "clock": _clock(state, case),
    }
    memo.done()
    return board


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The parts of a rendered board that changed; `rooms` carries only the rooms that did."""
    changed: dict[str, Any] = {}
    for key, value in after.items():
        if key == "rooms":
            old = {r["id"]: r for r in before.get("rooms", [])}
            rooms = [r for r in value if (o := old.get(r["id"])) is not r and o != r]
            if rooms:
                changed["rooms"] = rooms
        elif (old_value := before.get(key)) is not value and old_value != value:
            changed[key] = value
    return changed

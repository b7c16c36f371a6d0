"""A board shown: `render` turns a board's state into the contract's JSON document (CONTRACT
§2), and `diff` into the parts of it that changed, as a live board's update carries them.
"""

from typing import Any

import msgspec

from command.domain import accounting
from command.domain.accounting import STATUSES
from command.domain.board import State, current, fresh_rooms
from command.domain.board_case import Case, Room
from command.domain.render_cache import Memo, NoMemo
from command.domain.roster_index import roster

NOTES_SHOWN = 20  # a board's notes: the latest; GET /v1/incidents/{id}/timeline has them all


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


def render(state: State, memo: Memo | None = None) -> dict[str, Any]:
    """The board as the contract spells it, as plain data ready for JSON. With the board's
    `memo`, only the parts changed since its last render are converted again."""
    memo = memo or NoMemo()
    case = current(state)
    config = state.config
    rooms = case.rooms if case else fresh_rooms(config)
    tally = case.tally if case else accounting.initial_tally(config)
    room_rows = [memo.row(room.id, room, tally.get(room.id), _room_row) for room in rooms.values()]
    mode = state.mode if state.mode == "replay" else (case.incident.mode if case else "live")
    board = {
        "site": state.site,
        "name": config.name if config else None,
        "seq": state.seq,
        "mode": mode,
        "incident": memo.built(case.incident) if case else None,
        "protocol": memo.built(case.protocol) if case and case.protocol else None,
        "rooms": room_rows,
        "accountability": memo.part("site", tally, None, lambda: _site_counts(tally)),
        "dispatch": memo.built(case.dispatch) if case and case.dispatch else None,
        "acks": memo.built(case.acks) if case else [],
        "notifications": memo.built(case.notifications) if case else [],
        # The latest only: every note's update carries the part whole, and an incident's 200th
        # note was then a 15.7 KB message to every board (the timeline keeps them all).
        "notes": memo.part("notes", case.notes, None,
                           lambda: msgspec.to_builtins(case.notes[-NOTES_SHOWN:])) if case else [],
        "notes_total": len(case.notes) if case else 0,
        "flags": list(case.flags) if case else [],
        "people": memo.part("people", case.people, config, lambda: _of_concern(state, case))
        if case else [],
        "responder_packet": memo.built(config.responder_packet) if config else None,
        "other_incidents": [c.incident.id for c in state.cases.values()
                            if case and c.incident.id != case.incident.id],
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

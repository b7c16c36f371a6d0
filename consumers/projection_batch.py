"""What one projector transaction writes, and the board states it loads to fold on from.

A batch of events becomes the rows they touched, last value wins: boards (with each board's
render, and its state when saved), incidents, rooms, the timeline; and every site file it set
(site_versions). No row is written for an event the rows already hold, so a projector folding
again after a restart never steps a row back.
"""

import asyncio
from collections.abc import Iterable
from typing import Any

import asyncpg
import msgspec
from msgspec.structs import replace

from command.domain import board, board_case, board_render, redact
from command.domain import events as e
from command.domain.render_cache import Memo
from command.domain.site import Site

_json = msgspec.json.Encoder()
BOARDS_PER_SLICE = 8
_stored_state = msgspec.json.Decoder(str | board.State)


async def load_states(conn: asyncpg.Connection | asyncpg.Pool) -> dict[str, board.State]:
    configs = {r["site"]: e.decode_site(r["config"])  # stored by a version of other bounds
               for r in await conn.fetch("SELECT site, config FROM sites")}
    states = {}
    for row in await conn.fetch("SELECT site, state FROM boards"):
        doc = _stored_state.decode(row["state"])  # an object is the older, reordered form
        state = doc if isinstance(doc, board.State) else msgspec.json.decode(doc, type=board.State)
        states[row["site"]] = replace(state, config=configs.get(row["site"]))
    return states


def _state_doc(state: board.State) -> str:
    """The state as a JSON string inside jsonb. jsonb reorders an object's keys but keeps a
    string verbatim, and a board renders its cases, rooms and dispatch in insertion order."""
    return _json.encode(_json.encode(replace(state, config=None)).decode()).decode()


class Batch:
    """What one transaction writes: the rows touched by a run of events, last value wins."""

    def __init__(self, states: dict[str, board.State], memos: dict[str, Memo] | None = None,
                 written: int = 0) -> None:
        self.states = states
        self.memos = memos  # per site, across batches: a render converts only what changed
        self.written = written  # the rows hold every event up to here: none is written again
        self.new: set[str] = set()  # sites first folded here: a row is made if there is none
        self.touched: set[str] = set()
        self.boards: set[str] = set()  # sites whose board row this batch writes
        self.configs: dict[str, tuple[int, Site]] = {}
        # Every site file, for past drills; an away event's own event too (the desk's fold).
        self.versions: list[tuple[str, int, Site, str | None]] = []
        self.incidents: dict[str, tuple[int, str, board_case.Case]] = {}
        self.rooms: dict[tuple[str, str], tuple[str, board_case.Room]] = {}
        self.timeline: list[tuple[int, str | None, str, str, Any, str]] = []

    def add(self, seq: int, event: e.Event) -> None:
        """Fold one event; if that raises, nothing of the batch has changed (the projector then
        faults the site and goes on with the others)."""
        site = event.site
        before = self.states.get(site) or board.empty(site)
        state, case = board.step(before, seq, event)
        rows = seq > self.written  # else folded again after a restart: its rows are there
        shown = rows and event.incident_id and not redact.never_shown(event, state.hidden)
        line = (seq, event.incident_id, site, e.type_of(event), event.occurred_at,
                e.encode(event).decode()) if shown else None
        if site not in self.states:
            self.new.add(site)
        self.states[site] = state
        self.touched.add(site)
        if not rows:
            return
        self.boards.add(site)
        # Any event that gave the board a new config (a site file, a roster import, an away
        # event) stores it as the site's file and as a version of it.
        if state.config is not None and state.config is not before.config:
            self.configs[site] = (seq, state.config)
            if not isinstance(event, e.RosterChanged) or event.data.part == event.data.parts:
                kept = e.encode(event).decode() if isinstance(event, e.AwayEventScheduled) \
                    else None
                self.versions.append((site, seq, state.config, kept))  # a whole import's, once
        if case is not None:
            self.incidents[case.incident.id] = (seq, site, case)
        if case is not None and isinstance(event, e.RoomStatusReported):
            room = case.rooms.get(event.data.room)
            if room is not None:
                self.rooms[(case.incident.id, room.id)] = (site, room)
        if line is not None:
            self.timeline.append(line)

    async def write(self, conn: asyncpg.Connection, states: Iterable[str]) -> None:
        """The rows of events past `written`, and the states of `states` (a checkpoint)."""
        if self.configs:
            await conn.executemany(
                "INSERT INTO sites(site, seq, config) VALUES ($1,$2,$3) ON CONFLICT (site) "
                "DO UPDATE SET seq=EXCLUDED.seq, config=EXCLUDED.config",
                [(s, seq, _json.encode(cfg).decode()) for s, (seq, cfg) in self.configs.items()])
        if self.versions:
            await conn.executemany(
                "INSERT INTO site_versions(site, seq, config, event) VALUES ($1,$2,$3,$4) "
                "ON CONFLICT DO NOTHING",
                [(s, seq, _json.encode(cfg).decode(), ev) for s, seq, cfg, ev in self.versions])
        # A site with no row yet gets its whole row, state included, whatever else is due.
        stored = {r["site"] for r in await conn.fetch(
            "SELECT site FROM boards WHERE site = ANY($1::text[])", list(self.new))} \
            if self.new else set()
        created = self.new - stored
        rows, whole = [], []
        for i, s in enumerate(self.boards | created, 1):
            st = self.states[s]
            memo = self.memos.setdefault(s, Memo()) if self.memos is not None else None
            rendered = _json.encode(board_render.render(st, memo)).decode()
            if s in created:
                whole.append((s, st.seq, _state_doc(st), rendered))
            else:
                rows.append((s, st.seq, rendered))
            if i % BOARDS_PER_SLICE == 0:
                await asyncio.sleep(0)  # ~0.3 ms a board: let presses in between
        saved = []
        for i, s in enumerate((s for s in states if s in self.states and s not in created), 1):
            saved.append((s, _state_doc(self.states[s])))
            if i % BOARDS_PER_SLICE == 0:
                await asyncio.sleep(0)  # a checkpoint encodes every busy site's state
        if whole:
            await conn.executemany(
                "INSERT INTO boards(site, seq, state, board) VALUES ($1,$2,$3,$4) ON CONFLICT "
                "(site) DO UPDATE SET seq=EXCLUDED.seq, state=EXCLUDED.state, "
                "board=EXCLUDED.board, updated_at=now()", whole)
        if rows:
            await conn.executemany(
                "UPDATE boards SET seq=$2, board=$3, updated_at=now() WHERE site=$1", rows)
        if saved:
            await conn.executemany("UPDATE boards SET state=$2 WHERE site=$1", saved)
        if self.incidents:
            await conn.executemany(
                "INSERT INTO incidents(id, site, kind, mode, status, action, opened_at, "
                "ended_at, false_alarm, last_seq, doc) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,"
                "$11) ON CONFLICT (id) DO UPDATE SET status=EXCLUDED.status, "
                "action=EXCLUDED.action, ended_at=EXCLUDED.ended_at, "
                "false_alarm=EXCLUDED.false_alarm, last_seq=EXCLUDED.last_seq, doc=EXCLUDED.doc",
                [_incident_row(seq, site, case) for seq, site, case in self.incidents.values()])
        if self.rooms:
            await conn.executemany(
                "INSERT INTO rooms(incident_id, site, room, status, reported_at, present, doc) "
                "VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT (incident_id, room) DO UPDATE SET "
                "status=EXCLUDED.status, reported_at=EXCLUDED.reported_at, "
                "present=EXCLUDED.present, doc=EXCLUDED.doc",
                [(iid, site, r.id, r.status, r.reported_at, r.present,
                  _json.encode(r).decode()) for (iid, _), (site, r) in self.rooms.items()])
        if self.timeline:
            await conn.executemany(
                "INSERT INTO timeline(seq, incident_id, site, type, occurred_at, event) "
                "VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT (seq) DO NOTHING", self.timeline)


def _incident_row(seq: int, site: str, case: board_case.Case) -> tuple[Any, ...]:
    inc = case.incident
    doc = {**msgspec.to_builtins(inc), "site": site,
           "protocol": msgspec.to_builtins(case.protocol) if case.protocol else None}
    action = case.protocol.action if case.protocol else None
    return (inc.id, site, inc.kind, inc.mode, inc.status, action, inc.opened_at, inc.ended_at,
            inc.false_alarm, seq, _json.encode(doc).decode())

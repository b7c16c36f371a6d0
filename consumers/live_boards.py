"""Every site's live board in memory: its fold state, its last render, and the recent updates a
returning client resumes from. Folding and rendering only; the gateway feeds it the stream and
the sockets hear what changed.
"""

from collections import deque
from typing import Any

import msgspec
from websockets.frames import Frame, Opcode

from command.domain import board, board_render, redact, roster_diff
from command.domain import events as e
from command.domain.render_cache import Memo

_json = msgspec.json.Encoder()


def frame(message: bytes) -> bytes:
    """One unmasked text frame (RFC 6455 §5.2), as a server sends: built once per update and
    written as is to every client of a role, instead of framed per client."""
    return Frame(Opcode.TEXT, message).serialize(mask=False)


def public_event(event: e.Envelope) -> dict[str, Any]:
    """An event as a board shows it: a site file's roster and channels, and a roster import's
    people, stay out."""
    doc = msgspec.to_builtins(event)
    if isinstance(event, e.SiteConfigured):
        doc["data"] = {"id": event.data.id, "name": event.data.name}
    elif isinstance(event, e.RosterChanged):  # counts, never a name or a guardian's phone
        doc["data"] = {**roster_diff.counts(event.data), "source": event.data.source}
    return doc


class Update:
    """One event's update to a board; each role's message, showing only what that role may
    see, is encoded when a client of that role first needs it (most boards share one role)."""

    __slots__ = ("_encoded", "changed", "event", "seq")

    def __init__(self, seq: int, event: e.Envelope, changed: dict[str, Any]) -> None:
        self.seq = seq
        self.event = event
        self.changed = changed  # rendered parts are shared and never changed: safe to keep
        self._encoded: dict[str, bytes] = {}

    def message(self, role: str) -> bytes:
        """The role's message, framed for a WebSocket."""
        framed = self._encoded.get(role)
        if framed is None:
            shown = public_event(self.event)
            framed = self._encoded[role] = frame(_json.encode({
                "type": "update", "seq": self.seq, "event": redact.event_view(shown, role),
                "board": redact.board_view(self.changed, role)}))
        return framed


class LiveBoards:
    def __init__(self, history: int = 2048) -> None:
        self.states: dict[str, board.State] = {}
        self.rendered: dict[str, dict[str, Any]] = {}
        self.memos: dict[str, Memo] = {}  # per site: a render converts only what changed
        self.history: dict[str, deque[tuple[int, Update]]] = {}
        self.floor: dict[str, int] = {}  # every update after floor[site] is in history[site]
        self.history_size = history

    def load(self, states: dict[str, board.State]) -> None:
        """Boards as the read models stored them: rendered once, with no history before."""
        self.states = states
        for site, state in states.items():
            self.rendered[site] = self._render(site, state)
            self.floor[site] = state.seq

    def seq(self, site: str) -> int:
        state = self.states.get(site)
        return state.seq if state is not None else 0

    def apply(self, seq: int, event: e.Event) -> Update | None:
        """Fold one event into its site's board; its update, or None where nobody sees one.
        If this raises, the board is as it was."""
        site = event.site
        if site not in self.states:
            # Born here: every update since its first is kept, so `since=0` (a replay board
            # played from its start) can be answered with updates rather than a snapshot.
            self.floor.setdefault(site, 0)
        state = self.states.get(site) or board.empty(site)
        if seq <= state.seq:
            return None
        before = self.rendered.get(site) or self._render(site, state)
        state = board.evolve(state, seq, event)
        if redact.never_shown(event, state.hidden):  # nor its records: no update at all
            self.states[site] = state
            return None
        after = self._render(site, state)
        update = Update(seq, event, board_render.diff(before, after))
        self.states[site], self.rendered[site] = state, after
        history = self.history.setdefault(site, deque())
        self.floor.setdefault(site, seq - 1)
        history.append((seq, update))
        while len(history) > self.history_size:
            self.floor[site] = history.popleft()[0]
        return update

    def _render(self, site: str, state: board.State) -> dict[str, Any]:
        memo = self.memos.get(site)
        if memo is None:
            memo = self.memos[site] = Memo()
        return board_render.render(state, memo)

    def snapshot(self, site: str, role: str) -> bytes:
        state = self.states.get(site) or board.empty(site)
        rendered = self.rendered.get(site) or board_render.render(state)
        return frame(_json.encode({"type": "snapshot", "seq": state.seq,
                                   "board": redact.board_view(rendered, role)}))

    def missed(self, site: str, role: str, since: int) -> list[bytes] | None:
        """The updates after `since`, framed for `role`; None where some are no longer kept."""
        if since < self.floor.get(site, self.seq(site)):
            return None
        return [u.message(role) for s, u in self.history.get(site, ()) if s > since]

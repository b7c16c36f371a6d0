"""The board gateway: live boards in memory, pushed to WebSocket clients (CONTRACT §3).

It loads every board at a known sequence from the projector's read model, then follows the
stream with an ordered consumer, applying the same `evolve`. Each update is framed once per role
and the same bytes are written to every client's socket as the event is applied, with no task
per client. A client whose unsent bytes outgrow its bound is dropped, never waited for, and
resumes with `since`.
"""

import asyncio
import contextlib
import logging
from collections import deque
from typing import Any

import asyncpg
import msgspec
from aiohttp import WSCloseCode, web
from prometheus_client import Gauge
from websockets.frames import Frame, Opcode

from command.domain import board, board_render, redact
from command.domain import events as e
from command.domain.render_cache import Memo
from command.infra.eventlog import EventLog
from consumers import faults, read_models

log = logging.getLogger("muster.gateway")
NAME = "gateway"
CONNECTED = Gauge("muster_boards_connected", "WebSocket board clients connected")
GATEWAY_SEQ = Gauge("muster_gateway_position", "Last stream sequence applied to live boards")
_json = msgspec.json.Encoder()
EVENTS_PER_TURN = 16  # then the loop serves others: a backlog is otherwise applied in one go
BUFFER_BYTES = 1 << 20  # unsent bytes a client may hold (~500 updates) before it is dropped


def frame(message: bytes) -> bytes:
    """One unmasked text frame (RFC 6455 §5.2), as a server sends: built once per update and
    written as is to every client of a role, instead of framed per client."""
    return Frame(Opcode.TEXT, message).serialize(mask=False)


def public_event(event: e.Envelope) -> dict[str, Any]:
    """An event as a board shows it: a site file's roster and channels stay out."""
    doc = msgspec.to_builtins(event)
    if isinstance(event, e.SiteConfigured):
        doc["data"] = {"id": event.data.id, "name": event.data.name}
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


class Client:
    """One board's socket. Writes never wait: what the kernel cannot take yet stays in the
    transport's buffer, and past `limit` bytes the client is dropped."""

    def __init__(self, transport: asyncio.Transport, role: str, limit: int) -> None:
        self.transport = transport
        self.role = role
        self.limit = limit
        self.dropped = False
        self.ended: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def send(self, framed: bytes) -> None:
        if self.ended.done():
            return
        if self.transport.is_closing():
            self.end("left")
        elif self.transport.get_write_buffer_size() > self.limit:
            self.dropped = True  # too slow: its serve() closes it; it resumes with `since`
            self.end("dropped")
        else:
            self.transport.write(framed)

    def end(self, why: str) -> None:
        if not self.ended.done():
            self.ended.set_result(why)


class Gateway:
    def __init__(self, log_: EventLog, pool: asyncpg.Pool | None, history: int = 2048,
                 buffer_bytes: int = BUFFER_BYTES, catch_up_s: float = 1.0,
                 operator_url: str = "") -> None:
        self.log = log_
        self.pool = pool
        # Sites stopped at an event they could not apply; in memory, as the boards are.
        self.faults: dict[str, faults.Fault] = {}
        self.operator_url = operator_url
        self._alerts: set[asyncio.Task[None]] = set()
        self.states: dict[str, board.State] = {}
        self.rendered: dict[str, dict[str, Any]] = {}
        self.memos: dict[str, Memo] = {}  # per site: a render converts only what changed
        self.history: dict[str, deque[tuple[int, Update]]] = {}
        self.floor: dict[str, int] = {}  # every update after floor[site] is in history[site]
        self.clients: dict[str, set[Client]] = {}
        self.history_size = history
        self.buffer_bytes = buffer_bytes
        self.catch_up_s = catch_up_s
        self.applied = 0
        self._sub: Any = None
        self._tick = asyncio.Event()
        self._turn = 0

    async def start(self) -> None:
        start, behind = 0, []
        if self.pool is not None:
            try:
                stored = await read_models.snapshot(self.pool)
                start, self.states, behind = stored.states_at, stored.states, list(stored.faults)
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("read models unavailable (%s); folding boards from the stream", exc)
                start, self.states = 0, {}
        for site, state in self.states.items():
            self.rendered[site] = self._render(site, state)
            self.floor[site] = state.seq
        self.applied = start
        for site in filter(None, behind):
            # The projector stopped this site: its stored state is older than `start`, so its
            # events since are folded here (a site's events never skipped, never reordered).
            state = self.states.get(site)
            async for seq, data in self.log.read_site(site, (state.seq if state else 0) + 1,
                                                      start):
                await self.on_raw(seq, data)
        last = await self.log.last_seq()
        self._sub = await self.log.follow(start + 1, self._on_msg, raw=True)
        while self.applied < last:
            await self._wait()

    async def _wait(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._tick.wait(), 0.05)

    async def stop(self) -> None:
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
        for task in self._alerts:
            task.cancel()
        for clients in self.clients.values():
            for client in clients:
                client.end("stopping")
        self.clients.clear()

    async def _on_msg(self, msg: Any) -> None:
        await self.on_raw(msg.metadata.sequence.stream, msg.data)

    async def on_raw(self, seq: int, data: bytes) -> None:
        """An event as the stream holds it: one that does not decode faults its site."""
        try:
            event = e.decode(data)
        except Exception as exc:
            self._passed(seq)
            fault = faults.of(NAME, seq, data, exc)
            if fault.site not in self.faults:
                self._fault(fault, exc)
            return
        await self.on_event(seq, event)

    def _passed(self, seq: int) -> None:
        self.applied = max(self.applied, seq)
        GATEWAY_SEQ.set(self.applied)
        self._tick.set()
        self._tick = asyncio.Event()

    async def on_event(self, seq: int, event: e.Event) -> None:
        self._turn += 1
        if self._turn % EVENTS_PER_TURN == 0:
            # nats-py hands a subscription its queued messages without returning to the loop.
            await asyncio.sleep(0)
        self._passed(seq)
        site = event.site
        if site in self.faults:
            return  # stopped at an earlier event: a later one applied would leave a gap
        try:
            self._apply(seq, event)
        except Exception as exc:
            self._fault(faults.of(NAME, seq, None, exc, event), exc)

    def _fault(self, fault: faults.Fault, exc: BaseException) -> None:
        self.faults[fault.site] = fault
        faults.report(fault, exc)
        faults.count(NAME, self.faults)
        task = asyncio.create_task(faults.alert_logged(self.operator_url, fault))
        self._alerts.add(task)
        task.add_done_callback(self._alerts.discard)

    def _apply(self, seq: int, event: e.Event) -> None:
        """Apply one event to its site's board; if this raises, the board is as it was (bar
        clients an update was already written to)."""
        site = event.site
        state = self.states.get(site) or board.empty(site)
        if seq <= state.seq:
            return
        before = self.rendered.get(site) or self._render(site, state)
        state = board.evolve(state, seq, event)
        if redact.never_shown(event, state.hidden):  # nor its records: no update at all
            self.states[site] = state
            return
        after = self._render(site, state)
        update = Update(seq, event, board_render.diff(before, after))
        self.states[site], self.rendered[site] = state, after
        history = self.history.setdefault(site, deque())
        self.floor.setdefault(site, seq - 1)
        history.append((seq, update))
        while len(history) > self.history_size:
            self.floor[site] = history.popleft()[0]
        for client in self.clients.get(site, ()):
            client.send(update.message(client.role))

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

    def board(self, site: str) -> dict[str, Any] | None:
        return self.rendered.get(site)

    def subscribe(self, site: str, client: Client, since: int | None) -> None:
        """Send what the client missed (or a snapshot), then every update; atomic in the loop."""
        history = self.history.get(site, deque())
        seq = self.states[site].seq if site in self.states else 0
        missed = [u.message(client.role) for s, u in history if since is not None and s > since]
        resumable = (since is not None and since >= self.floor.get(site, seq)
                     and sum(map(len, missed)) < client.limit)
        if since is not None and since > self.applied:
            # A seq this gateway has not reached (another replica's, or a stale stream's): an
            # update it sends later could be one the client has, so start it afresh.
            client.send(self.snapshot(site, client.role))
        elif since is not None and since >= seq:
            pass  # already current: nothing to send until the next update
        elif resumable:
            for message in missed:
                client.send(message)
        else:
            client.send(self.snapshot(site, client.role))
        self.clients.setdefault(site, set()).add(client)
        CONNECTED.inc()

    def unsubscribe(self, site: str, client: Client) -> None:
        clients = self.clients.get(site)
        if clients and client in clients:
            clients.discard(client)
            CONNECTED.dec()

    async def serve(self, ws: web.WebSocketResponse, transport: asyncio.Transport, site: str,
                    since: int | None, role: str) -> None:
        """Keep one client subscribed until it leaves, falls behind or the gateway stops;
        `transport` is the socket under `ws`, which the gateway writes to directly."""
        if since is not None and since > self.applied:
            await self._catch_up(since)
        client = Client(transport, role, self.buffer_bytes)
        self.subscribe(site, client, since)
        reader = asyncio.create_task(self._drain_reads(ws))
        reader.add_done_callback(lambda _: client.end("left"))
        try:
            why = await client.ended
            if why == "dropped":
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(ws.close(code=WSCloseCode.TRY_AGAIN_LATER,
                                                    message=b"too slow; reconnect with since"), 1.0)
            elif why == "stopping":
                await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server stopping")
        finally:
            reader.cancel()
            self.unsubscribe(site, client)

    async def _catch_up(self, seq: int) -> None:
        """Wait a moment for the stream to reach `seq`, so a client from a replica that is
        further along resumes with updates instead of a snapshot."""
        deadline = asyncio.get_running_loop().time() + self.catch_up_s
        while self.applied < seq and asyncio.get_running_loop().time() < deadline:
            await self._wait()

    @staticmethod
    async def _drain_reads(ws: web.WebSocketResponse) -> None:
        async for _ in ws:
            pass  # clients only listen; reading keeps pings answered and notices a close

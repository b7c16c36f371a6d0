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
import time
from collections.abc import Callable
from typing import Any

import asyncpg
from aiohttp import web
from prometheus_client import Gauge, Histogram

from command.domain import board
from command.domain import events as e
from command.infra.eventlog import EventLog
from consumers import faults, read_models
from consumers.board_sockets import BUFFER_BYTES, BoardSockets, Client
from consumers.live_boards import LiveBoards

log = logging.getLogger("muster.gateway")
NAME = "gateway"
GATEWAY_SEQ = Gauge("muster_gateway_position", "Last stream sequence applied to live boards")
FANOUT_LAG = Histogram(
    "muster_board_fanout_lag_seconds",
    "From an event's append (its JetStream timestamp) to its update written to the site's boards",
    buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0))
EVENTS_PER_TURN = 16  # then the loop serves others: a backlog is otherwise applied in one go


class Gateway:
    """Follows the stream into the live boards and hands each update to the sockets."""

    def __init__(self, log_: EventLog, pool: asyncpg.Pool | None, history: int = 2048,
                 buffer_bytes: int = BUFFER_BYTES, catch_up_s: float = 1.0,
                 operator_url: str = "") -> None:
        self.log = log_
        self.pool = pool
        # Sites stopped at an event they could not apply; in memory, as the boards are.
        self.faults: dict[str, faults.Fault] = {}
        self.operator_url = operator_url
        self._alerts: set[asyncio.Task[None]] = set()
        self.boards = LiveBoards(history)
        self.sockets = BoardSockets(self.boards, buffer_bytes)
        # Told of each applied update after the sockets (the STA-024 subscribers); never raise.
        self.listeners: list[Callable[[int, e.Event], None]] = []
        self.stopping: list[Callable[[], None]] = []  # their sockets closed as the boards' are
        self.catch_up_s = catch_up_s
        self.applied = 0
        self._sub: Any = None
        self._tick = asyncio.Event()
        self._turn = 0
        self._meta: Any = None  # the JetStream metadata of the message being applied

    @property
    def states(self) -> dict[str, board.State]:
        return self.boards.states

    @property
    def rendered(self) -> dict[str, dict[str, Any]]:
        return self.boards.rendered

    @property
    def clients(self) -> dict[str, set[Client]]:
        return self.sockets.clients

    async def start(self) -> None:
        start, behind = 0, []
        if self.pool is not None:
            try:
                stored = await read_models.snapshot(self.pool)
                start, behind = stored.states_at, list(stored.faults)
                self.boards.load(stored.states)
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("read models unavailable (%s); folding boards from the stream", exc)
                start = 0
                self.boards.load({})
        self.applied = start
        for site in filter(None, behind):
            # The projector stopped this site: its stored state is older than `start`, so its
            # events since are folded here (a site's events never skipped, never reordered).
            async for seq, data in self.log.read_site(site, self.boards.seq(site) + 1, start):
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
        self.sockets.end_all()
        for stop in self.stopping:
            stop()

    async def _on_msg(self, msg: Any) -> None:
        self._meta = meta = msg.metadata
        await self.on_raw(meta.sequence.stream, msg.data)

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
        """Apply one event to its site's board, and write its update to the site's clients."""
        update = self.boards.apply(seq, event)
        if update is not None and self.sockets.publish(event.site, update) and self._meta:
            # Only written updates count: a start-up fold reaches no board, and its old
            # events would read as hours of lag.
            FANOUT_LAG.observe(max(0.0, time.time() - self._meta.timestamp.timestamp()))
        for listener in self.listeners if update is not None else ():
            listener(seq, event)

    async def serve(self, ws: web.WebSocketResponse, transport: asyncio.Transport, site: str,
                    since: int | None, role: str) -> None:
        """One client's live board, from `since` (or a snapshot) until it leaves."""
        if since is not None and since > self.applied:
            await self._catch_up(since)
        await self.sockets.serve(ws, transport, site, since, role, self.applied)

    async def _catch_up(self, seq: int) -> None:
        """Wait a moment for the stream to reach `seq`, so a client from a replica that is
        further along resumes with updates instead of a snapshot."""
        deadline = asyncio.get_running_loop().time() + self.catch_up_s
        while self.applied < seq and asyncio.get_running_loop().time() < deadline:
            await self._wait()

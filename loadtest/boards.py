"""Live board clients: one WebSocket each, recording (receive time, seq) for every message.

A board that the server drops (too slow) reconnects with `since`, as the contract asks of any
client; a snapshot received then counts as delivering everything up to its `seq`.
"""

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

import msgspec
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

MAX_RECONNECTS = 5
CONNECT_TIMEOUT_S = 30.0
MAX_MESSAGE = 16 * 1024 * 1024  # a snapshot carries the whole board


class _Head(msgspec.Struct):
    """The only fields timing needs; msgspec skips the rest of the message unparsed."""

    type: str
    seq: int


_head = msgspec.json.Decoder(_Head)


@dataclass
class Board:
    site: str
    url: str
    snapshot_seq: int = -1
    last_seq: int = -1
    updates: list[tuple[float, int]] = field(default_factory=list)
    reconnects: int = 0
    closes: list[str] = field(default_factory=list)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    stopping: bool = False
    ws: ClientConnection | None = None

    async def run(self) -> None:
        """Read until stopped; reconnect a bounded number of times with `since`."""
        for attempt in range(MAX_RECONNECTS + 1):
            since = f"&since={self.last_seq}" if self.last_seq >= 0 else ""
            try:
                async with connect(self.url + since, max_size=MAX_MESSAGE,
                                   open_timeout=CONNECT_TIMEOUT_S) as ws:
                    self.ws = ws
                    async for raw in ws:
                        self.receive(time.perf_counter(), raw)
                    reason = f"closed {ws.close_code} {ws.close_reason}".strip()
            except (OSError, TimeoutError, WebSocketException) as exc:
                reason = type(exc).__name__
            if self.stopping:
                return
            self.closes.append(reason)
            self.reconnects = attempt + 1
            await asyncio.sleep(0.05)

    def receive(self, at: float, raw: str | bytes) -> None:
        head = _head.decode(raw)
        if head.type == "snapshot" and self.snapshot_seq < 0:
            self.snapshot_seq = head.seq
            self.ready.set()
        elif head.seq > self.last_seq:  # an update, or a fresh snapshot after a reconnect
            self.updates.append((at, head.seq))
        self.last_seq = max(self.last_seq, head.seq)

    async def stop(self) -> None:
        self.stopping = True
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ws.close(), 2.0)


@dataclass
class Boards:
    """Every board client and the tasks that read them."""

    boards: list[Board]
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def of_site(self, site: str) -> list[Board]:
        return [b for b in self.boards if b.site == site]

    async def open(self, timeout: float = CONNECT_TIMEOUT_S) -> None:
        """Connect them all and wait for every snapshot, so no press precedes a board."""
        self.tasks = [asyncio.create_task(b.run()) for b in self.boards]
        waits = [asyncio.create_task(b.ready.wait()) for b in self.boards]
        _, pending = await asyncio.wait(waits, timeout=timeout)
        for task in pending:
            task.cancel()
        if pending:
            await self.close()
            raise TimeoutError(f"{len(pending)} boards had no snapshot within {timeout:g} s")

    async def caught_up(self, targets: dict[str, int], deadline: float) -> None:
        """Until every board has seen its site's target seq, or `deadline` (perf_counter)."""
        while time.perf_counter() < deadline:
            if all(b.last_seq >= targets.get(b.site, -1) for b in self.boards):
                return
            await asyncio.sleep(0.01)

    async def collect(self) -> None:
        """Stop reading: what arrived so far is what the run measures."""
        await self.close()

    async def close(self) -> None:
        await asyncio.gather(*(b.stop() for b in self.boards))
        _, pending = await asyncio.wait(self.tasks, timeout=5.0) if self.tasks else ((), ())
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    @property
    def received(self) -> int:
        return sum(len(b.updates) for b in self.boards)


def spread(ws_base: str, token: str, sites: list[str], count: int) -> Boards:
    """`count` boards over the sites, round robin."""
    return Boards([Board(site=sites[i % len(sites)],
                         url=f"{ws_base}/v1/sites/{sites[i % len(sites)]}/board/ws?token={token}")
                   for i in range(count)])

"""Live board clients: one WebSocket each, recording (receive time, seq) for every message.

A board that the server drops (too slow) reconnects with `since`, as the contract asks of any
client; a snapshot received then counts as delivering everything up to its `seq`.

Each socket is driven by websockets' sans-I/O protocol from a plain asyncio.Protocol: frames are
parsed as bytes arrive, with no task, queue or future per message. With websockets' asyncio
client the two board processes took 44-52 % of a core beside the Muster they measure (40 s
lockdown runs); with this, 33-39 %.
"""

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

import msgspec
from websockets.client import ClientProtocol
from websockets.exceptions import WebSocketException
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri

MAX_RECONNECTS = 5
CONNECT_TIMEOUT_S = 30.0
MAX_MESSAGE = 16 * 1024 * 1024  # a snapshot carries the whole board
# Handshakes in flight at once: 5,500 at once per reader timed out and retried 4,051 times.
HANDSHAKES = 64


class _Head(msgspec.Struct):
    """The only fields timing needs; msgspec skips the rest of the message unparsed."""

    type: str
    seq: int


_head = msgspec.json.Decoder(_Head)


class Wire(asyncio.Protocol):
    """One board's socket: bytes in, websockets' protocol parses, each text frame to `board`."""

    def __init__(self, board: "Board", url: str) -> None:
        self.board = board
        self.uri = parse_uri(url)
        self.proto = ClientProtocol(self.uri, max_size=MAX_MESSAGE)
        self.transport: asyncio.Transport | None = None
        loop = asyncio.get_running_loop()
        self.opened: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[str] = loop.create_future()
        # A connection lost after a timeout fails `opened` with nobody left to await it.
        self.opened.add_done_callback(lambda f: f.cancelled() or f.exception())

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.proto.send_request(self.proto.connect())
        self._flush()

    def data_received(self, data: bytes) -> None:
        at = time.perf_counter()
        self.proto.receive_data(data)
        for event in self.proto.events_received():
            if isinstance(event, Response):
                if self.proto.handshake_exc is not None:
                    self._settle(self.opened, self.proto.handshake_exc)
                else:
                    self._settle(self.opened, None)
            elif isinstance(event, Frame) and event.opcode is Opcode.TEXT:
                self.board.receive(at, event.data)
        self._flush()  # pongs and the closing handshake are the protocol's own replies

    def eof_received(self) -> bool:
        self.proto.receive_eof()
        self._flush()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._settle(self.opened, exc or ConnectionError("closed during the handshake"))
        rcvd = self.proto.close_rcvd  # the server's close frame, if it sent one
        why = f"closed {rcvd.code} {rcvd.reason}".strip() if rcvd is not None \
            else type(exc).__name__ if exc else "closed"
        if not self.closed.done():
            self.closed.set_result(why)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.proto.send_close()
            self._flush()

    def _flush(self) -> None:
        assert self.transport is not None
        for chunk in self.proto.data_to_send():
            if chunk:
                self.transport.write(chunk)
            elif self.transport.can_write_eof():
                self.transport.write_eof()
        if self.proto.close_expected():
            self.transport.close()

    @staticmethod
    def _settle(future: asyncio.Future[None], exc: BaseException | None) -> None:
        if future.done():
            return
        if exc is None:
            future.set_result(None)
        else:
            future.set_exception(exc)


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
    ws: Wire | None = None
    gate: asyncio.Semaphore | None = None  # shared: at most so many handshakes at once

    async def run(self) -> None:
        """Read until stopped; reconnect a bounded number of times with `since`."""
        loop = asyncio.get_running_loop()
        for attempt in range(MAX_RECONNECTS + 1):
            since = f"&since={self.last_seq}" if self.last_seq >= 0 else ""
            wire = self.ws = Wire(self, self.url + since)
            try:
                async with self.gate or contextlib.nullcontext(), \
                        asyncio.timeout(CONNECT_TIMEOUT_S):
                    await loop.create_connection(lambda w=wire: w, wire.uri.host, wire.uri.port)
                    await wire.opened
                reason = await wire.closed
            except (OSError, TimeoutError, WebSocketException) as exc:
                reason = type(exc).__name__
                if wire.transport is not None:
                    wire.transport.abort()
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
        wire = self.ws
        if wire is not None and wire.transport is not None:
            wire.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(wire.closed), 2.0)
            wire.transport.abort()


@dataclass
class Boards:
    """Every board client and the tasks that read them."""

    boards: list[Board]
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def of_site(self, site: str) -> list[Board]:
        return [b for b in self.boards if b.site == site]

    async def open(self, timeout: float = CONNECT_TIMEOUT_S) -> None:
        """Connect them all and wait for every snapshot, so no press precedes a board."""
        gate = asyncio.Semaphore(HANDSHAKES)
        for board in self.boards:
            board.gate = gate
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

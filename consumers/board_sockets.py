"""The live boards' WebSocket clients: each written to as an update is applied, never waited
for. A client whose unsent bytes outgrow its bound is dropped, and resumes with `since`."""

import asyncio
import contextlib

from aiohttp import WSCloseCode, web
from prometheus_client import Gauge

from consumers.live_boards import LiveBoards, Update

CONNECTED = Gauge("muster_boards_connected", "WebSocket board clients connected")
BUFFER_BYTES = 1 << 20  # unsent bytes a client may hold (~500 updates) before it is dropped


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


class BoardSockets:
    def __init__(self, boards: LiveBoards, buffer_bytes: int = BUFFER_BYTES) -> None:
        self.boards = boards
        self.buffer_bytes = buffer_bytes
        self.clients: dict[str, set[Client]] = {}

    def publish(self, site: str, update: Update) -> bool:
        """Write `update` to the site's clients; whether there was any."""
        clients = self.clients.get(site)
        if not clients:
            return False
        for client in clients:
            client.send(update.message(client.role))
        return True

    def subscribe(self, site: str, client: Client, since: int | None, applied: int) -> None:
        """Send what the client missed (or a snapshot), then every update; atomic in the loop.
        `applied` is the stream sequence the boards are folded to."""
        missed = None if since is None else self.boards.missed(site, client.role, since)
        resumable = missed is not None and sum(map(len, missed)) < client.limit
        if since is not None and since > applied:
            # A seq this gateway has not reached (another replica's, or a stale stream's): an
            # update it sends later could be one the client has, so start it afresh.
            client.send(self.boards.snapshot(site, client.role))
        elif since is not None and since >= self.boards.seq(site):
            pass  # already current: nothing to send until the next update
        elif resumable:
            for message in missed or ():
                client.send(message)
        else:
            client.send(self.boards.snapshot(site, client.role))
        self.clients.setdefault(site, set()).add(client)
        CONNECTED.inc()

    def unsubscribe(self, site: str, client: Client) -> None:
        clients = self.clients.get(site)
        if clients and client in clients:
            clients.discard(client)
            CONNECTED.dec()

    async def serve(self, ws: web.WebSocketResponse, transport: asyncio.Transport, site: str,
                    since: int | None, role: str, applied: int) -> None:
        """Keep one client subscribed until it leaves, falls behind or the gateway stops;
        `transport` is the socket under `ws`, written to directly."""
        client = Client(transport, role, self.buffer_bytes)
        self.subscribe(site, client, since, applied)
        reader = asyncio.create_task(_drain_reads(ws))
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

    def end_all(self) -> None:
        for clients in self.clients.values():
            for client in clients:
                client.end("stopping")
        self.clients.clear()


async def _drain_reads(ws: web.WebSocketResponse) -> None:
    async for _ in ws:
        pass  # clients only listen; reading keeps pings answered and notices a close

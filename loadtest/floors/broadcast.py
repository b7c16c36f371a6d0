"""The broadcast floor: a bare aiohttp server that writes one message to every connected socket.

It is the least a board update can cost to reach many watchers on this machine: the message is
framed once and written as is to each client's transport, as Muster's gateway writes, with no
stream, fold or render before it. Clients connect to `/ws` and get a snapshot-shaped first message
(`{"type":"snapshot","seq":N}`), so the bench's board clients read it unchanged. `POST /message`
sets what is broadcast (a board update captured from Muster); `POST /broadcast` writes it to every
client with the next seq in place of its own and answers 202 `{"seq": N, "clients": C}`, after
the last write. `python -m loadtest.floors.broadcast --port N` runs it in its own process; it
prints `listening` once bound, and `written N` (frames written) when SIGTERM stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import sys

import msgspec
import uvloop
from aiohttp import web
from websockets.frames import Frame, Opcode

from loadtest.clients import commands as cmd
from loadtest.floors.server_process import ServerProcess, listen

SEQ = re.compile(rb'"seq":\d+')
DEFAULT_MESSAGE = b'{"type":"update","seq":0}'
_json = msgspec.json.Encoder()


def framed(message: bytes) -> bytes:
    """One unmasked text frame (RFC 6455 §5.2), as a server sends."""
    return Frame(Opcode.TEXT, message).serialize(mask=False)


class Broadcaster:
    """The server's state: its clients' transports, the message and the seq it is at."""

    def __init__(self) -> None:
        self.clients: set[asyncio.Transport] = set()
        self.sockets: set[web.WebSocketResponse] = set()
        self.head, self.tail = b'{"type":"update",', b"}"
        self.seq = 0
        self.written = 0

    def set_message(self, message: bytes) -> None:
        """`message` is JSON with a `"seq":N` in it; each broadcast puts its own seq there."""
        found = SEQ.search(message)
        if found is None:
            raise ValueError('the message has no "seq":N')
        self.head, self.tail = message[:found.start()], message[found.end():]

    def broadcast(self) -> int:
        """Frame the message once with the next seq, write it to every client; how many."""
        self.seq += 1
        frame = framed(b"%s\"seq\":%d%s" % (self.head, self.seq, self.tail))
        sent = 0
        for transport in self.clients:
            if not transport.is_closing():
                transport.write(frame)
                sent += 1
        self.written += sent
        return sent

    async def socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(compress=False)
        await ws.prepare(request)
        transport = request.transport
        if transport is None:  # gone during the upgrade
            return ws
        transport.write(framed(b'{"type":"snapshot","seq":%d}' % self.seq))
        self.clients.add(transport)
        self.sockets.add(ws)
        try:
            async for _ in ws:
                pass  # clients only listen; reading answers pings and notices a close
        finally:
            self.clients.discard(transport)
            self.sockets.discard(ws)
        return ws

    async def message(self, request: web.Request) -> web.Response:
        try:
            self.set_message(await request.read())
        except ValueError as exc:
            return web.Response(status=400, text=str(exc))
        return web.Response(status=204)

    async def trigger(self, request: web.Request) -> web.Response:
        await request.read()
        clients = self.broadcast()
        return web.Response(status=202, body=_json.encode({"seq": self.seq, "clients": clients}),
                            content_type="application/json")


async def _serve(port: int, max_seconds: float) -> int:
    state = Broadcaster()
    app = web.Application()
    app.router.add_get("/ws", state.socket)
    app.router.add_post("/message", state.message)
    app.router.add_post("/broadcast", state.trigger)
    runner, stop = await listen(app, port, shutdown_timeout=2.0)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), max_seconds)
    # a close frame to each client first: otherwise cleanup waits out its timeout on them
    await asyncio.gather(*(ws.close(code=1001, message=b"going away") for ws in state.sockets),
                         return_exceptions=True)
    await runner.cleanup()
    return state.written


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m loadtest.floors.broadcast")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--max-seconds", type=float, default=3600.0)
    args = p.parse_args(argv)
    written = uvloop.run(_serve(args.port, args.max_seconds))
    print(f"written {written}", flush=True)
    return 0


class BroadcastServer(ServerProcess):
    """`with BroadcastServer() as floor:` runs the broadcast server for the block."""

    def __init__(self) -> None:
        super().__init__("loadtest.floors.broadcast")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    @property
    def written(self) -> int | None:
        return self.served


SITE = "broadcast-floor"  # the site its clients are counted under, apart from Muster's


def trigger() -> cmd.Command:
    """A broadcast, as the bench's `Sender` sends it (to the server's `url`): its answer's seq
    is the one every client must reach."""
    return cmd.Command("broadcast", SITE, "/broadcast", {}, "device")


if __name__ == "__main__":
    sys.exit(main())

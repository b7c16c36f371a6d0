"""The WebSocket floor: a bare aiohttp echo server and an open-loop client that times round trips.

The server is the library Muster's board gateway serves with, uncompressed as the gateway is, and
it does nothing but echo, so its round trip is the least any board update can cost on this machine.
`python -m loadtest.floors.echo --port N` runs it in its own process (so it never competes with the
client's timing); it prints `listening` once bound, and `echoed N` when SIGTERM stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from dataclasses import dataclass, field

import msgspec
import uvloop
from aiohttp import WSMsgType, web
from websockets.asyncio.client import ClientConnection, connect

from loadtest.clients.pacer import Sample, open_loop
from loadtest.floors.server_process import ServerProcess, listen

MESSAGE_BYTES = 300  # about one board update
ECHO_TIMEOUT_S = 5.0
DEADLINE_S = 30.0
MAX_IN_FLIGHT = 1000  # far above any rate we pace at: only a stalled server should reach it
CONNECT_TIMEOUT_S = 10.0


class EchoError(RuntimeError):
    """An echo never came back on its connection."""


# --- the server, in its own process ----------------------------------------------------------

async def _serve(port: int, max_seconds: float) -> int:
    echoed = 0
    open_sockets: set[web.WebSocketResponse] = set()

    async def handle(request: web.Request) -> web.WebSocketResponse:
        nonlocal echoed
        ws = web.WebSocketResponse(compress=False, max_msg_size=1024 * 1024)
        await ws.prepare(request)
        open_sockets.add(ws)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await ws.send_str(msg.data)
                elif msg.type == WSMsgType.BINARY:
                    await ws.send_bytes(msg.data)
                else:
                    continue
                echoed += 1
        finally:
            open_sockets.discard(ws)
        return ws

    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)
    runner, stop = await listen(app, port, shutdown_timeout=2.0)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), max_seconds)
    # a close frame to each client first: otherwise cleanup waits out its timeout on them
    await asyncio.gather(*(ws.close(code=1001, message=b"going away") for ws in open_sockets),
                         return_exceptions=True)
    await runner.cleanup()
    return echoed


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m loadtest.floors.echo")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--max-seconds", type=float, default=3600.0)
    args = p.parse_args(argv)
    echoed = uvloop.run(_serve(args.port, args.max_seconds))
    print(f"echoed {echoed}", flush=True)
    return 0


class EchoServer(ServerProcess):
    """`with EchoServer() as echo:` runs the echo server at `echo.url` for the block."""

    def __init__(self) -> None:
        super().__init__("loadtest.floors.echo")

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    @property
    def echoed(self) -> int | None:
        return self.served


# --- the client, in the load generator -------------------------------------------------------

class _Head(msgspec.Struct):
    seq: int


_head = msgspec.json.Decoder(_Head)


def _framing(size: int = MESSAGE_BYTES) -> tuple[str, str]:
    """A board-update-shaped JSON text around its seq, padded to about `size` characters."""
    head, tail = '{"type":"update","site":"bench-00","seq":', ',"event":{"type":"Echo","note":"'
    pad = max(0, size - len(head) - len(tail) - len('"}}') - 6)
    return head, tail + "x" * pad + '"}}'


@dataclass
class _Line:
    """One connection and the echoes it is waiting for, by seq (several are in flight)."""

    ws: ClientConnection
    waiting: dict[int, asyncio.Future[float]] = field(default_factory=dict)

    async def read(self) -> None:
        try:
            async for raw in self.ws:
                at = time.perf_counter()  # first thing: the echo is here once it is read
                waiter = self.waiting.pop(_head.decode(raw).seq, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(at)
        finally:  # the connection is gone: nothing more will come back on it
            for waiter in self.waiting.values():
                if not waiter.done():
                    waiter.set_exception(EchoError("connection closed"))
            self.waiting.clear()


async def measure(url: str, count: int, rate: float, clients: int = 1) -> list[Sample[float]]:
    """`count` echoes paced at `rate`/s over `clients` connections (round robin).

    Each sample's value is its round trip in seconds, from just before the send to the moment
    the reader took the echo off the socket; its latency is the same trip as the pacer saw it.
    """
    head, tail = _framing()
    lines: list[_Line] = []
    readers: list[asyncio.Task[None]] = []
    try:
        for _ in range(max(1, clients)):
            ws = await connect(url, compression=None, open_timeout=CONNECT_TIMEOUT_S)
            lines.append(_Line(ws))
            readers.append(asyncio.create_task(lines[-1].read()))

        async def op(i: int) -> float:
            line = lines[i % len(lines)]
            waiter = asyncio.get_running_loop().create_future()
            line.waiting[i] = waiter
            sent = time.perf_counter()
            try:
                await line.ws.send(f"{head}{i}{tail}")
                arrived = await asyncio.wait_for(waiter, ECHO_TIMEOUT_S)
            finally:
                line.waiting.pop(i, None)
            return arrived - sent

        return await open_loop(count, rate, MAX_IN_FLIGHT, op, DEADLINE_S)
    finally:
        for line in lines:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(line.ws.close(), 2.0)
        for task in readers:
            task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)


if __name__ == "__main__":
    sys.exit(main())

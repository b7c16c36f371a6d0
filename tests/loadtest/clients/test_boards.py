"""The harness's board client against a real aiohttp WebSocket server: snapshot, updates, a drop
(as Muster drops a slow board), the resume with `since`, and a stop."""

import asyncio
import json
import time
from collections.abc import AsyncIterator

import pytest
from aiohttp import WSCloseCode, web

from loadtest.clients.boards import Board, Boards

Seen = list[str]


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, Seen]]:
    """First connection: snapshot 1, updates 2 and 3, then closed as too slow. Later ones:
    whatever follows their `since`, then held open until the client leaves."""
    queries: Seen = []

    async def board(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        since = request.query.get("since")
        queries.append(request.query_string)
        if since is None:
            await ws.send_str(json.dumps({"type": "snapshot", "seq": 1, "board": {}}))
            for seq in (2, 3):
                await ws.send_str(json.dumps({"type": "update", "seq": seq, "board": {}}))
            await ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"too slow")
            return ws
        for seq in range(int(since) + 1, 6):
            await ws.send_str(json.dumps({"type": "update", "seq": seq, "board": {}}))
        async for _ in ws:
            pass
        return ws

    app = web.Application()
    app.router.add_get("/ws", board)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"ws://127.0.0.1:{port}/ws?token=t", queries
    await runner.cleanup()


@pytest.mark.timeout(30)
async def test_a_dropped_board_resumes_with_since_and_misses_nothing(
        server: tuple[str, Seen]) -> None:
    url, queries = server
    b = Board(site="s", url=url)
    task = asyncio.create_task(b.run())
    await asyncio.wait_for(b.ready.wait(), 5)
    await Boards([b]).caught_up({"s": 5}, time.perf_counter() + 5)
    await b.stop()
    await asyncio.wait_for(task, 5)
    assert b.snapshot_seq == 1
    assert [seq for _, seq in b.updates] == [2, 3, 4, 5]
    assert b.reconnects == 1 and b.closes == ["closed 1013 too slow"]
    assert queries == ["token=t", "token=t&since=3"]

"""The broadcast floor: a real server process writes one message, seq in place, to every client."""

import asyncio
import time

import aiohttp
import msgspec
import pytest
from websockets.asyncio.client import connect

from loadtest.clients.boards import Board, Boards
from loadtest.clients.commands import Sender, accepted
from loadtest.floors.broadcast import SITE, BroadcastServer, trigger

MESSAGE = b'{"type":"update","seq":4711,"event":{"type":"AlertRaised","room":"B-112"},"board":{}}'


async def _post(url: str, body: bytes = b"") -> tuple[int, bytes]:
    async with aiohttp.ClientSession() as http, http.post(url, data=body) as resp:
        return resp.status, await resp.read()


@pytest.mark.timeout(60)
async def test_every_client_gets_the_message_with_each_broadcasts_seq_and_a_count() -> None:
    with BroadcastServer() as floor:
        assert await _post(floor.url + "/message", MESSAGE) == (204, b"")
        sockets = [await connect(floor.ws_url, compression=None) for _ in range(5)]
        for ws in sockets:  # a snapshot first, as a board expects
            assert msgspec.json.decode(await ws.recv()) == {"type": "snapshot", "seq": 0}
        for seq in (1, 2):
            status, body = await _post(floor.url + "/broadcast")
            assert (status, msgspec.json.decode(body)) == (202, {"seq": seq, "clients": 5})
            want = MESSAGE.replace(b'"seq":4711', b'"seq":%d' % seq).decode()
            for ws in sockets:
                assert await asyncio.wait_for(ws.recv(), 5) == want
        await sockets[0].close()
        await asyncio.sleep(0.2)  # the server notices the close
        status, body = await _post(floor.url + "/broadcast")
        assert msgspec.json.decode(body) == {"seq": 3, "clients": 4}
        late = await connect(floor.ws_url, compression=None)  # a snapshot at the seq it is at
        assert msgspec.json.decode(await late.recv()) == {"type": "snapshot", "seq": 3}
        for ws in [*sockets[1:], late]:
            await ws.close()
        proc = floor.proc
    assert proc is not None and proc.returncode == 0
    assert floor.written == 5 + 5 + 4


@pytest.mark.timeout(30)
async def test_a_message_without_a_seq_is_refused_and_the_last_good_one_kept() -> None:
    with BroadcastServer() as floor:
        assert (await _post(floor.url + "/message", b'{"type":"update"}'))[0] == 400
        async with connect(floor.ws_url, compression=None) as ws:
            await ws.recv()
            await _post(floor.url + "/broadcast")
            assert await asyncio.wait_for(ws.recv(), 5) == '{"type":"update","seq":1}'


@pytest.mark.timeout(60)
async def test_the_bench_boards_and_sender_time_a_broadcast_to_the_last_client() -> None:
    with BroadcastServer() as floor:
        await _post(floor.url + "/message", MESSAGE)
        boards = Boards([Board(site=SITE, url=floor.ws_url) for _ in range(50)])
        await boards.open()
        async with aiohttp.ClientSession() as http:
            samples = await Sender(http, floor.url, {"device": ""}).paced(
                [trigger()] * 10, 20.0, 2)
        assert all(accepted(s) for s in samples)
        sent = {s.value.seq: s.start for s in samples if s.value}
        assert sorted(sent) == list(range(1, 11))
        await boards.caught_up({SITE: 10}, time.perf_counter() + 5)
        await boards.close()
    for board in boards.boards:  # each board's clock is the sender's: a latency from each send
        assert [seq for _, seq in board.updates] == list(range(1, 11))
        assert all(0 < at - sent[seq] < 5 for at, seq in board.updates), board.updates

"""The WebSocket echo floor: a real echo server process, round trips matched to their messages."""

import asyncio

import pytest
from websockets.asyncio.client import connect

from loadtest.floors.echo import EchoServer, measure


@pytest.mark.timeout(60)
async def test_every_message_comes_back_and_the_server_goes_away() -> None:
    with EchoServer() as echo:
        assert echo.url == f"ws://127.0.0.1:{echo.port}/"
        samples = await measure(echo.url, count=200, rate=500.0, clients=2)
        proc = echo.proc
    assert proc is not None and proc.poll() is not None  # stopped, and reaped
    assert proc.returncode == 0
    assert echo.echoed == 200
    assert [s.index for s in samples] == list(range(200))
    assert all(s.error is None for s in samples), {s.error for s in samples}
    for s in samples:
        assert s.value is not None and 0 < s.value < 1
        assert 0 < s.latency < 1
        assert s.value <= s.latency  # the reader's view is inside the pacer's


@pytest.mark.timeout(30)
async def test_echoes_come_back_unchanged_text_and_binary() -> None:
    with EchoServer() as echo:
        async with connect(echo.url, compression=None) as ws:
            await ws.send('{"seq": 1, "note": "é"}')
            assert await asyncio.wait_for(ws.recv(), 5) == '{"seq": 1, "note": "é"}'
            await ws.send(b"\x00\x01binary")
            assert await asyncio.wait_for(ws.recv(), 5) == b"\x00\x01binary"


@pytest.mark.timeout(30)
async def test_a_server_stopped_mid_run_fails_the_rest_without_hanging() -> None:
    echo = EchoServer()
    echo.start()
    try:
        run = asyncio.create_task(measure(echo.url, count=100, rate=100.0, clients=2))
        await asyncio.sleep(0.3)
        await asyncio.to_thread(echo.stop)  # SIGTERM with both connections open
        samples = await asyncio.wait_for(run, 15)
    finally:
        echo.stop()
    assert echo.proc is not None and echo.proc.returncode == 0
    ok = [s for s in samples if s.error is None]
    assert 10 <= len(ok) < 100
    assert all(s.error is not None for s in samples[-50:])
    assert echo.echoed == len(ok)


@pytest.mark.timeout(30)
async def test_no_server_no_run() -> None:
    echo = EchoServer()
    echo.start()
    echo.stop()
    with pytest.raises(OSError):
        await measure(echo.url, count=5, rate=100.0)

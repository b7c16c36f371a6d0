"""Slow or greedy clients hold nothing for long: a request head or body sent a byte at a time is
cut off at its timeout, one address holds at most so many connections and one token so many
boards, and presses keep their normal latency meanwhile."""

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from command.bootstrap.muster import Muster
from command.infra.config import Settings
from tests.conftest import App, small_site
from tests.integration.raw_http import exchange, parse, press_latencies, within_normal

HEAD = b"POST /v1/sites/test-high/alerts HTTP/1.1\r\nHost: muster\r\n"


@contextlib.asynccontextmanager
async def running(nats_url: str, database_url: str, tmp_path: Path, **limits: Any,
                  ) -> AsyncIterator[App]:
    settings = Settings(nats_url=nats_url, database_url=database_url, http_port=0,
                        data_dir=str(tmp_path / "data"), rate_per_token=0, rate_per_address=0,
                        rate_emergency=0, **limits)
    muster = Muster(settings, components=("intake", "projector", "boards"),
                    say=lambda _: None)
    await muster.start()
    try:
        await muster.import_site(small_site())
        yield App(muster)
    finally:
        await muster.stop()


async def loris(port: int, every_s: float, limit_s: float) -> float:
    """Open a connection and send a request head a byte every `every_s`: the seconds until the
    server closed it (or `limit_s` if it never did)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.perf_counter()
    try:
        writer.write(HEAD)
        while time.perf_counter() - started < limit_s:
            writer.write(b"X")
            await writer.drain()
            with contextlib.suppress(TimeoutError):
                if await asyncio.wait_for(reader.read(1), every_s) == b"":
                    break
    except ConnectionError:
        pass
    finally:
        writer.close()
    return time.perf_counter() - started


async def test_slow_loris_is_cut_off_at_the_header_timeout_and_presses_stay_fast(
        nats_url: str, database_url: str, tmp_path: Path) -> None:
    async with running(nats_url, database_url, tmp_path, header_timeout_s=1.0) as app:
        device = await app.token("device")
        port = app.muster.port
        async with aiohttp.ClientSession() as http:
            await press_latencies(http, app.url, device, 5)
            quiet = await press_latencies(http, app.url, device, 40)
            stop = asyncio.Event()
            held: list[float] = []

            async def attacker() -> None:  # one of 50: as soon as it is cut off, again
                while not stop.is_set():
                    held.append(await loris(port, every_s=0.25, limit_s=6.0))

            attackers = [asyncio.create_task(attacker()) for _ in range(50)]
            await asyncio.sleep(0.3)  # all 50 are trickling
            during = await press_latencies(http, app.url, device, 40)
            await asyncio.sleep(max(0.0, 1.5 - sum(during)))  # past one header timeout
            stop.set()
            await asyncio.gather(*attackers)
    ok, measured = within_normal(quiet, during)
    print(f"\n[slow-loris x50] {measured}; {len(held)} slow heads cut off after "
          f"{min(held):.2f}-{max(held):.2f} s (header timeout 1.0 s)")
    assert ok, measured
    assert len(held) >= 50 and max(held) < 1.0 + 1.5, sorted(held)[-5:]


async def test_a_body_sent_a_byte_at_a_time_gets_408(nats_url: str, database_url: str,
                                                     tmp_path: Path) -> None:
    async with running(nats_url, database_url, tmp_path, body_timeout_s=1.0) as app:
        device = await app.token("device")
        reader, writer = await asyncio.open_connection("127.0.0.1", app.muster.port)
        writer.write(HEAD + b"Authorization: Bearer " + device.encode()
                     + b"\r\nContent-Type: application/json\r\nContent-Length: 60\r\n\r\n{")
        started = time.perf_counter()
        answer = b""
        with contextlib.suppress(ConnectionError):
            while b"\r\n\r\n" not in answer and time.perf_counter() - started < 5:
                writer.write(b" ")
                await writer.drain()
                with contextlib.suppress(TimeoutError):
                    answer += await asyncio.wait_for(reader.read(4096), 0.25)
        elapsed = time.perf_counter() - started
        got = parse(answer)
        while len(answer) - answer.index(b"\r\n\r\n") - 4 < int(got.headers["content-length"]):
            answer += await asyncio.wait_for(reader.read(4096), 5)
        writer.close()
        got = parse(answer)
        assert got.status == 408 and got.headers["content-type"].startswith("application/json")
        assert got.json() == {"error": {"code": "timeout", "field": None,
                                        "message": "the body did not arrive within 1 s"}}
        assert 1.0 <= elapsed < 2.5, elapsed
        assert await app.log.last_seq() == 1  # the site file alone


async def test_connections_past_the_cap_per_address_are_refused(
        nats_url: str, database_url: str, tmp_path: Path) -> None:
    async with running(nats_url, database_url, tmp_path, connections_per_address=8) as app:
        port = app.muster.port
        idle = [await asyncio.open_connection("127.0.0.1", port) for _ in range(8)]
        refused = await exchange(port, b"GET /healthz HTTP/1.1\r\nHost: m\r\n\r\n", timeout=3)
        assert refused.status == 429 and refused.headers["retry-after"] == "1"
        assert refused.json() == {"error": {"code": "rate_limited", "field": None,
                                            "message": "too many connections from this address"}}
        idle.pop()[1].close()
        await asyncio.sleep(0.2)  # the server has seen it go
        let_in = await exchange(port, b"GET /healthz HTTP/1.1\r\nHost: m\r\n"
                                      b"Connection: close\r\n\r\n", timeout=3)
        assert let_in.status == 200, let_in
        for _, writer in idle:
            writer.close()


async def test_boards_past_the_cap_per_token_are_refused_with_429(
        nats_url: str, database_url: str, tmp_path: Path) -> None:
    async with running(nats_url, database_url, tmp_path, boards_per_token=2) as app:
        await app.wait_projected(1)
        base = app.url.replace("http://", "ws://") + "/v1/sites/test-high/board/ws?token="
        responder, staff = await app.token("responder"), await app.token("staff")
        async with connect(base + responder, proxy=None) as one, \
                connect(base + responder, proxy=None):
            with pytest.raises(InvalidStatus) as third:
                async with connect(base + responder, proxy=None):
                    pass
            response = third.value.response
            assert response.status_code == 429 and response.headers["Retry-After"] == "10"
            assert msgspec.json.decode(response.body)["error"] == {
                "code": "rate_limited", "field": None,
                "message": "this token already has 2 boards open"}
            async with connect(base + staff, proxy=None) as other:  # another token's own cap
                assert msgspec.json.decode(await other.recv())["type"] == "snapshot"
            await one.close()
            for _ in range(50):  # the server sees the board leave
                with contextlib.suppress(InvalidStatus):
                    async with connect(base + responder, proxy=None) as again:
                        assert msgspec.json.decode(await again.recv())["type"] == "snapshot"
                        break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("a closed board still counted against its token")

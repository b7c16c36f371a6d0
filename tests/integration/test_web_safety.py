"""Rate limits that never block a lockdown, closed CORS, safe headers, and no secret in errors."""

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from command.config import Settings
from consumers.main import Muster
from tests.conftest import App, small_site


@pytest.fixture
async def guarded(nats_url: str, database_url: str, tmp_path: Path) -> AsyncIterator[App]:
    """Muster with its real rate limits on and one allowed browser origin."""
    settings = Settings(nats_url=nats_url, database_url=database_url, http_port=0,
                        data_dir=str(tmp_path / "data"), rate_per_token=20,
                        rate_per_address=50, rate_emergency=5,
                        cors_origins="https://board.district.example")
    muster = Muster(settings, components=("intake", "projector", "boards"),
                    say=lambda _: None)
    await muster.start()
    await muster.import_site(small_site())
    yield App(muster)
    await muster.stop()


async def test_a_flood_of_bad_requests_never_blocks_a_lockdown(guarded: App) -> None:
    flooder = await guarded.token("staff")
    device = await guarded.token("device")
    async with aiohttp.ClientSession() as http:
        async def flood() -> list[int]:
            statuses = []
            for _ in range(400):
                async with http.post(guarded.url + "/v1/sites/test-high/alerts", data=b"{bad",
                                     headers={"Authorization": f"Bearer {flooder}"}) as resp:
                    statuses.append(resp.status)
                    if resp.status == 429:
                        assert int(resp.headers["Retry-After"]) >= 1
            return statuses

        flooding = asyncio.create_task(flood())
        await asyncio.sleep(0.3)  # the flood has spent its token's and its address's allowance
        started = time.perf_counter()
        async with http.post(guarded.url + "/v1/sites/test-high/alerts",
                             json={"kind": "lockdown", "room": "B-112"},
                             headers={"Authorization": f"Bearer {device}"}) as resp:
            assert resp.status == 202, await resp.text()
        pressed_in = time.perf_counter() - started
        statuses = await flooding
    assert 429 in statuses and set(statuses) <= {400, 429}
    assert pressed_in < 0.5, f"the lockdown waited {pressed_in:.3f} s behind the flood"
    assert await guarded.log.last_seq() == 4  # the site file, then only the press's 3 events


async def test_a_flood_of_forged_press_tokens_is_not_a_flood_of_queries(guarded: App) -> None:
    tokens = guarded.muster.tokens
    assert tokens is not None
    started = time.perf_counter()
    async with aiohttp.ClientSession() as http:
        statuses = []
        for i in range(400):
            async with http.post(guarded.url + "/v1/sites/test-high/alerts",
                                 json={"kind": "lockdown", "room": "B-112"},
                                 headers={"Authorization": f"Bearer forged-{i}"}) as resp:
                statuses.append(resp.status)
    elapsed = time.perf_counter() - started
    assert set(statuses) == {401, 429}, statuses
    # Each forged token the database was asked about is remembered as a miss. Those within the
    # address's allowance (burst 150 at 50/s) are looked up by the handler; past it, only the
    # press-lookup allowance (burst 15 at 5/s) is, not one query per refused request.
    bound = 150 + 50 * elapsed + 15 + 5 * elapsed + 2
    assert len(tokens._misses) <= bound < 400, (len(tokens._misses), elapsed)
    assert await guarded.log.last_seq() == 1  # nothing but the site file


async def test_a_token_over_its_rate_gets_429_with_retry_after(guarded: App) -> None:
    staff = await guarded.token("staff")
    await guarded.wait_projected(1)
    statuses = []
    async with aiohttp.ClientSession() as http:
        for _ in range(80):
            async with http.get(guarded.url + "/v1/sites/test-high/board",
                                headers={"Authorization": f"Bearer {staff}"}) as resp:
                statuses.append(resp.status)
                if resp.status == 429:
                    assert resp.headers["Retry-After"].isdigit()
                    assert (await resp.json())["error"]["code"] == "rate_limited"
    assert statuses[0] == 200 and statuses.count(429) > 0


async def test_cors_is_closed_except_for_configured_origins(guarded: App) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(guarded.url + "/healthz",
                            headers={"Origin": "https://evil.example"}) as resp:
            assert "Access-Control-Allow-Origin" not in resp.headers
        async with http.options(guarded.url + "/v1/sites/test-high/alerts", headers={
                "Origin": "https://evil.example",
                "Access-Control-Request-Method": "POST"}) as resp:
            assert "Access-Control-Allow-Origin" not in resp.headers
        async with http.options(guarded.url + "/v1/sites/test-high/alerts", headers={
                "Origin": "https://board.district.example",
                "Access-Control-Request-Method": "POST"}) as resp:
            assert resp.status == 204
            assert resp.headers["Access-Control-Allow-Origin"] == \
                "https://board.district.example"


async def test_board_page_headers(app: App) -> None:
    async with aiohttp.ClientSession() as http, http.get(app.url + "/board/test-high") as resp:
        assert resp.status == 200
        csp = resp.headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert resp.headers["X-Frame-Options"] == "DENY"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"


async def test_no_secret_in_errors_or_logs(app: App, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secret = await app.token("device")
    forged = secret[:-4] + "AAAA"
    async with aiohttp.ClientSession() as http:
        for token in (secret, forged):
            async with http.post(app.url + "/v1/sites/test-high/alerts", data=b"\xff\x00",
                                 headers={"Authorization": f"Bearer {token}"}) as resp:
                text = await resp.text()
                assert resp.status in (400, 401)
                assert token not in text
    assert secret not in caplog.text and forged not in caplog.text

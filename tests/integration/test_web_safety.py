"""Rate limits that never block a lockdown, closed CORS, safe headers, and no secret in errors."""

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from command.bootstrap.muster import Muster
from command.infra.config import Settings
from command.infra.logscrub import Scrub
from command.infra.web import Handler, make_app, ordered_middlewares
from tests.conftest import App, small_site
from tests.integration.raw_http import exchange


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


@pytest.mark.parametrize("request_bytes", [
    b"POST /v1/sites/test-high/alerts HTTP/1.1\r\nHost: m\r\nAuthorization: Bearer \xff\xfe\x80\r\n"
    b"Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
    b"GET /v1/sites/test-high/board HTTP/1.1\r\nHost: m\r\nAuthorization: Bearer \xc3\x28\r\n"
    b"Connection: close\r\n\r\n",
    b"GET /v1/incidents/x/timeline HTTP/1.1\r\nHost: m\r\nAuthorization: \xed\xa0\x80\r\n"
    b"Connection: close\r\n\r\n",
], ids=["press", "board", "timeline"])
async def test_an_authorization_header_not_utf8_answers_401_in_json(
        app: App, request_bytes: bytes) -> None:
    answer = await exchange(app.muster.port, request_bytes)
    assert answer.status == 401, answer
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json()["error"]["code"] == "unauthorized"


async def test_what_a_middleware_raises_is_answered_in_the_contracts_json() -> None:
    @web.middleware
    async def broken(request: web.Request, handler: Handler) -> web.StreamResponse:
        raise RuntimeError("a middleware's own bug")

    async def ok(_: web.Request) -> web.Response:
        return web.Response(text="never")

    served = make_app([web.get("/v1/x", ok)], ordered_middlewares(rate_limit=broken))
    async with TestClient(TestServer(served)) as client:
        resp = await client.get("/v1/x")
        assert resp.status == 500
        assert await resp.json() == {"error": {"code": "internal", "message": "internal error",
                                               "field": None}}


def refused_requests(secret: str) -> list[bytes]:
    """Requests aiohttp's own parser refuses, each with the raw bytes of a real token."""
    token = secret.encode()
    return [
        b"GET /v1/sites/test-high/board?token=" + token + b" HTTP/1.1\r\nHost: m\r\n"
        b"Authorization: Bearer " + token + b"\x01\r\n\r\n",
        b"GET /v1/sites/test-high/board/ws?token=" + token + b"\x01 HTTP/1.1\r\nHost: m\r\n\r\n",
        b"GET http://m/v1/sites/test-high/board?a=1&token=" + token + b"\x7f HTTP/1.1\r\n"
        b"Host: m\r\nAuthorization: Bearer " + token + b"\r\n\r\n",
    ]


async def test_tokens_never_reach_the_log_and_bad_requests_are_logged_sparingly(
        app: App, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    scrub = next(f for f in logging.getLogger("aiohttp.server").filters if isinstance(f, Scrub))
    scrub.window_start = float("-inf")  # earlier tests in this process spent none of this one's
    secret = await app.token("staff")
    for request in refused_requests(secret):
        assert (await exchange(app.muster.port, request)).status == 400
    logged = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert len(logged) == 3 and caplog.text.count("[redacted]") >= 3, caplog.text
    assert secret not in caplog.text
    caplog.clear()
    gate = asyncio.Semaphore(50)

    async def refused(request: bytes) -> int:
        async with gate:
            return (await exchange(app.muster.port, request)).status

    statuses = await asyncio.gather(*(refused(refused_requests(secret)[i % 3])
                                      for i in range(1000)))
    assert set(statuses) == {400}
    logged = [r for r in caplog.records if r.name.startswith("aiohttp")]
    # 3 of this minute's 20 were spent above: 17 more, then nothing until the minute is over.
    assert len(logged) == 17 and len(caplog.text.splitlines()) < 17 * 20, len(logged)
    assert secret not in caplog.text


def test_a_dropped_spell_is_counted_on_the_next_line() -> None:
    scrub = Scrub(burst=2, every_s=0.05)
    records = [logging.LogRecord("aiohttp.server", logging.ERROR, __file__, 1,
                                 "Bearer %s from %s", ("s3cr3t", "10.0.0.1"), None)
               for _ in range(6)]
    assert [scrub.filter(r) for r in records[:5]] == [True, True, False, False, False]
    time.sleep(0.06)
    assert scrub.filter(records[5])
    assert records[5].getMessage() == "(3 similar lines dropped) Bearer [redacted] from 10.0.0.1"
    assert scrub.dropped == 0


async def test_reads_of_roster_data_are_never_cached(app: App) -> None:
    device, commander = await app.token("device"), await app.token("commander")
    auth = {"Authorization": f"Bearer {commander}"}
    async with aiohttp.ClientSession() as http:
        async with http.post(app.url + "/v1/sites/test-high/alerts",
                             json={"kind": "lockdown", "room": "B-112"},
                             headers={"Authorization": f"Bearer {device}"}) as resp:
            incident = (await resp.json())["incident_id"]
        await app.wait_projected(await app.log.last_seq())
        for path in ("/v1/sites/test-high/board", f"/v1/incidents/{incident}",
                     f"/v1/incidents/{incident}/timeline", f"/v1/incidents/{incident}/report",
                     f"/v1/incidents/{incident}/report?format=html", "/v1/sites/test-high/cap",
                     "/v1/incidents/unknown/timeline"):
            async with http.get(app.url + path, headers=auth) as resp:
                assert resp.status in (200, 404), (path, resp.status)
                assert resp.headers["Cache-Control"] == "no-store", path
                assert resp.headers["Pragma"] == "no-cache", path

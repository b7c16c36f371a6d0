"""A hostile site file never holds the event loop: it is parsed in a worker process, within
limits and a time bound, and answered 4xx while presses keep their normal latency."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import msgspec
import pytest

from command.bootstrap.muster import Muster
from command.infra.config import Settings
from tests.conftest import App, small_site
from tests.integration.raw_http import press_latencies, within_normal

# 40,000 dotted parts in 80 KB: 24.6 s of tomllib on the loop in the reproduction.
DOTTED = b'id = "test-high"\nname = "x"\n' + b".".join([b"a"] * 40_000) + b" = 1\n"
NESTED = 200_000  # arrays in arrays: a RecursionError, answered 500 before
HOSTILE = [
    (DOTTED, "application/toml"),
    (b'id = "test-high"\nname = "x"\nrooms = ' + b"[" * NESTED + b"]" * NESTED, "application/toml"),
    (b'{"id": "test-high", "name": "x", "rooms": ' + b"[" * NESTED + b"]" * NESTED + b"}",
     "application/json"),
    (b'{"id": "test-high", "name": "x", "policy": ' + b'{"a": ' * NESTED + b"1"
     + b"}" * (NESTED + 1), "application/json"),
]


def put(http: aiohttp.ClientSession, app: App, token: str, body: bytes, kind: str) -> object:
    return http.put(app.url + "/v1/sites/test-high", data=body, timeout=aiohttp.ClientTimeout(60),
                    headers={"Authorization": f"Bearer {token}", "Content-Type": kind})


async def test_a_press_during_a_hostile_import_keeps_its_normal_latency(app: App) -> None:
    admin, device = await app.token("admin"), await app.token("device")
    answers: list[tuple[int, dict]] = []
    async with aiohttp.ClientSession() as http:
        await press_latencies(http, app.url, device, 5)  # connections and caches warm
        quiet = await press_latencies(http, app.url, device, 40)
        before = await app.log.last_seq()
        stop = asyncio.Event()

        async def hostile() -> None:
            while not stop.is_set():
                for body, kind in HOSTILE:
                    async with put(http, app, admin, body, kind) as resp:
                        answers.append((resp.status, await resp.json()))

        importing = asyncio.create_task(hostile())
        await asyncio.sleep(0.05)  # the first hostile body is in
        try:
            during = await asyncio.wait_for(press_latencies(http, app.url, device, 40), 90)
        finally:
            stop.set()
        await importing
    ok, measured = within_normal(quiet, during)
    print(f"\n[hostile import] {measured}; {len(answers)} hostile imports answered during "
          f"the presses")
    assert ok, measured
    assert len(answers) >= len(HOSTILE)
    for status, doc in answers:
        assert status in (400, 413), doc
        assert doc["error"]["field"] == "$" and "nests" in doc["error"]["message"], doc
    # Only the presses wrote: no hostile import wrote anything.
    written = [type(ev).__name__
               async for _, ev in app.log.read(before + 1, await app.log.last_seq())]
    assert written.count("AlertRaised") == 40 and "SiteConfigured" not in written, written


@pytest.fixture
async def hasty(nats_url: str, database_url: str, tmp_path: Path) -> AsyncIterator[App]:
    """Muster whose site-file parses have 0.3 s: a large roster overruns it."""
    settings = Settings(nats_url=nats_url, database_url=database_url, http_port=0,
                        data_dir=str(tmp_path / "data"), rate_per_token=0, rate_per_address=0,
                        rate_emergency=0, site_parse_timeout_s=0.3)
    muster = Muster(settings, components=("intake",), say=lambda _: None)
    await muster.start()
    await muster.import_site(small_site())
    yield App(muster)
    await muster.stop()


def gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] in "ZX"
    except OSError:  # gone before (ENOENT) or while (ESRCH) it was read
        return True


def large_roster(people: int) -> bytes:
    doc = {k: v for k, v in msgspec.to_builtins(small_site()).items() if v is not None}  # TOML
    doc["rooms"] = [{k: v for k, v in r.items() if v is not None} for r in doc["rooms"]]
    doc["people"] = [{"id": f"p-{i}", "name": f"Student Number {i}", "room": "B-112",
                      "guardians": [f"Guardian {i}"]} for i in range(people)]
    return msgspec.toml.encode(doc)


async def test_a_parse_past_its_time_bound_is_killed_and_its_worker_replaced(hasty: App) -> None:
    parser = hasty.muster.parser
    assert parser is not None
    await parser.ready()
    first = set(parser._pool._processes or {})
    admin = await hasty.token("admin")
    body = large_roster(25_000)  # about 2.7 MB: seconds of tomllib
    async with aiohttp.ClientSession() as http:
        async with put(http, hasty, admin, body, "application/toml") as resp:
            doc = await resp.json()
            assert resp.status == 413, doc
            assert "longer than 0.3 s" in doc["error"]["message"] and doc["error"]["field"] == "$"
        for _ in range(100):
            if all(gone(pid) for pid in first):
                break
            await asyncio.sleep(0.05)
        assert first and all(gone(pid) for pid in first), "the stuck worker still runs"
        # A fresh worker parses the next file: the stuck one held nothing.
        async with put(http, hasty, admin, large_roster(10), "application/toml") as resp:
            assert resp.status == 202, await resp.text()
    assert set(parser._pool._processes or {}).isdisjoint(first)


async def test_deep_nesting_and_dotted_keys_answer_400_naming_the_problem(app: App) -> None:
    admin = await app.token("admin")
    async with aiohttp.ClientSession() as http:
        for body, kind in HOSTILE:
            async with put(http, app, admin, body, kind) as resp:
                doc = await resp.json()
                assert resp.status == 400, doc
                assert doc["error"] == {"code": "invalid", "field": "$",
                                        "message": "the site file nests deeper than 32 levels"}
        keys = b'id = "test-high"\nname = "x"\n' + b"".join(b"k%d = 1\n" % i
                                                            for i in range(200_001))
        async with put(http, app, admin, keys, "application/toml") as resp:
            doc = await resp.json()
            assert resp.status == 413 and "more than 200000 keys" in doc["error"]["message"]
    assert await app.log.last_seq() == 1  # the fixture's site file alone


async def test_a_flood_of_imports_is_refused_not_held_in_memory(hasty: App) -> None:
    admin = await hasty.token("admin")
    body = large_roster(25_000)  # 2.7 MB each, seconds of tomllib: over the 0.3 s bound

    async def imported(http: aiohttp.ClientSession) -> tuple[int, str | None, dict]:
        async with put(http, hasty, admin, body, "application/toml") as resp:
            return resp.status, resp.headers.get("Retry-After"), await resp.json()

    async with aiohttp.ClientSession() as http:
        answers = await asyncio.gather(*(imported(http) for _ in range(10)))
    refused = [a for a in answers if a[0] == 429]
    # At most 4 are read and queued for the worker at once; the others are refused unread.
    assert 1 <= len(refused) <= 6, answers
    assert all(retry == "1" and doc["error"]["code"] == "rate_limited"
               for _, retry, doc in refused), refused
    assert all(status == 413 for status, _, _ in answers if status != 429), answers

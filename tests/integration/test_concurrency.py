"""Two intake processes on one stream: conflicting commands never break an incident's rules."""

import asyncio
import itertools
import os
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from command.domain import commands as c
from command.domain import events as e
from command.infra import auth, db
from command.infra.embedded import free_port
from command.infra.eventlog import EventLog
from command.write.intake import Intake
from tests.conftest import small_site


def start_intake(nats_url: str, database_url: str, data_dir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "MUSTER_NATS_URL": nats_url, "MUSTER_DATABASE_URL": database_url}
    proc = subprocess.Popen(
        [sys.executable, "-m", "command.bootstrap.cli", "serve", "--components", "intake",
         "--port", str(port), "--data-dir", str(data_dir)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return proc, f"http://127.0.0.1:{port}"


@pytest.fixture
def intakes(nats_url: str, database_url: str, tmp_path: Path,
            eventlog: EventLog) -> Iterator[list[str]]:
    procs = [start_intake(nats_url, database_url, tmp_path / f"i{i}") for i in range(2)]
    yield [url for _, url in procs]
    for proc, _ in procs:
        proc.terminate()
        proc.wait(timeout=15)


async def wait_ready(urls: list[str]) -> None:
    async with aiohttp.ClientSession() as http:
        for url in urls:
            for _ in range(300):
                try:
                    async with http.get(url + "/readyz") as resp:
                        if resp.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)
            else:
                raise AssertionError(f"{url} never became ready")


@pytest.fixture
async def tokens(database_url: str) -> AsyncIterator[dict[str, str]]:
    pool = await asyncpg.create_pool(database_url)
    await db.migrate(pool)
    made = {role: (await auth.create(pool, role, "test-high"))[0]
            for role in ("device", "staff", "commander")}
    yield made
    await pool.close()


async def fire(http: aiohttp.ClientSession, url: str, token: str, body: dict) -> int:
    async with http.post(url, json=body, headers={"Authorization": f"Bearer {token}"}) as resp:
        await resp.read()
        return resp.status


async def test_two_intakes_never_break_the_rules(
        intakes: list[str], tokens: dict[str, str], eventlog: EventLog) -> None:
    setup = Intake(eventlog)
    await setup.start()
    await setup.execute("test-high", c.ConfigureSite(site=small_site()), e.SYSTEM)
    await setup.stop()
    await wait_ready(intakes)
    async with aiohttp.ClientSession() as http:
        presses = [fire(http, f"{intakes[i % 2]}/v1/sites/test-high/alerts", tokens["device"],
                        {"kind": kind, "room": "B-112"})
                   for i, kind in enumerate(["hold", "secure", "lockdown", "hold"] * 10)]
        assert set(await asyncio.gather(*presses)) == {202}
        events = [ev async for _, ev in eventlog.read(1)]
        opened = [ev for ev in events if isinstance(ev, e.IncidentOpened)]
        assert len(opened) == 1, "concurrent presses at one site open exactly one incident"
        inc = opened[0].incident_id
        declared = [ev.data.action for ev in events if isinstance(ev, e.ProtocolDeclared)]
        severity = {"hold": 1, "secure": 2, "lockdown": 3}
        assert declared[-1] == "lockdown"
        assert all(severity[a] < severity[b] for a, b in itertools.pairwise(declared))

        base = f"/v1/incidents/{inc}"
        staff, commander = tokens["staff"], tokens["commander"]
        assert await fire(http, intakes[0] + base + "/reunification/checkin", staff,
                          {"person_id": "s-1"}) == 202
        checks = await asyncio.gather(*[
            fire(http, intakes[i % 2] + base + "/reunification/guardians", staff,
                 {"guardian": "Anne Byron", "id_verified": True, "students": ["s-1"]})
            for i in range(4)])
        assert set(checks) == {202}
        everyone = [{"person_id": p.id, "status": "accounted"} for p in small_site("x").people]
        assert await fire(http, intakes[1] + base + "/accountability", staff,
                          {"entries": everyone}) == 202
        releases = await asyncio.gather(*[
            fire(http, intakes[i % 2] + base + "/reunification/release", staff,
                 {"person_id": "s-1", "guardian": "Anne Byron", "student_consents": True})
            for i in range(10)])
        assert Counter(releases) == Counter({202: 1, 409: 9})
        clears = await asyncio.gather(*[
            fire(http, intakes[i % 2] + base + "/all-clear", commander, {}) for i in range(6)])
        assert Counter(clears) == Counter({202: 1, 409: 5})
        closes = await asyncio.gather(*[
            fire(http, intakes[i % 2] + base + "/close", commander, {}) for i in range(6)])
        assert Counter(closes) == Counter({202: 1, 409: 5})
        late = await fire(http, intakes[1] + base + "/notes", staff, {"text": "too late"})
        assert late == 409

    events = [ev async for _, ev in eventlog.read(1)]
    assert sum(isinstance(ev, e.StudentReleased) for ev in events) == 1
    assert sum(isinstance(ev, e.ProtocolLifted) for ev in events) == 1
    assert sum(isinstance(ev, e.IncidentClosed) for ev in events) == 1
    closed_at = next(i for i, ev in enumerate(events) if isinstance(ev, e.IncidentClosed))
    assert not [ev for ev in events[closed_at + 1:] if ev.incident_id == inc]

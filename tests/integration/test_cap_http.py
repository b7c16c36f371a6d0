"""`GET /v1/sites/{site}/cap` end to end: events written by a real intake to real NATS, folded
by a real gateway, served over HTTP with tokens from PostgreSQL; every 200 validates as CAP 1.2."""

import asyncio
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from command.domain import commands as c
from command.domain import events as e
from command.infra import auth, db
from command.infra.eventlog import EventLog
from command.infra.web import make_app
from command.write.intake import Intake
from consumers import cap_feed
from consumers.gateway import Gateway
from tests.command.domain.test_cap import schema
from tests.conftest import small_site

SITE = "test-high"
DEVICE = e.Actor(kind="device", id="button-b112", role="device")
COMMANDER = e.Actor(kind="user", id="principal", role="commander")


class Stack:
    """Intake, gateway and the CAP route over one stream, with a token per role."""

    def __init__(self, intake: Intake, gateway: Gateway, client: TestClient,
                 tokens: dict[str, str]) -> None:
        self.intake = intake
        self.gateway = gateway
        self.client = client
        self.tokens = tokens

    async def write(self, site: str, cmd: c.Command, actor: e.Actor,
                    incident_id: str | None = None) -> str | None:
        """Append through intake, then wait until the gateway has folded that sequence."""
        accepted, _ = await self.intake.execute(site, cmd, actor, incident_id=incident_id,
                                                commander=actor.role == "commander")
        deadline = asyncio.get_running_loop().time() + 10
        while self.gateway.applied < accepted.seq:
            assert asyncio.get_running_loop().time() < deadline, "gateway never caught up"
            await asyncio.sleep(0.01)
        return accepted.incident_id

    async def get(self, site: str = SITE, role: str | None = "responder",
                  ) -> tuple[int, str, Any]:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        async with self.client.get(f"/v1/sites/{site}/cap", headers=headers) as resp:
            return resp.status, resp.headers.get("Content-Type", ""), await resp.text()


@pytest.fixture
async def stack(eventlog: EventLog, database_url: str) -> AsyncIterator[Stack]:
    pool = await db.connect(database_url)
    await db.migrate(pool)
    tokens = {role: (await auth.create(pool, role, SITE))[0]
              for role in ("device", "staff", "responder", "commander", "dispatch")}
    tokens["elsewhere"] = (await auth.create(pool, "responder", "other-high"))[0]
    tokens["everywhere"] = (await auth.create(pool, "dispatch", "*"))[0]
    store = auth.TokenStore(pool)
    await store.start()
    intake = Intake(eventlog)
    await intake.start()
    gateway = Gateway(eventlog, pool)
    await gateway.start()
    client = TestClient(TestServer(make_app(cap_feed.cap_routes(gateway, store))))
    await client.start_server()
    stack = Stack(intake, gateway, client, tokens)
    await stack.write(SITE, c.ConfigureSite(site=small_site(SITE)), e.SYSTEM)
    yield stack
    await client.close()
    await gateway.stop()
    await intake.stop()
    await store.stop()
    await pool.close()


def parse(body: str) -> dict[str, str]:
    schema().validate(body)
    return {el.tag.split("}")[1]: el.text or "" for el in ET.fromstring(body).iter()
            if len(el) == 0}


async def test_a_lockdown_then_its_all_clear_as_cap(stack: Stack) -> None:
    incident = await stack.write(SITE, c.RaiseAlert(kind="lockdown", room="B-112"), DEVICE)
    status, content_type, body = await stack.get()
    assert status == 200, body
    assert content_type == "application/cap+xml; charset=utf-8"
    first = parse(body)
    assert (first["msgType"], first["status"], first["severity"]) == ("Alert", "Actual",
                                                                      "Extreme")
    assert first["identifier"] == f"muster:{SITE}:{incident}:0"
    assert first["sent"].endswith("-00:00")  # small_site() keeps the default UTC timezone
    assert first["headline"] == "Lockdown at Test High"

    await stack.write(SITE, c.AllClear(), COMMANDER, incident_id=incident)
    for role in ("staff", "commander", "dispatch"):
        status, _, body = await stack.get(role=role)
        assert status == 200, (role, body)
        update = parse(body)
        assert (update["msgType"], update["responseType"]) == ("Update", "AllClear")
        assert update["references"] == f"muster,{first['identifier']},{first['sent']}"


async def test_readers_only_at_their_site_and_only_where_an_alert_exists(stack: Stack) -> None:
    await stack.write(SITE, c.RaiseAlert(kind="secure", room="GYM"), DEVICE)
    await stack.write("quiet-high", c.ConfigureSite(site=small_site("quiet-high")), e.SYSTEM)
    cases = [
        (SITE, None, 401, "unauthorized"),
        (SITE, "device", 403, "forbidden"),
        (SITE, "elsewhere", 403, "forbidden"),
        ("nowhere-high", "everywhere", 404, "not_found"),
        ("quiet-high", "everywhere", 404, "not_found"),
    ]
    for site, role, want, code in cases:
        status, content_type, body = await stack.get(site, role)
        assert (status, content_type) == (want, "application/json"), body
        assert f'"code":"{code}"' in body
    status, _, body = await stack.get(SITE, "everywhere")
    assert status == 200 and parse(body)["severity"] == "Moderate"

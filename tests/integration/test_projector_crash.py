"""The projector's exactly-once effect under crashes, and `muster rebuild`, as real processes.

A few thousand events go into a real JetStream stream first; then `muster serve --components
projector` is SIGKILLed mid-backlog again and again and restarted. Whatever it ends with must
equal, row by row, a fold of the whole stream from sequence 1 into a fresh database.
"""

import asyncio
import os
import shutil
import signal
import sys
import time
from asyncio.subprocess import Process
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
from nats.js.errors import NotFoundError

from command.domain import commands as c
from command.domain import events as e
from command.infra import db
from command.infra.eventlog import EventLog
from command.write.answers import Accepted
from command.write.intake import Intake
from consumers.projection_batch import load_states
from consumers.projector import NAME, Projector, rebuild
from tests.conftest import small_site

SITES = ("north-high", "south-high", "east-high")
ROOMS = ("A-101", "A-102", "B-112", "GYM")
KINDS = ("medical", "lockdown", "fire", "weather", "police_activity", "hold")
STATUSES = ("secured", "clear", "needs_help", "evacuated", "unreachable")
STAFF = e.Actor(kind="user", id="staff-1", role="staff")
COMMANDER = e.Actor(kind="user", id="cmdr-1", role="commander")
# Primary keys order each read model so two databases compare row by row.
TABLES = {"projection_position": "name", "sites": "site", "site_versions": "site, seq",
          "boards": "site", "incidents": "id",
          "rooms": "incident_id, room", "timeline": "seq"}
# updated_at is wall time; state is compared as a value (see snapshot), its render as text.
IGNORED = {("boards", "updated_at"), ("boards", "state")}


def muster_bin() -> str:
    return shutil.which("muster") or str(Path(sys.executable).parent / "muster")


async def incident(intake: Intake, site: str, i: int, last: bool) -> None:
    """One incident's life: presses, room reports, acks, reunification, then an end."""

    async def run(cmd: c.Command, actor: e.Actor = STAFF, **kw: Any) -> Accepted:
        return (await intake.execute(site, cmd, actor, **kw))[0]

    drill = i % 7 == 3
    first = await run(c.RaiseAlert(kind=KINDS[i % len(KINDS)], room=ROOMS[i % 4], drill=drill))
    iid = first.incident_id
    await run(c.RaiseAlert(kind="armed_intruder", room=ROOMS[(i + 1) % 4], drill=drill))
    for j, room in enumerate(ROOMS):
        report = c.ReportRoomStatus(
            status=STATUSES[(i + j) % len(STATUSES)], present=(i + j) % 4,
            missing=["s-2"] if room == "B-112" and i % 2 else [],
            injured=["s-5"] if room == "A-102" and i % 4 == 1 else [],
            extra=["s-4"] if room == "GYM" and i % 6 == 2 else [])
        await run(report, incident_id=iid, room=room)
    await run(c.Acknowledge(responder="Officer Reyes"), incident_id=iid)
    await run(c.AddNote(text=f"note {i} from {site}"), incident_id=iid)
    await run(c.AccountPersons(entries=[e.AccountingEntry(person_id="s-3", status="absent")]),
              incident_id=iid)
    if i % 3 == 0:
        await run(c.CheckIn(person_id="s-1", area="Field"), incident_id=iid)
        await run(c.CheckGuardian(guardian="Anne Byron", id_verified=True, students=["s-1"]),
                  incident_id=iid)
        await run(c.OpenReunification(reason="families waiting"), COMMANDER, incident_id=iid,
                  commander=True)
        await run(c.Release(person_id="s-1", guardian="Anne Byron", student_consents=True),
                  incident_id=iid)
    if last:
        return  # left open, so the boards end with a case on them
    if i % 5 == 4:
        await run(c.Cancel(reason="false alarm"), COMMANDER, incident_id=iid, commander=True)
        return
    await run(c.AllClear(), COMMANDER, incident_id=iid)
    await run(c.Close(summary=f"incident {i} closed"), COMMANDER, incident_id=iid)


async def fill(log: EventLog, incidents_per_site: int) -> int:
    """Write the sites and their incidents through a real in-process intake; the last seq."""
    intake = Intake(log)
    await intake.start()

    async def one_site(site: str) -> None:
        await intake.execute(site, c.ConfigureSite(site=small_site(site)), e.SYSTEM)
        for i in range(incidents_per_site):
            await incident(intake, site, i, last=i == incidents_per_site - 1)

    try:
        await asyncio.gather(*(one_site(s) for s in SITES))  # sites append side by side
    finally:
        await intake.stop()
    return await log.last_seq()


async def snapshot(conn: asyncpg.Connection | asyncpg.Pool) -> dict[str, list[Any]]:
    """Every read-model row, ordered by primary key, without the wall-time column. A board's
    stored state is compared as the value the projector loads: the order of its people map
    follows set iteration in board.py, which differs from process to process."""
    tables: dict[str, list[Any]] = {}
    for table, key in TABLES.items():
        rows = await conn.fetch(f"SELECT * FROM {table} ORDER BY {key}")
        tables[table] = [{k: v for k, v in r.items() if (table, k) not in IGNORED} for r in rows]
    tables["board states"] = sorted((await load_states(conn)).items())
    return tables


def assert_same(got: dict[str, list[Any]], want: dict[str, list[Any]]) -> None:
    assert got.keys() == want.keys()
    for table in got:
        assert len(got[table]) == len(want[table]), f"{table}: row counts differ"
        for i, (a, b) in enumerate(zip(got[table], want[table], strict=True)):
            assert a == b, f"{table} row {i} differs"


async def timeline_seqs(log: EventLog, end: int) -> list[int]:
    """The sequences the timeline must hold: every event that belongs to an incident."""
    return [seq async for seq, ev in log.read(1, end) if ev.incident_id]


def tail(logfile: Path) -> str:
    return logfile.read_text(errors="replace")[-3000:]


async def wait_for(check: Callable[[], Awaitable[bool]], timeout: float, what: str,
                   proc: Process | None = None, logfile: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if proc is not None and proc.returncode is not None:
            log = tail(logfile) if logfile else ""
            raise AssertionError(f"projector exited with {proc.returncode} before {what}\n{log}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


async def start(cmd: list[str], env: dict[str, str], logfile: Path) -> Process:
    with logfile.open("wb") as out:
        return await asyncio.create_subprocess_exec(*cmd, env=env, stdout=out,
                                                    stderr=asyncio.subprocess.STDOUT)


def muster_env(nats_url: str, database_url: str, tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "MUSTER_NATS_URL": nats_url, "MUSTER_DATABASE_URL": database_url,
            "MUSTER_DATA_DIR": str(tmp_path / "data")}


async def test_sigkill_mid_backlog_ends_as_a_fold_from_scratch(
        eventlog: EventLog, nats_url: str, database_url: str, second_database: str,
        tmp_path: Path) -> None:
    last = await fill(eventlog, incidents_per_site=85)
    assert last > 3000
    env = muster_env(nats_url, database_url, tmp_path)
    cmd = [muster_bin(), "serve", "--components", "projector", "--port", "0"]
    conn = await asyncpg.connect(database_url)

    async def position() -> int:
        try:
            seq = await conn.fetchval(f"SELECT seq FROM projection_position WHERE name='{NAME}'")
        except asyncpg.UndefinedTableError:
            return 0  # the first process has not migrated yet
        return int(seq or 0)

    async def delivered() -> int:
        """The last stream sequence the projector's durable consumer handed out."""
        try:
            info = await eventlog.js.consumer_info(eventlog.stream, NAME)
        except NotFoundError:
            return 0  # a new process is between deleting and adding it
        return info.delivered.stream_seq or 0

    killed_at: list[int] = []
    in_flight: list[int] = []  # events each dead process had fetched past its commit
    try:
        for threshold in (0, last // 4, last // 2, 3 * last // 4):
            logfile = tmp_path / f"projector-{len(killed_at)}.log"
            proc = await start(cmd, env, logfile)
            try:
                async def mid_batch(threshold: int = threshold) -> bool:
                    pos = await position()
                    return pos > threshold and await delivered() > pos
                await wait_for(mid_batch, 30, f"a batch past {threshold}", proc, logfile)
            finally:
                if proc.returncode is None:
                    proc.send_signal(signal.SIGKILL)  # no shutdown code runs: a crash
                await proc.wait()
            pos = await position()  # what the dead process committed
            assert max(threshold, *killed_at, 0) < pos < last, (threshold, pos, last)
            killed_at.append(pos)
            in_flight.append(await delivered() - pos)
        logfile = tmp_path / "projector-final.log"
        proc = await start(cmd, env, logfile)
        try:
            async def done() -> bool:  # the stored states too, written once the stream is quiet
                return await position() == last == await conn.fetchval(
                    "SELECT seq FROM projection_position WHERE name=$1", f"{NAME}.states")
            await wait_for(done, 30, f"position {last}", proc, logfile)
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(proc.wait(), 15) == 0, tail(logfile)
        assert len(set(killed_at)) == len(killed_at) == 4
        assert all(n > 0 for n in in_flight), in_flight  # each died inside a batch
        crashed = await snapshot(conn)
    finally:
        await conn.close()

    pool = await db.connect(second_database)
    try:
        await db.migrate(pool)
        assert await rebuild(eventlog, pool, lambda done, total: None) == last
        folded = await snapshot(pool)
    finally:
        await pool.close()
    assert folded["projection_position"] == [{"name": NAME, "seq": last},
                                             {"name": f"{NAME}.states", "seq": last}]
    assert [r["seq"] for r in crashed["timeline"]] == await timeline_seqs(eventlog, last)
    assert {r["site"] for r in crashed["boards"]} == set(SITES)
    assert len(crashed["incidents"]) == 85 * len(SITES)
    assert_same(crashed, folded)


async def test_muster_rebuild_cli_restores_the_read_models(
        eventlog: EventLog, nats_url: str, database_url: str, tmp_path: Path) -> None:
    last = await fill(eventlog, incidents_per_site=8)
    pool = await db.connect(database_url)
    try:
        await db.migrate(pool)
        task = asyncio.create_task(Projector(eventlog, pool).run())
        try:
            async def projected() -> bool:
                seq = await pool.fetchval("SELECT seq FROM projection_position")
                return seq == last
            await wait_for(projected, 30, f"position {last}")
            before = await snapshot(pool)
            # Refused while that projector runs: dropping its tables under it would mix a
            # rebuild's rows with its own.
            proc = await asyncio.create_subprocess_exec(
                muster_bin(), "rebuild", env=muster_env(nats_url, database_url, tmp_path),
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            out, err = await asyncio.wait_for(proc.communicate(), 60)
            assert proc.returncode == 1, (out, err)
            assert "a projector is writing the read models" in err.decode(), err.decode()
            assert_same(await snapshot(pool), before)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        # Damage the read models, so only a real drop and fold from seq 1 can restore them.
        await pool.execute("DELETE FROM timeline WHERE seq % 2 = 0")
        await pool.execute("UPDATE boards SET seq = 0, board = '{}'")
        await pool.execute("DELETE FROM incidents")
        proc = await asyncio.create_subprocess_exec(
            muster_bin(), "rebuild", env=muster_env(nats_url, database_url, tmp_path),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 0, err.decode()
        text = out.decode()
        bar = f"\r[{'#' * 40}] {last}/{last}"
        assert f"\r[{'.' * 40}] 0/{last}" in text and bar in text, text
        assert text.rstrip().endswith(f"rebuilt the read models up to seq {last}"), text
        assert_same(await snapshot(pool), before)
    finally:
        await pool.close()


async def test_a_second_projector_waits_for_the_first(
        eventlog: EventLog, database_url: str) -> None:
    """Two projectors on one database would fold the same durable consumer's messages in turns
    and each write boards missing the other's events; the second stands by instead."""
    last = await fill(eventlog, incidents_per_site=1)
    pool = await db.connect(database_url)
    try:
        await db.migrate(pool)
        first = asyncio.create_task(Projector(eventlog, pool).run())
        await wait_for(lambda: position_of(pool, last), 30, f"position {last}")
        commits: list[int] = []
        standby = Projector(eventlog, pool, on_commit=commits.append)
        second = asyncio.create_task(standby.run())
        await asyncio.sleep(1.0)
        assert standby.position == 0 and commits == []  # waiting for the lock, not folding
        first.cancel()
        await asyncio.gather(first, return_exceptions=True)
        intake = Intake(eventlog)
        await intake.start()
        try:
            await intake.execute("late-high", c.ConfigureSite(site=small_site("late-high")),
                                 e.SYSTEM)
        finally:
            await intake.stop()
        more = await eventlog.last_seq()
        await wait_for(lambda: position_of(pool, more), 30, f"position {more}")
        assert commits and commits[-1] == more  # took over once the first was gone
        second.cancel()
        await asyncio.gather(second, return_exceptions=True)
    finally:
        await pool.close()


async def position_of(pool: asyncpg.Pool, seq: int, name: str = NAME) -> bool:
    return await pool.fetchval("SELECT seq FROM projection_position WHERE name=$1", name) == seq


async def test_a_projector_that_lost_its_lock_unawares_leaves_the_read_models_right(
        eventlog: EventLog, database_url: str, second_database: str) -> None:
    """The lock's connection alone dies (an idle timeout, an admin's pg_terminate_backend)
    while PostgreSQL stays up: a standby takes the lock while the first runs on unawares.
    Whatever the first meets next (no delivery, one out of order since the standby re-created
    the consumer, or a batch onto states the rows moved past: StaleStates, pinned in
    test_projector), what they end with is a fold from 1."""
    last = await fill(eventlog, incidents_per_site=1)
    pool = await db.connect(database_url)
    tasks: list[asyncio.Task[None]] = []
    held = "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
    try:
        await db.migrate(pool)
        tasks.append(asyncio.create_task(Projector(eventlog, pool).run()))
        await wait_for(lambda: position_of(pool, last), 30, f"position {last}")
        tasks.append(asyncio.create_task(Projector(eventlog, pool).run()))
        first = await pool.fetchval(held)
        assert await pool.fetchval("SELECT pg_terminate_backend($1)", first)

        async def taken() -> bool:
            return await pool.fetchval(held) not in (None, first)

        await wait_for(taken, 10, "the standby to take the lock")
        intake = Intake(eventlog)
        await intake.start()
        try:  # events after the takeover, for both projectors to meet
            await intake.execute("late-high", c.ConfigureSite(site=small_site("late-high")),
                                 e.SYSTEM)
            for i in range(6):
                await incident(intake, "late-high", i, last=i == 5)
        finally:
            await intake.stop()
        more = await eventlog.last_seq()
        await wait_for(lambda: position_of(pool, more, f"{NAME}.states"), 30, f"states at {more}")
        fresh = await db.connect(second_database)
        try:
            await db.migrate(fresh)
            assert await rebuild(eventlog, fresh, lambda done, total: None) == more
            assert_same(await snapshot(pool), await snapshot(fresh))
        finally:
            await fresh.close()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await pool.close()

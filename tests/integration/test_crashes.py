"""Durability under crashes and outages, against real `muster serve` processes, NATS and
PostgreSQL: kill -9 mid-load, each consumer killed and restarted mid-stream, NATS away for 10 s,
PostgreSQL away for 10 s. Whatever happens, every command answered 202 is in the stream exactly
once, and the read models end equal to a fold of the stream from sequence 1."""

import asyncio
import signal
import time
from collections import Counter
from pathlib import Path

from command.domain import events as e
from command.infra import db
from command.infra.embedded import EmbeddedNats, EmbeddedPostgres
from command.infra.eventlog import EventLog
from tests.conftest import Sink
from tests.integration.crash_helpers import (
    SITES,
    BoardClient,
    Load,
    Service,
    assert_accepted_once,
    assert_boards_match_fresh,
    assert_read_models_equal_rebuild,
    board_clients,
    muster_env,
    poll,
    positions,
    prepare,
    services,
    settle,
    stream_events,
)

ALL = "intake,projector,boards,notifier"


def assert_each_press_notified(events: list[tuple[int, e.Event]], sink: Sink) -> None:
    """Every press reached its site's channel at least once and at most twice, and its
    NotificationSent is recorded once, whatever crashed mid-send."""
    for site in SITES:
        presses = {ev.id for _, ev in events if isinstance(ev, e.AlertRaised) and ev.site == site}
        sent = Counter(ev.data.event_id for _, ev in events
                       if isinstance(ev, e.NotificationSent) and ev.site == site)
        assert set(sent) == presses and set(sent.values()) == {1}
        posts = len(sink.to(f"{site}/sro"))
        assert len(presses) <= posts <= 2 * len(presses), (site, len(presses), posts)


# --- 1. kill -9 the whole service mid-load ---------------------------------------------------


async def test_kill_9_mid_load_keeps_every_202_once_and_projects_as_a_rebuild(
        eventlog: EventLog, nats_url: str, database_url: str, second_database: str,
        sink: Sink, tmp_path: Path) -> None:
    tokens = await prepare(eventlog, database_url, sink.url)
    service = Service("all", ALL, muster_env(nats_url, database_url), tmp_path)
    pool = await db.connect(database_url)
    duplicates = 0
    try:
        async with services(service), Load(service.url, tokens, {}) as load:
            await service.start()
            await load.open_incidents()
            async with board_clients(service.url, tokens) as clients:
                for _ in range(2):
                    load.start(workers=8, stop_on_failure=True)
                    await load.accepted_at_least(150)
                    await service.kill()
                    await load.stop()
                    # every worker was mid-request when the process died
                    lost = load.unanswered()
                    assert len(lost) == 8 and {c.status for c in lost} == {None}
                    await service.start()
                    duplicates += await load.retry_unanswered()
                await load.resend_some_answered(20)
                last = await settle(eventlog, pool, ("projector", "notifier"))
                await assert_boards_match_fresh(service.url, tokens, clients, eventlog)
            assert await service.stop() == 0, service.log_text()
        events = await stream_events(eventlog)
        assert events[-1][0] == last
        assert_accepted_once(load.calls, events)
        assert_each_press_notified(events, sink)
        await assert_read_models_equal_rebuild(eventlog, pool, second_database, last)
    finally:
        await pool.close()
    print(f"{len(load.calls)} commands, {last} events; {duplicates} of the 16 cut off by kill -9 "
          "were already in the stream")


# --- 2. kill -9 each consumer mid-stream, as its own process ---------------------------------


async def test_kill_9_each_consumer_mid_stream_and_boards_resume_with_since(
        eventlog: EventLog, nats_url: str, database_url: str, second_database: str,
        sink: Sink, tmp_path: Path) -> None:
    tokens = await prepare(eventlog, database_url, sink.url)
    env = muster_env(nats_url, database_url)
    intake, projector, notifier, boards = (Service(name, name, env, tmp_path) for name in (
        "intake", "projector", "notifier", "boards"))
    pool = await db.connect(database_url)
    restarts: dict[str, float] = {}
    try:
        async with services(intake, projector, notifier, boards), \
                Load(intake.url, tokens, {}) as load:
            await asyncio.gather(*(s.start() for s in (intake, projector, notifier, boards)))
            await load.open_incidents()
            async with board_clients(boards.url, tokens, per_site=2) as clients:
                load.start(workers=6, pace=0.05)
                for victim in (projector, notifier, boards):
                    await load.accepted_at_least(60)
                    await victim.kill()
                    await load.accepted_at_least(30)  # the stream moves on while it is dead
                    restarts[victim.name] = await victim.start()
                await load.accepted_at_least(60)
                await load.stop()
                assert not load.unanswered()  # intake itself never went away
                last = await settle(eventlog, pool, ("projector", "notifier"))
                await assert_boards_match_fresh(boards.url, tokens, clients, eventlog)
                assert all(client.connects >= 2 for client in clients)  # each one resumed
            for service in (intake, projector, notifier, boards):
                assert await service.stop() == 0, service.log_text()
        events = await stream_events(eventlog)
        assert events[-1][0] == last
        assert_accepted_once(load.calls, events)
        assert_each_press_notified(events, sink)
        await assert_read_models_equal_rebuild(eventlog, pool, second_database, last)
    finally:
        await pool.close()
    print(f"{len(load.calls)} commands, {last} events; restarts took "
          + ", ".join(f"{name} {s:.1f} s" for name, s in restarts.items())
          + f"; board clients resumed {sum(c.connects - 1 for c in clients)} times, "
          f"{sum(len(c.snapshots) for c in clients)} snapshots in all")


# --- 3. NATS away for 10 s -------------------------------------------------------------------


def attempts(load: Load) -> list[tuple[float, float, int | None]]:
    return sorted(a for call in load.calls for a in call.attempts)


async def test_nats_away_for_10s_answers_503_at_once_and_everything_resumes(
        nats_server: EmbeddedNats, eventlog: EventLog, database_url: str, second_database: str,
        sink: Sink, tmp_path: Path) -> None:
    tokens = await prepare(eventlog, database_url, sink.url)
    service = Service("all", ALL, muster_env(nats_server.url, database_url), tmp_path)
    loop = asyncio.get_running_loop()
    pool = await db.connect(database_url)
    try:
        async with services(service), Load(service.url, tokens, {}) as load:
            await service.start()
            await load.open_incidents()
            async with board_clients(service.url, tokens) as clients:
                load.start(workers=6, pace=0.05, pause=0.2)
                await load.accepted_at_least(100)
                # stop() then start(): the same port and store dir, so the same URL and data
                await loop.run_in_executor(None, nats_server.stop)
                down = time.monotonic()
                await asyncio.sleep(10)  # the outage itself, not a wait for a condition
                await loop.run_in_executor(None, nats_server.start)
                up = time.monotonic()

                probe = load.press(SITES[0], 1)

                async def accepted() -> bool:
                    return await load.send(probe, timeout=3) == 202

                await poll(accepted, 5, "a press to be accepted after NATS is back", every=0.05)
                seq = probe.answers[-1]["seq"]
                board = next(c for c in clients if c.site == SITES[0])

                async def on_board() -> bool:
                    return board.seq >= seq

                async def projected() -> bool:
                    return (await positions(pool)).get("projector", 0) >= seq

                await poll(on_board, up + 5 - time.monotonic(), "the press on the live board")
                on_board_s = time.monotonic() - up
                await poll(projected, up + 5 - time.monotonic(), "the press in the projection")
                projected_s = time.monotonic() - up
                await load.accepted_at_least(60)
                await load.stop()

                tried = attempts(load)
                during = [status for start, _, status in tried if down < start < up]
                assert during and set(during) == {503}, Counter(during)
                slowest = max(end - start for start, end, _ in tried)
                assert slowest < 2.5, f"an answer took {slowest:.2f} s"
                refused = len(load.unanswered())
                written = await load.retry_unanswered()
                last = await settle(eventlog, pool, ("projector", "notifier"))
                await assert_boards_match_fresh(service.url, tokens, clients, eventlog)
            assert await service.stop() == 0, service.log_text()
        events = await stream_events(eventlog)
        assert events[-1][0] == last
        assert_accepted_once(load.calls, events)
        assert_each_press_notified(events, sink)
        await assert_read_models_equal_rebuild(eventlog, pool, second_database, last)
    finally:
        await pool.close()
    print(f"{len(during)} answers while NATS was away, all 503, slowest answer {slowest:.2f} s; "
          f"after it returned: press on the board in {on_board_s:.2f} s, projected in "
          f"{projected_s:.2f} s; {refused} refused commands retried, {written} already written")


# --- 4. PostgreSQL away for 10 s -------------------------------------------------------------


async def test_postgres_away_for_10s_intake_and_boards_carry_on_and_projections_catch_up(
        eventlog: EventLog, nats_url: str, second_database: str, sink: Sink,
        tmp_path: Path) -> None:
    # A server of its own, stopped and started again on the same data dir (the same socket)
    pg = EmbeddedPostgres(tmp_path / "pg" / "data")
    loop = asyncio.get_running_loop()
    database_url = await loop.run_in_executor(None, pg.start)
    try:
        tokens = await prepare(eventlog, database_url, sink.url)
        service = Service("all", ALL, muster_env(nats_url, database_url), tmp_path)
        async with services(service), Load(service.url, tokens, {}) as load:
            await service.start()
            await load.open_incidents()
            async with board_clients(service.url, tokens) as clients:
                load.start(workers=6, pace=0.05, pause=0.2)
                await load.accepted_at_least(100)
                await loop.run_in_executor(None, pg.stop)
                down = time.monotonic()
                await load.accepted_at_least(100, timeout=9)  # tokens come from the cache
                # every board shows each site's latest 202 while the database is still away
                for client in clients:
                    newest = max(a["seq"] for call in load.calls if call.site == client.site
                                 for a in call.answers)

                    async def shown(client: BoardClient = client, seq: int = newest) -> bool:
                        return client.seq >= seq

                    await poll(shown, 2, f"the {client.site} board to show seq {newest}")
                    assert any(t > down for t, _ in client.updates)
                await asyncio.sleep(max(0.0, down + 10 - time.monotonic()))  # the outage
                during = [status for start, _, status in attempts(load) if start > down]
                await loop.run_in_executor(None, pg.start)
                up = time.monotonic()
                await load.accepted_at_least(60)
                await load.stop()
                assert during and set(during) == {202}, Counter(during)
                assert not load.unanswered()
                pool = await db.connect(database_url)
                try:
                    last = await settle(eventlog, pool, ("projector", "notifier"))
                    caught_up_s = time.monotonic() - up
                    await assert_boards_match_fresh(service.url, tokens, clients, eventlog)
                    assert await service.stop() == 0, service.log_text()
                    events = await stream_events(eventlog)
                    assert events[-1][0] == last
                    assert_accepted_once(load.calls, events)
                    assert_each_press_notified(events, sink)
                    await assert_read_models_equal_rebuild(eventlog, pool, second_database, last)
                finally:
                    await pool.close()
    finally:
        await loop.run_in_executor(None, pg.stop)
    print(f"{len(during)} commands accepted while PostgreSQL was away; every consumer at the "
          f"stream's end {caught_up_s:.2f} s after it returned")


# --- 5. NATS frozen: connected, but answering nothing ----------------------------------------


async def test_nats_frozen_answers_503_within_the_timeout_however_many_wait(
        nats_server: EmbeddedNats, eventlog: EventLog, database_url: str,
        tmp_path: Path) -> None:
    """SIGSTOP keeps the connection open, so only timeouts notice: commands queued behind an
    append that is never answered get their 503 within one timeout, not one timeout each."""
    tokens = await prepare(eventlog, database_url, None)
    service = Service("intake", "intake", muster_env(nats_server.url, database_url), tmp_path)
    assert nats_server.proc is not None
    async with services(service), Load(service.url, tokens, {}) as load:
        await service.start()
        await load.open_incidents()
        load.start(workers=8, pace=0.05, pause=0.2)  # four at each site, queued on its lock
        await load.accepted_at_least(50)
        nats_server.proc.send_signal(signal.SIGSTOP)
        try:
            frozen = time.monotonic()
            await asyncio.sleep(5)  # the freeze itself
        finally:
            nats_server.proc.send_signal(signal.SIGCONT)
        await load.accepted_at_least(50)
        await load.stop()
        tried = attempts(load)
        during = [status for start, _, status in tried if frozen < start < frozen + 2.5]
        assert during and set(during) == {503}, Counter(during)
        slowest = max(end - start for start, end, _ in tried)
        assert slowest < 2.5, f"an answer took {slowest:.2f} s"
        written = await load.retry_unanswered()
    assert_accepted_once(load.calls, await stream_events(eventlog))
    print(f"{len(during)} answers in the first 2.5 s of the freeze, all 503; slowest answer "
          f"{slowest:.2f} s; {written} of the refused commands had been written after all")

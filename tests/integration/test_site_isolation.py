"""One site's bad event never stops another site (issue #14, item 2): against real NATS,
PostgreSQL and Apprise (to a local sink), a consumer that cannot apply an event of site A faults
A alone, reports it (/readyz, /metrics, the log, the operator's Apprise URL) and goes on with B;
a restart with the fault fixed folds A again from its fault."""

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import msgspec
import pytest
from prometheus_client import REGISTRY

from command.bootstrap.muster import Muster
from command.domain import alert_rules, board
from command.domain import events as e
from command.domain.site import Channel
from command.infra import auth, db
from command.infra.config import Settings
from consumers import positions, projector
from tests.conftest import Sink, small_site
from tests.integration.test_board_ws import board_ws, receive, ws_url

A, B = "a-high", "b-high"
CONSUMERS = ("gateway", "notifier", "projector")


def site_with_channel(site: str, sink: Sink) -> Any:
    return msgspec.structs.replace(small_site(site), channels=[
        Channel(name="sro", url=sink.url(f"{site}/sro"), modes=["live", "drill"])])


class Running:
    def __init__(self, muster: Muster) -> None:
        self.muster = muster
        self.tokens: dict[tuple[str, str], str] = {}

    async def token(self, role: str, site: str) -> str:
        if (role, site) not in self.tokens:
            assert self.muster.pool is not None
            self.tokens[(role, site)], _ = await auth.create(self.muster.pool, role, site)
        return self.tokens[(role, site)]

    async def http(self, method: str, path: str, token: str | None = None,
                   body: object = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with aiohttp.ClientSession() as session, session.request(
                method, self.muster.url + path, json=body, headers=headers) as resp:
            return resp.status, await resp.json()

    async def press(self, site: str, room: str = "B-112") -> int:
        status, answer = await self.http("POST", f"/v1/sites/{site}/alerts",
                                         await self.token("device", site),
                                         {"kind": "lockdown", "room": room})
        assert status == 202, answer
        return int(answer["seq"])

    async def board_row(self, site: str) -> tuple[int, dict[str, Any]]:
        assert self.muster.pool is not None
        row = await self.muster.pool.fetchrow("SELECT seq, board FROM boards WHERE site=$1",
                                              site)
        return (int(row["seq"]), msgspec.json.decode(row["board"])) if row else (0, {})


async def until(check: Callable[[], Any], what: str, timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


@pytest.fixture
def settings(nats_url: str, database_url: str, tmp_path: Path, sink: Sink) -> Settings:
    return Settings(nats_url=nats_url, database_url=database_url, http_port=0,
                    data_dir=str(tmp_path / "data"), rate_per_token=0, rate_per_address=0,
                    rate_emergency=0, send_timeout_s=1.0,
                    operator_alert_url=sink.url("operator"))


@pytest.fixture
async def running(settings: Settings, sink: Sink) -> AsyncIterator[Running]:
    muster = Muster(settings, say=lambda _: None)  # every component in this one process
    await muster.start()
    for site in (A, B):
        await muster.import_site(site_with_channel(site, sink))
    yield Running(muster)
    await muster.stop()


def faulted(ready: dict[str, Any]) -> set[tuple[str, str, int]]:
    return {(f["consumer"], f["site"], f["seq"]) for f in ready["faulted_sites"]}


def gauge(consumer: str) -> float | None:
    return REGISTRY.get_sample_value("muster_consumer_faulted_sites", {"consumer": consumer})


async def test_a_poison_event_at_one_site_stops_neither_alerts_nor_boards_at_another(
        running: Running, sink: Sink, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="muster.faults")
    log_ = running.muster.log
    assert log_ is not None
    async with board_ws(ws_url(running.muster.url, await running.token("responder", B),
                               site=B)) as ws:
        assert (await receive(ws))["type"] == "snapshot"
        # An event of A that this version cannot read (a newer writer's, or written past
        # intake): its data is not an object. Every consumer folds it, and none can.
        ack = await log_.js.publish(
            f"{log_.prefix}.{A}._site", b'{"type": "AlertRaised", "site": "a-high", '
            b'"id": "poison-1", "data": "not an object"}', headers={"Nats-Msg-Id": "poison-1"})
        poison = ack.seq
        seq = await running.press(B)
        # B's alert reaches its channel through Apprise, B's live board and read model move.
        await sink.wait_for(1, f"{B}/sro")
        assert sink.to(f"{B}/sro")[0]["title"] == "[EXTREME] LOCKDOWN — Test High"
        got = await receive(ws)
        while got["seq"] < seq:
            got = await receive(ws)
        assert got["board"]["protocol"]["action"] == "lockdown"

        async def projected() -> bool:
            return (await running.board_row(B))[0] >= seq
        await until(projected, "B's read model to reach the press")
        assert (await running.board_row(B))[1]["protocol"]["action"] == "lockdown"
    async with board_ws(ws_url(running.muster.url, await running.token("responder", B),
                               site=B)) as ws:
        snapshot = await receive(ws)
        assert snapshot["seq"] >= seq and snapshot["board"]["protocol"]["action"] == "lockdown"
    # A is reported by each consumer: /readyz (still ready), /metrics, the log, the operator.
    want = {(c, A, poison) for c in CONSUMERS}

    async def reported() -> bool:
        return faulted((await running.http("GET", "/readyz"))[1]) == want
    await until(reported, "every consumer to report A")
    status, ready = await running.http("GET", "/readyz")
    assert status == 200 and ready["ok"] is True, ready
    assert {f["event_id"] for f in ready["faulted_sites"]} == {"poison-1"}
    assert all(f["type"] == "AlertRaised" and "ValidationError" in f["error"]
               for f in ready["faulted_sites"])
    assert [gauge(c) for c in CONSUMERS] == [1.0, 1.0, 1.0]
    logged = [r for r in caplog.records if r.levelno == logging.ERROR and A in r.getMessage()]
    assert {r.getMessage().split()[0] for r in logged} == set(CONSUMERS), logged
    assert all(f"seq {poison}" in r.getMessage() and "poison-1" in r.getMessage()
               for r in logged)
    await sink.wait_for(3, "operator")
    await running.press(B, room="GYM")  # more of B, and more of A's faulted consumers' time
    await running.press(A)  # A is stopped: its consumers pass its events by, in order
    await sink.wait_for(2, f"{B}/sro")
    await asyncio.sleep(0.5)
    alerts = sink.to("operator")
    assert len(alerts) == 3, alerts  # once per fault, not once per event or retry
    assert sorted(a["title"] for a in alerts) == [
        f"[MUSTER] {c} stopped site {A}" for c in CONSUMERS]
    assert all("poison-1" in a["message"] for a in alerts)
    assert sink.to(f"{A}/sro") == []  # never through a site's own channels
    assert faulted((await running.http("GET", "/readyz"))[1]) == want


async def test_an_outbox_row_postgresql_refuses_faults_only_its_site(
        running: Running, sink: Sink) -> None:
    """A press of A, written past intake, whose incident id PostgreSQL cannot store (a NUL):
    the notifier's outbox row and the projector's timeline row fail inside their transactions,
    which are written again event by event to find A; B's alert and rows go on."""
    log_ = running.muster.log
    assert log_ is not None
    now = e.now()
    common: dict[str, Any] = {"site": A, "incident_id": "inc-\x00", "occurred_at": now,
                              "recorded_at": now}
    opened = e.IncidentOpened(id="nul-opened", **common,
                              data=e.IncidentOpenedData(kind="lockdown", room="B-112"))
    raised = e.AlertRaised(id="nul-alert", **common, data=e.AlertRaisedData(
        kind="lockdown", room="B-112", action="lockdown"))
    seqs = []
    for event in (opened, raised):
        ack = await log_.js.publish(f"{log_.prefix}.{A}._site", e.encode(event),
                                    headers={"Nats-Msg-Id": event.id})
        seqs.append(ack.seq)
    seq = await running.press(B)
    await sink.wait_for(1, f"{B}/sro")

    async def projected() -> bool:
        return (await running.board_row(B))[0] >= seq
    await until(projected, "B's read model to reach the press")
    want = {("projector", A, seqs[0]), ("notifier", A, seqs[1])}  # where each writes a NUL

    async def reported() -> bool:
        return faulted((await running.http("GET", "/readyz"))[1]) == want
    await until(reported, "the projector and the notifier to report A")
    assert all("CharacterNotInRepertoire" in f["error"] for f in
               (await running.http("GET", "/readyz"))[1]["faulted_sites"])
    await sink.wait_for(2, "operator")
    assert sink.to(f"{A}/sro") == []


async def read_models(pool: asyncpg.Pool) -> dict[str, list[dict[str, Any]]]:
    """The projector's rows, but for when they were written and the states it folds on from."""
    queries = {"sites": "SELECT * FROM sites ORDER BY site",
               "boards": "SELECT site, seq, board FROM boards ORDER BY site",
               "incidents": "SELECT * FROM incidents ORDER BY id",
               "rooms": "SELECT * FROM rooms ORDER BY incident_id, room",
               "timeline": "SELECT * FROM timeline ORDER BY seq"}
    return {t: [dict(r) for r in await pool.fetch(q)] for t, q in queries.items()}


async def test_a_restart_with_the_fault_fixed_resumes_the_site(
        settings: Settings, sink: Sink, monkeypatch: pytest.MonkeyPatch,
        second_database: str) -> None:
    """A bug in the board fold (every consumer's) raises for A's presses in the gym; with the
    bug fixed and Muster started again, A's events since are applied, in order, by each."""
    step = board.step

    def buggy(state: board.State, seq: int, event: Any) -> Any:
        if event.site == A and getattr(event.data, "room", None) == "GYM" and \
                type(event).__name__ == "AlertRaised":
            raise OverflowError("the bug")
        return step(state, seq, event)

    monkeypatch.setattr(board, "step", buggy)
    muster = Muster(settings, say=lambda _: None)
    await muster.start()
    run = Running(muster)
    try:
        for site in (A, B):
            await muster.import_site(site_with_channel(site, sink))
        await run.press(A, room="GYM")
        last = await run.press(A)  # joins the incident A's consumers stopped before

        async def stopped() -> bool:
            return {(f["consumer"], f["site"]) for f in
                    (await run.http("GET", "/readyz"))[1]["faulted_sites"]} == {
                (c, A) for c in CONSUMERS}
        await until(stopped, "every consumer to stop A")
        await run.press(B)
        await sink.wait_for(1, f"{B}/sro")
        assert sink.to(f"{A}/sro") == []
        await sink.wait_for(3, "operator")
    finally:
        await muster.stop()
    monkeypatch.setattr(board, "step", step)  # the fix, deployed
    muster = Muster(settings, say=lambda _: None)
    await muster.start()
    run = Running(muster)
    try:
        async def resumed() -> bool:
            return (await run.http("GET", "/readyz"))[1]["faulted_sites"] == [] and \
                (await run.board_row(A))[0] >= last
        await until(resumed, "A to resume")
        await sink.wait_for(1, f"{A}/sro")  # the alert it missed, late but not lost
        _, row = await run.board_row(A)
        assert row["protocol"]["action"] == "lockdown" and row["seq"] >= last
        async with board_ws(ws_url(muster.url, await run.token("responder", A),
                                   site=A)) as ws:
            snapshot = await receive(ws)
        assert snapshot["seq"] >= last and snapshot["board"]["protocol"]["action"] == "lockdown"
        assert [gauge(c) for c in ("notifier", "projector")] == [0.0, 0.0]
        assert muster.log is not None and muster.pool is not None
        log_, pool = muster.log, muster.pool

        async def quiet() -> bool:  # the notifier's records of A's late alert are in
            last_seq = await log_.last_seq()
            await asyncio.sleep(0.5)
            now = await log_.last_seq()
            return now == last_seq == await positions.position(pool, projector.NAME)
        await until(quiet, "the stream to go quiet")
        # The resumed read models are those a rebuild from seq 1 gives.
        other = await db.connect(second_database)
        try:
            await db.migrate(other)
            await projector.rebuild(log_, other, lambda *_: None)
            assert await read_models(pool) == await read_models(other)
        finally:
            await other.close()
        assert len(sink.to("operator")) == 3  # resuming is not a new fault
    finally:
        await muster.stop()


async def test_a_timer_that_cannot_escalate_holds_back_no_other_site(
        settings: Settings, sink: Sink, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """A bug in escalating A's unacknowledged lockdown (every tick's timers are one
    transaction, and the loop once ended at any error but the database's): B's escalates."""
    escalation = alert_rules.escalation

    def buggy(original: Any, target: Any, after: float) -> Any:
        if original.site == A:
            raise OverflowError("the bug")
        return escalation(original, target, after)

    muster = Muster(settings, say=lambda _: None)
    await muster.start()
    run = Running(muster)
    try:
        for site in (A, B):
            await muster.import_site(msgspec.structs.replace(small_site(site), channels=[
                Channel(name="sro", url=sink.url(f"{site}/sro"), escalate_after_s=0.5,
                        escalate_to=["district"]),
                # Not the press's types: an escalation keeps its alert's event id.
                Channel(name="district", url=sink.url(f"{site}/district"),
                        events=["ProtocolLifted"])]))
        monkeypatch.setattr(alert_rules, "escalation", buggy)  # after intake's rehearsal of it
        await run.press(A)
        await run.press(B)

        def escalated(site: str) -> list[dict[str, Any]]:
            return [m for m in sink.to(f"{site}/district") if "ESCALATION" in m["message"]]

        async def b_escalated() -> bool:
            return bool(escalated(B))
        await until(b_escalated, "B's escalation")
        assert escalated(A) == []
        assert any("escalation" in r.getMessage() and A in r.getMessage()
                   for r in caplog.records if r.levelno == logging.ERROR)
    finally:
        await muster.stop()

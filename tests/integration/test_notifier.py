"""The notifier through real Apprise to a local HTTP sink, on real NATS and PostgreSQL."""

import asyncio
import contextlib
from collections.abc import AsyncIterator

import asyncpg
import msgspec
import pytest

from command.domain import commands as c
from command.domain import events as e
from command.domain.site import Channel
from command.infra import db
from command.infra.eventlog import EventLog
from command.infra.record_writer import RecordWriter
from command.write.intake import Intake
from consumers.notifier import Notifier
from consumers.sender import AppriseSender
from tests.conftest import Sink, small_site

STAFF = e.Actor(kind="user", id="ms-frizzle", role="staff")
BOSS = e.Actor(kind="user", id="principal", role="commander")


class Rig:
    def __init__(self, log: EventLog, pool: asyncpg.Pool, sink: Sink) -> None:
        self.log, self.pool, self.sink = log, pool, sink
        self.intake = Intake(log)
        self.task: asyncio.Task[None] | None = None
        self.notifier: Notifier | None = None
        self.sender: AppriseSender
        self.records: RecordWriter | None = None  # None: the notifier appends to the log

    async def start(self) -> None:
        self.sender = AppriseSender(workers=2, timeout=1.0)
        await self.sender.ready()
        self.notifier = Notifier(self.log, self.pool, self.sender,
                                 backoff=(0.2, 0.4), lease_s=2.0, tick_s=0.05,
                                 records=self.records)
        self.task = asyncio.create_task(self.notifier.run())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
            assert self.notifier is not None
            await self.notifier.stop()
            self.sender.close()

    async def run(self, cmd: c.Command, actor: e.Actor = STAFF, **kw: str) -> str | None:
        accepted, _ = await self.intake.execute("test-high", cmd, actor,
                                                commander=actor.role == "commander", **kw)
        return accepted.incident_id

    async def events(self, cls: type) -> list:
        return [ev async for _, ev in self.log.read(1) if isinstance(ev, cls)]

    async def wait_events(self, cls: type, count: int, timeout: float = 15.0) -> list:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            found = await self.events(cls)
            if len(found) >= count or asyncio.get_running_loop().time() > deadline:
                return found
            await asyncio.sleep(0.05)


def channels(sink: Sink, escalate_after: float | None = None) -> list[Channel]:
    return [
        Channel(name="sro", url=sink.url("sro"), modes=["live", "drill"],
                escalate_after_s=escalate_after,
                escalate_to=["district"] if escalate_after else []),
        Channel(name="district", url=sink.url("district"), modes=["live", "drill"],
                events=["ProtocolDeclared"]),
        Channel(name="staff", url=sink.url("staff"), modes=["live"]),
        Channel(name="counselor", url=sink.url("counselor"), handle_with_care=True,
                events=["HandleWithCareIssued"], roles=["staff"]),
    ]


@contextlib.asynccontextmanager
async def running(eventlog: EventLog, database_url: str, sink: Sink, chans: list[Channel],
                  make: type[Rig] = Rig) -> AsyncIterator[Rig]:
    """A notifier and an intake on the real servers, for the test site with `chans`."""
    pool = await asyncpg.create_pool(database_url)
    await db.migrate(pool)
    rig = make(eventlog, pool, sink)
    await rig.intake.start()
    site = msgspec.structs.replace(small_site(), channels=chans)
    await rig.intake.execute("test-high", c.ConfigureSite(site=site), e.SYSTEM)
    await rig.start()
    try:
        yield rig
    finally:
        await rig.stop()
        await rig.intake.stop()
        await pool.close()


@pytest.fixture
async def rig(eventlog: EventLog, database_url: str, sink: Sink,
              request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    escalate = getattr(request, "param", None)
    async with running(eventlog, database_url, sink, channels(sink, escalate)) as rig:
        yield rig


async def test_lockdown_reaches_every_channel_in_srp_words(rig: Rig, sink: Sink) -> None:
    await rig.run(c.RaiseAlert(kind="lockdown", room="B-112"))
    await sink.wait_for(1, "sro")
    await sink.wait_for(1, "staff")
    [sro] = sink.to("sro")
    assert sro["title"] == "[EXTREME] LOCKDOWN — Test High"
    assert sro["message"].startswith("Lockdown! Locks, lights, out of sight. Test High, "
                                     "room B-112, ")
    assert sro["type"] == "failure"
    sent = await rig.wait_events(e.NotificationSent, 3)
    # district takes ProtocolDeclared only: the press's declaration reaches it, once
    assert sorted(ev.data.channel for ev in sent) == ["district", "sro", "staff"]
    assert sink.to("counselor") == []


async def test_secure_never_reads_like_a_lockdown(rig: Rig, sink: Sink) -> None:
    await rig.run(c.RaiseAlert(kind="police_activity", room="GYM"))
    await sink.wait_for(1, "sro")
    [msg] = sink.to("sro")
    assert msg["title"].startswith("[MODERATE] SECURE")
    assert "Secure! Get inside. Lock outside doors." in msg["message"]
    assert "lockdown" not in (msg["title"] + msg["message"]).lower()
    assert msg["type"] == "info"


async def test_drill_reaches_only_drill_channels_labelled(rig: Rig, sink: Sink) -> None:
    await rig.run(c.StartDrill(scenario="armed_intruder"), BOSS)
    await sink.wait_for(1, "district")
    await asyncio.sleep(0.5)  # give a leak to a live-only channel time to show
    assert sink.to("staff") == [] and sink.to("counselor") == []
    for _, body, _ in sink.posts:
        assert body["title"].startswith("DRILL — ") and body["message"].startswith("DRILL — ")


async def test_cancel_sends_false_alarm_to_everyone_alerted(rig: Rig, sink: Sink) -> None:
    inc = await rig.run(c.RaiseAlert(kind="lockdown", room="B-112"))
    await sink.wait_for(1, "sro")
    await rig.run(c.Cancel(reason="bumped the button"), BOSS, incident_id=inc or "")
    for path in ("sro", "staff", "district"):
        await sink.wait_for(2, path)
        last = sink.to(path)[-1]
        assert last["message"].startswith("FALSE ALARM — ")
        assert "bumped the button" in last["message"]
    assert sink.to("counselor") == []  # it never got the alert, so no false alarm either


async def test_all_clear_says_so(rig: Rig, sink: Sink) -> None:
    inc = await rig.run(c.RaiseAlert(kind="lockdown", room="B-112"))
    await rig.run(c.AllClear(), BOSS, incident_id=inc or "")
    await sink.wait_for(2, "sro")
    first, second = sink.to("sro")
    assert "Lockdown!" in first["message"]
    assert second["message"].startswith("ALL CLEAR — the lockdown at Test High is lifted")


async def test_failing_channel_is_retried_and_recorded(rig: Rig, sink: Sink) -> None:
    sink.status["staff"] = 500
    await rig.run(c.RaiseAlert(kind="lockdown", room="B-112"))
    failed = await rig.wait_events(e.NotificationFailed, 3)
    assert [f.data.attempt for f in failed if f.data.channel == "staff"] == [1, 2, 3]
    assert all(f.data.error for f in failed)
    await sink.wait_for(1, "sro")  # the other channel was not held up
    row = await rig.pool.fetchrow("SELECT status, attempts FROM notifications "
                                  "WHERE channel='staff'")
    assert (row["status"], row["attempts"]) == ("failed", 3)


async def test_hanging_channel_times_out_without_stalling_others(rig: Rig, sink: Sink) -> None:
    sink.delay["staff"] = 5.0
    started = asyncio.get_running_loop().time()
    await rig.run(c.RaiseAlert(kind="lockdown", room="B-112"))
    await sink.wait_for(1, "sro")
    assert asyncio.get_running_loop().time() - started < 1.0
    failed = await rig.wait_events(e.NotificationFailed, 1)
    assert failed[0].data.channel == "staff" and failed[0].data.attempt == 1


@pytest.mark.parametrize("rig", [0.6], indirect=True)
async def test_no_ack_escalates(rig: Rig, sink: Sink) -> None:
    await rig.run(c.RaiseAlert(kind="lockdown", room="B-112"))
    await sink.wait_for(2, "district")
    msg = sink.to("district")[-1]
    assert msg["message"].startswith("ESCALATION — no acknowledgement after 0.6 s: Lockdown!")
    [esc] = await rig.wait_events(e.NotificationEscalated, 1)
    assert (esc.data.channel, esc.data.to) == ("sro", ["district"])


@pytest.mark.parametrize("rig", [1.0], indirect=True)
async def test_ack_in_time_stops_escalation(rig: Rig, sink: Sink) -> None:
    inc = await rig.run(c.RaiseAlert(kind="lockdown", room="B-112"))
    await rig.run(c.Acknowledge(responder="Unit 7"), BOSS, incident_id=inc or "")
    await sink.wait_for(1, "sro")
    await asyncio.sleep(1.8)
    assert [m for m in sink.to("district") if "ESCALATION" in m["message"]] == []
    assert await rig.events(e.NotificationEscalated) == []


@pytest.mark.parametrize("rig", [1.0], indirect=True)
async def test_escalation_survives_a_restart(rig: Rig, sink: Sink) -> None:
    await rig.run(c.RaiseAlert(kind="lockdown", room="B-112"))
    await sink.wait_for(1, "sro")
    await rig.wait_events(e.NotificationSent, 3)
    await rig.stop()
    await asyncio.sleep(1.2)  # the timer falls due while no notifier runs
    await rig.start()
    [esc] = await rig.wait_events(e.NotificationEscalated, 1)
    assert esc.data.to == ["district"]
    await sink.wait_for(2, "district")
    assert "ESCALATION" in sink.to("district")[-1]["message"]
    assert len(sink.to("district")) == 2
    assert len(sink.to("sro")) == 1  # nothing already recorded as sent was sent again


class Counted:
    """A record writer that notes the type of each record it passes on."""

    def __init__(self, writer: RecordWriter) -> None:
        self.writer = writer
        self.types: list[str] = []

    async def record(self, site: str, events: list[e.Envelope],
                     timeout: float | None = None) -> list[int]:
        self.types += [e.type_of(ev) for ev in events]
        return await self.writer.record(site, events, timeout)


class ThroughIntake(Rig):
    """The rig whose notifier writes its records through intake, as it does beside intake."""

    def __init__(self, log: EventLog, pool: asyncpg.Pool, sink: Sink) -> None:
        super().__init__(log, pool, sink)
        self.counted = Counted(self.intake)
        self.records = self.counted


async def test_every_record_goes_through_the_writer_given(
        eventlog: EventLog, database_url: str, sink: Sink) -> None:
    """Sent, failed and escalated alike: none is appended to the stream behind its back."""
    sink.status["staff"] = 500  # staff fails, then hears it
    async with running(eventlog, database_url, sink, channels(sink, 1.0),
                       make=ThroughIntake) as rig:
        assert isinstance(rig, ThroughIntake)
        await rig.run(c.RaiseAlert(kind="lockdown", room="B-112"))
        await rig.wait_events(e.NotificationFailed, 1)
        del sink.status["staff"]
        [esc] = await rig.wait_events(e.NotificationEscalated, 1)
        assert esc.data.to == ["district"]
        await rig.wait_events(e.NotificationSent, 4)  # sro, staff, district, its escalation
        records = [e.type_of(ev) async for _, ev in rig.log.read(1)
                   if isinstance(ev, (e.NotificationSent, e.NotificationFailed,
                                      e.NotificationEscalated))]
        assert sorted(rig.counted.types) == sorted(records)
        assert set(records) == {"NotificationSent", "NotificationFailed",
                                "NotificationEscalated"}


async def test_handle_with_care_goes_only_to_the_designated_channel(rig: Rig, sink: Sink,
                                                                    ) -> None:
    responder = e.Actor(kind="user", id="officer", role="responder")
    await rig.run(c.HandleWithCare(person_id="s-2"), responder)
    await sink.wait_for(1, "counselor")
    [msg] = sink.to("counselor")
    assert (msg["title"], msg["message"]) == ("Handle With Care", "Alan Turing")
    await asyncio.sleep(0.3)
    assert [p for p, _, _ in sink.posts] == ["/counselor"]


async def test_crash_between_send_and_record_sends_at_most_twice(rig: Rig, sink: Sink) -> None:
    sink.delay["staff"] = 0.8  # the sink has the message, the notifier is not yet told
    await rig.run(c.RaiseAlert(kind="lockdown", room="B-112"))
    await rig.wait_events(e.NotificationSent, 2)  # sro and district are recorded as sent
    deadline = asyncio.get_running_loop().time() + 5
    while not await rig.pool.fetchval(
            "SELECT count(*) FROM notifications WHERE channel='staff' AND status='sending'"):
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.02)
    await rig.stop()  # the crash: the staff send was claimed, never recorded
    sink.delay.clear()
    await rig.start()
    await sink.wait_for(1, "staff")
    sent = await rig.wait_events(e.NotificationSent, 3)
    await asyncio.sleep(0.3)
    assert 1 <= len(sink.to("staff")) <= 2
    assert len(sink.to("sro")) == 1
    assert sorted(ev.data.channel for ev in sent) == ["district", "sro", "staff"]


async def test_stop_alone_ends_run(rig: Rig) -> None:
    """A cancel swallowed on its way (Python 3.11's wait_for) once left a notifier retrying
    against a closed pool: stop() must end run() by itself."""
    assert rig.notifier is not None and rig.task is not None
    await rig.notifier.stop()
    await asyncio.wait_for(asyncio.shield(rig.task), 5.0)
    assert rig.task.exception() is None


async def test_connections_cut_again_and_again_never_end_the_sending(
        rig: Rig, sink: Sink, database_url: str) -> None:
    """PostgreSQL ends the notifier's connections mid-claim, mid-timer, mid-fold, for seconds:
    whatever asyncpg raises (a closed connection under a transaction is an InterfaceError),
    the send loop must still be there for the next press."""
    admin = await asyncpg.connect(database_url)
    try:
        deadline = asyncio.get_running_loop().time() + 3.0
        while asyncio.get_running_loop().time() < deadline:
            await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                                "datname = current_database() AND pid <> pg_backend_pid()")
            await asyncio.sleep(0.003)
    finally:
        await admin.close()
    await rig.run(c.RaiseAlert(kind="lockdown", room="B-112"))
    await sink.wait_for(1, "sro", timeout=20)
    assert sink.to("sro")[0]["title"] == "[EXTREME] LOCKDOWN — Test High"

"""The records path on real NATS, each `RecordWriter`: a notifier in another process has its
records written by intake's desk, in the site's queue; a record already written comes back as a
duplicate; with no desk listening it is appended straight away. Beside intake, intake itself
writes them; with neither, the stream does."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from command.domain import commands as c
from command.domain import events as e
from command.infra.eventlog import Duplicate, EventLog, connect
from command.infra.record_writer import RecordWriter, StreamRecords
from command.write.intake import Intake
from command.write.notification_records import DeskRecords, RecordDesk, desk_subject
from tests.conftest import small_site
from tests.integration.test_intake_batches import CountingLog

SITE = "test-high"
SUBJECT = desk_subject(4242)


@pytest.fixture
async def intake(eventlog: EventLog) -> AsyncIterator[Intake]:
    intake = Intake(CountingLog(eventlog))
    await intake.start()
    await intake.execute(SITE, c.ConfigureSite(site=small_site()), e.SYSTEM)
    yield intake
    await intake.stop()


@pytest.fixture
async def notifier_log(eventlog: EventLog, nats_url: str) -> AsyncIterator[EventLog]:
    nc = await connect(nats_url)  # the notifier's own process, its own connection
    yield EventLog(nc, stream=eventlog.stream)
    await nc.close()


def record() -> e.NoteAdded:
    now = datetime.now(UTC)
    return e.NoteAdded(id=str(uuid.uuid4()), site=SITE, incident_id=None, mode="live",
                       occurred_at=now, recorded_at=now, actor=e.SYSTEM,
                       data=e.NoteAddedData(text="sent"))


async def test_records_are_written_by_intake_and_duplicates_come_back(
        intake: Intake, notifier_log: EventLog) -> None:
    desk = RecordDesk(intake, SUBJECT)
    await desk.start()
    try:
        counted: CountingLog = intake.log  # type: ignore[assignment]
        before = len(counted.appends)
        one = record()
        (seq,) = await DeskRecords(notifier_log, SUBJECT).record(SITE, [one])
        assert len(counted.appends) == before + 1  # intake wrote it, in the site's queue
        assert intake.state(SITE).seq >= seq  # and folded it at once
        found = [s async for s, ev in notifier_log.read(seq) if ev.id == one.id]
        assert found == [seq]
        with pytest.raises(Duplicate):
            await DeskRecords(notifier_log, SUBJECT).record(SITE, [one])
    finally:
        await desk.stop()


async def test_with_no_desk_a_record_is_appended_straight_away(
        intake: Intake, notifier_log: EventLog) -> None:
    counted: CountingLog = intake.log  # type: ignore[assignment]
    before = len(counted.appends)
    one = record()
    (seq,) = await DeskRecords(notifier_log, SUBJECT).record(SITE, [one])
    assert len(counted.appends) == before  # nobody at the desk: the notifier wrote it itself
    found = [s async for s, ev in notifier_log.read(seq) if ev.id == one.id]
    assert found == [seq]


async def test_beside_intake_records_queue_with_its_commands_and_fold_at_once(
        intake: Intake) -> None:
    counted: CountingLog = intake.log  # type: ignore[assignment]
    before = len(counted.appends)
    writer: RecordWriter = intake
    one = record()
    (seq,) = await writer.record(SITE, [one])
    assert len(counted.appends) == before + 1 and intake.state(SITE).seq >= seq
    with pytest.raises(Duplicate):
        await writer.record(SITE, [one])


async def test_with_no_intake_records_go_straight_to_the_stream(
        intake: Intake, notifier_log: EventLog) -> None:
    counted: CountingLog = intake.log  # type: ignore[assignment]
    before = len(counted.appends)
    one = record()
    (seq,) = await StreamRecords(notifier_log).record(SITE, [one])
    assert len(counted.appends) == before
    assert [s async for s, ev in notifier_log.read(seq) if ev.id == one.id] == [seq]


"""Records through intake's desk, on real NATS: a notifier in another process has its records
written by intake, in the site's queue; a record already written comes back as a duplicate;
with no desk listening it is appended straight away."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from command.domain import commands as c
from command.domain import events as e
from command.infra.eventlog import Duplicate, EventLog, connect
from command.write.intake import Intake
from command.write.notification_records import DeskLog, RecordDesk, desk_subject
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
async def notifier_log(eventlog: EventLog, nats_url: str) -> AsyncIterator[DeskLog]:
    nc = await connect(nats_url)  # the notifier's own process, its own connection
    yield DeskLog(EventLog(nc, stream=eventlog.stream), SUBJECT)
    await nc.close()


def record() -> e.NoteAdded:
    now = datetime.now(UTC)
    return e.NoteAdded(id=str(uuid.uuid4()), site=SITE, incident_id=None, mode="live",
                       occurred_at=now, recorded_at=now, actor=e.SYSTEM,
                       data=e.NoteAddedData(text="sent"))


async def test_records_are_written_by_intake_and_duplicates_come_back(
        intake: Intake, notifier_log: DeskLog) -> None:
    desk = RecordDesk(intake, SUBJECT)
    await desk.start()
    try:
        counted: CountingLog = intake.log  # type: ignore[assignment]
        before = len(counted.appends)
        one = record()
        (seq,) = await notifier_log.append(SITE, [one], expected_last=None)
        assert len(counted.appends) == before + 1  # intake wrote it, in the site's queue
        assert intake.state(SITE).seq >= seq  # and folded it at once
        found = [s async for s, ev in notifier_log.read(seq) if ev.id == one.id]
        assert found == [seq]
        with pytest.raises(Duplicate):
            await notifier_log.append(SITE, [one], expected_last=None)
    finally:
        await desk.stop()


async def test_with_no_desk_a_record_is_appended_straight_away(
        intake: Intake, notifier_log: DeskLog) -> None:
    counted: CountingLog = intake.log  # type: ignore[assignment]
    before = len(counted.appends)
    one = record()
    (seq,) = await notifier_log.append(SITE, [one], expected_last=None)
    assert len(counted.appends) == before  # nobody at the desk: the notifier wrote it itself
    found = [s async for s, ev in notifier_log.read(seq) if ev.id == one.id]
    assert found == [seq]

"""The site writer's commit loop, against a log whose appends answer from a script: a lost race
is decided again on the state that beat it, a batch with a job written before is split to find
it, a retry beside its first is answered as its first, a late job hears 503, a refused one alone
is refused. No server: the loop's turns are what is tested."""

import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from command.domain import commands as c
from command.domain import events as e
from command.domain.errors import NotFound, Unavailable
from command.infra.eventlog import Duplicate, WrongLastSequence
from command.write.answers import Accepted, Answers
from command.write.site_directory import SiteDirectory
from command.write.site_queue import Pending
from command.write.site_writer import SiteWriter
from tests.conftest import small_site

SITE = "test-high"
STAFF = e.Actor(kind="user", id="staff-1", role="staff")
Step = Callable[["ScriptedLog", list[e.Envelope]], None]


class ScriptedLog:
    """Appends that run the next step of a script first (which may raise), then succeed."""

    timeout = 2.0

    def __init__(self, sites: SiteDirectory, *steps: Step) -> None:
        self.sites = sites
        self.steps = list(steps)
        self.seq = sites.applied
        self.appends: list[tuple[int, int | None]] = []  # (events, expected last sequence)

    async def append(self, site: str, events: Sequence[e.Envelope], expected_last: int | None,
                     timeout: float | None = None) -> list[int]:
        self.appends.append((len(events), expected_last))
        if self.steps:
            self.steps.pop(0)(self, list(events))
        first, self.seq = self.seq + 1, self.seq + len(events)
        return list(range(first, self.seq + 1))

    def read_back(self, events: list[e.Envelope]) -> None:
        """What the stream follower does: fold events another writer appended."""
        for event in events:
            self.seq += 1
            self.sites.apply(self.seq, event)  # type: ignore[arg-type]


def written(log_: ScriptedLog, events: list[e.Envelope]) -> None:
    pass


def lose_race(log_: ScriptedLog, events: list[e.Envelope]) -> None:
    log_.read_back([note("another replica's")])
    raise WrongLastSequence(log_.seq)


def written_before(log_: ScriptedLog, events: list[e.Envelope]) -> None:
    log_.read_back(events)
    raise Duplicate(log_.seq)


def part_written_before(log_: ScriptedLog, events: list[e.Envelope]) -> None:
    raise Duplicate(0)  # a batch: the stream does not say which


def note(text: str) -> e.NoteAdded:
    return e.NoteAdded(id=str(uuid.uuid4()), site=SITE, incident_id=None, mode="live",
                       occurred_at=e.now(), recorded_at=e.now(), actor=e.SYSTEM,
                       data=e.NoteAddedData(text=text))


def writer(*steps: Step) -> tuple[SiteWriter, ScriptedLog]:
    answers = Answers()
    sites = SiteDirectory(answers)
    sites.apply(1, e.SiteConfigured(id=str(uuid.uuid4()), site=SITE, occurred_at=e.now(),
                                    recorded_at=e.now(), data=small_site()))
    log_ = ScriptedLog(sites, *steps)
    return SiteWriter(log_, sites, answers), log_  # type: ignore[arg-type]


def press(cid: uuid.UUID | None = None, room: str = "GYM", left: float = 2.0) -> Pending:
    cmd = c.RaiseAlert(kind="hold", room=room, client_event_id=cid or uuid.uuid4())
    return Pending(time.monotonic() + left, cmd, STAFF, str(cmd.client_event_id))


def answer(job: Pending) -> Any:
    assert job.answered
    return job.future.result()


async def test_a_lost_race_is_decided_again_on_the_state_that_beat_it() -> None:
    site_writer, log_ = writer(lose_race)
    accepted, events = await site_writer.submit(SITE, press())
    assert [expected for _, expected in log_.appends] == [1, 2]  # the second on the winner's
    assert (accepted.seq, accepted.duplicate) == (log_.seq, False)
    assert site_writer.sites.state(SITE).seq == log_.seq  # folded at once
    assert site_writer.answers[events[0].id][1] == log_.seq - len(events) + 1


async def test_a_batch_with_a_job_written_before_is_split_to_find_it() -> None:
    site_writer, log_ = writer(part_written_before, written_before, written)
    first, second = press(), press()
    await site_writer._commit(SITE, [first, second])
    assert [n for n, _ in log_.appends][1:] == [3, 1]  # the batch, then each job alone
    again: Accepted = answer(first)[0]
    assert again.duplicate and answer(first)[1] == []
    accepted, events = answer(second)
    assert not accepted.duplicate and accepted.incident_id == again.incident_id  # joined it
    assert [type(ev).__name__ for ev in events] == ["AlertRaised"]


async def test_a_retry_beside_its_first_is_answered_as_its_first() -> None:
    site_writer, log_ = writer()
    cid = uuid.uuid4()
    first, retry = press(cid), press(cid)
    await site_writer._commit(SITE, [first, retry])
    assert len(log_.appends) == 1
    accepted, _ = answer(first)
    assert answer(retry) == (Accepted(accepted.incident_id, accepted.event_id, accepted.seq,
                                      duplicate=True), [])


async def test_a_job_past_its_deadline_hears_503_and_nothing_is_appended() -> None:
    site_writer, log_ = writer()
    with pytest.raises(Unavailable):
        await site_writer.submit(SITE, press(left=0.0))
    assert log_.appends == []


async def test_a_refused_command_alone_is_refused() -> None:
    site_writer, log_ = writer()
    bad, good = press(room="NO-SUCH-ROOM"), press()
    await site_writer._commit(SITE, [bad, good])
    with pytest.raises(NotFound):
        answer(bad)
    assert not answer(good)[0].duplicate and len(log_.appends) == 1


async def test_a_record_written_before_is_its_writers_to_judge() -> None:
    site_writer, _ = writer(written_before)
    record = Pending(time.monotonic() + 2.0, events=[note("sent")])
    with pytest.raises(Duplicate):
        await site_writer.submit(SITE, record)


async def test_a_stream_that_fails_answers_every_job_of_the_batch() -> None:
    def down(log_: ScriptedLog, events: list[e.Envelope]) -> None:
        raise Unavailable("the event stream is unreachable")

    site_writer, _ = writer(down)
    cid = uuid.uuid4()
    first, retry = press(cid), press(cid)  # a retry queued beside its first
    await site_writer._commit(SITE, [first, retry])
    for job in (first, retry):
        with pytest.raises(Unavailable):
            answer(job)

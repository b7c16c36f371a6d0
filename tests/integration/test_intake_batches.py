"""A site's commands that queue during an append go out together in the next, on real NATS:
each decided on the state the ones before it leave, a refused one alone refused, a duplicate
alone absorbed, and every accepted event in the stream exactly once."""

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Sequence

import pytest

from command.domain import commands as c
from command.domain import events as e
from command.domain.errors import NotFound
from command.infra.eventlog import EventLog
from command.write.intake import Intake
from command.write.site_writer import MAX_GROUP, MIN_GROUP
from tests.conftest import small_site

STAFF = e.Actor(kind="user", id="staff-1", role="staff")
SITE = "test-high"


class CountingLog(EventLog):
    """The real log, remembering how many events each append carried."""

    def __init__(self, log_: EventLog) -> None:
        super().__init__(log_.nc, stream=log_.stream, prefix=log_.prefix, timeout=log_.timeout)
        self.appends: list[int] = []

    async def append(self, site: str, events: Sequence[e.Envelope], expected_last: int | None,
                     timeout: float | None = None) -> list[int]:
        self.appends.append(len(events))
        return await super().append(site, events, expected_last, timeout)


@pytest.fixture
async def counted(eventlog: EventLog) -> AsyncIterator[tuple[Intake, CountingLog]]:
    log_ = CountingLog(eventlog)
    intake = Intake(log_)
    await intake.start()
    await intake.execute(SITE, c.ConfigureSite(site=small_site()), e.SYSTEM)
    yield intake, log_
    await intake.stop()


async def stream(log_: EventLog) -> list[e.Event]:
    return [ev async for _, ev in log_.read(1)]


async def test_presses_queued_together_open_one_incident_and_share_appends(
        counted: tuple[Intake, CountingLog]) -> None:
    intake, log_ = counted
    log_.appends.clear()
    presses = [c.RaiseAlert(kind="lockdown", room="GYM", client_event_id=uuid.uuid4())
               for _ in range(40)]
    answers = await asyncio.gather(*(intake.execute(SITE, p, STAFF) for p in presses))
    # The first opened the incident; each later one was decided on that state and joined it.
    assert len({a.incident_id for a, _ in answers}) == 1
    events = await stream(log_)
    opened = [ev for ev in events if isinstance(ev, e.IncidentOpened)]
    assert len(opened) == 1
    raised = Counter(ev.id for ev in events if isinstance(ev, e.AlertRaised))
    assert sorted(raised) == sorted(a.event_id for a, _ in answers)
    assert set(raised.values()) == {1}
    # Fewer appends than commands, none larger than a group's worth of commands.
    assert len(log_.appends) < len(presses)
    assert sum(log_.appends) == sum(len(evs) for _, evs in answers)
    seqs = sorted(a.seq for a, _ in answers)
    assert len(set(seqs)) == len(seqs)
    assert MAX_GROUP < len(presses)  # so at least two groups were needed


async def test_a_refused_command_in_a_group_is_refused_alone(
        counted: tuple[Intake, CountingLog]) -> None:
    intake, log_ = counted
    opened, _ = await intake.execute(SITE, c.RaiseAlert(kind="hold", room="GYM"), STAFF)
    before = len(await stream(log_))
    n = MIN_GROUP + 2
    notes = [intake.execute(SITE, c.AddNote(text=f"note {i}"), STAFF,
                            incident_id=opened.incident_id) for i in range(n)]
    bad = intake.execute(SITE, c.RaiseAlert(kind="hold", room="NO-SUCH-ROOM"), STAFF)
    log_.appends.clear()
    results = await asyncio.gather(*notes[:3], bad, *notes[3:], return_exceptions=True)
    assert isinstance(results[3], NotFound)
    good = [r for i, r in enumerate(results) if i != 3]
    assert all(not isinstance(r, BaseException) for r in good)
    after = await stream(log_)
    assert len(after) - before == n
    assert [ev.data.text for ev in after[before:]] == [f"note {i}" for i in range(n)]
    # The first, at an idle site, was appended at once by its caller; the rest queued meanwhile
    # and went out as one group, the refused command left out of it.
    assert log_.appends == [1, n - 1]


async def test_two_intakes_racing_the_same_commands_write_each_once(
        counted: tuple[Intake, CountingLog]) -> None:
    intake, log_ = counted
    opened, _ = await intake.execute(SITE, c.RaiseAlert(kind="hold", room="GYM"), STAFF)
    other = Intake(log_)
    await other.start()
    try:
        commands = [c.AddNote(text=f"note {i}", client_event_id=uuid.uuid4()) for i in range(30)]
        # Each command goes to both replicas at once, as a retrying button might; their groups
        # lose races to each other and hit each other's ids in their batches.
        answers = await asyncio.gather(*(
            replica.execute(SITE, cmd, STAFF, incident_id=opened.incident_id)
            for cmd in commands for replica in (intake, other)))
    finally:
        await other.stop()
    for i in range(0, len(answers), 2):
        (a, _), (b, _) = answers[i], answers[i + 1]
        assert a.event_id == b.event_id and a.seq == b.seq
        assert a.duplicate != b.duplicate  # one wrote it, the other was told it was written
    written = Counter(ev.data.text for ev in await stream(log_) if isinstance(ev, e.NoteAdded))
    assert written == Counter({f"note {i}": 1 for i in range(30)})


async def test_a_retry_queued_beside_its_first_is_answered_as_a_duplicate(
        counted: tuple[Intake, CountingLog]) -> None:
    intake, log_ = counted
    cid = uuid.uuid4()
    press = c.RaiseAlert(kind="lockdown", room="GYM", client_event_id=cid)
    others = [c.RaiseAlert(kind="lockdown", room="GYM", client_event_id=uuid.uuid4())
              for _ in range(MIN_GROUP)]
    log_.appends.clear()
    *joined, (b, _), (d, d_events) = await asyncio.gather(
        *(intake.execute(SITE, other, STAFF) for other in others),
        intake.execute(SITE, press, STAFF), intake.execute(SITE, press, STAFF))
    assert (b.duplicate, d.duplicate) == (False, True)
    assert (d.event_id, d.incident_id, d_events) == (b.event_id, b.incident_id, [])
    raised = Counter(ev.id for ev in await stream(log_) if isinstance(ev, e.AlertRaised))
    assert raised == Counter({a.event_id: 1 for a, _ in joined} | {b.event_id: 1})
    # The first, at an idle site, went alone at once; the rest queued meanwhile as one group,
    # and the retry in it cost no append of its own.
    first, *rest = joined
    assert log_.appends == [len(first[1]), sum(len(events) for _, events in rest) + 1]


async def test_a_command_whose_caller_is_gone_is_still_written(
        counted: tuple[Intake, CountingLog]) -> None:
    intake, log_ = counted
    opened, _ = await intake.execute(SITE, c.RaiseAlert(kind="hold", room="GYM"), STAFF)

    def note(text: str) -> asyncio.Future[object]:
        return asyncio.ensure_future(intake.execute(SITE, c.AddNote(text=text), STAFF,
                                                    incident_id=opened.incident_id))

    first = note("first")
    await asyncio.sleep(0)  # its caller is appending it: the site is busy
    gone = note("gone")
    await asyncio.sleep(0)  # queued behind it
    gone.cancel()
    await first
    assert gone.cancelled()
    assert await intake.wait_until(lambda: intake.state(SITE).seq >= opened.seq + 2, 5.0)
    texts = [ev.data.text for ev in await stream(log_) if isinstance(ev, e.NoteAdded)]
    assert texts == ["first", "gone"]

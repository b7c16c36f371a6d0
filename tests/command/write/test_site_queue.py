"""A site's queue hands its writer commands before records, each kind in arrival order."""

from command.domain import commands as c
from command.domain import events as e
from command.write.site_queue import Pending, SiteQueue

NOW = 100.0


def command(text: str) -> Pending:
    return Pending(NOW + 2.0, c.AddNote(text=text))


def record(name: str, left: float = 2.0) -> Pending:
    return Pending(NOW + left, events=[e.NoteAdded(
        id=name, site="s", incident_id=None, mode="live", occurred_at=e.now(),
        recorded_at=e.now(), actor=e.SYSTEM, data=e.NoteAddedData(text=name))])


def names(jobs: list[Pending]) -> list[str]:
    return [job.cmd.text if job.cmd is not None else job.events[0].id  # type: ignore[union-attr,index]
            for job in jobs]


async def test_commands_go_before_records_and_each_kind_keeps_its_order() -> None:
    queue = SiteQueue()
    for job in (record("r1"), command("c1"), record("r2"), command("c2"), command("c3")):
        queue.push(job)
    assert len(queue) == 5
    assert names(queue.take(1, NOW)) == ["c1"]
    assert names(queue.take(3, NOW)) == ["c2", "c3", "r1"]  # a group fills up with records
    queue.push(command("c4"))  # a press arriving now still goes before the record left
    assert names(queue.take(1, NOW)) == ["c4"]
    assert names(queue.take(8, NOW)) == ["r2"] and len(queue) == 0 and queue.take(4, NOW) == []


async def test_a_record_near_its_deadline_goes_before_commands() -> None:
    queue = SiteQueue()
    for job in (record("r1"), command("c1"), record("r2"), command("c2")):
        queue.push(job)
    # 1.5 s later r1 and r2 have 0.5 s left: they must not wait behind a stream of commands.
    assert names(queue.take(1, NOW + 1.5)) == ["r1"]
    assert names(queue.take(3, NOW + 1.5)) == ["r2", "c1", "c2"]
    queue.push(record("r3", left=0.5))
    queue.push(command("c3"))
    assert names(queue.take(2, NOW)) == ["r3", "c3"]

"""A site's queue hands its writer commands before records, each kind in arrival order."""

from command import commands as c
from command import events as e
from command.pending import Pending, SiteQueue


def command(text: str) -> Pending:
    return Pending(1.0, c.AddNote(text=text))


def record(name: str) -> Pending:
    return Pending(1.0, events=[e.NoteAdded(
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
    assert names(queue.take(1)) == ["c1"]
    assert names(queue.take(3)) == ["c2", "c3", "r1"]  # a group fills up with records
    queue.push(command("c4"))  # a press arriving now still goes before the record left
    assert names(queue.take(1)) == ["c4"]
    assert names(queue.take(8)) == ["r2"] and len(queue) == 0 and queue.take(4) == []

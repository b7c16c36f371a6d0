"""One append's worth of a site's queued jobs: each command decided on the state the ones before
it leave, and all their events one atomic batch, so a site's queue drains at the rate of appends
times the batch, not one command each."""

import time
from collections.abc import Callable

from command.domain import events as e
from command.domain.errors import Unavailable
from command.domain.site_state import SiteState, evolve
from command.write.answers import Answers, accepted
from command.write.decisions import events_for
from command.write.site_queue import Pending


class SiteBatch:
    """The jobs of one append (`written`, each with its events) and those to append after it
    (`again`: a retry queued beside its first, answered once that is in)."""

    __slots__ = ("again", "events", "expected_last", "written")

    def __init__(self, expected_last: int) -> None:
        self.expected_last = expected_last  # the site's sequence the decisions were made on
        self.written: list[tuple[Pending, list[e.Envelope]]] = []
        self.again: list[Pending] = []
        self.events: list[e.Envelope] = []

    @classmethod
    def draft(cls, site: str, group: list[Pending], state: SiteState, answers: Answers,
              rehearse: Callable[[e.Envelope], None] | None) -> "SiteBatch":
        """Answer now what is past its deadline (503), or written since it queued (its first
        answer again), or refused (only that command); batch the rest."""
        batch = cls(state.seq)
        now = time.monotonic()
        ids: set[str] = set()
        for job in group:
            if job.deadline <= now:
                job.fail(Unavailable("the event stream is not answering; try again"))
            if job.answered:
                continue
            if job.first_id and job.first_id in answers:
                job.settle((answers.again(job.cid), []))  # type: ignore[arg-type]
                continue
            if job.first_id in ids:
                batch.again.append(job)
                continue
            if job.first_id:
                ids.add(job.first_id)
            events = job.events
            if events is None:
                try:
                    events = events_for(site, state, job, rehearse)
                except Exception as exc:  # refused (or failed): only this command
                    job.fail(exc)
                    continue
                for event in events:
                    state = evolve(state, event)
            batch.written.append((job, events))
            batch.events += events
        return batch

    def time_left(self) -> float:
        """Until the first deadline among the jobs written."""
        return min(job.deadline for job, _ in self.written) - time.monotonic()

    def jobs(self) -> list[Pending]:
        """Every job, in order, to try again as one group."""
        return [job for job, _ in self.written] + self.again

    def fail(self, exc: BaseException) -> None:
        for job in self.jobs():
            job.fail(exc)

    def settle(self, seqs: list[int]) -> None:
        """Answer each job written at `seqs`: a record its sequences, a command its 202."""
        at = 0
        for job, events in self.written:
            mine, at = seqs[at:at + len(events)], at + len(events)
            job.settle(mine if job.cmd is None else (accepted(events, mine), events))

"""A command (or a record of what happened) waiting in its site's queue for the next append."""

import asyncio
from collections import deque
from typing import Any

from command.domain import commands as c
from command.domain import events as e

PROMOTE_S = 1.0  # half an append's default timeout: a starved record still makes its deadline


class Pending:
    """A command waiting for its site's next append, or a record (`events` already made)."""

    __slots__ = ("actor", "answered", "cid", "cmd", "commander", "deadline", "events", "first_id",
                 "future", "incident_id", "room")

    def __init__(self, deadline: float, cmd: c.Command | None = None,
                 actor: e.Actor = e.SYSTEM, cid: str | None = None,
                 incident_id: str | None = None, room: str | None = None,
                 commander: bool = False, events: list[e.Envelope] | None = None) -> None:
        self.deadline = deadline
        self.cmd = cmd
        self.actor = actor
        self.cid = cid
        self.first_id = e.client_event_ids(cid, 1)[0] if cid else None  # uuid5: made once
        self.incident_id = incident_id
        self.room = room
        self.commander = commander
        self.events = events
        self.future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        # Answered by the writer; a future cancelled by a caller gone is not: its job is still
        # written (a press whose client hung up is still a press).
        self.answered = False

    def settle(self, result: object) -> None:
        self.answered = True
        if not self.future.done():
            self.future.set_result(result)

    def fail(self, exc: BaseException) -> None:
        self.answered = True
        if not self.future.done():
            self.future.set_exception(exc)


class SiteQueue:
    """A site's waiting jobs: commands first, then records, each kind in arrival order. A record
    only says what already happened (an alert sent) and can wait an append; a press behind a
    run of them waited 2 to 3 appends at the live site of the lockdown load. A record within
    `PROMOTE_S` of its deadline goes first all the same: one that times out has its alert sent
    again."""

    def __init__(self) -> None:
        self.commands: deque[Pending] = deque()
        self.records: deque[Pending] = deque()

    def __len__(self) -> int:
        return len(self.commands) + len(self.records)

    def push(self, job: Pending) -> None:
        (self.records if job.cmd is None else self.commands).append(job)

    def take(self, n: int, now: float) -> list[Pending]:
        due = 0  # records close to their deadline, taken before any command
        while due < min(n, len(self.records)) and self.records[due].deadline - now < PROMOTE_S:
            due += 1
        out = [self.records.popleft() for _ in range(due)]
        out += [self.commands.popleft() for _ in range(min(n - len(out), len(self.commands)))]
        return out + [self.records.popleft() for _ in range(min(n - len(out), len(self.records)))]

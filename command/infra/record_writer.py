"""How records of what happened (notifications sent, failed, escalated) reach the stream.

A record has no decision to check, so it carries no expected last sequence; but appended straight
to a site's subject it can land between intake's decision and its append, and intake, its
expected sequence gone, decides again. So the composition root gives a notifier one of three
writers, chosen once at start-up:
- `StreamRecords` (here): straight to the stream, for a notifier with no intake to go through;
- `Intake` (command/write/intake.py): through the intake of this process, queued with the
  site's commands;
- `DeskRecords` (command/write/notification_records.py): through the desk of an intake in
  another process, straight to the stream when nobody is at the desk.
"""

from collections.abc import Sequence
from typing import Protocol

from command.domain import events as e
from command.infra.eventlog import EventLog


class RecordWriter(Protocol):
    async def record(self, site: str, events: list[e.Envelope],
                     timeout: float | None = None) -> list[int]:
        """Append `events` at `site` as one batch; their sequences. Raises `Duplicate` for a
        record already written, `Unavailable` when it could not be written in `timeout`."""
        ...


class StreamRecords:
    """Records appended straight to the stream."""

    def __init__(self, log_: EventLog) -> None:
        self.log = log_

    async def record(self, site: str, events: list[e.Envelope],
                     timeout: float | None = None) -> list[int]:
        return await self.log.append(site, events, None, timeout)


class RecordingLog(EventLog):
    """The event log a notifier is given until it takes a `RecordWriter` of its own: reads are
    the log's, and an append with no expected last sequence (a record) goes to `records`."""

    def __init__(self, log_: EventLog, records: RecordWriter) -> None:
        super().__init__(log_.nc, stream=log_.stream, prefix=log_.prefix, timeout=log_.timeout)
        self.records = records

    async def append(self, site: str, events: Sequence[e.Envelope], expected_last: int | None,
                     timeout: float | None = None) -> list[int]:
        if expected_last is not None:
            return await super().append(site, events, expected_last, timeout)
        return await self.records.record(site, list(events), timeout)

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


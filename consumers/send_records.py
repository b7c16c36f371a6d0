"""The notifier's records, written back to the stream: `NotificationSent`, `NotificationFailed`
and `NotificationEscalated` (CONTRACT §5).

They go through the `RecordWriter` the composition root chose (command/infra/record_writer.py:
the stream, this process's intake, or another's desk). Each record's id is derived from what it
records, so one retried after a lost answer (or a send repeated after a crash) is absorbed by the
stream's dedupe instead of counted twice.
"""

import contextlib
import uuid
from datetime import UTC, datetime

import msgspec

from command.domain import events as e
from command.domain.alert_rules import Delivery
from command.infra.eventlog import Duplicate
from command.infra.record_writer import RecordWriter

ACTOR = e.Actor(kind="system", id="notifier")
_NS = uuid.UUID("0b5f3c7e-2f4d-4c61-8f0e-7a2d9c1e5b44")


def record_id(*parts: object) -> str:
    """Deterministic ids for the notifier's own events: a retried append is absorbed."""
    return str(uuid.uuid5(_NS, "/".join(map(str, parts))))


class SendRecords:
    """The notifier's records, each written once through `writer`."""

    def __init__(self, writer: RecordWriter) -> None:
        self.writer = writer

    async def sent(self, d: Delivery, attempt: int) -> None:
        await self._append(e.NotificationSent, d.site, d.incident_id, d.mode,
                           e.NotificationSentData(channel=d.channel, event_id=d.event_id,
                                                  attempt=attempt),
                           record_id(d.event_id, d.channel, "sent"))

    async def failed(self, d: Delivery, attempt: int, error: str) -> None:
        await self._append(e.NotificationFailed, d.site, d.incident_id, d.mode,
                           e.NotificationFailedData(channel=d.channel, event_id=d.event_id,
                                                    attempt=attempt, error=error),
                           record_id(d.event_id, d.channel, attempt, "failed"))

    async def escalated(self, site: str, incident_id: str | None, mode: str, channel: str,
                        to: list[str], event_id: str) -> None:
        """The alert `event_id` on `channel` went unacknowledged and went on `to` these."""
        await self._append(e.NotificationEscalated, site, incident_id, mode,
                           e.NotificationEscalatedData(channel=channel, to=to,
                                                       event_id=event_id),
                           record_id(event_id, channel, "escalated"))

    async def _append(self, cls: type[e.Envelope], site: str, incident_id: str | None,
                      mode: str, data: msgspec.Struct, event_id: str) -> None:
        now = datetime.now(UTC)
        event = cls(id=event_id, site=site, incident_id=incident_id, mode=mode,  # type: ignore[call-arg]
                    occurred_at=now, recorded_at=now, actor=ACTOR, data=data)
        with contextlib.suppress(Duplicate):
            await self.writer.record(site, [event])

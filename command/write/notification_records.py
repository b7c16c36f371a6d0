"""Records of what happened (notifications sent, failed, escalated), written by intake for a
notifier in another process: intake's desk, and the notifier's `DeskRecords` that asks it.

A record appended straight to a site's subject can land between intake's decision and its
append, and intake, its expected sequence gone, decides again (59 such races in a 40 s
lockdown, 200 presses). So a notifier beside `muster up` asks intake to write its records,
over NATS request and reply: they then queue with the site's commands and never race them. Nobody
answering (intake restarting, or a notifier deployed on its own) means the record is appended
straight away, as before: a race costs intake a retry, never a record.
"""

import asyncio
import contextlib
import logging
import socket
from typing import Any

import msgspec
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from command.domain import events as e
from command.domain.errors import ErrorBody, Unavailable
from command.infra.eventlog import Duplicate, EventLog
from command.infra.record_writer import StreamRecords
from command.write.intake import Intake

log = logging.getLogger("muster.records")
SLACK_S = 1.0  # beyond intake's own deadline, which answers 503 first


class Records(msgspec.Struct, frozen=True):
    site: str
    events: list[msgspec.Raw]
    timeout: float | None = None


class Written(msgspec.Struct, frozen=True, kw_only=True):
    seqs: list[int] = []
    duplicate: int | None = None  # already in the stream, at this seq
    error: ErrorBody | None = None


def desk_subject(pid: int) -> str:
    """Where the intake of process `pid` on this host takes records."""
    host = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in socket.gethostname())
    return f"_muster.records.{host}.{pid}"


class RecordDesk:
    """Intake's side: each request's records go into the site's queue, behind its commands."""

    def __init__(self, intake: Intake, subject: str) -> None:
        self.intake = intake
        self.subject = subject
        self._sub: Any = None
        self._writing: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        nc = self.intake.log.nc
        self._sub = await nc.subscribe(self.subject, cb=self._on_request)
        await nc.flush()  # the server has our interest: a request from now on finds the desk

    async def stop(self) -> None:
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
        for task in list(self._writing):
            task.cancel()
        await asyncio.gather(*self._writing, return_exceptions=True)

    async def _on_request(self, msg: Any) -> None:
        # A task each: nats-py runs one subscription's callbacks one after another.
        task = asyncio.create_task(self._write(msg))
        self._writing.add(task)
        task.add_done_callback(self._writing.discard)

    async def _write(self, msg: Any) -> None:
        try:
            req = msgspec.json.decode(msg.data, type=Records)
            events = [e.decode(raw) for raw in req.events]
            answer = Written(seqs=await self.intake.record(req.site, events, req.timeout))
        except Duplicate as dup:
            answer = Written(duplicate=dup.seq)
        except Exception as exc:  # the notifier retries what was not written
            log.warning("records not written: %s", exc)
            answer = Written(error=ErrorBody(code="unavailable", message=str(exc)))
        with contextlib.suppress(Exception):  # the asker gone: its lease retries the send
            await msg.respond(msgspec.json.encode(answer))


class DeskRecords:
    """A notifier's records, through the desk of an intake in another process (a
    `RecordWriter`); with nobody at the desk, straight to the stream."""

    def __init__(self, log_: EventLog, desk: str) -> None:
        self.nc = log_.nc
        self.timeout = log_.timeout
        self.desk = desk
        self.straight = StreamRecords(log_)

    async def record(self, site: str, events: list[e.Envelope],
                     timeout: float | None = None) -> list[int]:
        wait = timeout or self.timeout
        request = Records(site, [msgspec.Raw(e.encode(ev)) for ev in events], wait)
        try:
            msg = await self.nc.request(self.desk, msgspec.json.encode(request),
                                        timeout=wait + SLACK_S)
        except NoRespondersError:
            return await self.straight.record(site, events, timeout)
        except (NatsTimeout, TimeoutError):
            raise Unavailable("intake did not answer for the records") from None
        answer = msgspec.json.decode(msg.data, type=Written)
        if answer.duplicate is not None:
            raise Duplicate(answer.duplicate)
        if answer.error is not None:
            raise Unavailable(answer.error.message)
        return answer.seqs

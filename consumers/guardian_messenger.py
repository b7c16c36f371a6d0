"""The notifier's guardian messenger: each GuardianMessagesRequested sent through Apprise to the
guardians guardian_messages.plan names, batch by batch, at most `per_minute` messages a minute,
each batch recorded as GuardianMessagesSent (counts only, never an address).

It folds the stream from its start: the site's config as it was when the request was made
(site files, roster imports, away events), the unit each incident was raised on, and the
batches already recorded. Only once it has caught up does it send, so a restart never sends a
batch again that the stream says was sent; a batch cut off mid-way by a crash is sent again
whole (at least once, as every notifier send). Each batch goes only to the addresses the
site's config allows when it is sent: a custody restriction imported after the request (before
a restart too) stops its adult's messages, counted as skipped.
"""

import asyncio
import contextlib
import logging
import time
from typing import Any

import apprise
import msgspec

from command.domain import board, guardian_messages
from command.domain import events as e
from command.domain.alert_rules import NEVER_SENT
from command.domain.site import Site
from command.infra.eventlog import Duplicate, EventLog
from command.infra.record_writer import RecordWriter
from consumers.send_records import ACTOR, record_id

log = logging.getLogger("muster.notifier")
FOLDED = frozenset({"SiteConfigured", "RosterChanged", "AwayEventScheduled", "IncidentOpened",
                    "GuardianMessagesRequested", "GuardianMessagesSent"})


class _Head(msgspec.Struct):
    type: str


_head = msgspec.json.Decoder(_Head)


def send_once(url: str, body: str, timeout: float) -> str | None:
    """In a worker process: one message, by an Apprise object of its own (one per guardian
    would pile up if kept); None when sent, else what went wrong."""
    client = apprise.Apprise()
    if not client.add(url):
        return "the Apprise URL is not valid"
    if client.notify(body=body, title="", timeout=timeout):  # type: ignore[call-arg]
        return None
    return "the channel refused the message"


def sends(config: Site, mode: str) -> bool:
    """Whether guardians hear a request of `mode` at all: never a replay's or a tabletop's (a
    replay copies the original's request), and only in the modes the site file names."""
    settings = config.guardian_messages
    return settings is not None and mode in settings.modes and mode not in NEVER_SENT


class Job(msgspec.Struct, kw_only=True):
    request: e.GuardianMessagesRequested
    plan: guardian_messages.Plan
    done: set[int] = set()  # batch numbers recorded
    unit: tuple[str, str | None] = ("room", None)  # the unit the incident was raised on
    checked: Any = None  # the config `allowed` was taken from
    allowed: set[str] = set()


class GuardianMessenger:
    def __init__(self, log_: EventLog, pool: Any, records: RecordWriter,
                 timeout: float = 5.0) -> None:
        self.log = log_
        self.pool = pool  # the sender's worker processes
        self.records = records
        self.timeout = timeout
        self.configs: dict[str, board.State] = {}
        self.units: dict[str, tuple[str, str | None]] = {}  # incident -> (unit, its id)
        self.jobs: dict[str, Job] = {}
        self.recorded: dict[str, set[int]] = {}  # batches of requests not yet folded
        self.caught_up = asyncio.Event()
        self.woken = asyncio.Event()
        self.stopping = False
        self._sub: Any = None
        self._next_at = 0.0
        self._last = 0  # the stream's last sequence at start: sending waits until it is folded

    async def _on_msg(self, msg: Any) -> None:
        seq = msg.metadata.sequence.stream
        try:
            if _head.decode(msg.data).type in FOLDED:
                self.fold(seq, e.decode(msg.data))
        except Exception:  # a bad event is the projector's and the notifier's to report
            log.exception("guardian messages: skipped the event at seq %d", seq)
        if seq >= self._last:
            self.caught_up.set()
        self.woken.set()

    def fold(self, seq: int, event: e.Event) -> None:
        if isinstance(event, board.CONFIGURING):
            state = self.configs.get(event.site) or board.empty(event.site)
            self.configs[event.site] = board.evolve(state, seq, event)
        elif isinstance(event, e.IncidentOpened) and event.incident_id:
            self.units[event.incident_id] = (event.data.unit, event.data.room)
        elif isinstance(event, e.GuardianMessagesRequested):
            config = self.configs.get(event.site)
            if config is None or config.config is None or not sends(config.config, event.mode):
                return
            unit, unit_id = self.units.get(event.incident_id or "", ("room", None))
            done = self.recorded.pop(event.id, set())
            self.jobs[event.id] = Job(request=event, done=done, unit=(unit, unit_id),
                                      plan=guardian_messages.plan(config.config, unit, unit_id))
        elif isinstance(event, e.GuardianMessagesSent):
            job = self.jobs.get(event.data.request_id)
            if job is not None:
                job.done.add(event.data.batch)
            else:
                self.recorded.setdefault(event.data.request_id, set()).add(event.data.batch)

    async def run(self) -> None:
        if self.pool is None:
            return  # a sender without worker processes (none in Muster) sends no guardians
        self._last = await self.log.last_seq()
        if self._last == 0:
            self.caught_up.set()
        self._sub = await self.log.follow(1, self._on_msg, raw=True)
        await self.caught_up.wait()
        while not self.stopping:
            await self._send_due()
            self.woken.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.woken.wait(), 1.0)

    async def _send_due(self) -> None:
        for job in list(self.jobs.values()):
            for number, urls in enumerate(job.plan.batches, 1):
                if number in job.done or self.stopping:
                    continue
                await self._send_batch(job, number, urls)
            if len(job.done) >= len(job.plan.batches):
                self.jobs.pop(job.request.id, None)

    def still(self, job: Job, urls: list[str]) -> list[str]:
        """Those of a batch's addresses the site's config lets hear it now (a restriction
        imported since the request bars its adult); taken again only when the config changes."""
        config = self.configs[job.request.site].config
        if config is not job.checked:
            job.allowed = guardian_messages.allowed(config, *job.unit) if config else set()
            job.checked = config
        return [u for u in urls if job.plan.keys.get(u) in job.allowed]

    async def _send_batch(self, job: Job, number: int, planned: list[str]) -> None:
        req = job.request
        urls = self.still(job, planned)
        config = self.configs[req.site].config
        per_minute = config.guardian_messages.per_minute if config and \
            config.guardian_messages else 300
        sent = failed = 0
        error = None
        loop = asyncio.get_running_loop()
        for url in urls:
            wait = self._next_at - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                error = await asyncio.wait_for(loop.run_in_executor(
                    self.pool, send_once, url, req.data.text, self.timeout), self.timeout + 1)
            except Exception as exc:  # a plugin's fault, or no answer: this message failed
                error = f"{type(exc).__name__}: {exc}"
            # From the end of a send: the next never arrives sooner than the rate allows.
            self._next_at = time.monotonic() + 60.0 / per_minute
            sent, failed = sent + (error is None), failed + (error is not None)
        data = e.GuardianMessagesSentData(
            request_id=req.id, batch=number, sent=sent, failed=failed,
            skipped=(job.plan.skipped if number == 1 else 0) + len(planned) - len(urls),
            error=None if not failed else (error or "")[:200])
        now = e.now()
        record = e.GuardianMessagesSent(
            id=record_id(req.id, number, "guardians"), site=req.site,
            incident_id=req.incident_id, mode=req.mode, occurred_at=now, recorded_at=now,
            actor=ACTOR, data=data)
        try:
            await self.records.record(req.site, [record])
        except Duplicate:
            pass
        except Exception:  # not sent again by this process; a restart sends it again
            log.exception("guardian messages: batch %d of %s was sent, not recorded", number,
                          req.id)
        job.done.add(number)

    async def stop(self) -> None:
        self.stopping = True
        self.woken.set()
        self.caught_up.set()
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()

"""Intake: decide a command against the site's state folded from the stream, append, answer.

Three parts, one job each: the site directory (site_directory: each site's state and each
incident's site, folded from the stream this follows), the answers index (answers: a retried
command's first answer) and the site writer (site_writer: each site's queue, batches and
appends, retried when another replica appended first). This is their front door.

A site's commands are written one append at a time, in order, before records of what happened
(notifications sent), which can wait an append where a press cannot.
"""

import contextlib
import logging
import time
from collections.abc import Callable

import msgspec

from command.domain import commands as c
from command.domain import events as e
from command.domain import redact
from command.domain.site import Site
from command.domain.site_state import SiteState
from command.infra.eventlog import EventLog
from command.write.answers import Accepted, Answers
from command.write.site_directory import SiteDirectory
from command.write.site_queue import Pending
from command.write.site_writer import SiteWriter

log = logging.getLogger("muster.intake")


class _SiteOnly(msgspec.Struct):
    site: str = ""


_site_only = msgspec.json.Decoder(_SiteOnly)


class Intake:
    """Follows the stream into the site directory; decides and appends commands and records."""

    def __init__(self, log_: EventLog, observe: Callable[[float], None] | None = None,
                 rehearse: Callable[[e.Envelope], None] | None = None) -> None:
        self.log = log_
        self.answers = Answers()
        self.sites = SiteDirectory(self.answers)
        # `rehearse` is the consumers' own fold, passed in by the composition root (command/
        # never imports consumers/): a site file is tried through it before it is written.
        self.writer = SiteWriter(log_, self.sites, self.answers, rehearse)
        self._sub: object | None = None
        self._observe = observe

    # --- the stream ----------------------------------------------------------------------

    async def _on_msg(self, msg: object) -> None:
        seq = msg.metadata.sequence.stream  # type: ignore[attr-defined]
        try:
            self.sites.apply(seq, e.decode(msg.data))  # type: ignore[attr-defined]
        except msgspec.ValidationError:
            self.sites.skip(seq, _site_only.decode(msg.data).site)  # type: ignore[attr-defined]
            log.warning("skipped an event this version cannot decode at seq %d", seq)

    async def start(self, subjects: str | None = None) -> None:
        """Fold the stream so far, then keep following it."""
        last = await self.log.last_seq()
        self._sub = await self.log.follow(1, self._on_msg, subjects=subjects, raw=True)
        await self.wait_until(lambda: self.sites.applied >= last, timeout=600)

    async def stop(self) -> None:
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()  # type: ignore[attr-defined]

    async def wait_until(self, done: Callable[[], bool], timeout: float) -> bool:
        return await self.sites.wait_until(done, timeout)

    # --- commands and records ------------------------------------------------------------

    def site_of(self, incident_id: str) -> str | None:
        return self.sites.site_of(incident_id)

    def state(self, site: str) -> SiteState:
        return self.sites.state(site)

    def site_files(self) -> list[Site]:
        """Every site's current site file, as folded: what a CAD's EIDO is matched against."""
        return [s.site for s in self.sites.states.values() if s.site is not None]

    async def execute(self, site: str, cmd: c.Command, actor: e.Actor, *,
                      incident_id: str | None = None, room: str | None = None,
                      commander: bool = False) -> tuple[Accepted, list[e.Envelope]]:
        """Decide and append `cmd`; the answer and the events written (none for a duplicate)."""
        started = time.perf_counter()
        cid = str(cmd.client_event_id) if cmd.client_event_id else None
        # One answer, 202 or 503, within one append's timeout: commands queued behind an append
        # that NATS never answers must not each wait out a timeout of their own.
        job = Pending(time.monotonic() + self.log.timeout, cmd, actor, cid, incident_id, room,
                      commander)
        if job.first_id and job.first_id in self.answers:
            return self.answers.again(cid), []  # type: ignore[arg-type]
        answer: tuple[Accepted, list[e.Envelope]] = await self.writer.submit(site, job)
        if self._observe and answer[1] and not redact.never_shown(answer[1][0]):
            self._observe(time.perf_counter() - started)  # a count would tell a notice was issued
        return answer

    async def record(self, site: str, events: list[e.Envelope],
                     timeout: float | None = None) -> list[int]:
        """Append records of what happened (notifications: no decision to check) in the site's
        next append and fold them at once, so this replica's next command at the site is not
        refused for a sequence it had only not read back yet."""
        job = Pending(time.monotonic() + (timeout or self.log.timeout), events=events)
        seqs: list[int] = await self.writer.submit(site, job)
        return seqs

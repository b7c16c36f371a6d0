"""The replay edge (CONTRACT §1 `muster replay`): a recorded incident appended again, in time
order, onto a board of its own, `replay-{incident}`, for a debrief.

Every replayed event is a new event, and the original stays untouched:
- mode "replay", so no channel ever hears it (`alert_rules.accepts`), and the site file goes
  without its channels besides;
- site `replay-{incident}` and incident `replay-{run}-{incident}`: intake and the read models key
  an incident by its id, so reusing the original id would move the real incident to the replay;
- id uuid5(original id, run), so running the same run again writes nothing twice;
- `occurred_at` stays the original's (when it happened) and `recorded_at` is the replay's wall
  time (when this copy was appended): that is what the two fields mean, so the replay board, the
  report and the drill log of a replay show the original incident's clock and give the same
  figures as the original. Nothing new goes into `data`.

The site file is the one in force at the incident's first event; a config change made while it
was open (an away event scheduled, a site file) plays where it came in the stream
(`site_versions.interleaved`), so the replay board places people as the original did.

`cut` picks where a replay starts playing: "from minute N" or "from inject K" appends every
event before that point at once, then plays the rest at `speed`.
"""

import asyncio
import itertools
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import NamedTuple

import msgspec
from msgspec.structs import replace

from command.domain import board, redact
from command.domain import events as e
from command.domain.errors import Conflict, Invalid, NotFound
from command.domain.types import Ident
from command.infra.eventlog import Duplicate, EventLog
from consumers import site_versions

PREFIX = "replay-"
MAX_GAP_S = 5.0  # a quiet half hour in the original need not be sat through again
# Fixed namespace: a run's event ids are the same on every attempt, for ever.
_NS = uuid.UUID("3b8f0c2e-9d41-4a6e-8e57-2c7d1f4a9b30")
_NOTICES = (e.NotificationSentData, e.NotificationFailedData, e.NotificationEscalatedData)


class Recording(NamedTuple):
    config: e.SiteConfigured | None  # the site file as it was when the incident opened
    # The incident's events with their stream sequences, and the site's config changes made
    # while it was open among them by sequence (site_versions.interleaved).
    events: list[tuple[int, e.Event]]


def replay_site(incident_id: str) -> str:
    """The replay board's site id; it must be an Ident, which also keeps wildcards out."""
    try:
        return msgspec.convert(PREFIX + incident_id, Ident)
    except msgspec.ValidationError as exc:
        raise Invalid(f"incident id {incident_id!r} cannot name a replay site: {exc}",
                      field="incident") from None


def replay_incident(incident_id: str, run: str) -> str:
    return f"{PREFIX}{run}-{incident_id}"


def replayed_id(event_id: str, run: str) -> str:
    return str(uuid.uuid5(_NS, f"{event_id}/{run}"))


def rewrite(event: e.Event, site: str, incident: str, run: str, now: datetime) -> e.Envelope:
    """One original event as the replay appends it (pure)."""
    data: object = event.data
    if isinstance(event, e.SiteConfigured):
        # Nor its district or drill rules: a replay board is no school to count or check.
        data = replace(event.data, id=site, channels=[], district=None, drills=None,
                       guardian_messages=None)  # nor does a guardian hear of a debrief
    elif isinstance(data, _NOTICES):
        data = replace(data, event_id=replayed_id(data.event_id, run))
    return replace(event, id=replayed_id(event.id, run), site=site, mode="replay",
                   incident_id=incident if event.incident_id else None, recorded_at=now,
                   data=data)


def cut(events: Sequence[e.Event], from_minute: float | None = None,
        from_inject: int | None = None) -> int:
    """How many of the incident's events (in time order) go onto the board at once before the
    rest play: those before minute `from_minute` of the original (counted from its first
    event), or before its `from_inject`-th InjectDelivered (counted from 1). Pure."""
    if from_minute is not None and from_inject is not None:
        raise Invalid("give a minute or an inject to start from, not both", field="from_inject")
    if from_minute is not None:
        if not from_minute >= 0:
            raise Invalid("the minute to start from must be 0 or more", field="from_minute")
        if not events:
            return 0
        start = events[0].occurred_at
        at = next((i for i, ev in enumerate(events)
                   if (ev.occurred_at - start).total_seconds() >= from_minute * 60), None)
        if at is None:
            lasted = (events[-1].occurred_at - start).total_seconds() / 60
            raise Invalid(f"the incident lasted {lasted:.1f} min: nothing happened at or after "
                          f"minute {from_minute:g}", field="from_minute")
        return at
    if from_inject is not None:
        injects = [i for i, ev in enumerate(events) if isinstance(ev, e.InjectDelivered)]
        if from_inject < 1:
            raise Invalid("injects are counted from 1", field="from_inject")
        if from_inject > len(injects):
            raise Invalid(f"the incident has {len(injects)} inject(s), so there is no inject "
                          f"{from_inject}", field="from_inject")
        return injects[from_inject - 1]
    return 0


def pauses(events: Sequence[e.Envelope], speed: float, cap: float = MAX_GAP_S,
           start: int = 0) -> list[float]:
    """The wait before each event: the original gap ÷ speed, at most `cap`; none up to and
    including event `start`, which the board jumps to at once (pure)."""
    times = [ev.occurred_at for ev in events]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    waits = [0.0, *(min(max(g, 0.0) / speed, cap) for g in gaps)][:len(times)]
    return [0.0 if i <= start else w for i, w in enumerate(waits)]


async def _last_seqs(log: EventLog, subjects: str) -> dict[str, int]:
    """Each stream subject matching `subjects`, with its last sequence."""
    info = await log.js.stream_info(log.stream, subjects_filter=subjects)
    return {s: (await log.js.get_last_msg(log.stream, s)).seq
            for s in sorted(info.state.subjects or {})}


async def recorded(log: EventLog, incident_id: str) -> Recording:
    """An incident's events from the stream (the only source of truth), the site file in force
    at its first event, and the config changes made while it was open, interleaved."""
    replay_site(incident_id)
    found = await _last_seqs(log, log.subject("*", incident_id))
    if not found:
        raise NotFound("unknown incident", field="incident")
    if len(found) > 1:
        raise Conflict(f"incident {incident_id!r} is on several sites: {sorted(found)}")
    subject, end = next(iter(found.items()))
    # Bounded by the subject's own last sequence: a filtered read never sees the stream's end.
    events = [x async for x in log.read(1, end, subjects=subject)]
    site_subject = log.subject(events[0][1].site, None)
    site_end = (await _last_seqs(log, site_subject)).get(site_subject, 0)
    config, folded, changes = None, board.empty(events[0][1].site), []
    if site_end:
        async for seq, ev in log.read(1, site_end, subjects=site_subject):
            if not isinstance(ev, board.CONFIGURING):
                continue
            if seq > events[0][0]:
                changes.append((seq, ev))  # made during the incident: played in its place
                continue
            folded = board.evolve(folded, seq, ev)  # roster imports and away events too
            config = ev if isinstance(ev, e.SiteConfigured) else config
    if config is not None and folded.config is not None:
        config = replace(config, data=folded.config)
    return Recording(config, site_versions.interleaved(events, changes))


async def replay(log: EventLog, incident_id: str, speed: float = 10.0,
                 sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
                 run: str | None = None, clock: Callable[[], datetime] = e.now,
                 from_minute: float | None = None, from_inject: int | None = None) -> str:
    """Append the incident again onto `replay-{incident}`: what came before `from_minute` or
    `from_inject` (see `cut`) at once, the rest `speed` times faster; the replay's site id."""
    if not speed > 0:
        raise Invalid("speed must be above 0", field="speed")
    site = replay_site(incident_id)
    run = run or uuid.uuid4().hex[:8]
    incident = replay_incident(incident_id, run)
    recording = await recorded(log, incident_id)
    planned = schedule(recording, speed, from_minute, from_inject)  # refused before any write
    for pause, event in planned:
        if pause > 0:
            await sleep(pause)
        await _append(log, site, rewrite(event, site, incident, run, clock()))
    return site


def schedule(recording: Recording, speed: float, from_minute: float | None = None,
             from_inject: int | None = None) -> list[tuple[float, e.Event]]:
    """What a replay appends, in order, each with the wait before it (pure): the site file at
    once, then the incident's events in time order, less those never shown, each config change
    just before the first of them that came after it in the stream (so the board folds it
    where the original did)."""
    hidden = redact.hidden_ids(ev for _, ev in recording.events)
    ordered = [ev for _, ev in sorted(recording.events, key=_when(recording.events))
               if not redact.never_shown(ev, hidden)]
    start = cut(ordered, from_minute, from_inject)
    head: list[tuple[float, e.Event]] = [] if recording.config is None else [(0.0,
                                                                             recording.config)]
    return head + list(zip(pauses(ordered, speed, start=start), ordered, strict=True))


def _when(events: Sequence[tuple[int, e.Event]]) -> Callable[[tuple[int, e.Event]], tuple]:
    """The replay's sort key: an incident event's time then sequence; a config change's is the
    next incident event's time (by sequence) and its own sequence, else after everything."""
    after: dict[int, datetime | None] = {}
    upcoming: datetime | None = None
    for seq, ev in sorted(events, key=lambda x: x[0], reverse=True):
        if ev.incident_id:
            upcoming = ev.occurred_at
        else:
            after[seq] = upcoming
    last = max((ev.occurred_at for _, ev in events), default=None)

    def key(x: tuple[int, e.Event]) -> tuple:
        seq, ev = x
        if ev.incident_id:
            return (ev.occurred_at, 0, seq)
        at = after.get(seq)
        return (at, 0, seq) if at is not None else (last, 1, seq)

    return key


async def _append(log: EventLog, site: str, event: e.Envelope) -> None:
    try:
        await log.append(site, [event], expected_last=None)
    except Duplicate:
        pass  # this run already wrote it: a resumed replay carries on

"""Press → first delivery at the sink: which presses notify, and which arrival answers which.

Every accepted live press appends an AlertRaised, which `alert_rules.deliveries` sends
to each channel that lists AlertRaised, takes live mode and is not Handle With Care (the press's
ProtocolDeclared skips those channels, and IncidentOpened goes to none). Its text names the room
and the kind: "Lockdown! … Bench School 03, room B-112, 10:41. Alert: lockdown." or "hold alert
at Bench School 03, room B-112, 10:41. The lockdown remains in force." The notifier sends each
channel's messages one at a time, oldest first, so on a channel's path (`/SITE/CHANNEL`) they
arrive in the order of their presses' seqs: a press takes the next arrival there that names its
room and kind. Its first delivery is its earliest such arrival on any channel.
"""

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from command.domain.site import Channel
from loadtest.clients.arrivals import Arrival, SinkLog

POLL_S = 0.05
LOOKAHEAD = 8  # how far past a lost or repeated message a press may look on its channel
ESCALATION = "ESCALATION — "


class Pressed(NamedTuple):
    """An accepted press: where, what, its seq, and `time.time()` when its request started."""

    site: str
    kind: str
    room: str
    seq: int
    sent: float


@dataclass
class Notified:
    """Press → first delivery for the presses that should notify."""

    latencies: list[float] = field(default_factory=list)
    points: list[tuple[float, float]] = field(default_factory=list)  # (sent, latency)
    # (sent, latency) of the first press at each site: no queue before it
    openers: list[tuple[float, float]] = field(default_factory=list)
    expected: int = 0  # accepted presses at a site with a channel that hears them
    missed: int = 0  # of those, no delivery within the bound
    pairs_expected: int = 0  # (press, channel) sends the notifier owes
    pairs_seen: int = 0  # of those, found at the sink by the end of the wait


def hears(channel: Channel) -> bool:
    """Whether a live press's AlertRaised is sent to this channel."""
    return ("AlertRaised" in channel.events and "live" in channel.modes
            and not channel.handle_with_care)


def names(message: str, press: Pressed) -> bool:
    """Whether an alert's text is about this press's room and kind (either wording)."""
    return f"room {press.room}," in message and (
        f"Alert: {press.kind}." in message or message.startswith(f"{press.kind} alert at "))


def first_deliveries(presses: Sequence[Pressed], channels: dict[str, list[Channel]],
                     arrivals: Sequence[Arrival]) -> tuple[list[float | None], int]:
    """Each press's earliest matching arrival time (None if none yet), and the pairs matched."""
    by_path: dict[str, list[Arrival]] = {}
    for a in sorted(arrivals, key=lambda a: a.t):
        if not a.message.startswith(ESCALATION):  # an escalation repeats an alert, later
            by_path.setdefault(a.path, []).append(a)
    by_site: dict[str, list[int]] = {}
    for i in sorted(range(len(presses)), key=lambda i: presses[i].seq):
        by_site.setdefault(presses[i].site, []).append(i)
    first: list[float | None] = [None] * len(presses)
    pairs = 0
    for site, mine in by_site.items():
        for channel in filter(hears, channels.get(site, [])):
            queue = by_path.get(f"/{site}/{channel.name}", [])
            k = 0
            for i in mine:
                j = next((j for j in range(k, min(k + LOOKAHEAD, len(queue)))
                          if names(queue[j].message, presses[i])), None)
                if j is None:
                    continue
                pairs, k = pairs + 1, j + 1
                held = first[i]
                first[i] = queue[j].t if held is None else min(held, queue[j].t)
    return first, pairs


def expected_pairs(presses: Sequence[Pressed], channels: dict[str, list[Channel]]) -> list[int]:
    """How many channels owe each press a message."""
    hearing = {site: sum(map(hears, chans)) for site, chans in channels.items()}
    return [hearing.get(p.site, 0) for p in presses]


def summarize(presses: Sequence[Pressed], channels: dict[str, list[Channel]],
              arrivals: Sequence[Arrival], within: float) -> Notified:
    first, pairs = first_deliveries(presses, channels, arrivals)
    owed = expected_pairs(presses, channels)
    out = Notified(pairs_expected=sum(owed), pairs_seen=pairs)
    opener: dict[str, Pressed] = {}
    for press in presses:
        if press.site not in opener or press.seq < opener[press.site].seq:
            opener[press.site] = press
    for press, t, n in zip(presses, first, owed, strict=True):
        if n == 0:
            continue
        out.expected += 1
        if t is None or t - press.sent > within:
            out.missed += 1
        if t is not None:
            out.latencies.append(t - press.sent)
            out.points.append((press.sent, t - press.sent))
            if opener[press.site] is press:
                out.openers.append((press.sent, t - press.sent))
    return out


async def wait(log: SinkLog, presses: Sequence[Pressed], channels: dict[str, list[Channel]],
               within: float) -> Notified:
    """Until every owed message is at the sink, or `within` after the last press was sent."""
    deadline = max((p.sent for p in presses), default=time.time()) + within
    owed = sum(expected_pairs(presses, channels))
    while True:
        out = summarize(presses, channels, log.poll(), within)
        if out.pairs_seen >= owed or time.time() >= deadline:
            return out
        await asyncio.sleep(POLL_S)

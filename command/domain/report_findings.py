"""What went wrong, found from one incident's events: each finding a short sentence at the
offset (seconds from the start) where it shows, for the debrief to teach from.

The rules, each plain enough to say to a principal:
- a room of the site file that never reported;
- a room that was in place (secured, evacuated or clear) and later needed help or went
  unreachable;
- the first acknowledgement later than the escalation window (the shortest `escalate_after_s` of
  the channels that hear the incident's mode), counted from the first alert or protocol, or none;
- a channel whose send failed, with the error (any URL in it masked) and whether it got through;
- people accounted for only at the end: in the last `LAST_MINUTE_S` before the end (the last all
  clear, else the close or cancel), and people never accounted for by then;
- a protocol still in force at the last event: declared and never lifted.
A cancelled incident (a false alarm, or a drill called off) is judged only on its channels and
its protocol: nobody was meant to finish reporting or accounting.
"""

import re
from collections.abc import Mapping, Sequence
from datetime import datetime

import msgspec

from command.domain import events as e
from command.domain.drill_log import IN_PLACE
from command.domain.report_timeline import offset, people, short, since
from command.domain.site import Site

LAST_MINUTE_S = 60.0
ROOMS_NAMED = 8  # a finding names this many rooms, then says how many more
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://\S+")
_HEARS = {"tabletop": "drill"}  # a tabletop is judged by the windows its drill would have


class Finding(msgspec.Struct, frozen=True, kw_only=True):
    offset_s: float | None  # where it shows, in seconds from the start
    kind: str  # never_reported, help_after_in_place, late_ack, no_ack, channel_failed,
    #            accounted_at_end, never_accounted, protocol_not_lifted
    text: str


def find(events: Sequence[e.Event], rooms: Mapping[str, str], config: Site | None,
         unknown: Sequence[tuple[float, int]]) -> list[Finding]:
    """The findings of one incident's `events` (in stream order, its own only); `rooms` are the
    site file's rooms (id -> name) and `unknown` how many people were unknown from each offset."""
    start = events[0].occurred_at
    found = [*_channels(events, start), *_protocol(events, start)]
    if not any(isinstance(ev, e.IncidentCancelled) for ev in events):  # a false alarm's are not
        found += [*_rooms(events, rooms, start), *_acks(events, config, start),
                  *_accounting(events, unknown, start)]
    return sorted(found, key=lambda f: (f.offset_s is None, f.offset_s or 0.0))


def _end(events: Sequence[e.Event]) -> datetime | None:
    """The last all clear, else the close or cancel; None while the incident is open."""
    lifts = [ev.occurred_at for ev in events if isinstance(ev, e.ProtocolLifted)
             and ev.data.reason == "all_clear"]
    ends = [ev.occurred_at for ev in events if isinstance(ev, e.IncidentClosed
                                                          | e.IncidentCancelled)]
    return lifts[-1] if lifts else ends[0] if ends else None


def _rooms(events: Sequence[e.Event], rooms: Mapping[str, str], start: datetime,
           ) -> list[Finding]:
    out, placed, reported = [], dict[str, tuple[str, float]](), set[str]()
    for ev in events:
        if not isinstance(ev, e.RoomStatusReported) or ev.data.room not in rooms:
            continue
        room, status, at = ev.data.room, ev.data.status, offset(ev.occurred_at, start)
        reported.add(room)
        if status in IN_PLACE:
            placed[room] = (status, at)
        elif room in placed:
            was, when = placed.pop(room)
            out.append(Finding(offset_s=at, kind="help_after_in_place", text=(
                f"Room {room} ({rooms[room]}) reported {status.replace('_', ' ')} after it "
                f"was {was} at {since(when)}.")))
    never = [r for r in rooms if r not in reported]
    if never:
        end = _end(events) or events[-1].occurred_at
        named = ", ".join(never[:ROOMS_NAMED]) + (f" and {len(never) - ROOMS_NAMED} more"
                                                 if len(never) > ROOMS_NAMED else "")
        out.append(Finding(offset_s=offset(end, start), kind="never_reported", text=(
            f"{len(never)} of {len(rooms)} rooms never reported: {named}.")))
    return out


def _window(events: Sequence[e.Event], config: Site | None) -> tuple[float, str] | None:
    """The shortest escalation window of the channels that hear this incident, and its channel."""
    mode = _HEARS.get(events[0].mode, events[0].mode)
    windows = sorted((c.escalate_after_s, c.name) for c in (config.channels if config else [])
                     if c.escalate_after_s and mode in c.modes)
    return windows[0] if windows else None


def _acks(events: Sequence[e.Event], config: Site | None, start: datetime) -> list[Finding]:
    window = _window(events, config)
    alerted = next((ev.occurred_at for ev in events
                    if isinstance(ev, e.AlertRaised | e.ProtocolDeclared)), None)
    if window is None or alerted is None:
        return []
    limit, channel = window
    acked = next((ev for ev in events if isinstance(ev, e.ResponderAcknowledged)), None)
    said = f"the {limit:g} s escalation window (channel {channel})"
    if acked is None:
        return [Finding(offset_s=offset(alerted, start) + limit, kind="no_ack", text=(
            f"Nobody acknowledged the alert: {said} passed with no acknowledgement."))]
    waited = offset(acked.occurred_at, alerted)
    if waited <= limit:
        return []
    return [Finding(offset_s=offset(acked.occurred_at, start), kind="late_ack", text=(
        f"The first acknowledgement ({acked.data.responder}) came {waited:g} s after the "
        f"alert, later than {said}."))]


def _channels(events: Sequence[e.Event], start: datetime) -> list[Finding]:
    failed: dict[str, list[e.NotificationFailed]] = {}
    sent = {ev.data.channel for ev in events if isinstance(ev, e.NotificationSent)}
    for ev in events:
        if isinstance(ev, e.NotificationFailed):
            failed.setdefault(ev.data.channel, []).append(ev)
    out = []
    for channel, fails in failed.items():
        error = short(_URL.sub("<url>", fails[-1].data.error), 120)
        times = "once" if len(fails) == 1 else f"{len(fails)} times"
        outcome = "other sends got through" if channel in sent else "nothing got through"
        out.append(Finding(offset_s=offset(fails[0].occurred_at, start), kind="channel_failed",
                           text=f"Channel {channel} failed {times} ({error}); {outcome}."))
    return out


def _accounting(events: Sequence[e.Event], unknown: Sequence[tuple[float, int]],
                start: datetime) -> list[Finding]:
    end = _end(events)
    if end is None or not unknown:
        return []
    at_end = offset(end, start)

    def unknown_at(t: float) -> int:
        return next((n for s, n in reversed(unknown) if s <= t), unknown[0][1])

    before, after = unknown_at(at_end - LAST_MINUTE_S), unknown_at(at_end)
    out = []
    if at_end > LAST_MINUTE_S and before > after:
        out.append(Finding(offset_s=at_end, kind="accounted_at_end", text=(
            f"{_were(before - after)} accounted for only in the last minute before the "
            f"end ({since(at_end - LAST_MINUTE_S)} to {since(at_end)}).")))
    if after:
        out.append(Finding(offset_s=at_end, kind="never_accounted", text=(
            f"{_were(after)} still not accounted for at the end.")))
    return out


def _were(n: int) -> str:
    return f"{people(n)} {'was' if n == 1 else 'were'}"


def _protocol(events: Sequence[e.Event], start: datetime) -> list[Finding]:
    standing: e.ProtocolDeclared | None = None
    for ev in events:
        if isinstance(ev, e.ProtocolDeclared):
            standing = ev
        elif isinstance(ev, e.ProtocolLifted):
            standing = None
    if standing is None:
        return []
    last = offset(events[-1].occurred_at, start)
    return [Finding(offset_s=last, kind="protocol_not_lifted", text=(
        f"{standing.data.action.upper()} declared at {since(offset(standing.occurred_at, start))}"
        f" was never lifted: still in force at the last event."))]

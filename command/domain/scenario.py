"""A tabletop scenario: a site-agnostic script of injects, read from TOML or a request body.

A facilitator writes what happens and when (`at = "10:02"`, the script's own clock, or
`after_s`, seconds after the inject before), who speaks (`source`), what they say (`text`) and,
for the debrief, what the team should do (`expect`). `timeline` turns the script into each
inject's offset from the exercise's start; `schedule` says when each is due at a chosen speed.
Nothing here reads a file or a clock.
"""

import math
from typing import Annotated

import msgspec
from msgspec import Meta

from command.domain.errors import Invalid, from_validation
from command.domain.types import END, AlertKind, Label, Name, Seconds, Text

# "10:02" or "10:02:30": the clock the script is told in, never a date or a time zone.
Clock = Annotated[str, Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?" + END)]
InjectText = Annotated[str, Meta(min_length=1, max_length=2000,
                                 pattern=r"^[^\x00-\x08\x0b-\x1f\x7f]*" + END)]
MAX_INJECTS = 200  # a long exercise has a few dozen; the bound keeps a body small


class Inject(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One scripted inject: at a clock time, or some seconds after the one before."""

    text: InjectText
    at: Clock | None = None
    after_s: Seconds | None = None
    source: Label = ""
    expect: Text | None = None  # what the team should do: the debrief compares against it


class Scenario(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A whole exercise; names no room or person, so any site can play it."""

    title: Name
    kind: AlertKind
    summary: Text = ""
    start: Clock | None = None  # the script's clock at its start; else the first `at`
    injects: Annotated[list[Inject], Meta(min_length=1, max_length=MAX_INJECTS)]


class Timed(msgspec.Struct, frozen=True, kw_only=True):
    """An inject placed on the exercise's time line."""

    index: int
    at_s: float  # seconds from the exercise's start
    clock: str  # the script's clock at that moment ("" when the script gives none)
    source: str
    text: str
    expect: str | None = None


def seconds_of(clock: str) -> int:
    parts = [int(p) for p in clock.split(":")]
    return parts[0] * 3600 + parts[1] * 60 + (parts[2] if len(parts) == 3 else 0)


def clock_of(seconds: float) -> str:
    whole = int(seconds) % 86_400
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}" + (f":{secs:02d}" if secs else "")


def timeline(scenario: Scenario, path: str = "$") -> list[Timed]:
    """Each inject's offset from the start; refused (naming the inject's field under `path`)
    when an inject gives both or would go back in time."""
    first_at = next((i.at for i in scenario.injects if i.at is not None), None)
    origin = scenario.start or first_at
    timed: list[Timed] = []
    previous = 0.0
    for n, inject in enumerate(scenario.injects):
        where = f"{path}.injects[{n}]"
        if inject.at is not None and inject.after_s is not None:
            raise Invalid("give an inject either `at` or `after_s`, not both", f"{where}.at")
        if inject.at is not None:
            assert origin is not None  # an `at` exists, so the origin is one
            at_s = float(seconds_of(inject.at) - seconds_of(origin))
            if at_s < previous:
                raise Invalid(f"inject {n} at {inject.at} comes before the one before it",
                              f"{where}.at")
        else:
            at_s = previous + (inject.after_s or 0.0)
        clock = inject.at or (clock_of(seconds_of(origin) + at_s) if origin else "")
        timed.append(Timed(index=n, at_s=at_s, clock=clock, source=inject.source,
                           text=inject.text, expect=inject.expect))
        previous = at_s
    return timed


def schedule(timed: list[Timed], speed: float, start_index: int = 0) -> list[tuple[float, Timed]]:
    """When each inject from `start_index` is due, in wall seconds after the player starts (or
    resumes there): script time divided by the speed, the first one at once."""
    if not math.isfinite(speed) or speed <= 0:
        raise Invalid("speed must be a number greater than 0", "speed")
    if not 0 <= start_index < len(timed):
        raise Invalid(f"the scenario has injects 1 to {len(timed)}; there is no inject "
                      f"{start_index + 1} to start from", "from")
    rest = timed[start_index:]
    base = rest[0].at_s
    return [((t.at_s - base) / speed, t) for t in rest]


def loads(text: str | bytes, path: str = "$") -> Scenario:
    """A scenario file; refused with the offending key path, as a site file is."""
    try:
        scenario = msgspec.toml.decode(text, type=Scenario)
    except msgspec.ValidationError as exc:
        raise from_validation(exc) from None
    except msgspec.DecodeError as exc:
        raise Invalid(f"not a TOML scenario file: {exc}", path) from None
    timeline(scenario, path)
    return scenario


class Pace(msgspec.Struct, frozen=True):
    """A player's clock: when it began (on any monotonic clock), and its pauses so far."""

    started: float
    paused_at: float | None = None
    paused_s: float = 0.0


def wait_for(pace: Pace, due_s: float, now: float) -> float | None:
    """Seconds until an inject due `due_s` after the start is delivered; None while paused."""
    if pace.paused_at is not None:
        return None
    return max(0.0, pace.started + pace.paused_s + due_s - now)


def paused(pace: Pace, now: float) -> Pace:
    return pace if pace.paused_at is not None else msgspec.structs.replace(pace, paused_at=now)


def resumed(pace: Pace, now: float) -> Pace:
    """Playing again: the time spent paused moves every later inject on by as much."""
    if pace.paused_at is None:
        return pace
    return Pace(started=pace.started, paused_s=pace.paused_s + now - pace.paused_at)

"""After the load: wait for the boards and the read models, then tell what arrived and what not.

Shared by the scenarios so each judges "lost" the same way: a command that got its 202 and never
reached a board of its site, or never reached the read models, is lost; a command refused under
load is counted apart, as refused, and one the generator never sent (no free slot before its
deadline) apart again: neither was acknowledged, so neither is a loss.
"""

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from loadtest.clients.commands import Answer, Command, accepted
from loadtest.clients.pacer import Sample
from loadtest.reporting.reach import Reach, reach
from loadtest.rig import Rig
from loadtest.sites import wait_projected

Group = tuple[Sequence[Sample[Answer]], Sequence[Command]]


def points(samples: Sequence[Sample[Answer]]) -> list[tuple[float, float]]:
    """(started at, latency) of each accepted command."""
    return [(s.start, s.latency) for s in samples if accepted(s)]


def targets(groups: Sequence[Group]) -> dict[str, int]:
    """Each site's highest accepted seq: a board or read model past it has everything."""
    out: dict[str, int] = {}
    for samples, commands in groups:
        for s, c in zip(samples, commands, strict=True):
            if accepted(s) and s.value is not None:
                out[c.site] = max(out.get(c.site, 0), s.value.seq)
    return out


@dataclass
class Settled:
    reaches: dict[str, Reach] = field(default_factory=dict)
    refused: Counter[str] = field(default_factory=Counter)  # by command kind and status
    unsent: Counter[str] = field(default_factory=Counter)  # by group: never sent, not refused
    accepted: Counter[str] = field(default_factory=Counter)  # by group
    read_models_ms: float | None = None  # after the last send, when every site's board was current
    losses: list[str] = field(default_factory=list)


async def settle(rig: Rig, groups: dict[str, Group], within: float) -> Settled:
    """Wait (at most `within` past the last send) for the boards to reach every accepted seq,
    then for the read models; each group's reach, and what was refused or lost."""
    out = Settled()
    last_send = max((s.start for samples, _ in groups.values() for s in samples if s.started),
                    default=time.perf_counter())
    goal = targets(list(groups.values()))
    await rig.boards.caught_up(goal, last_send + within)
    await rig.boards.collect()
    projected = await wait_projected(rig.http, rig.stack.http_url,
                                     rig.stack.tokens["responder"], goal)
    out.read_models_ms = round((time.perf_counter() - last_send) * 1000, 1) if projected else None
    if not projected:
        out.losses.append("the read models did not reach every accepted seq within 60 s")
    for name, (samples, commands) in groups.items():
        for s, c in zip(samples, commands, strict=True):
            if accepted(s):
                out.accepted[name] += 1
            elif not s.started:
                out.unsent[name] += 1
                out.refused[f"{c.kind} not sent"] += 1  # shown among the errors, by its name
            else:
                status = s.value.status if s.value is not None else s.error or "no answer"
                out.refused[f"{c.kind} {status}"] += 1
        got = reach(samples, commands, rig.boards.boards, within)
        out.reaches[name] = got
        if got.never_pairs:
            out.losses.append(f"{name}: {got.never_pairs} of {got.pair_count} (command, board) "
                              "pairs never arrived")
    return out

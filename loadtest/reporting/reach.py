"""Command → board: when each accepted command showed on each live board of its site.

A board has a command once it receives a message with a seq at or past the command's 202 seq
(a snapshot after a reconnect counts too). Per (command, board) pair that is one latency; per
command, "every board" is the latest of its site's boards, the figure a commander cares about:
the room that learns last.
"""

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field

from loadtest.clients.boards import Board
from loadtest.clients.commands import Answer, Command, accepted
from loadtest.clients.pacer import Sample


@dataclass
class Reach:
    pairs: list[float] = field(default_factory=list)  # every (command, board) latency, seconds
    every: list[tuple[float, float]] = field(default_factory=list)  # (sent at, last board's)
    pair_count: int = 0
    missed_pairs: int = 0  # not on that board within the bound (or never)
    never_pairs: int = 0  # not on that board at all by the end of the wait
    missed_commands: int = 0  # not on every board of its site within the bound

    @property
    def every_latencies(self) -> list[float]:
        return [latency for _, latency in self.every]


def reach(samples: Sequence[Sample[Answer]], commands: Sequence[Command], boards: Sequence[Board],
          within: float) -> Reach:
    by_site: dict[str, list[tuple[Board, list[int]]]] = {}
    for board in boards:
        by_site.setdefault(board.site, []).append((board, [seq for _, seq in board.updates]))
    out = Reach()
    for sample, command in zip(samples, commands, strict=True):
        if not accepted(sample) or sample.value is None:
            continue
        watching = by_site.get(command.site, [])
        if not watching:
            continue
        latest, lost, never = 0.0, False, False
        for board, seqs in watching:
            out.pair_count += 1
            k = bisect.bisect_left(seqs, sample.value.seq)
            if k == len(seqs):
                out.missed_pairs += 1
                out.never_pairs += 1
                lost = never = True
                continue
            latency = board.updates[k][0] - sample.start
            out.pairs.append(latency)
            latest = max(latest, latency)
            if latency > within:
                out.missed_pairs += 1
                lost = True
        out.missed_commands += lost
        if not never:  # a board that never had it has no latency to give
            out.every.append((sample.start, latest))
    return out

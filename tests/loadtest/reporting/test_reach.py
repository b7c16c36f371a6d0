"""Command → board matching, without servers."""

from loadtest.clients.boards import Board
from loadtest.clients.commands import Answer, note
from loadtest.clients.pacer import Sample
from loadtest.reporting.reach import reach


def _sample(start: float, seq: int, status: int = 202, end: float | None = None,
            ) -> Sample[Answer]:
    return Sample(index=0, due=start, start=start, end=end or start + 0.001,
                  value=Answer(status, seq, "i"), started=True)


def _board(site: str, updates: list[tuple[float, int]]) -> Board:
    return Board(site=site, url="ws://x", updates=updates, last_seq=updates[-1][1])


def test_every_board_is_the_latest_board_and_a_missing_one_is_never() -> None:
    boards = [_board("a", [(1.010, 5), (1.050, 9)]), _board("a", [(1.030, 6)]),
              _board("b", [(1.002, 5)])]
    commands = [note("a", "i", "x"), note("a", "i", "y"), note("b", "i", "z")]
    samples = [_sample(1.0, 5), _sample(1.0, 9), _sample(1.0, 6, status=409)]
    got = reach(samples, commands, boards, within=1.0)
    assert got.pair_count == 4  # two commands at a, two boards each; the 409 is not counted
    assert [round(x, 3) for x in got.pairs] == [0.010, 0.030, 0.050]
    assert [(t, round(lat, 3)) for t, lat in got.every] == [(1.0, 0.030)]
    assert got.never_pairs == got.missed_pairs == 1 and got.missed_commands == 1


def test_a_late_arrival_counts_as_late_with_its_real_latency() -> None:
    got = reach([_sample(0.0, 3)], [note("a", "i", "x")], [_board("a", [(2.0, 3)])], within=1.0)
    assert got.missed_pairs == 1 and got.never_pairs == 0
    assert got.every == [(0.0, 2.0)]

"""The harness's own arithmetic: which board message answers which press, and percentiles."""

from loadtest.boards import Board, Boards
from loadtest.pacer import Sample
from loadtest.press import Answer, Press, deliveries
from loadtest.stats import percentile, summarize


def sample(start: float, status: int, seq: int) -> Sample[Answer]:
    return Sample(index=0, due=start, start=start, end=start + 0.001,
                  value=Answer(status, seq), started=True)


def test_a_press_is_answered_by_the_first_board_message_at_or_past_its_seq() -> None:
    fast = Board(site="a", url="", updates=[(1.002, 10), (1.010, 12), (1.030, 13)])
    slow = Board(site="a", url="", updates=[(1.050, 13)])  # one message may carry several seqs
    other = Board(site="b", url="", updates=[(1.001, 11)])
    presses = [Press("a", "hold", "A-101"), Press("a", "hold", "A-102"),
               Press("b", "hold", "A-101"), Press("a", "hold", "GYM")]
    samples = [sample(1.000, 202, 10), sample(1.005, 202, 12), sample(1.000, 202, 11),
               sample(1.006, 409, 0)]
    out = deliveries(samples, presses, Boards([fast, slow, other]), within=5.0)
    assert out.pairs == 5  # two boards for each accepted press at a, one at b; a 409 has none
    assert [round(x, 3) for x in out.latencies] == [0.002, 0.05, 0.005, 0.045, 0.001]
    assert (out.missed_pairs, out.missed_presses) == (0, 0)


def test_a_board_that_never_saw_the_seq_or_saw_it_late_counts_as_missed() -> None:
    board = Board(site="a", url="", updates=[(1.001, 5), (9.0, 7)])
    presses = [Press("a", "hold", "A-101"), Press("a", "hold", "A-101")]
    out = deliveries([sample(1.0, 202, 7), sample(1.0, 202, 8)], presses, Boards([board]),
                     within=5.0)
    assert (out.pairs, out.missed_pairs, out.missed_presses) == (2, 2, 2)
    assert out.latencies == [8.0]


def test_percentiles_are_nearest_rank_and_never_interpolated() -> None:
    values = [i / 1000 for i in range(1, 101)]
    assert percentile(values, 50) == 0.050
    assert percentile(values, 99) == 0.099
    assert percentile([0.007], 99) == 0.007
    summary = summarize(list(reversed(values)))
    assert (summary.n, summary.p50_ms, summary.p99_ms, summary.max_ms) == (100, 50, 99, 100)
    assert summarize([]).n == 0

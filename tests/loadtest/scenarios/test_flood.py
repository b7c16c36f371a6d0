"""The flood's throughput arithmetic, without servers."""

from loadtest.clients.commands import Answer
from loadtest.clients.pacer import Sample
from loadtest.scenarios.flood import per_second, steady


def _sample(start: float, seq: int, status: int = 202, end: float | None = None,
            ) -> Sample[Answer]:
    return Sample(index=0, due=start, start=start, end=end or start + 0.001,
                  value=Answer(status, seq, "i"), started=True)


def test_throughput_by_second_and_its_steady_part() -> None:
    samples = [_sample(0.0, 1, end=0.5), _sample(0.1, 2, end=1.2), _sample(0.2, 3, end=1.9),
               _sample(0.3, 4, status=503, end=2.5), _sample(0.4, 5, end=3.1)]
    assert per_second(samples) == [1, 2, 0, 1]
    assert steady([5, 9, 10, 10, 11, 10, 3, 1], trim=2) == [10, 10, 11, 10]
    assert steady([1, 2], trim=2) == [1, 2]

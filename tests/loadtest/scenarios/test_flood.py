"""The flood's throughput and CPU arithmetic, without servers."""

import os

import pytest

from loadtest.clients.commands import Answer
from loadtest.clients.pacer import Sample
from loadtest.reporting import cpu
from loadtest.scenarios.flood import at_limit, cpu_rows, offered, per_second, steady


def _sample(start: float, seq: int, status: int = 202, end: float | None = None,
            ) -> Sample[Answer]:
    return Sample(index=0, due=start, start=start, end=end or start + 0.001,
                  value=Answer(status, seq, "i"), started=True)


def _unsent(due: float) -> Sample[Answer]:
    """A send that never got a slot before the deadline, as the pacer leaves it."""
    return Sample(index=0, due=due, start=due + 30, end=due + 30, error="deadline")


def test_throughput_by_second_and_its_steady_part() -> None:
    samples = [_sample(0.0, 1, end=0.5), _sample(0.1, 2, end=1.2), _sample(0.2, 3, end=1.9),
               _sample(0.3, 4, status=503, end=2.5), _sample(0.4, 5, end=3.1)]
    assert per_second(samples) == [1, 2, 0, 1]
    assert steady([5, 9, 10, 10, 11, 10, 3, 1], trim=2) == [10, 10, 11, 10]
    assert steady([1, 2], trim=2) == [1, 2]


def test_offered_counts_only_sends_started_and_the_limit_is_timed() -> None:
    samples = [_sample(0.0, 1, end=2.0), _sample(1.0, 2, end=3.0), _sample(2.0, 3, end=2.5),
               _unsent(1.5)]
    assert offered(samples) == pytest.approx(3 / 2.0)
    # two in flight from 1.0 to 3.0, but the first ends at 2.0 as the third starts
    assert at_limit(samples, 2) == pytest.approx(2.0 - 1.0 + 2.5 - 2.0)
    assert at_limit(samples, 3) == 0.0
    assert per_second(samples) == [0, 0, 2, 1]  # the unsent one is not an answer


def test_cpu_per_event_by_part_and_beside_the_floor() -> None:
    before = {"python": 1.0, "nats-server": 0.5, "postgres": 0.2}
    after = {"python": 3.0, "nats-server": 1.0, "postgres": 0.7}
    muster = cpu.per_event_ms(before, after, 1000)
    assert muster == pytest.approx({"python": 2.0, "nats-server": 0.5, "postgres": 0.5,
                                    "all": 3.0})
    raw = cpu.per_event_ms({"python": 0.0, "nats-server": 0.0},
                           {"python": 0.4, "nats-server": 0.2}, 1000)
    rows = cpu_rows(muster, raw)
    assert rows["CPU per event, Muster ÷ raw intake (all)"] == pytest.approx(5.0)
    assert rows["CPU ms per accepted event, raw intake: all"] == pytest.approx(0.6)
    assert cpu.per_event_ms(before, after, 0) == {}


def test_cpu_parts_count_this_process_tree() -> None:
    spent = cpu.parts({"server": os.getpid()})
    assert spent["python"] > 0 and spent["nats-server"] == spent["postgres"] == 0.0

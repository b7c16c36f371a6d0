"""The open-loop pacer: start operation i at t0 + i/rate, whatever the earlier ones are doing.

A closed loop would wait for slow answers and so hide them (coordinated omission); here only the
concurrency bound can delay a start, and that delay is recorded as `lag` so it is visible.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(slots=True)
class Sample(Generic[T]):
    """One operation: when it was due, when it really started and ended, and its outcome."""

    index: int
    due: float
    start: float = 0.0
    end: float = 0.0
    value: T | None = None
    error: str | None = None
    started: bool = False

    @property
    def latency(self) -> float:
        return self.end - self.start

    @property
    def lag(self) -> float:
        return self.start - self.due


async def open_loop(count: int, rate: float, concurrency: int,
                    op: Callable[[int], Awaitable[T]], deadline_s: float) -> list[Sample[T]]:
    """Run `op(i)` for i in range(count), paced at `rate`/s, at most `concurrency` at once.

    Every operation that has not ended `deadline_s` after the last one was due is cancelled and
    recorded with the error "deadline", so a hung server cannot hang the benchmark.
    """
    gate = asyncio.Semaphore(concurrency)
    t0 = time.perf_counter() + 0.05  # a short head start so the first start is not late
    samples = [Sample[T](index=i, due=t0 + i / rate) for i in range(count)]

    async def one(sample: Sample[T]) -> None:
        try:
            await asyncio.sleep(max(0.0, sample.due - time.perf_counter()))
            async with gate:
                sample.start = time.perf_counter()
                sample.started = True
                try:
                    sample.value = await op(sample.index)
                except Exception as exc:  # an outcome here is data, counted by kind in the report
                    sample.error = type(exc).__name__
                sample.end = time.perf_counter()
        except asyncio.CancelledError:
            sample.error = "deadline"
            sample.end = time.perf_counter()
            sample.start = sample.start or sample.end

    tasks = [asyncio.create_task(one(s)) for s in samples]
    budget = max(0.0, samples[-1].due - time.perf_counter()) + deadline_s if samples else 0.0
    _, pending = await asyncio.wait(tasks, timeout=budget)
    # oldest first: each cancelled waiter leaves the gate's queue from its head; in the set's
    # order each removal searched the queue, and 108,000 unsent took the loop for 7 minutes
    for task in tasks:
        if task in pending:
            task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    return samples

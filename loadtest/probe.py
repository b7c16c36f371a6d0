"""What the system under test did while it was pressed: its own intake histogram, its event-loop
lag, and the CPU of every process, so a slow number can be told from a busy machine."""

import asyncio
import os
import time
from dataclasses import dataclass, field

import aiohttp

from loadtest import cpu
from loadtest.scrape import Buckets, bound, counter, scrape, watch_lag
from loadtest.stack import Stack

CONFLICTS = "muster_intake_conflicts_total"


@dataclass
class Probe:
    http: aiohttp.ClientSession
    base: str
    stack: Stack
    max_s: float  # the lag poller stops by itself after this long, whatever happens
    histogram: Buckets = field(default_factory=dict)
    watched: dict[str, int] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)
    wall: float = 0.0
    own: float = 0.0
    lag: asyncio.Task[list[float]] | None = None
    conflicts: float = 0.0

    async def start(self) -> None:
        self.histogram = await scrape(self.http, self.base)
        self.conflicts = await counter(self.http, self.base, CONFLICTS)
        if self.stack.proc is not None:
            self.watched = cpu.processes(self.stack.data_dir, self.stack.proc.pid)
        self.cpu, self.wall, self.own = cpu.sample(self.watched), time.perf_counter(), \
            time.process_time()
        self.lag = asyncio.create_task(watch_lag(self.http, self.base, self.max_s))

    async def stop(self) -> tuple[dict[str, float | None], dict[str, float]]:
        """(server-side figures, CPU % of one core by process) since start()."""
        wall = time.perf_counter() - self.wall
        usage = cpu.percent(self.cpu, cpu.sample(self.watched), wall)
        # the client too: a saturated client inflates every latency it measures
        usage["loadtest"] = round((time.process_time() - self.own) / wall * 100, 1)
        usage["machine_load_1m"] = round(os.getloadavg()[0], 2)
        lags = await self.cancel()
        after = await scrape(self.http, self.base)
        n, p50 = bound(self.histogram, after, 50)
        server: dict[str, float | None] = {"intake_n": n, "intake_p50_le_ms": p50,
                                           "intake_p99_le_ms": bound(self.histogram, after, 99)[1],
                                           "loop_lag_max_ms": round(max(lags, default=0) * 1000, 1),
                                           "loop_lag_samples": len(lags),
                                           "intake_conflicts": await counter(
                                               self.http, self.base, CONFLICTS) - self.conflicts}
        return server, usage

    async def cancel(self) -> list[float]:
        if self.lag is None:
            return []
        self.lag.cancel()
        lags = await self.lag
        self.lag = None
        return lags

"""What the system under test did while it was pressed: its own intake histogram, its event-loop
lag, and the CPU of every process, so a slow number can be told from a busy machine."""

import os
import time
from dataclasses import dataclass, field

import aiohttp

from loadtest.reporting import cpu
from loadtest.reporting.scrape import INTAKE, LOOP_DELAY, Buckets, bound, counter, scrape
from loadtest.stack import Stack

CONFLICTS = "muster_intake_conflicts_total"


@dataclass
class Probe:
    http: aiohttp.ClientSession
    base: str
    stack: Stack
    histograms: dict[str, Buckets] = field(default_factory=dict)
    watched: dict[str, int] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)
    emergency: Buckets = field(default_factory=dict)
    wall: float = 0.0
    own: float = 0.0
    conflicts: float = 0.0

    @property
    def emergency_metrics(self) -> str:
        """The emergency listener's own metrics, relayed by muster up at /metrics/emergency."""
        return self.stack.metrics_url + "/emergency"

    async def start(self) -> None:
        self.histograms = await scrape(self.http, self.stack.metrics_url)
        self.emergency = (await scrape(self.http, self.emergency_metrics, (INTAKE,)))[INTAKE]
        self.conflicts = await counter(self.http, self.stack.metrics_url, CONFLICTS)
        if self.stack.proc is not None:
            self.watched = cpu.processes(self.stack.data_dir, self.stack.proc.pid)
        self.cpu, self.wall, self.own = cpu.sample(self.watched), time.perf_counter(), \
            time.process_time()

    async def stop(self) -> tuple[dict[str, float | None], dict[str, float]]:
        """(server-side figures, CPU % of one core by process) since start()."""
        wall = time.perf_counter() - self.wall
        usage = cpu.percent(self.cpu, cpu.sample(self.watched), wall)
        # the client too: a saturated client inflates every latency it measures
        usage["loadtest"] = round((time.process_time() - self.own) / wall * 100, 1)
        usage["machine_load_1m"] = round(os.getloadavg()[0], 2)
        after = await scrape(self.http, self.stack.metrics_url)
        intake, before = after[INTAKE], self.histograms.get(INTAKE, {})
        lag, lag_before = after[LOOP_DELAY], self.histograms.get(LOOP_DELAY, {})
        n, p50 = bound(before, intake, 50)
        wakes, lag_p99 = bound(lag_before, lag, 99)
        server: dict[str, float | None] = {
            "intake_n": n, "intake_p50_le_ms": p50,
            "intake_p99_le_ms": bound(before, intake, 99)[1],
            "loop_lag_p99_le_ms": lag_p99, "loop_lag_max_le_ms": bound(lag_before, lag, 100)[1],
            "loop_lag_samples": wakes,
            "intake_conflicts": await counter(self.http, self.stack.metrics_url, CONFLICTS)
            - self.conflicts}
        emergency = (await scrape(self.http, self.emergency_metrics, (INTAKE,)))[INTAKE]
        server["emergency_intake_n"], server["emergency_intake_p99_le_ms"] = bound(
            self.emergency, emergency, 99)
        return server, usage

"""Prometheus metrics of the write side, and the probes every process runs: event-loop lag and
whether NATS and PostgreSQL answer."""

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

from prometheus_client import Counter, Gauge, Histogram

BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

INTAKE_REQUESTS = Counter(
    "muster_intake_requests_total", "Write requests answered, by route and status",
    ["route", "status"])
INTAKE_LATENCY = Histogram(
    "muster_intake_latency_seconds", "Decide and durable append of an accepted command",
    buckets=BUCKETS)
EVENTS_APPENDED = Counter("muster_events_appended_total", "Events appended by intake")
INTAKE_CONFLICTS = Counter("muster_intake_conflicts_total",
                           "Appends refused because another writer got there first; retried")
LOOP_LAG = Gauge("muster_event_loop_lag_seconds", "How late the event loop woke a 100 ms timer")
# Every wake-up, so one scrape after a run gives its spread: polling the gauge costs the loop.
LOOP_DELAY = Histogram("muster_event_loop_delay_seconds",
                       "How late the event loop woke a 100 ms timer, each time", buckets=BUCKETS)


async def watch_loop_lag(interval: float = 0.1) -> None:
    """Sleep `interval` again and again; whatever more it took is lag a press would feel too."""
    while True:
        start = time.perf_counter()
        await asyncio.sleep(interval)
        late = max(0.0, time.perf_counter() - start - interval)
        LOOP_LAG.set(late)
        LOOP_DELAY.observe(late)

NATS_CONNECTED = Gauge("muster_nats_connected",
                       "1 while this process's NATS connection is up, checked every few seconds")
POSTGRES_REACHABLE = Gauge("muster_postgres_reachable",
                           "1 while PostgreSQL answered this process's last SELECT 1 in time")
REACH_EVERY_S = 5.0
REACH_TIMEOUT_S = 2.0


async def watch_reach(nats_connected: Callable[[], bool],
                      select_one: Callable[[], Awaitable[object]],
                      interval: float = REACH_EVERY_S) -> None:
    """Check both servers again and again: a gauge set once at start would say "up" forever."""
    while True:
        NATS_CONNECTED.set(1 if nats_connected() else 0)
        answered = False
        with contextlib.suppress(Exception):  # refused, timed out, pool closed: not reachable
            answered = await asyncio.wait_for(select_one(), REACH_TIMEOUT_S) == 1
        POSTGRES_REACHABLE.set(1 if answered else 0)
        await asyncio.sleep(interval)

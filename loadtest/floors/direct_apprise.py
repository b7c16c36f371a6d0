"""The alert floor: Apprise's own `notify()` to the same sink, with no Muster in the way.

One send at a time from one thread of the load generator, paced at the press rate, before the
presses (on a quiet server, as the JetStream floor), and again beside them (under load, to the
paths `/direct-load/N`), so press → first alert can be set against what the same send costs on
the same busy machine. Latency is the sink's arrival time minus the
call's start, both `time.time()`. Each send posts to a path of its own, `/direct/N`, so its
arrival is unambiguous; the Apprise objects are built before any timing, as Muster's sender
builds one per channel once. Title and body are alert-sized, so the bytes match too.
"""

import asyncio
import time
from dataclasses import dataclass, field

import apprise

from loadtest.clients.arrivals import SinkLog

SEND_TIMEOUT_S = 5.0  # as Muster's AppriseSender
ARRIVE_WITHIN_S = 5.0
POLL_S = 0.05
TITLE = "[EXTREME] LOCKDOWN — Bench School 00"
BODY = "Lockdown! Locks, lights, out of sight. Bench School 00, room B-112, 10:41. Alert: lockdown."


@dataclass
class Direct:
    latencies: list[float] = field(default_factory=list)
    sent: int = 0  # calls that Apprise reported as delivered
    arrived: int = 0  # of all calls, those the sink took


def clients(sink_url: str, count: int, path: str = "direct") -> list[apprise.Apprise]:
    out = []
    for i in range(count):
        client = apprise.Apprise()
        if not client.add(f"{sink_url}/{path}/{i}"):
            raise ValueError(f"Apprise refused the sink URL {sink_url}/{path}/{i}")
        out.append(client)
    return out


def send_all(targets: list[apprise.Apprise], rate: float) -> tuple[list[float], int]:
    """In a thread: send i starts at t0 + i/rate or when send i-1 returned, whichever is later."""
    starts: list[float] = []
    ok = 0
    t0 = time.perf_counter()
    for i, client in enumerate(targets):
        time.sleep(max(0.0, t0 + i / rate - time.perf_counter()))
        starts.append(time.time())
        ok += bool(client.notify(body=BODY, title=TITLE, notify_type="failure",
                                 timeout=SEND_TIMEOUT_S))
    return starts, ok


async def run(sink_url: str, log: SinkLog, count: int, rate: float,
              path: str = "direct") -> Direct:
    targets = await asyncio.to_thread(clients, sink_url, count, path)
    starts, ok = await asyncio.to_thread(send_all, targets, rate)
    deadline = time.monotonic() + ARRIVE_WITHIN_S
    arrived: dict[int, float] = {}
    while True:  # the sink logs a POST before it answers, so this is at most one poll
        for a in log.on(f"/{path}/"):
            arrived.setdefault(int(a.path.removeprefix(f"/{path}/")), a.t)
        if len(arrived) >= count or time.monotonic() >= deadline:
            break
        await asyncio.sleep(POLL_S)
    return Direct(latencies=[t - starts[i] for i, t in arrived.items() if i < len(starts)],
                  sent=ok, arrived=len(arrived))

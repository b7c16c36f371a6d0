"""Sending through Apprise without ever stalling the event loop.

Apprise's sends are partly blocking, so each runs in a worker process with a per-send timeout
(Apprise's own call deadline, and an outer one here in case a plugin ignores it); the loop only
awaits the worker's future. Before anything is sent, the channel's modes are checked again: no
path reaches Apprise with a drill message for a live-only channel.
"""

import asyncio
import time
from typing import Protocol

import apprise
from prometheus_client import Counter, Histogram

from command.domain.alert_rules import Delivery, accepts
from command.domain.site import Channel
from command.infra.workers import pool as worker_pool

SENDS = Counter("muster_notifications_total", "Apprise sends, by outcome", ["outcome"])
SEND_SECONDS = Histogram("muster_notification_send_seconds", "Apprise send duration",
                         buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
for _outcome in ("sent", "failed"):  # at 0 from the start, so the first failure is an increase
    SENDS.labels(_outcome)


class DrillLeak(RuntimeError):
    """A drill message about to reach a channel that does not take drills: never sent."""


class Sender(Protocol):
    async def send(self, channel: Channel, delivery: Delivery) -> str | None: ...


_clients: dict[str, apprise.Apprise] = {}


def _client(url: str) -> apprise.Apprise | None:
    """One Apprise object per channel URL, built once; a channel sends one message at a time."""
    client = _clients.get(url)
    if client is None:
        client = apprise.Apprise()
        if not client.add(url):
            return None
        _clients[url] = client
    return client


def _send_blocking(url: str, title: str, body: str, level: str, timeout: float) -> str | None:
    """In a worker process: one Apprise call; None on success, else what went wrong."""
    notifier = _client(url)
    if notifier is None:
        return "the channel's Apprise URL is not valid"
    result = notifier.notify(body=body, title=title, notify_type=level, timeout=timeout)
    if result:
        return None
    problems = [entry.message for entry in result.logs()
                if entry.level in ("WARNING", "ERROR", "CRITICAL")]
    return (problems[-1] if problems else f"apprise status {result.status.name}")[:500]


def _warm() -> None:
    apprise.Apprise().add("json://127.0.0.1")  # load the plugins before the first alert


class AppriseSender:
    """Sends run in worker processes: Apprise's blocking HTTP then never holds the event loop's
    interpreter lock, so a burst of alerts does not slow the boards."""

    def __init__(self, workers: int = 4, timeout: float = 5.0) -> None:
        self.pool = worker_pool(workers)
        self.timeout = timeout
        self._warming = [self.pool.submit(_warm) for _ in range(workers)]

    async def ready(self) -> None:
        """Wait until the workers are up with Apprise loaded, so the first alert is not late."""
        await asyncio.gather(*(asyncio.wrap_future(f) for f in self._warming))

    async def send(self, channel: Channel, delivery: Delivery) -> str | None:
        """Deliver once; None when the channel accepted it, else the error."""
        if not accepts(channel, delivery.mode):
            raise DrillLeak(f"{delivery.mode} message refused for channel {channel.name}")
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        try:  # a pool broken by a signal to its workers refuses at once: a failed send too
            future = loop.run_in_executor(self.pool, _send_blocking, channel.url, delivery.title,
                                          delivery.body, delivery.level, self.timeout)
            error = await asyncio.wait_for(future, self.timeout + 1.0)
        except TimeoutError:
            error = f"no answer within {self.timeout:g} s"
        except Exception as exc:  # a plugin's bug must not stop the notifier
            error = f"{type(exc).__name__}: {exc}"[:500]
        if delivery.kind != "handle_with_care":  # a count would tell a notice was issued
            SEND_SECONDS.observe(time.perf_counter() - started)
            SENDS.labels("sent" if error is None else "failed").inc()
        return error

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

"""A pull consumer's batches, gathered by a subscription callback on the pull's reply inbox.

nats-py's `fetch` takes each message of a batch with `next_msg`, which makes a task per message:
every message then waits a whole turn of the event loop, and under load (hundreds of callbacks
ready per turn) a consumer falls behind by loop turns, not by work. Here the messages land in a
buffer as nats-py reads them; one pull request is outstanding at a time, and the consumer takes
whatever has arrived.
"""

import asyncio
import contextlib
import time
from typing import Any

import msgspec
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout

ENDS = {"404", "408", "409"}  # no messages, request expired, consumer changed: the pull is over
MIN_PULL_S = 0.01  # a pull shorter than this is not worth a round trip


class Puller:
    def __init__(self, nc: Client, stream: str, durable: str) -> None:
        self.nc = nc
        self.subject = f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}"
        self.inbox = nc.new_inbox()
        self.buffer: list[Msg] = []
        self.arrived = asyncio.Event()
        self.owed = 0  # messages the outstanding pull may still deliver
        self.until = 0.0  # when it expires at the latest (a reconnect may lose its end)
        self.sub: Any = None

    async def start(self) -> "Puller":
        self.sub = await self.nc.subscribe(self.inbox, cb=self._on_msg)
        return self

    async def _on_msg(self, msg: Msg) -> None:
        status = msg.headers.get("Status") if msg.headers else None
        if status is None:
            self.buffer.append(msg)
            self.owed -= 1
        elif status in ENDS:
            self.owed = 0
        self.arrived.set()

    async def fetch(self, batch: int, timeout: float = 1.0) -> list[Msg]:
        """What has arrived, else up to `batch` within `timeout`; nats' TimeoutError if none.
        A pull that ends empty before `timeout` (its expiry answered late) is followed by
        another, so a message published meanwhile is still fetched by this call."""
        deadline = time.monotonic() + timeout
        while not self.buffer:
            left = deadline - time.monotonic()
            if left < MIN_PULL_S:
                raise NatsTimeout
            if self.owed <= 0 or time.monotonic() > self.until:
                self.owed, self.until = batch, time.monotonic() + left + 1.0
                request = {"batch": batch, "expires": int(left * 1e9)}
                await self.nc.publish(self.subject, msgspec.json.encode(request),
                                      reply=self.inbox)
            self.arrived.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(left):
                    while not self.buffer and self.owed > 0:
                        await self.arrived.wait()
                        self.arrived.clear()
        out, self.buffer = self.buffer[:batch], self.buffer[batch:]
        return out

    async def unsubscribe(self) -> None:
        if self.sub is not None:
            await self.sub.unsubscribe()

"""Request and reply over one wildcard inbox, for the stream's acknowledgements of appends.

nats-py's `request` waits with `asyncio.wait_for`, which makes a task and a timer per call,
and draws a token from os.urandom: about 2 % of the loop under a flood of commands. Here a
reply resolves a plain future, and a timer alone bounds the wait.
"""

import asyncio
import itertools

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

NO_RESPONDERS = "503"


def _expire(future: asyncio.Future[Msg]) -> None:
    if not future.done():
        future.set_exception(NatsTimeout())


def write_now(nc: Client) -> None:
    """Write what nats-py has queued now, not when its flusher task next runs: under load that
    task's turn comes behind hundreds of ready callbacks, and a live press waits for it."""
    transport = nc._transport  # nats-py's own flush() waits a PING round trip
    if nc.is_connected and transport is not None and nc._pending_data_size > 0:
        transport.writelines(nc._pending)
        nc._pending = []
        nc._pending_data_size = 0


class Replies:
    def __init__(self, nc: Client) -> None:
        self.nc = nc
        self.prefix = ""
        self._waiting: dict[str, asyncio.Future[Msg]] = {}
        self._tokens = itertools.count()
        self._listening: asyncio.Future[None] | None = None

    async def _listen(self) -> None:
        prefix = self.nc.new_inbox() + "."
        await self.nc.subscribe(prefix + "*", cb=self._on_reply)  # resubscribed on reconnect
        self.prefix = prefix

    async def _ready(self) -> None:
        """Subscribe once, however many first requests wait; again if that attempt failed."""
        task = self._listening
        if task is None or (task.done() and (task.cancelled() or task.exception() is not None)):
            task = self._listening = asyncio.ensure_future(self._listen())
        await asyncio.shield(task)  # a cancelled caller leaves the subscription to the rest

    async def _on_reply(self, msg: Msg) -> None:
        future = self._waiting.pop(msg.subject[len(self.prefix):], None)
        if future is not None and not future.done():
            future.set_result(msg)

    async def request(self, subject: str, payload: bytes, timeout: float,
                      headers: dict[str, str], urgent: bool = False) -> Msg:
        """The reply to one message; nats' TimeoutError or NoRespondersError as its request.
        An `urgent` one is written at once; others wait for nats-py's flusher, which writes
        all a loop turn's messages in one call (one send each cost ~7 % of a busy loop)."""
        if not self.prefix:
            await self._ready()
        loop = asyncio.get_running_loop()
        token = str(next(self._tokens))
        future: asyncio.Future[Msg] = loop.create_future()
        self._waiting[token] = future
        timer = loop.call_later(timeout, _expire, future)
        try:
            await self.nc.publish(subject, payload, reply=self.prefix + token, headers=headers)
            if urgent:
                write_now(self.nc)
            msg = await future
        finally:
            timer.cancel()
            self._waiting.pop(token, None)
        if msg.headers and msg.headers.get("Status") == NO_RESPONDERS:
            raise NoRespondersError
        return msg

"""The JetStream edge: the stream's shape, atomic appends with a concurrency check, and reads.

A command's events go in as one atomic batch (nats-server ≥ 2.12), so a press never leaves an
incident opened without its protocol. Each message's `Nats-Msg-Id` is the event id, and the
first carries the expected last sequence of the site's subjects, so two intake replicas can never
both decide on the same state.
"""

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from urllib.parse import unquote, urlsplit, urlunsplit

import msgspec
import nats
from nats.aio.client import Client
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import NotFoundError

from command.domain import events as e
from command.domain.errors import Unavailable
from command.infra.append_acks import Replies

DUPLICATE_WINDOW_S = 48 * 3600  # a button's retries over a weekend are still absorbed
ERR_WRONG_LAST_SEQ = 10071
ERR_DUPLICATE_IN_BATCH = 10201


class _ApiError(msgspec.Struct):
    code: int = 0
    err_code: int = 0
    description: str = ""


class _Ack(msgspec.Struct):
    stream: str = ""
    seq: int = 0
    duplicate: bool = False
    count: int = 1
    error: _ApiError | None = None


_ack_decoder = msgspec.json.Decoder(_Ack)


class WrongLastSequence(Exception):
    """Another writer appended to the site since we decided; `last` is the site's real last."""

    def __init__(self, last: int) -> None:
        super().__init__(f"wrong last sequence: {last}")
        self.last = last


class Duplicate(Exception):
    """The command's first event id is already in the stream: it was written before."""

    def __init__(self, seq: int) -> None:
        super().__init__("duplicate")
        self.seq = seq


def without_credentials(url: str) -> list[str]:
    """Each comma-separated server of `url`, with any user, password or token taken out."""
    servers = []
    for one in (u.strip() for u in url.split(",") if u.strip()):
        parts = urlsplit(one)
        servers.append(urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[-1])))
    return servers


def login(url: str) -> dict[str, str]:
    """The first user and password (or token) in `url`, as nats-py's connect options."""
    for one in url.split(","):
        parts = urlsplit(one.strip())
        if parts.username and parts.password is not None:
            return {"user": unquote(parts.username), "password": unquote(parts.password)}
        if parts.username:
            return {"token": unquote(parts.username)}
    return {}


async def connect(url: str, name: str = "muster", **kwargs: object) -> Client:
    """`url` may list several servers, comma-separated: the cluster's nodes to fail over to.
    Its credentials go as options: nats-py gives a URL's own only to that URL's server, and the
    nodes the cluster tells it of would be reached without any after a failover."""
    return await nats.connect(
        servers=without_credentials(url), name=name, max_reconnect_attempts=-1,
        reconnect_time_wait=0.25, allow_reconnect=True,
        **{**login(url), **kwargs},  # type: ignore[arg-type]
    )


class EventLog:
    def __init__(self, nc: Client, stream: str = "MUSTER", prefix: str = "muster.events",
                 timeout: float = 2.0) -> None:
        self.nc = nc
        self.js: JetStreamContext = nc.jetstream(timeout=timeout)
        self.stream = stream
        self.prefix = prefix
        self.timeout = timeout
        self.replies = Replies(nc)

    def subject(self, site: str, incident_id: str | None) -> str:
        return e.subject(self.prefix, site, incident_id)

    def site_filter(self, site: str) -> str:
        return f"{self.prefix}.{site}.*"

    async def ensure_stream(self, replicas: int = 1) -> None:
        config = StreamConfig(
            name=self.stream, subjects=[f"{self.prefix}.>"], storage=StorageType.FILE,
            num_replicas=replicas, duplicate_window=DUPLICATE_WINDOW_S, allow_atomic=True,
            deny_delete=True, deny_purge=False, allow_direct=True,
        )
        try:
            await self.js.stream_info(self.stream)
            await self.js.update_stream(config)
        except NotFoundError:
            await self.js.add_stream(config)

    async def last_seq(self) -> int:
        info = await self.js.stream_info(self.stream)
        return info.state.last_seq

    async def append(self, site: str, events: Sequence[e.Envelope],
                     expected_last: int | None, timeout: float | None = None) -> list[int]:
        """Append atomically; the stream sequences of the events, in order. `expected_last`
        None skips the concurrency check, for records of what happened (notifications);
        `timeout` (default the log's) bounds the wait for the stream's acknowledgement."""
        if not self.nc.is_connected:
            raise Unavailable("the event stream is unreachable")
        last = len(events)
        batch = str(uuid.uuid4()) if last > 1 else ""
        try:
            for i, event in enumerate(events, 1):
                headers = {"Nats-Msg-Id": event.id}
                if i == 1 and expected_last is not None:
                    headers["Nats-Expected-Last-Subject-Sequence"] = str(expected_last)
                    headers["Nats-Expected-Last-Subject-Sequence-Subject"] = self.site_filter(site)
                if last > 1:
                    headers.update({"Nats-Batch-Id": batch, "Nats-Batch-Sequence": str(i)})
                    if i == last:
                        headers["Nats-Batch-Commit"] = "1"
                subject = self.subject(site, event.incident_id)
                payload = e.encode(event)
                if i < last:
                    await self.nc.publish(subject, payload, headers=headers)
                else:
                    reply = await self.replies.request(
                        subject, payload, timeout or self.timeout, headers,
                        urgent=any(ev.mode == "live" for ev in events))  # a drill can wait
        except (NatsTimeout, NoRespondersError, nats.errors.ConnectionClosedError) as exc:
            raise Unavailable("the event stream did not acknowledge in time") from exc
        ack = _ack_decoder.decode(reply.data)
        if ack.error is not None:
            if ack.error.err_code == ERR_WRONG_LAST_SEQ:
                raise WrongLastSequence(int(ack.error.description.rsplit(":", 1)[1]))
            if ack.error.err_code == ERR_DUPLICATE_IN_BATCH:
                raise Duplicate(0)
            raise Unavailable(f"the event stream refused the write: {ack.error.description}")
        if ack.duplicate:
            raise Duplicate(ack.seq)
        return list(range(ack.seq - last + 1, ack.seq + 1))

    async def read(self, start_seq: int = 1, until_seq: int | None = None,
                   subjects: str | None = None) -> AsyncIterator[tuple[int, e.Event]]:
        """Every event from `start_seq` up to `until_seq` (default: the stream's end now)."""
        async for seq, data in self.read_raw(start_seq, until_seq, subjects):
            yield seq, e.decode(data)

    async def read_raw(self, start_seq: int = 1, until_seq: int | None = None,
                       subjects: str | None = None) -> AsyncIterator[tuple[int, bytes]]:
        """As `read`, the bodies undecoded: a reader that skips most events decodes only some."""
        end = await self.last_seq() if until_seq is None else until_seq
        if end < start_seq:
            return
        queue: asyncio.Queue[tuple[int, bytes]] = asyncio.Queue(maxsize=4096)

        async def on_msg(msg: nats.aio.msg.Msg) -> None:
            await queue.put((msg.metadata.sequence.stream, msg.data))

        sub = await self.follow(start_seq, on_msg, subjects=subjects, raw=True)
        try:
            while True:
                seq, data = await asyncio.wait_for(queue.get(), timeout=30)
                if seq > end:
                    return
                yield seq, data
                if seq >= end:
                    return
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def read_site(self, site: str, start_seq: int,
                        until_seq: int) -> AsyncIterator[tuple[int, bytes]]:
        """A site's events from `start_seq` up to `until_seq`, undecoded: what a consumer folds
        again for a site it stopped at (`read_raw` with a filter would wait past its last)."""
        config = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                                opt_start_seq=max(start_seq, 1), ack_policy=AckPolicy.NONE,
                                inactive_threshold=60.0)
        if until_seq < start_seq:
            return
        sub = await self.js.pull_subscribe(f"{self.prefix}.{site}.>", stream=self.stream,
                                           config=config)
        try:
            left = (await sub.consumer_info()).num_pending
            while left > 0:
                for msg in await sub.fetch(min(left, 256), timeout=self.timeout * 5):
                    seq = msg.metadata.sequence.stream
                    if seq > until_seq:
                        return
                    yield seq, msg.data
                    left = msg.metadata.num_pending
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def follow(self, start_seq: int, handler: Callable[..., Awaitable[None]],
                     subjects: str | None = None, raw: bool = False) -> object:
        """An ordered consumer from `start_seq` calling `handler(seq, event)` (or the raw msg)."""

        async def cb(msg: nats.aio.msg.Msg) -> None:
            if raw:
                await handler(msg)
            else:
                await handler(msg.metadata.sequence.stream, e.decode(msg.data))

        config = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                                opt_start_seq=max(start_seq, 1))
        return await self.js.subscribe(
            subjects or f"{self.prefix}.>", cb=cb, ordered_consumer=True, config=config,
            idle_heartbeat=2.0, stream=self.stream,
            pending_msgs_limit=1_000_000, pending_bytes_limit=1 << 30,
        )

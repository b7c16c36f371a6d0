"""The floor: raw nats-py JetStream publishes on the same server, with no Muster code in the way.

They go to a stream of their own (`BENCH_BASELINE`, subjects `bench.baseline.>`, file storage,
atomic batches allowed), never to `muster.events.>`, where Muster's consumers would read them.
Each message carries a `Nats-Msg-Id`, as every Muster event does, so dedupe costs the same.
"""

import uuid
from datetime import UTC, datetime

import msgspec
from nats.aio.client import Client
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import NotFoundError

from command.infra.eventlog import DUPLICATE_WINDOW_S
from loadtest.clients.pacer import Sample, open_loop

STREAM = "BENCH_BASELINE"
PREFIX = "bench.baseline"
PAYLOAD_BYTES = 400
ACK_TIMEOUT_S = 5.0
DEADLINE_S = 30.0


class BaselineError(RuntimeError):
    """The server answered a publish with an error instead of an ack."""


class _Ack(msgspec.Struct):
    seq: int = 0
    error: dict[str, object] | None = None


_ack = msgspec.json.Decoder(_Ack)


def payload(i: int, size: int = PAYLOAD_BYTES) -> bytes:
    """An event-shaped JSON document of exactly `size` bytes (padded in its note)."""
    at = datetime.now(UTC).isoformat()
    doc = {"id": str(uuid.uuid4()), "type": "AlertRaised", "v": 1, "site": f"bench-{i:02d}",
           "incident_id": str(uuid.uuid4()), "mode": "live", "occurred_at": at, "recorded_at": at,
           "actor": {"kind": "device", "id": "bench-device", "role": "device"},
           "data": {"kind": "lockdown", "room": "B-112", "action": "lockdown", "silent": False,
                    "note": ""}}
    pad = max(0, size - len(msgspec.json.encode(doc)))
    doc["data"]["note"] = "x" * pad  # type: ignore[index]
    return msgspec.json.encode(doc)


def _check(data: bytes) -> int:
    ack = _ack.decode(data)
    if ack.error is not None:
        raise BaselineError(str(ack.error.get("description", ack.error)))
    return ack.seq


async def ensure_stream(nc: Client) -> None:
    js = nc.jetstream(timeout=ACK_TIMEOUT_S)
    config = StreamConfig(name=STREAM, subjects=[f"{PREFIX}.>"], storage=StorageType.FILE,
                          num_replicas=1, duplicate_window=DUPLICATE_WINDOW_S, allow_atomic=True)
    try:
        await js.stream_info(STREAM)
        await js.update_stream(config)
    except NotFoundError:
        await js.add_stream(config)


async def publish(nc: Client, count: int, rate: float, concurrency: int,
                  subjects: int) -> list[Sample[int]]:
    """One message per operation, acknowledged (as a join press appends one event)."""

    body = payload(0)  # built once: the floor should not include the client's encoding

    async def op(i: int) -> int:
        reply = await nc.request(f"{PREFIX}.single.{i % subjects}", body, ACK_TIMEOUT_S,
                                 headers={"Nats-Msg-Id": str(uuid.uuid4())})
        return _check(reply.data)

    return await open_loop(count, rate, concurrency, op, DEADLINE_S)


async def batch(nc: Client, count: int, rate: float, concurrency: int,
                subjects: int, size: int = 3) -> list[Sample[int]]:
    """An atomic batch of `size` messages per operation, as a first press writes (see
    `command.infra.eventlog.EventLog.append`): all but the last published, the last a request."""

    body = payload(0)

    async def op(i: int) -> int:
        batch_id = str(uuid.uuid4())
        subject = f"{PREFIX}.batch.{i % subjects}"
        for n in range(1, size + 1):
            headers = {"Nats-Msg-Id": str(uuid.uuid4()), "Nats-Batch-Id": batch_id,
                       "Nats-Batch-Sequence": str(n)}
            if n < size:
                await nc.publish(subject, body, headers=headers)
            else:
                headers["Nats-Batch-Commit"] = "1"
                reply = await nc.request(subject, body, ACK_TIMEOUT_S, headers=headers)
        return _check(reply.data)

    return await open_loop(count, rate, concurrency, op, DEADLINE_S)


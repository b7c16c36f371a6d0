"""A small STA-024 subscriber, as a CAD would be, for the tests of `/v1/dispatch/ws`: it keeps
every message both ways, so a test can check them all against NENA's conveyance schema."""

import asyncio
import contextlib
import itertools
from pathlib import Path
from typing import Any

import msgspec
from websockets.asyncio.client import ClientConnection, connect

from tests.eido_schema import validator

CONVEYANCE = "conveyance-websocket-sta024.yaml"
# Each message's one key and the conveyance schema object that describes it.
OBJECTS = {"subscribe": "subscribeObject", "unsubscribe": "unsubscribeObject",
           "eventResponse": "eventResponseObject", "terminateResponse": "terminateResponseObject",
           "subscribeResponse": "subscribeResponseObject",
           "unsubscribeResponse": "unsubscribeResponseObject", "response": "responseObject",
           "event": "eventObject", "terminate": "terminateObject"}


def cad_socket(base: str, token: str) -> connect:
    url = base.replace("http://", "ws://", 1) + f"/v1/dispatch/ws?token={token}"
    return connect(url, proxy=None, open_timeout=5)  # loopback, whatever proxy is set


def content(doc: Any) -> Any:
    """An EIDO without its update times, which say when it was written rather than what."""
    if isinstance(doc, dict):
        return {k: content(v) for k, v in doc.items() if k != "lastUpdateTimeStamp"}
    if isinstance(doc, list):
        return [content(v) for v in doc]
    return doc


class Cad:
    """One subscriber's side of the socket; `sent` and `received` keep every message."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.sent: list[dict[str, Any]] = []
        self.received: list[dict[str, Any]] = []
        self._ids = (f"req-{n}" for n in itertools.count(1))

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)
        await self.ws.send(msgspec.json.encode(message).decode())

    async def receive(self, kind: str, timeout: float = 5.0) -> dict[str, Any]:
        message = msgspec.json.decode(await asyncio.wait_for(self.ws.recv(), timeout))
        self.received.append(message)
        assert list(message) == [kind], message
        return message

    async def quiet(self, seconds: float) -> None:
        """Nothing arrives for `seconds`."""
        with contextlib.suppress(TimeoutError):
            message = await asyncio.wait_for(self.ws.recv(), seconds)
            raise AssertionError(f"expected silence, got {message[:300]!r}")

    async def subscribe(self, **body: Any) -> dict[str, Any]:
        await self.send({"subscribe": {"requestId": next(self._ids), "requestType": "EIDO",
                                       **body}})
        return (await self.receive("subscribeResponse"))["subscribeResponse"]

    async def renew(self, subscription_id: str) -> dict[str, Any]:
        await self.send({"subscribe": {"requestId": next(self._ids),
                                       "subscriptionId": subscription_id}})
        return (await self.receive("subscribeResponse"))["subscribeResponse"]

    async def unsubscribe(self, subscription_id: str) -> dict[str, Any]:
        await self.send({"unsubscribe": {"requestId": next(self._ids),
                                         "subscriptionId": subscription_id}})
        return (await self.receive("unsubscribeResponse"))["unsubscribeResponse"]

    async def ack(self, event: dict[str, Any]) -> None:
        await self.send({"eventResponse": {"transactionId": event["event"]["transactionId"],
                                           "statusCode": 200, "statusText": "OK"}})

    async def settle(self, quiet_s: float = 0.5) -> dict[str, Any]:
        """Every notify until none comes for `quiet_s`, each acknowledged; the last one."""
        last = await self.receive("event")
        await self.ack(last)
        while True:
            try:
                last = await self.receive("event", timeout=quiet_s)
            except TimeoutError:
                return last
            await self.ack(last)


def conveyance_errors(eido_dir: Path, message: dict[str, Any]) -> list[str]:
    """Why `message` is not the conveyance object its one key names (none: it is). The
    schema's objects require no key of their own, so the key is checked here."""
    if len(message) != 1 or next(iter(message)) not in OBJECTS:
        return [f"not one STA-024 message: {sorted(message)}"]
    name = OBJECTS[next(iter(message))]
    schema = validator(eido_dir / CONVEYANCE, f"#/components/schemas/{name}")
    return [str(err) for err in schema.iter_errors(message)]

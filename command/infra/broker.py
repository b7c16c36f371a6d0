"""The check Muster makes of its NATS broker at start: a client without credentials must not be
able to publish into the stream's subjects, or any local user could forge events (issue #14).

The probe writes nothing. It connects with the URL stripped of its user and password; if that
connection is refused, the broker is closed. If it connects, it sends one JetStream publish to
`PREFIX.__probe__._site` that demands another stream (`Nats-Expected-Stream`): JetStream answers
that with an error and stores nothing, and any answer proves an anonymous client reached the
stream. A permissions violation, no responders (another account) or silence means it did not.
"""

import asyncio
import contextlib
import ssl

import nats
from nats.errors import NoRespondersError

from command.infra.eventlog import without_credentials

PROBE_TIMEOUT_S = 3.0
NOT_THE_STREAM = "MUSTER_PROBE_EXPECTS_NO_SUCH_STREAM"


class OpenBroker(RuntimeError):
    """The broker lets a client without credentials publish where the stream listens."""


async def anonymous_may_publish(url: str, prefix: str, tls: ssl.SSLContext | None = None,
                                timeout: float = PROBE_TIMEOUT_S) -> bool:
    """Whether a client with no credentials can publish on `prefix.>` into a stream."""
    denied = asyncio.Event()

    async def on_error(exc: Exception) -> None:  # nats-py reports a denied publish only here
        if "permissions violation" in str(exc).lower():
            denied.set()

    try:
        nc = await nats.connect(servers=without_credentials(url), tls=tls, error_cb=on_error,
                                allow_reconnect=False, max_reconnect_attempts=0,
                                connect_timeout=timeout)
    except (nats.errors.Error, OSError, TimeoutError):
        return False  # refused: authorization, or a TLS client certificate it lacks
    try:
        probe = asyncio.ensure_future(nc.request(
            f"{prefix}.__probe__._site", b"", timeout=timeout,
            headers={"Nats-Expected-Stream": NOT_THE_STREAM}))
        stop = asyncio.ensure_future(denied.wait())
        await asyncio.wait({probe, stop}, return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        if denied.is_set():
            probe.cancel()
            return False
        try:
            probe.result()
        except (NoRespondersError, nats.errors.TimeoutError, TimeoutError):
            return False
        return True  # JetStream answered ("expected stream does not match"): it was reached
    finally:
        with contextlib.suppress(Exception):
            await nc.close()


async def refuse_open(url: str, prefix: str, tls: ssl.SSLContext | None = None) -> None:
    """Raise OpenBroker, naming the way out, when an anonymous client could publish."""
    if await anonymous_may_publish(url, prefix, tls):
        where = ",".join(without_credentials(url))
        raise OpenBroker(
            f"the NATS server at {where} lets a client without credentials publish on "
            f"{prefix}.>, so anyone who reaches it can forge events; give it users or accounts "
            "(deploy/README.md), or set MUSTER_ALLOW_OPEN_BROKER=true to start anyway")

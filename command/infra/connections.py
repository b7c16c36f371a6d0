"""A cap on the connections one client address holds open at once.

Slow clients are timed out (the header and body timeouts), but a client opening connections
faster than they time out would still hold every socket the process has: past the cap, a new
connection from that address is answered 429 and closed before anything of it is read.
"""

import asyncio
from collections import Counter

import msgspec
from aiohttp import web

from command.domain.errors import RateLimited

_BODY = msgspec.json.encode(RateLimited("too many connections from this address").doc())
REFUSAL = (b"HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\n"
           b"Retry-After: 1\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s"
           % (len(_BODY), _BODY))


class PerAddress:
    """Counts each address's open connections through the server's own connection hooks."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.open: Counter[str] = Counter()
        self._address: dict[object, str] = {}

    def attach(self, server: web.Server) -> None:
        """Wrap `server`'s connection_made/lost: aiohttp offers no per-address limit of its own,
        and these are the only places a connection is seen before its request is read."""
        made, lost = server.connection_made, server.connection_lost

        def connection_made(handler: web.RequestHandler, transport: asyncio.Transport) -> None:
            made(handler, transport)
            peer = transport.get_extra_info("peername")
            address = str(peer[0]) if isinstance(peer, tuple) else str(peer)
            self._address[handler] = address
            self.open[address] += 1
            if self.cap and self.open[address] > self.cap:
                transport.write(REFUSAL)
                transport.close()

        def connection_lost(handler: web.RequestHandler, exc: BaseException | None = None,
                            ) -> None:
            address = self._address.pop(handler, None)
            if address is not None:
                self.open[address] -= 1
                if not self.open[address]:
                    del self.open[address]
            lost(handler, exc)

        server.connection_made = connection_made  # type: ignore[method-assign]
        server.connection_lost = connection_lost  # type: ignore[method-assign]

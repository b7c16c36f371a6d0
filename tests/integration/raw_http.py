"""Raw HTTP/1.1 over a socket, for what an HTTP client refuses to send (bytes that are not
UTF-8, a head sent a byte at a time), and press latency measured as a client sees it."""

import asyncio
import statistics
import time
import uuid
from typing import NamedTuple

import aiohttp
import msgspec


class Answer(NamedTuple):
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> object:
        return msgspec.json.decode(self.body)


def parse(raw: bytes) -> Answer:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Answer(int(lines[0].split()[1]), headers, body)


async def exchange(port: int, request: bytes, timeout: float = 10.0) -> Answer:
    """Send `request` as is and read the answer until the server closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        return parse(await asyncio.wait_for(reader.read(), timeout))
    finally:
        writer.close()


async def press_latencies(http: aiohttp.ClientSession, url: str, token: str, count: int,
                          gap_s: float = 0.02) -> list[float]:
    """`count` lockdown presses one after another: seconds from sending each to its 202."""
    seconds = []
    for _ in range(count):
        started = time.perf_counter()
        async with http.post(url + "/v1/sites/test-high/alerts",
                             json={"kind": "lockdown", "room": "B-112",
                                   "client_event_id": str(uuid.uuid4())},
                             headers={"Authorization": f"Bearer {token}"},
                             timeout=aiohttp.ClientTimeout(total=60)) as resp:
            assert resp.status == 202, await resp.text()
        seconds.append(time.perf_counter() - started)
        await asyncio.sleep(gap_s)
    return seconds


def p99(seconds: list[float]) -> float:
    return statistics.quantiles(seconds, n=100, method="inclusive")[98]


def within_normal(quiet: list[float], during: list[float]) -> tuple[bool, str]:
    """The bound a press keeps under attack, generous for a noisy 2-core CI machine: its p99
    within 5 times the quiet p99, or the quiet p99 plus 200 ms, whichever is larger."""
    q, d = p99(quiet), p99(during)
    bound = max(5 * q, q + 0.2)
    return d <= bound, (f"press p99 quiet {q * 1000:.1f} ms, during {d * 1000:.1f} ms, "
                        f"bound {bound * 1000:.1f} ms (median quiet "
                        f"{statistics.median(quiet) * 1000:.1f} ms, during "
                        f"{statistics.median(during) * 1000:.1f} ms)")

"""What every scenario stands on: a fresh `muster up`, bench sites, live boards, the floors.

The scenario only plans and sends commands; the rig starts and stops everything, so a failed
run still stops Muster, its NATS and PostgreSQL, the sink and the echo server.
"""

import asyncio
import contextlib
import signal
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp

from loadtest.clients.arrivals import SinkLog
from loadtest.clients.board_procs import RemoteBoards
from loadtest.clients.boards import Boards, spread
from loadtest.clients.commands import Sender
from loadtest.floors import direct_apprise
from loadtest.floors.suite import Floors
from loadtest.reporting.probe import Probe
from loadtest.sites import BenchSites, create_sites, wait_boards
from loadtest.stack import Stack

HTTP_TIMEOUT_S = 10.0
# The buttons' own client pool, so a press never waits for a connection behind the background's.
DEVICE_CONNECTIONS = 16


@dataclass
class Rig:
    stack: Stack
    http: aiohttp.ClientSession
    sender: Sender
    presser: Sender  # a panic button's client: its own connections, to the emergency listener
    sites: BenchSites
    floors: Floors
    sink: SinkLog
    boards: Boards | RemoteBoards = field(default_factory=lambda: Boards([]))
    apprise_floor: direct_apprise.Direct = field(default_factory=direct_apprise.Direct)
    apprise_loaded: direct_apprise.Direct = field(default_factory=direct_apprise.Direct)
    _probe: Probe | None = None
    _own_lag: asyncio.Task[list[float]] | None = None
    _apprise_task: asyncio.Task[direct_apprise.Direct] | None = None

    @property
    def ws_base(self) -> str:
        return "ws" + self.stack.http_url.removeprefix("http")

    async def open_boards(self, count: int, processes: int = 0) -> None:
        """`count` boards round robin over the sites, read here (0) or in `processes` children."""
        local = spread(self.ws_base, self.stack.tokens["responder"], self.sites.ids, count)
        self.boards = RemoteBoards([(b.site, b.url) for b in local.boards], processes) \
            if processes else local
        await self.boards.open(timeout=120.0)

    async def warm(self, connections: int) -> None:
        """Open `connections` keep-alive connections before the load, as a district's tablets
        hold theirs. Without it the pool opened them under the load's first seconds, which ran
        at 100-500 ms, and the slowest press of every lockdown run took 1.1-1.6 s."""
        async def one(http: aiohttp.ClientSession, base: str) -> None:
            async with http.get(base + "/healthz") as resp:
                await resp.read()

        await asyncio.gather(*(one(self.http, self.stack.http_url) for _ in range(connections)),
                             *(one(self.presser.http, self.presser.base)
                               for _ in range(DEVICE_CONNECTIONS)))

    async def measure_apprise(self, count: int, rate: float) -> None:
        self.apprise_floor = await direct_apprise.run(self.stack.sink_url, self.sink, count, rate)

    def apprise_under_load(self, seconds: float, rate: float) -> None:
        """Direct Apprise sends beside the load, from now for about `seconds`."""
        self._apprise_task = asyncio.create_task(direct_apprise.run(
            self.stack.sink_url, self.sink, max(1, int(seconds * rate)), rate, "direct-load"))

    async def apprise_join(self) -> None:
        if self._apprise_task is not None:
            self.apprise_loaded = await self._apprise_task

    async def watch(self, seconds: float) -> None:
        """Start watching Muster (CPU, loop lag, intake histogram, conflicts) and this
        process's own loop for about `seconds`."""
        self._probe = Probe(self.http, self.stack.http_url, self.stack)
        await self._probe.start()
        self._own_lag = asyncio.create_task(own_lag(seconds))

    async def watched(self) -> tuple[dict[str, float | None], dict[str, float]]:
        """(server figures, CPU % of one core by process) since `watch`."""
        assert self._probe is not None
        server, usage = await self._probe.stop()
        mine: list[float] = []
        if self._own_lag is not None:
            self._own_lag.cancel()
            mine = sorted(await self._own_lag)
        server["load generator's own loop lag, p99 (ms)"] = \
            round(mine[int(len(mine) * 0.99)] * 1000, 1) if mine else None
        server["load generator's own loop lag, max (ms)"] = round(max(mine, default=0) * 1000, 1)
        return server, usage

    async def stop_watching(self) -> None:
        if self._own_lag is not None:
            self._own_lag.cancel()


async def own_lag(seconds: float, every: float = 0.01) -> list[float]:
    """This process's loop lag: how late a 10 ms sleep wakes. Sends and the HTTP answers' clock
    run on this loop, so its lag is in every client-side latency."""
    seen: list[float] = []
    deadline = time.perf_counter() + seconds
    with contextlib.suppress(asyncio.CancelledError):
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            await asyncio.sleep(every)
            seen.append(max(0.0, time.perf_counter() - start - every))
    return seen


class SigtermCancels:
    """SIGTERM cancels the run as Ctrl-C does, so the `finally` blocks stop everything in order;
    `close` then exits 143. SIGTERM's default would end Python with no `finally` at all; a
    second SIGTERM does that (the children then end by their parent-death signal)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop, self.task, self.termed = loop, asyncio.current_task(), False
        loop.add_signal_handler(signal.SIGTERM, self._on_term)

    def _on_term(self) -> None:
        self.termed = True
        self.loop.remove_signal_handler(signal.SIGTERM)
        if self.task is not None:
            self.task.cancel()

    def close(self) -> None:
        self.loop.remove_signal_handler(signal.SIGTERM)
        if self.termed:
            raise SystemExit(128 + signal.SIGTERM)


@contextlib.asynccontextmanager
async def rig(sites: int, notify: bool = True, keep: bool = False,
              concurrency: int = 256) -> AsyncIterator[Rig]:
    """Muster up with `sites` bench sites imported and projected; stopped on the way out."""
    loop = asyncio.get_running_loop()
    stack = Stack(keep=keep)
    floors: Floors | None = None
    term = SigtermCancels(loop)
    try:
        stack.launch()  # from this, the main thread: see Stack.launch
        await loop.run_in_executor(None, stack.ready)
        floors = Floors(stack.nats_url)
        await floors.start()
        timeout = aiohttp.ClientTimeout(total=HTTP_TIMEOUT_S)
        async with aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=concurrency), timeout=timeout) as http, \
                aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=DEVICE_CONNECTIONS),
                                      timeout=timeout) as devices:
            base = stack.http_url
            bench = await create_sites(http, base, stack.tokens["admin"], sites,
                                       stack.sink_url if notify else None)
            await wait_boards(http, base, stack.tokens["responder"], bench.ids)
            out = Rig(stack=stack, http=http, sender=Sender(http, base, stack.tokens),
                      presser=Sender(devices, stack.emergency_url, stack.tokens),
                      sites=bench, floors=floors, sink=SinkLog(stack.sink_log))
            floors.send_with(out.sender, out.presser)
            try:
                yield out
            finally:
                await out.boards.close()
                await out.stop_watching()
    finally:
        try:
            if floors is not None:
                await floors.stop()
            await loop.run_in_executor(None, stack.stop)
        finally:
            term.close()  # raises SystemExit(143) when SIGTERM cancelled the run

"""Live boards in processes of their own, so the load generator's sends never delay a board's
clock and a board's messages never delay a send.

1,000 boards at 500 events/s are 10,000 WebSocket messages a second: read on the same event loop
that paces the presses, every timestamp would carry that loop's lag. Each child runs its share of
the boards (`loadtest.clients.boards`) on its own loop; arrival times are `time.perf_counter()`, the
system-wide monotonic clock on Linux, so they compare with the parent's send times.
"""

import asyncio
import multiprocessing as mp
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import uvloop

from command.infra.embedded import die_with_parent
from loadtest.clients.boards import Board, Boards

READY_TIMEOUT_S = 120.0


def _child(conn: Connection, specs: list[tuple[str, str]], timeout: float) -> None:
    """Open the boards, say so, then answer "wait" and "stop" until stopped."""
    die_with_parent()  # a killed load generator leaves no board reader behind

    async def main() -> None:
        boards = Boards([Board(site=site, url=url) for site, url in specs])
        try:
            await boards.open(timeout)
        except TimeoutError as exc:
            conn.send(("error", str(exc)))
            return
        conn.send(("ready", None))
        loop = asyncio.get_running_loop()
        while True:
            kind, arg = await loop.run_in_executor(None, conn.recv)
            if kind == "wait":
                targets, seconds = arg
                await boards.caught_up(targets, time.perf_counter() + seconds)
                conn.send(("waited", None))
            else:
                await boards.close()
                conn.send(("boards", [(b.site, b.updates, b.reconnects, b.closes, b.last_seq)
                                      for b in boards.boards]))
                return

    uvloop.run(main())


@dataclass
class RemoteBoards:
    """The `Boards` interface the scenarios use, over `processes` children."""

    specs: list[tuple[str, str]]
    processes: int = 2
    boards: list[Board] = field(default_factory=list)  # filled in by `collect`
    _links: list[tuple[Any, Connection]] = field(default_factory=list)

    async def open(self, timeout: float = READY_TIMEOUT_S) -> None:
        ctx = mp.get_context("spawn")  # no copy of the parent's loop, sockets or threads
        shares = [self.specs[i::self.processes] for i in range(self.processes)]
        for share in filter(None, shares):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_child, args=(child, share, timeout), daemon=True)
            proc.start()
            self._links.append((proc, parent))
        for kind, arg in await asyncio.gather(*(self._recv(c) for _, c in self._links)):
            if kind != "ready":
                await self.close()
                raise TimeoutError(f"board process: {arg}")

    async def _recv(self, conn: Connection) -> tuple[str, Any]:
        return await asyncio.get_running_loop().run_in_executor(None, conn.recv)

    async def caught_up(self, targets: dict[str, int], deadline: float) -> None:
        seconds = max(0.0, deadline - time.perf_counter())
        for _, conn in self._links:
            conn.send(("wait", (targets, seconds)))
        await asyncio.gather(*(self._recv(c) for _, c in self._links))

    async def collect(self) -> None:
        """Stop the children and take every board's arrivals (once; later calls keep them)."""
        if not self._links:
            return
        for _, conn in self._links:
            conn.send(("stop", None))
        for kind, arg in await asyncio.gather(*(self._recv(c) for _, c in self._links)):
            if kind == "boards":
                for site, updates, reconnects, closes, last in arg:
                    self.boards.append(Board(site=site, url="", updates=updates,
                                             reconnects=reconnects, closes=closes,
                                             last_seq=last))
        await self.close()

    async def close(self) -> None:
        for proc, conn in self._links:
            if not self.boards:  # never told to stop (the run failed): not worth waiting for
                proc.terminate()
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
            conn.close()
        self._links = []

    def of_site(self, site: str) -> list[Board]:
        return [b for b in self.boards if b.site == site]

    @property
    def received(self) -> int:
        return sum(len(b.updates) for b in self.boards)

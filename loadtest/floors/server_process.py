"""A floor's server in a process of its own, so it never competes with the client's timing.

`python -m MODULE --port N ...` prints `listening` once bound and, when SIGTERM stops it, a last
line ending in the count of what it served.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from aiohttp import web

from loadtest.stack import free_port

STOP_TIMEOUT_S = 10.0


class ServerError(RuntimeError):
    """The floor's server did not start."""


async def listen(app: web.Application, port: int,
                 shutdown_timeout: float = 60.0) -> tuple[web.AppRunner, asyncio.Event]:
    """In the server's process: serve `app` on 127.0.0.1:`port`, say `listening`; the runner,
    and an event SIGTERM or SIGINT sets."""
    runner = web.AppRunner(app, handle_signals=False, access_log=None,
                           shutdown_timeout=shutdown_timeout)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print("listening", flush=True)
    return runner, stop


@dataclass
class ServerProcess:
    """`with ServerProcess("loadtest.floors.echo") as s:` runs that module's server for the
    block."""

    module: str
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)  # secrets here: ps shows the args
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[str] | None = None
    served: int | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", self.module, "--port", str(self.port), *self.args],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
            text=True, cwd=Path(__file__).resolve().parents[2],
            env={**os.environ, **self.env})
        assert self.proc.stdout is not None
        if self.proc.stdout.readline().strip() != "listening":  # bounded: it exits on failure
            self.stop()
            raise ServerError(f"{self.module} did not start on port {self.port}")

    def stop(self) -> None:
        """SIGTERM, and the count it printed; SIGKILL if it hangs."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            out, _ = self.proc.communicate(timeout=STOP_TIMEOUT_S)
            self.served = int(out.split()[-1]) if out.strip() else None
        except (subprocess.TimeoutExpired, ValueError):
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> ServerProcess:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

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
import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from aiohttp import web

from command.infra.embedded import die_with_parent
from loadtest.stack import free_port

STOP_TIMEOUT_S = 10.0
ORPHAN_CHECK_S = 0.5


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
    _watch_parent(loop, stop, os.getppid())
    print("listening", flush=True)
    return runner, stop


def _watch_parent(loop: asyncio.AbstractEventLoop, stop: asyncio.Event, parent: int) -> None:
    """Stop once the parent is gone: the kernel's parent-death signal would not come when
    the parent started this from a worker thread that is still alive, or came before it was
    set."""
    def check() -> None:
        if os.getppid() != parent:
            stop.set()
        else:
            loop.call_later(ORPHAN_CHECK_S, check)

    check()


def _orphan_proof() -> dict[str, object]:
    """Popen's arguments for a child that ends with this process and ignores Ctrl-C (the
    parent stops it in order). The parent-death signal follows the thread that forked, so only
    a child of the main thread gets it; the others stop by `_watch_parent`."""
    if threading.current_thread() is threading.main_thread():
        return {"preexec_fn": die_with_parent}  # it starts a session of its own too
    return {"start_new_session": True}


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
    # a stop from another thread (the run cancelled) waits for `start` to finish reading
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def start(self) -> None:
        with self._lock:
            self._start()

    def _start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", self.module, "--port", str(self.port), *self.args],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
            text=True, cwd=Path(__file__).resolve().parents[2],
            env={**os.environ, **self.env}, **_orphan_proof())
        assert self.proc.stdout is not None
        if self.proc.stdout.readline().strip() != "listening":  # bounded: it exits on failure
            self._stop()
            raise ServerError(f"{self.module} did not start on port {self.port}")

    def stop(self) -> None:
        """SIGTERM, and the count it printed; SIGKILL if it hangs."""
        with self._lock:
            self._stop()

    def _stop(self) -> None:
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

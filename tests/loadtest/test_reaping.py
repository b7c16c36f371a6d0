"""Killing `python -m loadtest` leaves nothing running: not the sink, the echo server, the raw
intake or the board readers, nor `muster up`, its nats-server and its PostgreSQL.

A SIGKILL gives the parent no say: its children end by their parent-death signal (`muster up`
stopping its own servers on it). A SIGTERM lets the parent stop its stack in order and exit 143.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]
# A flood small enough to start quickly and long enough to be killed in the middle of its load.
ARGS = ["flood", "--sites", "2", "--boards", "2", "--board-processes", "2", "--duration", "300",
        "--rate", "5", "--floor-count", "20", "--floor-rate", "100", "--apprise-count", "5",
        "--ceiling-s", "1", "--concurrency", "8"]
KINDS = ("muster up", "loadtest.clients.sink", "loadtest.floors.echo",
         "loadtest.floors.raw_intake", "spawn_main", "nats-server")  # spawn_main: a board reader
START_TIMEOUT_S = 180.0
GONE_TIMEOUT_S = 45.0  # a SIGTERMed `muster up` stops its servers in order, within 30 s


def _kind(proc: psutil.Process) -> str | None:
    try:
        with_args = " ".join(proc.cmdline())
    except (psutil.Error, OSError):  # it ended while we looked
        return None
    return next((k for k in KINDS if k in with_args), None)


def _children(parent: psutil.Process) -> list[psutil.Process]:
    try:
        return parent.children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _postgres(data_dir: str) -> list[psutil.Process]:
    """The embedded PostgreSQL's processes: pg_ctl daemonizes it, so it is no one's child."""
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        with_args = " ".join(proc.info["cmdline"] or ())
        if (proc.info["name"] or "").startswith("postgres") and data_dir in with_args:
            found += [proc, *_children(proc)]  # the postmaster and its workers
    return found


def _running_loadtest(tmp_path: Path) -> tuple[subprocess.Popen[bytes], list[psutil.Process]]:
    """A flood in its load phase, and every process it runs then."""
    proc = subprocess.Popen([sys.executable, "-m", "loadtest", *ARGS, "--out", str(tmp_path)],
                            cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=(tmp_path / "stderr").open("wb"))
    try:
        return _all_running(proc, tmp_path)
    except BaseException:
        proc.kill()  # its children follow it
        raise


def _all_running(proc: subprocess.Popen[bytes],
                 tmp_path: Path) -> tuple[subprocess.Popen[bytes], list[psutil.Process]]:
    """Wait until every kind of process runs (the board readers start last)."""
    parent = psutil.Process(proc.pid)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline and proc.poll() is None:
        children = _children(parent)
        kinds = [_kind(c) for c in children]
        if all(k in kinds for k in KINDS) and kinds.count("spawn_main") >= 2:
            up = next(c for c in children if _kind(c) == "muster up")
            data_dir = up.cmdline()[up.cmdline().index("--data-dir") + 1]
            postgres = _postgres(data_dir)
            if postgres:
                return proc, [c for c in children if c.is_running()] + postgres
        time.sleep(0.5)
    pytest.fail(f"the flood never ran all its processes:\n{(tmp_path / 'stderr').read_text()}")


def _alive(proc: psutil.Process) -> bool:
    """Running (a zombie has ended: only an init that reaps nothing keeps it listed)."""
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _left_running(procs: list[psutil.Process]) -> list[str]:
    """What is still running after GONE_TIMEOUT_S, by command line."""
    deadline = time.monotonic() + GONE_TIMEOUT_S
    while any(_alive(p) for p in procs) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = []
    for p in filter(_alive, procs):
        with contextlib.suppress(psutil.Error):
            left.append(" ".join(p.cmdline())[:120])
    return left


@pytest.mark.timeout(300)
def test_a_sigkilled_loadtest_leaves_no_process_behind(tmp_path: Path) -> None:
    proc, procs = _running_loadtest(tmp_path)
    assert len(procs) >= len(KINDS) + 2  # two board readers and at least the postmaster
    proc.kill()
    proc.wait()
    assert _left_running(procs) == []


@pytest.mark.timeout(300)
def test_a_sigtermed_loadtest_stops_everything_and_exits_143(tmp_path: Path) -> None:
    proc, procs = _running_loadtest(tmp_path)
    os.kill(proc.pid, signal.SIGTERM)
    assert proc.wait(timeout=GONE_TIMEOUT_S + 30) == 128 + signal.SIGTERM, \
        (tmp_path / "stderr").read_text()
    assert _left_running(procs) == []

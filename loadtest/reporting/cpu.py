"""CPU time of the system under test's processes, from /proc, to tell a slow path from a busy box.

A latency that grows while Muster's process is near 100 % of one core is Python doing work; one
that grows while every process idles is waiting (disk, locks, or the rest of a shared machine).
"""

import contextlib
import json
import os
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, user + system CPU seconds) of a live process, or None."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICK
    return None


def _pid_file(path: Path) -> int | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        return int(path.read_text().split()[0])
    return None


def tree_seconds(root: int) -> float:
    """CPU seconds of `root` and its live children (PostgreSQL works in forked backends)."""
    total = 0.0
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                stat = _stat(int(entry.name))
                if stat is not None and (int(entry.name) == root or stat[0] == root):
                    total += stat[1]
    return total


def processes(data_dir: Path, muster_pid: int) -> dict[str, int]:
    """The pids worth watching: Muster itself, its nats-server, its PostgreSQL postmaster and
    the processes `muster up` runs apart (MUSTER_APART)."""
    found = {"muster": muster_pid}
    nats = _pid_file(data_dir / "nats" / "nats.pid")
    if nats is not None:
        found["nats-server"] = nats
    for pid_file in sorted((data_dir / "pg").glob("**/postmaster.pid"))[:1]:
        postmaster = _pid_file(pid_file)
        if postmaster is not None:
            found["postgres"] = postmaster
    for runtime in sorted(data_dir.glob("*/runtime.json")):
        with contextlib.suppress(OSError, ValueError, KeyError):
            found[f"muster {runtime.parent.name}"] = int(json.loads(runtime.read_text())["pid"])
    return found


def sample(pids: dict[str, int]) -> dict[str, float]:
    """CPU seconds so far, by name; the caller diffs two samples over a wall-clock interval."""
    out = {}
    for name, pid in pids.items():
        if name == "postgres":
            out[name] = tree_seconds(pid)
        else:
            stat = _stat(pid)
            out[name] = stat[1] if stat is not None else 0.0
    return out


def percent(before: dict[str, float], after: dict[str, float], wall_s: float) -> dict[str, float]:
    """CPU use over the interval, in % of one core, by name."""
    if wall_s <= 0:
        return {}
    return {name: round((after[name] - before.get(name, 0.0)) / wall_s * 100, 1)
            for name in after}

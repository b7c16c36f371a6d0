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


def _table() -> dict[int, tuple[int, float]]:
    """Every live process: pid → (parent pid, CPU seconds)."""
    out = {}
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
                out[int(entry.name)] = stat
    return out


def _under(root: int, table: dict[int, tuple[int, float]]) -> set[int]:
    """`root` and every live process below it."""
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid in table and pid not in found:
            found.add(pid)
            todo += [child for child, (parent, _) in table.items() if parent == pid]
    return found


def parts(pids: dict[str, int]) -> dict[str, float]:
    """CPU seconds so far, in parts: "python" (`muster up` and every process it runs but
    nats-server, or a floor's server and its children), "nats-server", and "postgres" (the
    postmaster and its backends; pg_ctl starts it outside Muster's tree). `pids` names the
    roots: "muster" or "server", and "nats-server" and "postgres" where there are.
    """
    table = _table()
    nats = _under(pids["nats-server"], table) if "nats-server" in pids else set()
    pg = _under(pids["postgres"], table) if "postgres" in pids else set()
    root = pids.get("muster", pids.get("server", 0))
    groups = {"python": _under(root, table) - nats - pg, "nats-server": nats, "postgres": pg}
    return {name: sum(table[pid][1] for pid in group) for name, group in groups.items()}


def per_event_ms(before: dict[str, float], after: dict[str, float],
                 events: int) -> dict[str, float]:
    """CPU milliseconds per event between two `parts` samples, by part and "all"."""
    if events <= 0:
        return {}
    out = {name: (after[name] - before.get(name, 0.0)) * 1000 / events for name in after}
    out["all"] = sum(out.values())
    return out

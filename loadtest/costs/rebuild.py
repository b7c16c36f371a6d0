"""What `muster rebuild` costs against reading its stream raw: `python -m loadtest rebuild`.

The stream is real: a `muster up` (loadtest.stack) takes the bench sites (loadtest.sites), a drill
at each, and then `--events` background commands over HTTP (loadtest.scenarios.traffic: room
reports, accountability, notes; one event each), sent as fast as `--concurrency` requests in
flight allow. So the projector sees the mix it sees in the flood, site files included. Once its
projector has caught up, the read models' fingerprint is taken and Muster is stopped.

Then, on the same data dir:
- `muster rebuild` runs as an operator runs it, servers' start included: the CLI wall time;
- the embedded NATS and PostgreSQL are started here, and on that same nats-server the floor reads
  the whole stream with a nats-py ordered consumer, decoding each event with msgspec into
  Muster's event type (before and after the rebuild; the faster counts);
- the rebuild proper (`consumers.projector.rebuild`, what the CLI calls) runs again, timed.

The bound is the rebuild proper's events/s at least 50 % of the floor's (wall time; the CPU
seconds of this process beside it are steadier on a shared machine). Exit 1 only when the
rebuilt read models are not those the live projector wrote (each table's rows and versions), or
the position is not the stream's last sequence; a missed bound is reported, not an exit status.
"""

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import msgspec
import uvloop

from command.bootstrap.servers import Servers
from command.domain import events as e
from command.infra.embedded import reach_db, reach_nats
from command.infra.eventlog import EventLog
from consumers import positions, read_models
from consumers.projector import rebuild
from loadtest.clients import commands as cmd
from loadtest.clients.commands import Sender
from loadtest.reporting.result import Bound
from loadtest.scenarios import traffic
from loadtest.sites import create_sites
from loadtest.stack import Stack, muster_command

OUT = Path("loadtest/out")
STREAM = "MUSTER"
BOUND = 0.5  # the rebuild's events/s at least this share of the floor's
CAUGHT_UP_S = 120.0
# Each read model as rows, their versions and what they hold: the rebuilt ones must equal the
# live projector's, the boards' rendered documents too (a state saved every few seconds aside).
FINGERPRINTS = {
    "sites": "site || ':' || seq",
    "boards": "site || ':' || seq || ':' || md5(board::text)",
    "incidents": "id || ':' || status || ':' || last_seq || ':' || md5(doc::text)",
    "rooms": "incident_id || ':' || room || ':' || status || ':' || md5(doc::text)",
    "timeline": "seq || ':' || md5(event::text)",
}


class Report(msgspec.Struct, kw_only=True):
    """The run, as printed and as written to OUT/rebuild-TIME.json."""

    config: dict[str, Any]
    events: int  # the stream's events
    floor_events_per_s: float
    rebuild_events_per_s: float
    cli_wall_s: float
    rebuild_s: float
    floor_s: float
    rebuild_cpu_s: float  # this process's CPU alone (not nats-server's, not PostgreSQL's)
    floor_cpu_s: float
    bound: Bound
    counts: dict[str, int]
    problems: list[str]  # the rebuilt read models differ from the live ones: any fails the run

    @property
    def ok(self) -> bool:
        return not self.problems

    def table(self) -> str:
        b = self.bound
        rows = [
            ("events in the stream", f"{self.events:,}"),
            ("floor: raw nats-py read + msgspec decode",
             f"{self.floor_events_per_s:,.0f} events/s ({self.floor_s:.2f} s, "
             f"CPU {self.floor_cpu_s:.2f} s)"),
            ("rebuild proper (consumers.projector.rebuild)",
             f"{self.rebuild_events_per_s:,.0f} events/s ({self.rebuild_s:.2f} s, "
             f"CPU {self.rebuild_cpu_s:.2f} s)"),
            ("`muster rebuild` CLI wall, servers' start included",
             f"{self.events / self.cli_wall_s:,.0f} events/s ({self.cli_wall_s:.2f} s)"),
            (b.name, f"{b.value or 0:.1%} (aim ≥ {b.limit:.0%}: "
                     f"{'met' if b.met else 'NOT met'})"),
        ] + [(k.replace("_", " "), str(v)) for k, v in self.counts.items()]
        lines = ["Muster rebuild — " + ", ".join(f"{k} {v}" for k, v in self.config.items()), ""]
        lines += [f"  {k:<54}{v}" for k, v in rows]
        lines += [f"WRONG: {p}" for p in self.problems]
        lines.append("result: " + ("OK (the rebuilt read models are the live ones)" if self.ok
                                   else "FAILED (see WRONG)"))
        return "\n".join(lines)


async def fingerprint(pool: asyncpg.Pool) -> dict[str, str]:
    """Each read model's row count and a digest of its rows' keys and versions."""
    out = {}
    for table, key in FINGERPRINTS.items():
        row = await pool.fetchrow(f"SELECT count(*) AS n, md5(coalesce(string_agg({key}, ',' "
                                  f"ORDER BY {key}), '')) AS digest FROM {table}")
        out[table] = f"{row['n']} rows, {row['digest']}"
    return out


async def write_stream(stack: Stack, sites: int, events: int, concurrency: int,
                       seed: int) -> tuple[int, dict[str, str]]:
    """The sites, a drill each and `events` background commands; then, once the live projector
    has caught up, the stream's last seq and the read models' fingerprint."""
    async with aiohttp.ClientSession() as http:
        bench = await create_sites(http, stack.http_url, stack.tokens["admin"], sites, None)
        sender = Sender(http, stack.http_url, stack.tokens)
        incidents = {site: (await sender.must(cmd.drill(site))).incident_id or ""
                     for site in bench.ids}
        plan = iter(traffic.background(events, incidents, bench, seed))
        refused = 0

        async def worker() -> None:
            nonlocal refused
            for command in plan:  # one shared iterator: each command is sent once
                refused += (await sender.send(command)).status != 202

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    if refused:
        raise RuntimeError(f"{refused} of {events} commands were refused")
    pool = await reach_db(stack.runtime["database_url"])
    nc = await reach_nats(stack.nats_url)
    try:
        end = await EventLog(nc, stream=STREAM).last_seq()
        deadline = time.monotonic() + CAUGHT_UP_S
        while await positions.position(pool, read_models.WRITER) < end:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the live projector did not reach seq {end}")
            await asyncio.sleep(0.2)
        return end, await fingerprint(pool)
    finally:
        await nc.close()
        await pool.close()


def cli_rebuild(data_dir: Path) -> tuple[float, int]:
    """`muster rebuild` as an operator runs it: its wall time and the seq it says it reached."""
    started = time.perf_counter()
    out = subprocess.run([*muster_command(), "rebuild", "--data-dir", str(data_dir)],
                         capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=1800)
    wall = time.perf_counter() - started
    if out.returncode != 0:
        raise RuntimeError(f"muster rebuild exited {out.returncode}: {out.stderr[-2000:]}")
    return wall, int(out.stdout.split("up to seq")[-1].split()[0])


async def floor(log: EventLog, end: int) -> tuple[float, float]:
    """Seconds (wall, CPU) to read seqs 1..`end` raw with an ordered consumer, each decoded by
    msgspec."""
    done = asyncio.get_running_loop().create_future()
    decoded = 0

    async def on_msg(msg: Any) -> None:
        nonlocal decoded
        e.decode(msg.data)
        decoded += 1
        if msg.metadata.sequence.stream >= end and not done.done():
            done.set_result(None)

    started, cpu = time.perf_counter(), time.process_time()
    sub = await log.js.subscribe(f"{log.prefix}.>", cb=on_msg, ordered_consumer=True,
                                 stream=log.stream, pending_msgs_limit=1_000_000,
                                 pending_bytes_limit=1 << 30)
    try:
        await asyncio.wait_for(done, timeout=600)
    finally:
        await sub.unsubscribe()
    if decoded != end:
        raise RuntimeError(f"the floor decoded {decoded} events of {end}")
    return time.perf_counter() - started, time.process_time() - cpu


Seconds = tuple[float, float]  # wall, this process's CPU


async def measure(data_dir: Path, end: int) -> tuple[Seconds, Seconds, int, dict[str, str]]:
    """On servers started here: the best of two floors, the rebuild proper's seconds, then the
    rebuilt position and fingerprint."""
    servers = Servers(data_dir)
    nats_url, db_url = await servers.start("", "")
    nc = await reach_nats(nats_url)
    pool = await reach_db(db_url)
    try:
        log = EventLog(nc, stream=STREAM)
        first = await floor(log, end)
        started, cpu = time.perf_counter(), time.process_time()
        pos = await rebuild(log, pool, lambda done, total: None)
        took = time.perf_counter() - started, time.process_time() - cpu
        best = min(first, await floor(log, end))
        return best, took, pos, await fingerprint(pool)
    finally:
        await pool.close()
        await nc.close()
        await servers.stop()


def run(args: argparse.Namespace) -> Report:
    with Stack(keep=True) as stack:
        data_dir = stack.data_dir
        try:
            end, live = uvloop.run(write_stream(stack, args.sites, args.events,
                                                args.concurrency, args.seed))
        except BaseException:
            stack.keep = args.keep
            raise
    try:
        cli_wall, cli_pos = cli_rebuild(data_dir)
        (floor_s, floor_cpu), (rebuild_s, rebuild_cpu), pos, rebuilt = uvloop.run(
            measure(data_dir, end))
    finally:
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
    problems = [f"{label} reached seq {at}, the stream ends at {end}"
                for label, at in (("muster rebuild", cli_pos), ("the rebuild", pos)) if at != end]
    problems += [f"{table}: live {live[table]}, rebuilt {rebuilt[table]}"
                 for table in FINGERPRINTS if live[table] != rebuilt[table]]
    floor_rate, rebuild_rate = end / floor_s, end / rebuild_s
    counts = {f"{t}_rows": int(rebuilt[t].split()[0]) for t in FINGERPRINTS}
    return Report(
        config={"sites": args.sites, "events": args.events, "concurrency": args.concurrency,
                "seed": args.seed},
        events=end, floor_events_per_s=floor_rate, rebuild_events_per_s=rebuild_rate,
        cli_wall_s=cli_wall, rebuild_s=rebuild_s, floor_s=floor_s, rebuild_cpu_s=rebuild_cpu,
        floor_cpu_s=floor_cpu,
        bound=Bound("rebuild events/s ÷ floor events/s", rebuild_rate / floor_rate, BOUND, "",
                    at_least=True),
        counts=counts, problems=problems)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m loadtest rebuild", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--events", type=int, default=40_000,
                   help="background commands (= events) written before the rebuild")
    p.add_argument("--sites", type=int, default=50, help="bench sites (default 50)")
    p.add_argument("--concurrency", type=int, default=64, help="requests in flight at most")
    p.add_argument("--seed", type=int, default=1, help="seed of the plan")
    p.add_argument("--keep", action="store_true", help="keep the data dir")
    p.add_argument("--out", type=Path, default=OUT, help=f"where the JSON goes ({OUT})")
    args = p.parse_args(argv)
    report = run(args)
    print(report.table())
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"rebuild-{time.strftime('%Y%m%d-%H%M%S')}.json"
    doc = {**msgspec.to_builtins(report), "bound_met": report.bound.met, "ok": report.ok}
    path.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"json: {path}")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""What an atomic batch costs nats-server, against single publishes:
`python -m loadtest.costs.batch` (or `python -m loadtest batchcost`).

Intake groups a site's queued commands into one atomic batch only when many wait, because a batch
costs the server far more CPU than a publish. This measures it through Muster's own `EventLog`
(the same headers: `Nats-Msg-Id`, the expected last subject sequence, the batch headers) on an
embedded nats-server with `sync_interval: always` of its own, in a temporary folder: events per
second and the server's CPU per event and per append, for appends of 1, 2, 4, 8 and 32 events.
"""

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

import uvloop

from command.domain import events as e
from command.infra.embedded import EmbeddedNats, reach_nats
from command.infra.eventlog import EventLog
from loadtest.reporting import cpu

STREAM = "BENCH_BATCHES"
PREFIX = "bench.batches"
ACTOR = e.Actor(kind="system", id="batchcost")


def note(site: str, i: int) -> e.Envelope:
    now = e.now()
    return e.NoteAdded(id=e.new_id(), site=site, incident_id="bench", mode="drill",
                       occurred_at=now, recorded_at=now, actor=ACTOR,
                       data=e.NoteAddedData(text=f"hallway check {i} done"))


async def measure(log: EventLog, server_pid: int, group: int, events: int,
                  sites: int) -> dict[str, float]:
    """`events` appended by `sites` writers, each append `group` events with its check."""
    last: dict[str, int] = {}

    async def writer(site: str) -> None:
        for i in range(events // sites // group):
            seqs = await log.append(site, [note(site, i) for _ in range(group)], last.get(site, 0))
            last[site] = seqs[-1]

    before, started = cpu.sample({"nats": server_pid})["nats"], time.perf_counter()
    await asyncio.gather(*(writer(f"site-{group}-{s}") for s in range(sites)))
    wall = time.perf_counter() - started
    used = cpu.sample({"nats": server_pid})["nats"] - before
    written = events // sites // group * group * sites
    return {"events_per_s": written / wall, "server_us_per_event": used / written * 1e6,
            "server_us_per_append": used / (written / group) * 1e6}


async def main_async(events: int, sites: int, groups: list[int]) -> None:
    with tempfile.TemporaryDirectory(prefix="muster-batchcost-") as tmp:
        server = EmbeddedNats(Path(tmp) / "nats")
        url = await asyncio.to_thread(server.start)
        try:
            nc = await reach_nats(url)
            log = EventLog(nc, stream=STREAM, prefix=PREFIX)
            await log.ensure_stream()
            pid = int((Path(tmp) / "nats" / "nats.pid").read_text().split()[0])
            print(f"{'events per append':>18} {'events/s':>10} {'server CPU/event':>17} "
                  f"{'server CPU/append':>18}")
            for group in groups:
                got = await measure(log, pid, group, events, sites)
                print(f"{group:>18} {got['events_per_s']:>10.0f} "
                      f"{got['server_us_per_event']:>14.0f} us "
                      f"{got['server_us_per_append']:>15.0f} us")
            await nc.close()
        finally:
            await asyncio.to_thread(server.stop)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m loadtest.costs.batch", description=__doc__)
    p.add_argument("--events", type=int, default=6400, help="events per append size")
    p.add_argument("--sites", type=int, default=50, help="concurrent writers, one per site")
    p.add_argument("--groups", default="1,2,4,8,32", help="events per append, comma-separated")
    args = p.parse_args(argv)
    uvloop.run(main_async(args.events, args.sites, [int(g) for g in args.groups.split(",")]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

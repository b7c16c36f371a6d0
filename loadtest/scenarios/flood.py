"""A sustained flood: every site's staff writing at once, open loop, at a fixed high rate.

Every site runs a drill and takes the background mix (`loadtest.scenarios.traffic`: room reports,
accountability, notes; one event each) at `rate` per second in all, for `duration` seconds. The
question is whether intake keeps up: accepted events per second over the run and in its worst
second, and how far the answers and the boards fall behind while it does. Its bound is a ratio:
at least 70 % of what a bare aiohttp + JetStream intake accepts of the same plan, sent by the
same client; beside it, the CPU each accepted event cost Muster and that bare intake.

The client keeps at most `concurrency` commands in flight: a send due while every slot is taken
waits (late, its lag recorded), and one still waiting at the deadline is never sent. So what
was offered is measured (sends started per second, time at the limit) beside what was accepted,
and a command never sent is counted apart: only an acknowledged command missing is a loss.
"""

import time
from collections import Counter
from dataclasses import dataclass

from loadtest.clients import commands as cmd
from loadtest.clients.commands import Answer, accepted
from loadtest.clients.pacer import Sample
from loadtest.reporting import cpu
from loadtest.reporting.result import Bound, Recorder, Result
from loadtest.rig import Rig
from loadtest.scenarios import traffic
from loadtest.scenarios.common import (
    Common,
    add_floors,
    build,
    to_boards,
)
from loadtest.scenarios.outcome import points, settle

MUSTER_STREAM = "MUSTER"
INTAKE_SHARE = 70.0  # % of the raw HTTP intake's rate Muster must sustain (the bound)


@dataclass(frozen=True)
class FloodConfig(Common):
    boards: int = 50  # one per site: 1,000 boards at 2,000 events/s is 40,000 messages/s
    duration: float = 30.0
    rate: float = 2000.0  # commands (= events) per second, open loop
    ceiling_s: float = 10.0  # seconds of the plan first sent to the raw HTTP intake (0: none)


def per_second(samples: list[Sample[Answer]]) -> list[int]:
    """Accepted answers by the second they arrived in, from the first send."""
    ok = [s for s in samples if accepted(s)]
    if not ok:
        return []
    t0 = min(s.start for s in samples if s.started)
    seconds = Counter(int(s.end - t0) for s in ok)
    return [seconds.get(i, 0) for i in range(max(seconds) + 1)]


def window_of(samples: list[Sample[Answer]]) -> float:
    """Seconds from the first send to the last accepted answer."""
    ok = [s for s in samples if accepted(s)]
    return (max(s.end for s in ok) - min(s.start for s in samples if s.started)) if ok else 0.0


def rate_of(samples: list[Sample[Answer]]) -> float:
    """Accepted answers per second over `window_of`."""
    window = window_of(samples)
    return sum(accepted(s) for s in samples) / window if window > 0 else 0.0


def offered(samples: list[Sample[Answer]]) -> float:
    """Sends started per second, from the first start to the last."""
    starts = [s.start for s in samples if s.started]
    span = max(starts, default=0.0) - min(starts, default=0.0)
    return len(starts) / span if span > 0 else 0.0


def at_limit(samples: list[Sample[Answer]], limit: int) -> float:
    """Seconds during which `limit` sends were in flight at once (the client held sends back)."""
    edges = sorted([(s.start, 1) for s in samples if s.started]
                   + [(s.end, -1) for s in samples if s.started])
    held, flying, since = 0.0, 0, 0.0
    for at, step in edges:
        if flying >= limit:
            held += at - since
        flying += step
        since = at
    return held


def steady(counts: list[int], trim: int = 2) -> list[int]:
    """The seconds between ramp-up and drain (all of them when the run is short)."""
    return counts[trim:-trim] if len(counts) > 2 * trim + 1 else counts


async def last_seq(r: Rig) -> int:
    assert r.floors.nc is not None
    info = await r.floors.nc.jetstream(timeout=5).stream_info(MUSTER_STREAM)
    return int(info.state.last_seq)


def _pids(r: Rig) -> tuple[dict[str, int], dict[str, int]]:
    """The roots whose CPU is counted: Muster's, and the raw intake's (same nats-server)."""
    assert r.stack.proc is not None and r.floors.intake.proc is not None
    muster = cpu.processes(r.stack.data_dir, r.stack.proc.pid)
    raw = {"server": r.floors.intake.proc.pid}
    if "nats-server" in muster:
        raw["nats-server"] = muster["nats-server"]
    return muster, raw


def cpu_rows(muster: dict[str, float], raw: dict[str, float]) -> dict[str, float]:
    """CPU ms per accepted event, Muster's beside the raw intake's, by part."""
    rows = {f"CPU ms per accepted event, Muster: {part}": ms for part, ms in muster.items()}
    rows |= {f"CPU ms per accepted event, raw intake: {part}": raw[part]
             for part in ("python", "nats-server", "all") if part in raw}
    if muster.get("all") and raw.get("all"):
        rows["CPU per event, Muster ÷ raw intake (all)"] = muster["all"] / raw["all"]
    return rows


async def scenario(config: FloodConfig, r: Rig) -> Result:
    await r.floors.quiet(config.floor_count, config.floor_rate, 64, config.sites)
    incidents = {}
    for site in r.sites.ids:
        incidents[site] = (await r.sender.must(cmd.drill(site))).incident_id or ""
    await r.open_boards(config.boards, config.board_processes)
    plan = traffic.background(int(config.rate * config.duration), incidents, r.sites,
                              config.seed)
    muster_pids, raw_pids = _pids(r)
    raw_cpu = cpu.parts(raw_pids)
    ceiling = await r.floors.intake_ceiling(plan[:int(config.rate * config.ceiling_s)],
                                            config.rate, config.concurrency) \
        if config.ceiling_s > 0 else []
    raw_ms = cpu.per_event_ms(raw_cpu, cpu.parts(raw_pids),
                              sum(s.value is not None for s in ceiling))
    await r.warm(config.concurrency)
    t0 = time.perf_counter()
    before = await last_seq(r)
    await r.watch(config.duration + 120)
    muster_cpu = cpu.parts(muster_pids)
    r.floors.under_load(config.duration, config.sites)
    samples = await r.sender.paced(plan, config.rate, config.concurrency)
    await r.floors.join()
    server, usage = await r.watched()
    written = await last_seq(r) - before
    ok = [s for s in samples if accepted(s)]
    window = window_of(samples)
    raw = rate_of(ceiling)  # type: ignore[arg-type]
    settled = await settle(r, {"flood": (samples, plan)}, config.deliver_within_s)
    muster_ms = cpu.per_event_ms(muster_cpu, cpu.parts(muster_pids), len(ok))  # all its work
    rec = Recorder(t0)
    rec.add("command → 202", points(samples))
    rec.add("command → every board", settled.reaches["flood"].every)
    hist = add_floors(rec, r)
    seconds = steady(per_second(samples))
    sustained = rate_of(samples)
    share = 100 * sustained / raw if raw else None
    throughput = {"commands (= events) planned per second": config.rate,
                  "commands offered (sends started) per second": offered(samples),
                  "commands (= events) accepted per second": sustained,
                  "raw HTTP intake, same plan: offered per second":
                      offered(ceiling),  # type: ignore[arg-type]
                  "raw HTTP intake, same plan: accepted per second": raw,
                  "Muster's rate as % of the raw HTTP intake's": share or 0.0,
                  f"seconds with all {config.concurrency} client slots taken (Muster)":
                      at_limit(samples, config.concurrency),
                  f"seconds with all {config.concurrency} client slots taken (raw intake)":
                      at_limit(ceiling, config.concurrency),  # type: ignore[arg-type]
                  "events appended to the stream per second (any writer)":
                      written / window if window > 0 else 0.0,
                  "accepted in the worst steady second": float(min(seconds, default=0)),
                  "accepted in the best steady second": float(max(seconds, default=0)),
                  **cpu_rows(muster_ms, raw_ms)}
    reach = settled.reaches["flood"]
    sent = sum(s.started for s in samples)
    counts = {"commands_planned": len(plan), "commands_sent": sent,
              "commands_not_sent": len(plan) - sent,
              "commands_sent_not_accepted": sent - len(ok),
              "commands_accepted": len(ok), "stream_events_written": written,
              "boards": len(r.boards.boards), "board_updates_received": r.boards.received,
              "command_board_pairs": reach.pair_count,
              "command_board_pairs_late": reach.missed_pairs,
              "board_reconnects": sum(b.reconnects for b in r.boards.boards)}
    bounds = [Bound("sustained intake ÷ raw HTTP intake (same plan)", share, INTAKE_SHARE, "%",
                    at_least=True),
              to_boards(hist, "command → every board")]
    losses = list(settled.losses)  # acknowledged and then missing: never sent is not lost
    if written < len(ok):
        losses.append(f"{len(ok)} commands accepted, {written} events on the stream")
    return build(
        "flood", config, rec, hist, {
            "command → 202 ÷ raw publish (quiet)": ("command → 202", "raw publish (quiet)"),
            "command → 202 ÷ raw publish (under load)": ("command → 202",
                                                         "raw publish (under load)"),
            "command → 202 ÷ raw HTTP intake (under load)": ("command → 202",
                                                             "raw HTTP intake (under load)"),
            "command → every board ÷ WebSocket echo (under load)": (
                "command → every board", "raw WebSocket echo (under load)")},
        bounds, throughput, counts, server, usage, settled, losses,
        [f"open loop at {config.rate:g}/s over {config.sites} drill sites for "
         f"{config.duration:g} s, at most {config.concurrency} in flight (the client's limit: "
         "a send due while all are taken waits, and one still waiting at the deadline is "
         "never sent)",
         "CPU per accepted event: Muster's from just before the load until every board and "
         "read model had it; the raw intake's over its ceiling run (nats-server's share is "
         "the same server's, busy only with that run then)"], r, {"board aim (50 ms)": 0.050})

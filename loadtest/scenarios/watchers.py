"""Many watchers: 10,000 boards connected across 500 sites, one live lockdown watched by 1,000.

The rig's one demo-high site is live; 499 staff-only schools (`sites.quiet_school`) are quiet,
each running a drill that writes a trickle of background traffic (20 events/s over them all).
9,000 boards watch the quiet sites, 1,000 the live one. Presses join the live lockdown at a fixed
rate; half a period after each, a bare aiohttp server in its own process (`floors.broadcast`)
is told to write the same message (the live boards' own update, captured from Muster) to 1,000
sockets of its own, read by the same board processes, while the 10,000 stay connected to Muster.
Measured per press: → 202, and → the last of the 1,000 live boards; per broadcast: → the last
of its 1,000. Bound: press → last board p99 at most 1.5 times the broadcast's. Memory per board
is Muster's RSS with the boards connected less before, divided by the boards.

It needs about boards + watchers + 1,024 open files in Muster and in a board process (12,024 at
the issue's size): the soft limit of this process (so of the children it starts) and of Muster is
raised to the hard limit, and past it when root may.
"""

import asyncio
import contextlib
import random
import resource
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import aiohttp
import psutil
from websockets.asyncio.client import connect

from loadtest.clients import commands as cmd
from loadtest.clients.board_procs import RemoteBoards
from loadtest.clients.boards import Board, Boards
from loadtest.clients.commands import Answer, Sender, accepted
from loadtest.clients.pacer import Sample
from loadtest.floors import broadcast
from loadtest.reporting import cpu
from loadtest.reporting.reach import reach
from loadtest.reporting.result import Bound, Recorder, Result
from loadtest.rig import Rig
from loadtest.scenarios import traffic
from loadtest.scenarios.common import Common, build, over
from loadtest.scenarios.outcome import points, settle
from loadtest.sites import BenchSites, create_sites, quiet_school, wait_boards
from loadtest.stack import Stack

PRESS = "press → last live board"
FLOOR = "broadcast → last board"
BOUND = f"{PRESS} p99 ÷ broadcast's p99"
SPARE_FILES = 1024  # Muster's own: NATS, PostgreSQL, the HTTP pool, its logs


@dataclass(frozen=True)
class WatchersConfig(Common):
    sites: int = 1  # demo-high copies; the first is live, any others quiet
    quiet_sites: int = 499  # staff-only schools, all quiet
    boards: int = 10_000  # every board connected to Muster
    watchers: int = 1000  # of them, the live site's; the rest round robin over the quiet
    duration: float = 60.0
    press_rate: float = 2.0  # presses/s at the live site; the broadcasts, as many between them
    background: float = 20.0  # events/s over the quiet sites
    concurrency: int = 64
    connect_within_s: float = 300.0  # for every board to have its snapshot


def allow_files(need: int, pids: Iterable[int] = ()) -> int:
    """This process's open-file soft limit (its children's to come) and `pids`' up to the hard
    limit, or to `need` past it where allowed (root); the limit now in force."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    want = max(hard, need)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(hard, want)))
    except (ValueError, OSError):
        want = hard
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if want < need:
        raise RuntimeError(f"{need} open files needed, the hard limit is {hard}: raise it "
                           "(ulimit -Hn, or LimitNOFILE) or run fewer boards")
    for pid in pids:
        psutil.Process(pid).rlimit(resource.RLIMIT_NOFILE, (want, max(hard, want)))
    return want


def muster_rss(stack: Stack) -> int:
    """Bytes resident in Muster's own processes (not its NATS or PostgreSQL)."""
    assert stack.proc is not None
    return sum(psutil.Process(pid).memory_info().rss
               for name, pid in cpu.processes(stack.data_dir, stack.proc.pid).items()
               if name.startswith("muster"))


def specs(r: Rig, quiet: list[str], floor_url: str, config: WatchersConfig,
          ) -> list[tuple[str, str]]:
    """(site, url) of every board: the live site's, the quiet sites' round robin, the floor's."""
    token, live = r.stack.tokens["responder"], r.sites.ids[0]

    def url(site: str) -> str:
        return f"{r.ws_base}/v1/sites/{site}/board/ws?token={token}"

    out = [(live, url(live))] * config.watchers
    out += [(quiet[i % len(quiet)], url(quiet[i % len(quiet)]))
            for i in range(config.boards - config.watchers)]
    return out + [(broadcast.SITE, floor_url)] * config.watchers


async def quiet_district(r: Rig, config: WatchersConfig) -> tuple[BenchSites, dict[str, str]]:
    """The quiet schools imported and projected, each with a drill open; (sites, drills)."""
    notify = r.stack.sink_url if config.notify else None
    added = await create_sites(r.http, r.stack.http_url, r.stack.tokens["admin"],
                               config.quiet_sites, notify, quiet_school(), first=config.sites)
    await wait_boards(r.http, r.stack.http_url, r.stack.tokens["responder"], added.ids)
    sites = BenchSites(ids=r.sites.ids[1:] + added.ids, rooms={**r.sites.rooms, **added.rooms},
                       people={**r.sites.people, **added.people})
    plan = [cmd.drill(site) for site in sites.ids]
    samples = await r.sender.paced(plan, 100.0, 16)
    if not all(accepted(s) for s in samples):
        raise RuntimeError(f"{sum(not accepted(s) for s in samples)} drills were refused")
    return sites, {c.site: s.value.incident_id for s, c in zip(samples, plan, strict=True)
                   if s.value is not None and s.value.incident_id}


async def capture(r: Rig, rooms: list[str]) -> bytes:
    """The update a live board gets for a press joining the lockdown, as Muster sends it: the
    message the floor broadcasts. The first press opens the lockdown; both are unmeasured."""
    live = r.sites.ids[0]
    url = f"{r.ws_base}/v1/sites/{live}/board/ws?token={r.stack.tokens['responder']}"
    async with connect(url, compression=None, max_size=None) as ws:
        await ws.recv()  # the snapshot
        await r.sender.must(cmd.press(live, "lockdown", rooms[0]))
        joined = await r.sender.must(cmd.press(live, "lockdown", rooms[-1]))
        async with asyncio.timeout(30):
            while True:
                raw = await ws.recv()
                message = raw.encode() if isinstance(raw, str) else raw
                if f'"seq":{joined.seq},'.encode() in message[:40]:
                    return message


async def floor_message(floor: broadcast.BroadcastServer, message: bytes) -> None:
    async with aiohttp.ClientSession() as http, \
            http.post(floor.url + "/message", data=message) as resp:
        if resp.status != 204:
            raise RuntimeError(f"the broadcast floor refused the message: {resp.status}")


async def broadcasts(sender: Sender, count: int, rate: float) -> list[Sample[Answer]]:
    """`count` broadcasts at `rate`, each half a period after its press."""
    await asyncio.sleep(0.5 / rate)
    return await sender.paced([broadcast.trigger()] * count, rate, 4)


def overlapped(sent: list[tuple[float, float]], busy: list[tuple[float, float]]) -> int:
    """How many of `sent` (sent at, latency) were sent while one of `busy` was still reaching
    its last board: both are read by the same board processes, so each slows the other."""
    spans = [(at, at + latency) for at, latency in busy]
    return sum(any(a < at < b for a, b in spans) for at, _ in sent)


def cpu_seconds(pid: int) -> float:
    with contextlib.suppress(psutil.Error):
        times = psutil.Process(pid).cpu_times()
        return float(times.user + times.system)
    return 0.0


async def scenario(config: WatchersConfig, r: Rig) -> Result:
    if not 0 < config.watchers <= config.boards:
        raise ValueError("watchers must be between 1 and boards")
    assert r.stack.proc is not None
    limit = allow_files(config.boards + config.watchers + SPARE_FILES, [r.stack.proc.pid])
    live = r.sites.ids[0]
    quiet, drills = await quiet_district(r, config)
    message = await capture(r, r.sites.rooms[live])
    floor = broadcast.BroadcastServer()
    await asyncio.to_thread(floor.start)
    try:
        return await measure(config, r, quiet, drills, message, floor, limit)
    finally:
        await asyncio.to_thread(floor.stop)


async def measure(config: WatchersConfig, r: Rig, quiet: BenchSites, drills: dict[str, str],
                  message: bytes, floor: broadcast.BroadcastServer, limit: int) -> Result:
    assert floor.proc is not None
    await floor_message(floor, message)
    live = r.sites.ids[0]
    floor_before = psutil.Process(floor.proc.pid).memory_info().rss
    before = muster_rss(r.stack)
    opened = time.perf_counter()
    every = specs(r, quiet.ids, floor.ws_url, config)
    r.boards = RemoteBoards(every, config.board_processes) if config.board_processes else \
        Boards([Board(site=site, url=url) for site, url in every])
    await r.boards.open(timeout=config.connect_within_s)
    connect_s = time.perf_counter() - opened
    await asyncio.sleep(1.0)  # the snapshots' buffers drained
    after = muster_rss(r.stack)
    floor_after = psutil.Process(floor.proc.pid).memory_info().rss

    rng = random.Random(config.seed)
    count = max(1, round(config.press_rate * config.duration))
    presses = [cmd.press(live, "lockdown", rng.choice(r.sites.rooms[live])) for _ in range(count)]
    triggers = [broadcast.trigger()] * count
    background = traffic.background(max(1, int(config.background * config.duration)), drills,
                                    quiet, config.seed)
    # Presses go as a button's do (the emergency listener, a client of their own); the floor's
    # triggers go with the same client, so neither waits behind the background's connections.
    floor_sender = Sender(r.presser.http, floor.url, dict.fromkeys(r.sender.headers, ""))
    await r.warm(config.concurrency)
    t0 = time.perf_counter()
    floor_cpu = cpu_seconds(floor.proc.pid)
    await r.watch(config.duration + 120)
    behind = asyncio.create_task(r.sender.paced(background, config.background,
                                                config.concurrency))
    b_task = asyncio.create_task(broadcasts(floor_sender, count, config.press_rate))
    p_samples = await r.presser.paced(presses, config.press_rate, 16)
    f_samples, b_samples = await b_task, await behind
    server, usage = await r.watched()
    usage["bare broadcast server"] = round(
        (cpu_seconds(floor.proc.pid) - floor_cpu) / (time.perf_counter() - t0) * 100, 1)
    last_floor = max((s.value.seq for s in f_samples if accepted(s) and s.value), default=0)
    await r.boards.caught_up({broadcast.SITE: last_floor},
                             time.perf_counter() + config.deliver_within_s)
    settled = await settle(r, {"press": (p_samples, presses),
                               "background": (b_samples, background)}, config.deliver_within_s)
    floor_reach = reach(f_samples, triggers, r.boards.boards, config.deliver_within_s)

    rec = Recorder(t0)
    rec.add("press → 202", points(p_samples))
    rec.add(PRESS, settled.reaches["press"].every)
    rec.add("broadcast → 202", points(f_samples), floor=True)
    rec.add(FLOOR, floor_reach.every, floor=True)
    rec.add("background → 202", points(b_samples))
    rec.add("background → every board", settled.reaches["background"].every)
    hist = rec.histograms()
    muster_boards = [b for b in r.boards.boards if b.site != broadcast.SITE]
    floor_boards = [b for b in r.boards.boards if b.site == broadcast.SITE]
    pair = settled.reaches["press"]
    counts = {"sites": 1 + len(quiet.ids), "boards": len(muster_boards),
              "live_boards": len(r.boards.of_site(live)), "floor_boards": len(floor_boards),
              "presses_sent": sum(s.started for s in p_samples),
              "presses_accepted": settled.accepted["press"],
              "press_board_pairs": pair.pair_count, "press_board_pairs_late": pair.missed_pairs,
              "press_board_pairs_never": pair.never_pairs,
              "broadcasts_sent": sum(s.started for s in f_samples),
              "broadcasts_answered": sum(accepted(s) for s in f_samples),
              "broadcast_board_pairs": floor_reach.pair_count,
              "broadcast_board_pairs_never": floor_reach.never_pairs,
              "background_sent": sum(s.started for s in b_samples),
              "background_accepted": settled.accepted["background"],
              "board_updates_received": sum(len(b.updates) for b in muster_boards),
              "board_reconnects": sum(b.reconnects for b in muster_boards),
              "floor_board_reconnects": sum(b.reconnects for b in floor_boards),
              "presses_sent_while_a_broadcast_spread": overlapped(pair.every, floor_reach.every),
              "broadcasts_sent_while_a_press_spread": overlapped(floor_reach.every, pair.every),
              "open_files_limit": limit, "message_bytes": len(message)}
    boards = max(1, len(muster_boards))
    server |= {"Muster RSS before the boards (MiB)": round(before / 2**20, 1),
               "Muster RSS with the boards (MiB)": round(after / 2**20, 1),
               "Muster memory per connected board (KiB)": round((after - before) / boards / 1024,
                                                                1),
               "bare broadcast server memory per client (KiB)": round(
                   (floor_after - floor_before) / max(1, len(floor_boards)) / 1024, 1),
               "seconds for every board's snapshot": round(connect_s, 1)}
    notes = [f"live site {live} (demo-high) watched by {config.watchers} boards; "
             f"{len(quiet.ids)} quiet sites with {config.boards - config.watchers} boards "
             f"and {config.background:g} background events/s",
             f"{count} presses joining one lockdown at {config.press_rate:g}/s; a broadcast of "
             f"the captured {len(message)}-byte update half a period after each, to "
             f"{config.watchers} clients of a bare aiohttp server in its own process, read by "
             "the same board processes"]
    closes = Counter(why for b in muster_boards for why in b.closes)
    if closes:
        notes.append("Muster's boards closed (each then resumed with since): " + ", ".join(
            f"{why} {n}" for why, n in closes.most_common()))
    if floor_reach.never_pairs:
        notes.append(f"the broadcast floor missed {floor_reach.never_pairs} (broadcast, client) "
                     "pairs: its p99 is of the rest")
    bound = Bound(BOUND, over(hist, PRESS, FLOOR), 1.5, "x")
    return build(
        "watchers", config, rec, hist, {f"{PRESS} ÷ {FLOOR}": (PRESS, FLOOR)},
        [bound], {"presses accepted per second": settled.accepted["press"] / config.duration},
        counts, server, usage, settled, list(settled.losses), notes, r)

"""The press scenario: panic buttons over HTTP at a fixed rate, watched on every live board.

First the floors on the same, still quiet, stack: raw JetStream publishes, and direct Apprise
sends to the alert sink. Then for each press: t_send, the durable 202 and its `seq`; for each
board of its site, the first message with a seq at or past that one. Press → board is that
message's arrival minus t_send, over every (press, board) pair. Press → first delivery is the
earliest arrival at the sink of the press's alert on any channel, minus t_send (`loadtest.alerts`).
"""

import asyncio
import bisect
import random
import time
import uuid
from dataclasses import dataclass, field
from typing import NamedTuple

import aiohttp
import msgspec
import uvloop

from loadtest import alerts, baseline, direct
from loadtest.arrivals import SinkLog
from loadtest.boards import Board, Boards, spread
from loadtest.pacer import Sample, open_loop
from loadtest.probe import Probe
from loadtest.report import Report, build
from loadtest.sites import BenchSites, create_sites, wait_boards, wait_projected
from loadtest.stack import Stack

KINDS = ("lockdown", "secure", "hold", "medical")
HTTP_TIMEOUT_S = 10.0
PRESS_DEADLINE_S = 30.0


@dataclass(frozen=True)
class PressConfig:
    presses: int = 1000
    sites: int = 20
    boards: int = 50
    rate: float = 200.0
    concurrency: int = 64
    seed: int = 1
    deliver_within_s: float = 5.0  # a press not on every board of its site by then is lost
    notify_within_s: float = 10.0  # a press that should notify, with no alert at the sink by then
    baseline: bool = True
    notify: bool = True  # channels to the sink; False drops them, to isolate the press path
    keep: bool = False


class Press(NamedTuple):
    site: str
    kind: str
    room: str


class Answer(NamedTuple):
    status: int
    seq: int


class _Accepted(msgspec.Struct):
    seq: int


_accepted = msgspec.json.Decoder(_Accepted)


@dataclass
class Delivery:
    """Press → board over every (press, board) pair of the press's site."""

    latencies: list[float] = field(default_factory=list)
    pairs: int = 0
    missed_pairs: int = 0
    missed_presses: int = 0


def plan(config: PressConfig, sites: BenchSites) -> list[Press]:
    """Sites round robin; kind and room drawn from a fixed seed, so runs are comparable."""
    rng = random.Random(config.seed)
    presses = []
    for i in range(config.presses):
        site = sites.ids[i % len(sites.ids)]
        presses.append(Press(site, rng.choice(KINDS), rng.choice(sites.rooms[site])))
    return presses


async def press_all(http: aiohttp.ClientSession, base: str, device: str, presses: list[Press],
                    config: PressConfig) -> list[Sample[Answer]]:
    headers = {"Authorization": f"Bearer {device}", "Content-Type": "application/json"}
    bodies = [msgspec.json.encode({"kind": p.kind, "room": p.room,
                                   "client_event_id": str(uuid.uuid4())}) for p in presses]

    async def op(i: int) -> Answer:
        async with http.post(f"{base}/v1/sites/{presses[i].site}/alerts", data=bodies[i],
                             headers=headers) as resp:
            raw = await resp.read()
            return Answer(resp.status, _accepted.decode(raw).seq if resp.status == 202 else 0)

    return await open_loop(len(presses), config.rate, config.concurrency, op, PRESS_DEADLINE_S)


def accepted(sample: Sample[Answer]) -> bool:
    return sample.value is not None and sample.value.status == 202


def pressed(samples: list[Sample[Answer]], presses: list[Press], clock: float,
            ) -> list[alerts.Pressed]:
    """The accepted presses, stamped on the wall clock (`clock` = time.time() - perf_counter())."""
    return [alerts.Pressed(p.site, p.kind, p.room, s.value.seq, s.start + clock)
            for s, p in zip(samples, presses, strict=True)
            if accepted(s) and s.value is not None]


def deliveries(samples: list[Sample[Answer]], presses: list[Press], boards: Boards,
               within: float) -> Delivery:
    seqs: dict[int, list[int]] = {id(b): [seq for _, seq in b.updates] for b in boards.boards}
    by_site: dict[str, list[Board]] = {}
    for board in boards.boards:
        by_site.setdefault(board.site, []).append(board)
    out = Delivery()
    for sample, press in zip(samples, presses, strict=True):
        if not accepted(sample):
            continue
        assert sample.value is not None
        lost = False
        for board in by_site.get(press.site, []):
            out.pairs += 1
            k = bisect.bisect_left(seqs[id(board)], sample.value.seq)
            if k == len(board.updates):
                out.missed_pairs += 1
                lost = True
                continue
            latency = board.updates[k][0] - sample.start
            out.latencies.append(latency)
            if latency > within:
                out.missed_pairs += 1
                lost = True
        out.missed_presses += lost
    return out


async def run(config: PressConfig, stack: Stack) -> Report:
    """The scenario against a running stack; the stack's lifetime is the caller's."""
    base = stack.http_url
    single: list[Sample[int]] = []
    batched: list[Sample[int]] = []
    if config.baseline:  # first, on a quiet server: the floor, not the floor plus Muster's load
        single, batched = await baseline.run(stack.nats_url, config.presses, config.rate,
                                             config.concurrency, config.sites)
    sink = SinkLog(stack.sink_log)
    floor = direct.Direct()
    if config.notify:  # the same sink, from here: what one Apprise send costs without Muster
        floor = await direct.run(stack.sink_url, sink, config.presses, config.rate)
    connector = aiohttp.TCPConnector(limit=config.concurrency)
    async with aiohttp.ClientSession(connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=HTTP_TIMEOUT_S)) as http:
        sites = await create_sites(http, base, stack.tokens["admin"], config.sites,
                                   stack.sink_url if config.notify else None)
        await wait_boards(http, base, stack.tokens["responder"], sites.ids)
        boards = spread("ws" + base.removeprefix("http"), stack.tokens["responder"], sites.ids,
                        config.boards)
        await boards.open()
        presses = plan(config, sites)
        probe = Probe(http, base, stack)
        try:
            await probe.start()
            clock = time.time() - time.perf_counter()
            samples = await press_all(http, base, stack.tokens["device"], presses, config)
            targets: dict[str, int] = {}
            for sample, press in zip(samples, presses, strict=True):
                if accepted(sample) and sample.value is not None:
                    targets[press.site] = max(targets.get(press.site, 0), sample.value.seq)
            last_send = max((s.start for s in samples if s.started), default=0.0)
            await boards.caught_up(targets, last_send + config.deliver_within_s)
            server, usage = await probe.stop()
        finally:
            await boards.close()
        projected = await wait_projected(http, base, stack.tokens["responder"], targets)
        server["read_models_done_after_last_send_ms"] = \
            round((time.perf_counter() - last_send) * 1000, 1) if projected else None
    # After the read models: the alerts have until `notify_within_s` past the last press anyway.
    notified = await alerts.wait(sink, pressed(samples, presses, clock), sites.channels,
                                 config.notify_within_s)
    delivery = deliveries(samples, presses, boards, config.deliver_within_s)
    notes = [*sites.notes, "rate limits off (MUSTER_RATE_*=0): one client, one device token",
             f"alert channels: {'to a local sink' if config.notify else 'none (--no-notify)'}"]
    if config.notify:
        notes.append("direct Apprise: one send at a time from a thread here, before the presses")
    return build(config, samples, presses, boards, delivery, single, batched, server, usage,
                 notes, notified, floor)


async def bench_async(config: PressConfig) -> Report:
    """Start Muster, run the scenario, stop Muster whatever happened (off the event loop)."""
    loop = asyncio.get_running_loop()
    stack = Stack(keep=config.keep)
    try:
        await loop.run_in_executor(None, stack.start)
        report = await run(config, stack)
    finally:
        await loop.run_in_executor(None, stack.stop)
    if stack.notifications is not None:  # known only once the sink has stopped
        report.counts["notifications_received_by_sink"] = stack.notifications
    return report


def bench(config: PressConfig) -> Report:
    return uvloop.run(bench_async(config))

"""Panic presses at every site at once: the live path at a high rate, every alert sent.

Every press is live, round robin over the sites at `rate` per second, open loop, for `duration`
seconds; at each site the first press opens a lockdown and the rest join it. Nothing else
writes, while every board watches and every site's channels post to the sink. Where `lockdown`
presses at one live site beside a busy district, this opens incidents at every site at once and
has the notifier send each press to every channel that hears it. Measured per press: → 202
(opening and joining presses apart), → every board of its site, → first alert at the sink (the
opening press apart: no queue before it).
"""

import random
import time
from dataclasses import dataclass

from loadtest.clients import commands as cmd
from loadtest.clients.commands import Answer, Command, accepted
from loadtest.clients.pacer import Sample
from loadtest.reporting import alerts
from loadtest.reporting.result import Recorder, Result
from loadtest.rig import Rig
from loadtest.scenarios.common import (
    Common,
    add_floors,
    build,
    to_202,
    to_alert,
    to_boards,
)
from loadtest.scenarios.outcome import points, settle
from loadtest.sites import BenchSites

KINDS = ("lockdown", "secure", "hold", "medical")


@dataclass(frozen=True)
class PressConfig(Common):
    sites: int = 20
    boards: int = 50
    duration: float = 5.0  # presses: rate times duration
    rate: float = 200.0  # live presses per second, open loop
    concurrency: int = 64


def plan(config: PressConfig, sites: BenchSites) -> list[Command]:
    """Sites round robin; kind and room drawn from a fixed seed, so runs are comparable."""
    rng = random.Random(config.seed)
    out = []
    for i in range(round(config.rate * config.duration)):
        site = sites.ids[i % len(sites.ids)]
        out.append(cmd.press(site, rng.choice(KINDS), rng.choice(sites.rooms[site])))
    return out


def openers(samples: list[Sample[Answer]], presses: list[Command]) -> set[int]:
    """The indexes of the presses that opened their site's incident: its lowest accepted seq."""
    first: dict[str, tuple[int, int]] = {}
    for i, (s, c) in enumerate(zip(samples, presses, strict=True)):
        if accepted(s) and s.value is not None and (
                c.site not in first or s.value.seq < first[c.site][0]):
            first[c.site] = (s.value.seq, i)
    return {i for _, i in first.values()}


async def scenario(config: PressConfig, r: Rig) -> Result:
    await r.floors.quiet(config.floor_count, config.floor_rate, 64, config.sites)
    if config.notify:
        await r.measure_apprise(config.apprise_count, 50.0)
    await r.open_boards(config.boards, config.board_processes)
    presses = plan(config, r.sites)
    await r.warm(config.concurrency)
    t0, clock = time.perf_counter(), time.time() - time.perf_counter()
    await r.watch(config.duration + 120)
    r.floors.under_load(config.duration, config.sites)
    samples = await r.sender.paced(presses, config.rate, config.concurrency)
    await r.floors.join()
    server, usage = await r.watched()
    settled = await settle(r, {"press": (samples, presses)}, config.deliver_within_s)
    pressed = [alerts.Pressed(c.site, str(c.body["kind"]), str(c.body["room"]),
                              s.value.seq, s.start + clock)
               for s, c in zip(samples, presses, strict=True) if accepted(s) and s.value]
    notified = await alerts.wait(r.sink, pressed, r.sites.channels, config.notify_within_s)
    opening = openers(samples, presses)

    rec = Recorder(t0)
    rec.add("press → 202", points(samples))
    rec.add("press → 202, opening press", points([samples[i] for i in sorted(opening)]))
    rec.add("press → 202, joining press",
            points([s for i, s in enumerate(samples) if i not in opening]))
    rec.add("press → every board", settled.reaches["press"].every)
    rec.add("press → first alert", [(t - clock, lat) for t, lat in notified.points])
    rec.add("press → first alert, opening press",
            [(t - clock, lat) for t, lat in notified.openers])
    hist = add_floors(rec, r)
    reach = settled.reaches["press"]
    ok = settled.accepted["press"]
    window = max((s.end for s in samples if accepted(s)), default=0.0) - min(
        (s.start for s in samples if s.started), default=0.0)
    counts = {"presses_sent": sum(s.started for s in samples), "presses_accepted": ok,
              "incidents_opened": len(opening),
              "press_board_pairs": reach.pair_count, "press_board_pairs_late": reach.missed_pairs,
              "boards": len(r.boards.boards), "board_updates_received": r.boards.received,
              "board_reconnects": sum(b.reconnects for b in r.boards.boards),
              "presses_that_should_alert": notified.expected,
              "presses_without_alert_in_time": notified.missed,
              "alerts_owed_press_x_channel": notified.pairs_expected,
              "alerts_at_sink_press_x_channel": notified.pairs_seen,
              "direct_apprise_sends_ok": r.apprise_floor.sent,
              "direct_apprise_sends_at_sink": r.apprise_floor.arrived}
    losses = list(settled.losses)  # refused or never sent is counted, not lost: not acknowledged
    if notified.missed:
        losses.append(f"{notified.missed} presses raised no alert at the sink within "
                      f"{config.notify_within_s:g} s")
    bounds = [to_202(hist, "press → 202"), to_boards(hist, "press → every board"),
              to_alert(hist, "press → first alert")]
    return build(
        "press", config, rec, hist, {
            "press → 202 ÷ raw publish (quiet)": ("press → 202", "raw publish (quiet)"),
            "press → 202 ÷ raw publish (under load)": ("press → 202",
                                                       "raw publish (under load)"),
            "opening press → 202 ÷ raw 3-message batch (quiet)": (
                "press → 202, opening press", "raw 3-message batch (quiet)"),
            "press → 202 ÷ raw HTTP intake (under load)": ("press → 202",
                                                           "raw HTTP intake (under load)"),
            "press → every board ÷ WebSocket echo (under load)": (
                "press → every board", "raw WebSocket echo (under load)"),
            "press → first alert ÷ direct Apprise (quiet)": ("press → first alert",
                                                             "direct Apprise send (quiet)")},
        bounds, {"presses accepted per second": ok / window if window > 0 else 0.0},
        counts, server, usage, settled, losses,
        [f"{len(presses)} live presses open loop at {config.rate:g}/s round robin over "
         f"{config.sites} sites, nothing else writing"], r,
        {"press → every board aim (50 ms)": 0.050, "press → first alert aim (250 ms)": 0.250})

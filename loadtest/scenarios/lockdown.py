"""A single live lockdown while the district's other sites go about a busy day.

Site 0 is live: a panic press opens a lockdown, more presses join it, then the commander gives
the all clear and closes it, again and again, so a run has hundreds of opening and joining
presses. Every other site runs a drill and writes the background traffic
(`loadtest.scenarios.traffic`) at a fixed rate, open loop, while every board of every site is
connected. Measured per press: → 202, → every board of its site, → first alert at the local
Apprise sink. The presses go where a panic button's go: to the emergency listener, a process
that takes the life-safety commands alone, so the background never queues ahead of them.
"""

import asyncio
import math
import random
import time
from dataclasses import dataclass

from loadtest.clients import commands as cmd
from loadtest.clients.commands import Answer, Command, Sender, accepted
from loadtest.clients.pacer import Sample
from loadtest.reporting import alerts
from loadtest.reporting.result import Recorder, Result
from loadtest.rig import Rig
from loadtest.scenarios import traffic
from loadtest.scenarios.common import Common, add_floors, build, to_202, to_alert, to_boards
from loadtest.scenarios.outcome import points, settle

KINDS = ("lockdown", "armed_intruder", "secure", "hold", "medical")


@dataclass(frozen=True)
class LockdownConfig(Common):
    background: float = 500.0  # events/s over the quiet sites
    press_rate: float = 5.0  # live presses/s while a lockdown cycle runs
    cycle: int = 10  # presses per incident before the all clear and close


async def live(sender: Sender, office: Sender, site: str, rooms: list[str],
               config: LockdownConfig,
               ) -> tuple[list[Sample[Answer]], list[Command], list[Sample[Answer]], list[Command]]:
    """Cycles of presses (the first opens the lockdown), then all clear and close: the presses
    and the all clear through `sender`, the close (paperwork) through the main API, `office`."""
    rng = random.Random(config.seed)
    presses: tuple[list[Sample[Answer]], list[Command]] = ([], [])
    others: tuple[list[Sample[Answer]], list[Command]] = ([], [])
    cycles = max(1, math.ceil(config.press_rate * config.duration / config.cycle))
    for _ in range(cycles):
        plan = [cmd.press(site, "lockdown" if k == 0 else rng.choice(KINDS), rng.choice(rooms))
                for k in range(config.cycle)]
        samples = await sender.paced(plan, config.press_rate, 16)
        presses[0].extend(samples)
        presses[1].extend(plan)
        incident = next((s.value.incident_id for s in samples if accepted(s) and s.value), None)
        if incident is None:
            continue
        for via, ending in ((sender, cmd.all_clear(site, incident)),
                            (office, cmd.close(site, incident))):
            others[0].append(await via.timed(ending))
            others[1].append(ending)
    return presses[0], presses[1], others[0], others[1]


async def scenario(config: LockdownConfig, r: Rig) -> Result:
    live_site, quiet = r.sites.ids[0], r.sites.ids[1:]
    await r.floors.quiet(config.floor_count, config.floor_rate, 64, config.sites)
    if config.notify:
        await r.measure_apprise(config.apprise_count, 50.0)
    incidents = {}
    for site in quiet:
        incidents[site] = (await r.sender.must(cmd.drill(site))).incident_id
    await r.open_boards(config.boards, config.board_processes)
    background = traffic.background(int(config.background * config.duration),
                                    {s: i for s, i in incidents.items() if i}, r.sites,
                                    config.seed)
    await r.warm(config.concurrency)
    t0, clock = time.perf_counter(), time.time() - time.perf_counter()
    await r.watch(config.duration + 120)
    r.floors.under_load(config.duration, config.sites)
    if config.notify:
        r.apprise_under_load(config.duration, config.press_rate)
    behind = asyncio.create_task(r.sender.paced(background, config.background,
                                                config.concurrency))
    p_samples, p_cmds, o_samples, o_cmds = await live(r.presser, r.sender, live_site,
                                                      r.sites.rooms[live_site], config)
    b_samples = await behind
    await r.floors.join()
    await r.apprise_join()
    server, usage = await r.watched()
    window = max(s.end for s in b_samples) - min(s.start for s in b_samples)
    settled = await settle(r, {"press": (p_samples, p_cmds), "all clear, close": (
        o_samples, o_cmds), "background": (b_samples, background)}, config.deliver_within_s)
    pressed = [alerts.Pressed(c.site, str(c.body["kind"]), str(c.body["room"]),
                              s.value.seq, s.start + clock)
               for s, c in zip(p_samples, p_cmds, strict=True) if accepted(s) and s.value]
    notified = await alerts.wait(r.sink, pressed, {live_site: r.sites.channels[live_site]},
                                 config.notify_within_s)

    rec = Recorder(t0)
    rec.add("press → 202", points(p_samples))
    rec.add("press → every board", settled.reaches["press"].every)
    rec.add("press → first alert", [(t - clock, lat) for t, lat in notified.points])
    rec.add("all clear, close → 202", points(o_samples))
    rec.add("background → 202", points(b_samples))
    rec.add("background → every board", settled.reaches["background"].every)
    hist = add_floors(rec, r)
    pair = settled.reaches["press"]
    counts = {"presses_sent": sum(s.started for s in p_samples),
              "presses_accepted": settled.accepted["press"],
              "press_board_pairs": pair.pair_count, "press_board_pairs_late": pair.missed_pairs,
              "background_sent": sum(s.started for s in b_samples),
              "background_accepted": settled.accepted["background"],
              "boards": len(r.boards.boards), "board_updates_received": r.boards.received,
              "board_reconnects": sum(b.reconnects for b in r.boards.boards),
              "presses_that_should_alert": notified.expected,
              "presses_without_alert_in_time": notified.missed}
    losses = list(settled.losses)
    if notified.missed:
        losses.append(f"{notified.missed} presses raised no alert at the sink within "
                      f"{config.notify_within_s:g} s")
    # The bounds, each a ratio to floors measured under the same load in the same run.
    bounds = [to_202(hist, "press → 202"), to_boards(hist, "press → every board"),
              to_alert(hist, "press → first alert")]
    return build(
        "lockdown", config, rec, hist, {
            "press → 202 ÷ raw publish (quiet)": ("press → 202", "raw publish (quiet)"),
            "press → 202 ÷ raw publish (under load)": ("press → 202",
                                                       "raw publish (under load)"),
            "press → 202 ÷ raw HTTP intake (quiet)": ("press → 202", "raw HTTP intake (quiet)"),
            "press → 202 ÷ raw HTTP intake (under load)": ("press → 202",
                                                           "raw HTTP intake (under load)"),
            "press → 202 ÷ raw 3-message batch (quiet)": ("press → 202",
                                                          "raw 3-message batch (quiet)"),
            "press → every board ÷ WebSocket echo (quiet)": ("press → every board",
                                                             "raw WebSocket echo (quiet)"),
            "press → every board ÷ WebSocket echo (under load)": (
                "press → every board", "raw WebSocket echo (under load)"),
            "press → first alert ÷ direct Apprise (quiet)": ("press → first alert",
                                                             "direct Apprise send (quiet)"),
            "press → first alert ÷ direct Apprise (under load)": (
                "press → first alert", "direct Apprise send (under load)")},
        bounds, {"background commands (= events) accepted per second":
                 settled.accepted["background"] / window if window > 0 else 0.0},
        counts, server, usage, settled, losses,
        [f"live site {live_site}; background over {len(quiet)} drill sites",
         "presses and all clears go to the emergency listener (MUSTER_EMERGENCY_PORT) with a "
         "client of their own, closes to the API; the raw intake's presses go with the same "
         "client as Muster's"], r)

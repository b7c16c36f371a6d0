"""A district-wide lockdown drill: every site at once, every room reports, everyone accounted for.

The commander starts a lockdown drill at every site within `start_within` seconds; then every
room reports "secured" and every class list is accounted for, shuffled across the district and
paced over `duration`; then every site gets its all clear and is closed. Checked: each site's
board ends with every room secured and every person accounted; no drill message reached a
channel that does not take drills, and every one that did starts with "DRILL —".
"""

import asyncio
import bisect
import time
from dataclasses import dataclass

import msgspec

from command.bootstrap import demo
from loadtest.clients import commands as cmd
from loadtest.clients.arrivals import Arrival
from loadtest.clients.commands import Answer, Command, accepted
from loadtest.clients.pacer import Sample
from loadtest.reporting.result import Bound, Recorder, Result
from loadtest.rig import Rig
from loadtest.scenarios import drill_log, traffic
from loadtest.scenarios.common import (
    Common,
    add_floors,
    build,
    to_202,
    to_boards,
)
from loadtest.scenarios.outcome import points, settle

DRILL_PREFIX = "DRILL — "
SINK_SETTLE_S = 3.0  # the all clears' drill messages, after the last close


@dataclass(frozen=True)
class DrillConfig(Common):
    duration: float = 120.0  # the rooms' and class lists' reports spread over this
    start_within: float = 10.0  # every site's drill starts within this


class _Tally(msgspec.Struct):
    total: int = 0
    accounted: int = 0


class _Room(msgspec.Struct):
    id: str
    status: str | None = None
    unit: str = "room"  # the demo's buses are on its board too: a drill secures the rooms


class _Board(msgspec.Struct):
    rooms: list[_Room] = []
    accountability: _Tally = msgspec.field(default_factory=_Tally)


_board = msgspec.json.Decoder(_Board)


async def unfinished(r: Rig, site: str) -> str | None:
    """Why the site's projected board is not a finished drill, or None when it is."""
    async with r.http.get(f"{r.stack.http_url}/v1/sites/{site}/board", headers={
            "Authorization": f"Bearer {r.stack.tokens['commander']}"}) as resp:
        board = _board.decode(await resp.read())
    open_rooms = sum(room.status != "secured" for room in board.rooms if room.unit == "room")
    missing = board.accountability.total - board.accountability.accounted
    if open_rooms or missing or not board.rooms:
        return f"{site}: {open_rooms} rooms not secured, {missing} people not accounted for"
    return None


def completion(r: Rig, starts: dict[str, float], samples: list[Sample[Answer]],
               plan: list[Command]) -> list[tuple[float, float]]:
    """Per site: (drill start, until its last report was on every one of its boards)."""
    last: dict[str, int] = {}
    for s, c in zip(samples, plan, strict=True):
        if accepted(s) and s.value is not None:
            last[c.site] = max(last.get(c.site, 0), s.value.seq)
    out = []
    for site, target in last.items():
        arrivals = []
        for board in r.boards.of_site(site):
            seqs = [seq for _, seq in board.updates]
            k = bisect.bisect_left(seqs, target)
            arrivals.append(board.updates[k][0] if k < len(seqs) else None)
        if arrivals and None not in arrivals and site in starts:
            out.append((starts[site], max(a for a in arrivals if a is not None) - starts[site]))
    return out


def misdirected(arrivals: list[Arrival], drill_channels: set[str]) -> list[str]:
    """Arrivals that break drill isolation: on a channel without drills, or not marked."""
    bad = []
    for a in arrivals:
        if a.path.startswith("/direct/"):
            continue
        if a.path not in drill_channels:
            bad.append(f"a drill message reached {a.path}, which takes no drills")
        elif not a.message.startswith(DRILL_PREFIX):
            bad.append(f"a message on {a.path} is not marked as a drill: {a.message[:60]!r}")
    return bad


async def scenario(config: DrillConfig, r: Rig) -> Result:
    await r.floors.quiet(config.floor_count, config.floor_rate, 64, config.sites)
    if config.notify:
        await r.measure_apprise(config.apprise_count, 50.0)
    await r.open_boards(config.boards, config.board_processes)
    await r.warm(config.concurrency)
    t0, clock = time.perf_counter(), time.time() - time.perf_counter()
    await r.watch(config.duration + config.start_within + 120)
    r.floors.under_load(config.duration + config.start_within, config.sites)
    starts_plan = [cmd.drill(site) for site in r.sites.ids]
    starts = await r.sender.paced(starts_plan, len(starts_plan) / config.start_within,
                                  config.concurrency)
    incidents = {c.site: s.value.incident_id for s, c in zip(starts, starts_plan, strict=True)
                 if accepted(s) and s.value is not None and s.value.incident_id}
    reports = traffic.drill_day(r.sites, incidents, config.seed)
    samples = await r.sender.paced(reports, len(reports) / config.duration, config.concurrency)
    settled = await settle(r, {"drill start": (starts, starts_plan),
                               "report": (samples, reports)}, config.deliver_within_s)
    losses = list(settled.losses)
    losses += [why for site in r.sites.ids if (why := await unfinished(r, site))]
    began = {c.site: s.start for s, c in zip(starts, starts_plan, strict=True) if accepted(s)}
    done = completion(r, began, samples, reports)

    async def end(site: str, incident: str) -> list[Sample[Answer]]:
        return [await r.sender.timed(cmd.all_clear(site, incident)),  # close needs it first
                await r.sender.timed(cmd.close(site, incident))]

    ends = [s for pair in await asyncio.gather(*(end(site, i) for site, i in incidents.items()))
            for s in pair]
    await r.floors.join()
    server, usage = await r.watched()
    await asyncio.sleep(SINK_SETTLE_S)
    arrivals = r.sink.poll()
    drill_paths = {f"/{site}/{ch.name}" for site in r.sites.ids
                   for ch in r.sites.channels.get(site, []) if "drill" in ch.modes}
    losses += misdirected(arrivals, drill_paths)
    # The drill log the run produced, read after the measuring window: its folds cost the
    # server CPU the run's numbers must not carry.
    zone = demo.build().timezone
    year = drill_log.year_of(zone)
    logged, wrong = await drill_log.fetch(r, incidents, year)
    losses += wrong
    rows = list(logged.values())
    log_text = drill_log.table(rows, zone)
    written = drill_log.write(rows, log_text, config.plot)
    first_alert: dict[str, float] = {}
    for a in arrivals:
        site = a.path.split("/")[1]
        if site in began and not a.path.startswith("/direct/"):
            first_alert[site] = min(first_alert.get(site, a.t), a.t)

    rec = Recorder(t0)
    rec.add("drill start → 202", points(starts))
    rec.add("drill start → every board", settled.reaches["drill start"].every)
    rec.add("drill start → first DRILL alert",
            [(began[s], t - clock - began[s]) for s, t in first_alert.items()])
    rec.add("report → 202", points(samples))
    rec.add("report → every board", settled.reaches["report"].every)
    rec.add("all clear, close → 202", points(ends))
    rec.add("drill start → last report on every board", done)
    hist = add_floors(rec, r)
    slowest = max((lat for _, lat in done), default=None)
    reach = settled.reaches["report"]
    counts = {"sites": len(r.sites.ids), "drills_started": len(incidents),
              "reports_sent": sum(s.started for s in samples),
              "reports_accepted": settled.accepted["report"],
              "sites_finished_on_every_board": len(done),
              "all_clears_and_closes_accepted": sum(accepted(s) for s in ends),
              "boards": len(r.boards.boards), "board_updates_received": r.boards.received,
              "report_board_pairs": reach.pair_count, "report_board_pairs_late": reach.missed_pairs,
              "drill_messages_at_sink": sum(not a.path.startswith("/direct/") for a in arrivals),
              "drill_log_rows": len(rows)}
    if len(done) < len(r.sites.ids):
        losses.append(f"{len(r.sites.ids) - len(done)} sites never had their last report on "
                      "every board")
    bounds = [to_202(hist, "report → 202", 3.0), to_boards(hist, "report → every board"),
              Bound("slowest site, drill start → finished on every board",
                    slowest, config.duration + config.start_within + 60.0, "s")]
    result = build(
        "drill", config, rec, hist, {
            "report → 202 ÷ raw publish (under load)": ("report → 202",
                                                        "raw publish (under load)"),
            "report → 202 ÷ raw HTTP intake (under load)": ("report → 202",
                                                            "raw HTTP intake (under load)"),
            "report → every board ÷ WebSocket echo (under load)": (
                "report → every board", "raw WebSocket echo (under load)"),
            "drill start → first DRILL alert ÷ direct Apprise (quiet)": (
                "drill start → first DRILL alert", "direct Apprise send (quiet)")},
        bounds, {"reports accepted per second": settled.accepted["report"] / config.duration},
        counts, server, usage, settled, losses,
        [f"{len(reports)} reports over {config.duration:g} s after drills at "
         f"{config.sites} sites within {config.start_within:g} s"], r,
        {"board aim (50 ms)": 0.050})
    # The closing note: the drill log the run produced, after the notes every scenario has.
    result.notes.append(f"drill log (GET /v1/sites/{{site}}/drills?year={year}, times in {zone}"
                        + (f", written to {written}" if written else "")
                        + f"): {drill_log.summary(rows)}\n" + log_text)
    return result

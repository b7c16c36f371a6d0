"""What the scenarios share: their common settings, how one runs on a fresh rig, and how a run
becomes a `Result`."""

from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

import uvloop

from loadtest.floors.suite import points
from loadtest.reporting import hdr
from loadtest.reporting.result import Bound, Recorder, Result, ratios
from loadtest.rig import Rig, rig
from loadtest.scenarios.outcome import Settled


@dataclass(frozen=True)
class Common:
    sites: int = 50
    boards: int = 1000  # live WebSocket boards, spread round robin over the sites
    board_processes: int = 2  # processes reading the boards (0: the load generator's own loop)
    duration: float = 60.0  # seconds of load
    floor_count: int = 1000  # raw publishes (and batches, echoes) on the quiet stack
    floor_rate: float = 200.0
    apprise_count: int = 200  # direct Apprise sends, one at a time, at 50/s
    concurrency: int = 256  # requests in flight at most
    seed: int = 1
    notify: bool = True  # sites' channels post to a local sink (False: no channels)
    keep: bool = False  # keep the data dir
    deliver_within_s: float = 5.0  # an accepted command on no board by then is late
    notify_within_s: float = 10.0  # a press with no alert at the sink by then is lost
    plot: Path | None = None  # where to draw the latency-over-time PNG


C = TypeVar("C", bound=Common)


def settings(config: Common) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, Path) else v for k, v in asdict(config).items()}


def add_floors(rec: Recorder, rig: Rig) -> dict[str, hdr.Latency]:
    """The floors into the recorder; then every series' histogram."""
    for name, samples in rig.floors.series.items():
        rec.add(name, points(samples), floor=True)  # type: ignore[arg-type]
    if rig.apprise_floor.latencies:
        rec.add("direct Apprise send (quiet)", ((rec.t0, lat) for lat in
                                                rig.apprise_floor.latencies), floor=True)
    if rig.apprise_loaded.latencies:
        rec.add("direct Apprise send (under load)", ((rec.t0, lat) for lat in
                                                     rig.apprise_loaded.latencies), floor=True)
    return rec.histograms()


def refusals(settled: Settled, floor_errors: dict[str, int]) -> dict[str, int]:
    return dict(sorted((Counter(settled.refused) + Counter(floor_errors)).items()))


def build(scenario: str, config: Common, rec: Recorder, hist: dict[str, hdr.Latency],
          pairs: dict[str, tuple[str, str]], bounds: list[Bound],
          throughput: dict[str, float], counts: dict[str, int],
          server: dict[str, float | None], usage: dict[str, float], settled: Settled,
          losses: list[str], notes: list[str], rig: Rig,
          lines: dict[str, float] | None = None) -> Result:
    latency = {k: h.summary() for k, h in hist.items()}
    result = Result(
        scenario=scenario, config=settings(config), latency=latency, floors=list(rec.floors),
        ratios=ratios(latency, pairs), bounds=bounds, throughput=throughput, counts=counts,
        server=server | {"read models current after last send (ms)": settled.read_models_ms},
        cpu=usage, errors=refusals(settled, rig.floors.errors()), losses=losses,
        notes=[*notes, "rate limits off (MUSTER_RATE_*=0): one client address, one token "
               "per role", "floors: 'quiet' before the load, 'under load' at "
               "20/s beside it; the echo server and the raw HTTP intake are aiohttp in "
               "processes of their own"],
        histograms={k: h.encoded() for k, h in hist.items()},
        plot=str(config.plot) if config.plot else None)
    if config.plot is not None:
        rec.draw(config.plot, f"Muster {scenario}: latency over time", lines or {})
    return result


def p99(hist: dict[str, hdr.Latency], key: str) -> float | None:
    """A series' p99 in ms, None when it measured nothing (so a bound cannot pass on nothing)."""
    h = hist.get(key)
    return h.summary().p99_ms if h is not None and h.n else None


def over(hist: dict[str, hdr.Latency], top: str, bottom: str) -> float | None:
    """p99(top) ÷ p99(bottom), None when either measured nothing."""
    a, b = p99(hist, top), p99(hist, bottom)
    return round(a / b, 2) if a is not None and b else None


INTAKE = "raw HTTP intake (under load)"  # the floor every latency bound is a ratio to


def to_202(hist: dict[str, hdr.Latency], series: str, limit: float = 1.5) -> Bound:
    """`series` (a command → 202) p99 against the bare intake's under the same load."""
    return Bound(f"{series} p99 ÷ {INTAKE} p99", over(hist, series, INTAKE), limit, "x")


def to_boards(hist: dict[str, hdr.Latency], series: str, limit: float = 2.0) -> Bound:
    """`series` (a command → every board) p99 against the bare intake's under the same load:
    a board shows an event only once it is durably in the stream."""
    return Bound(f"{series} p99 ÷ {INTAKE} p99", over(hist, series, INTAKE), limit, "x")


def to_alert(hist: dict[str, hdr.Latency], series: str, limit: float = 2.0) -> Bound:
    """`series` (a press → first alert) p99 against the bare intake's and a direct Apprise
    send's, one after the other: under the same load, or quiet where a run measured no loaded
    send (the bound's name says which)."""
    apprise = next((k for k in ("direct Apprise send (under load)", "direct Apprise send (quiet)")
                    if p99(hist, k) is not None), "direct Apprise send (under load)")
    alert, parts = p99(hist, series), [p99(hist, INTAKE), p99(hist, apprise)]
    value = (round(alert / sum(x for x in parts if x is not None), 2)
             if alert is not None and None not in parts else None)
    return Bound(f"{series} p99 ÷ ({INTAKE} + {apprise}) p99", value, limit, "x")


def run(config: C, scenario: Callable[[C, Rig], Awaitable[Result]]) -> Result:
    """`scenario` on a fresh rig, which is stopped afterwards whatever happened."""
    async def main() -> Result:
        async with rig(config.sites, config.notify, config.keep, config.concurrency) as r:
            return await scenario(config, r)

    return uvloop.run(main())

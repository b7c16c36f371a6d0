"""A scenario's result: HDR summaries, ratios to the floors, the bounds, printed and as JSON.

The printed table and the JSON carry the same numbers (and the JSON each histogram, encoded, so
runs can be merged or re-read at other percentiles); the plot shows the same points over time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from loadtest.reporting import hdr, plot


class Bound(msgspec.Struct, frozen=True):
    """One aim of the issue: `value` against `limit` (at most, or at least when `floor`)."""

    name: str
    value: float | None
    limit: float
    unit: str
    at_least: bool = False

    @property
    def met(self) -> bool:
        if self.value is None:
            return False
        return self.value >= self.limit if self.at_least else self.value <= self.limit


class Result(msgspec.Struct, kw_only=True):
    scenario: str
    config: dict[str, Any]
    latency: dict[str, hdr.Summary]
    floors: list[str]  # the latency keys that are floors, measured beside Muster
    ratios: dict[str, float | None]
    bounds: list[Bound]
    throughput: dict[str, float]
    counts: dict[str, int]
    server: dict[str, float | None]
    cpu: dict[str, float]
    errors: dict[str, int]
    losses: list[str]  # anything acknowledged and then not seen: any entry fails the run
    notes: list[str]
    histograms: dict[str, str]
    plot: str | None = None

    @property
    def ok(self) -> bool:
        return not self.losses

    def json(self) -> bytes:
        return msgspec.json.format(msgspec.json.encode(self), indent=2) + b"\n"

    def table(self) -> str:
        head = f"{'latency':<44}{'n':>8}{'p50':>9}{'p90':>9}{'p99':>9}{'p99.9':>9}{'max':>9}"
        lines = [f"Muster {self.scenario} scenario — " + ", ".join(
            f"{k} {v}" for k, v in self.config.items() if not isinstance(v, (list, dict))),
            "", head + "  (ms)"]
        for key, s in self.latency.items():
            label = ("floor: " if key in self.floors else "") + key
            lines.append(f"{label:<44}{s.n:>8}" + "".join(
                f" {ms:>8.2f}" for ms in (s.p50_ms, s.p90_ms, s.p99_ms, s.p999_ms, s.max_ms)))
        lines += ["", "ratios (p99 ÷ p99)"]
        lines += [_row(k, "n/a" if v is None else f"{v:.2f}x") for k, v in self.ratios.items()]
        lines += ["", "bounds"]
        for b in self.bounds:
            value = "n/a" if b.value is None else f"{b.value:.2f} {b.unit}"
            sign = "≥" if b.at_least else "≤"
            lines.append(_row(b.name, f"{value} (aim {sign} {b.limit:g} {b.unit}: "
                                      f"{'met' if b.met else 'NOT met'})"))
        if self.throughput:
            lines += ["", "throughput"]
            lines += [_row(k, f"{v:,.1f}") for k, v in self.throughput.items()]
        lines += ["", "while loaded, as Muster and the machine saw it"]
        lines += [_row(k, "n/a" if v is None else f"{v:g}") for k, v in self.server.items()]
        lines.append(_row("CPU, % of one core", ", ".join(
            f"{k} {v:g}" for k, v in self.cpu.items() if k != "machine_load_1m")))
        lines.append(_row("machine load average (1 min)",
                          f"{self.cpu.get('machine_load_1m', 0):g}"))
        lines += ["", "counts"] + [_row(k.replace("_", " "), str(v))
                                   for k, v in self.counts.items()]
        lines.append(_row("errors", ", ".join(f"{k}: {v}" for k, v in self.errors.items())
                          or "none"))
        lines += [f"note: {n}" for n in self.notes]
        if self.plot:
            lines.append(f"plot: {self.plot}")
        lines += [f"LOST: {loss}" for loss in self.losses]
        lines.append("result: " + ("OK (nothing lost)" if self.ok else "FAILED (see LOST)"))
        return "\n".join(lines)


def _row(label: str, value: str) -> str:
    return f"  {label:<54}{value}"


@dataclass
class Recorder:
    """Latency series, each a list of (seconds since t0, latency in seconds)."""

    t0: float
    series: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    floors: list[str] = field(default_factory=list)

    def add(self, name: str, points: Iterable[tuple[float, float]], floor: bool = False) -> None:
        self.series.setdefault(name, []).extend((at - self.t0, lat) for at, lat in points)
        if floor and name not in self.floors:
            self.floors.append(name)

    def histograms(self) -> dict[str, hdr.Latency]:
        return {k: hdr.Latency.of(lat for _, lat in v) for k, v in self.series.items()}

    def draw(self, path: Path, title: str, bounds: dict[str, float]) -> None:
        measured = {k: v for k, v in self.series.items() if k not in self.floors}
        floors = {k: hdr.Latency.of(lat for _, lat in v).summary().p99_ms / 1000
                  for k, v in self.series.items() if k in self.floors and v}
        plot.draw(path, title, measured, floors, bounds)


def ratios(latency: dict[str, hdr.Summary], pairs: dict[str, tuple[str, str]],
           ) -> dict[str, float | None]:
    """name → latency[top].p99 ÷ latency[bottom].p99 for each (top, bottom)."""
    return {name: hdr.ratio(latency[top], latency[bottom])
            if top in latency and bottom in latency else None
            for name, (top, bottom) in pairs.items()}

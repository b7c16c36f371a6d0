"""The benchmark's result: one document, printed as a table or written as JSON.

The printed table and the JSON carry the same numbers, so a CI job can diff the JSON against a
previous run while a person reads the table.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from typing import TYPE_CHECKING, Any

import msgspec

from loadtest.stats import Summary, ratio, summarize

if TYPE_CHECKING:
    from loadtest.alerts import Notified
    from loadtest.boards import Boards
    from loadtest.direct import Direct
    from loadtest.pacer import Sample
    from loadtest.press import Answer, Delivery, Press, PressConfig

AIM_BOARD_P99_MS = 20.0
ROWS = (("press_to_202", "press → 202"), ("press_to_202_first", "  first press at a site"),
        ("press_to_202_join", "  later presses (join)"), ("press_to_board", "press → board"),
        ("raw_publish", "raw publish"), ("raw_batch_3", "raw 3-message batch"),
        ("press_to_first_delivery", "press → first delivery"),
        ("press_to_first_delivery_first", "  first press at a site"),
        ("direct_apprise", "direct Apprise send"), ("send_lag", "send lag (open loop)"))


class Report(msgspec.Struct, kw_only=True):
    config: dict[str, Any]
    latency: dict[str, Summary]
    ratios: dict[str, float | None]
    counts: dict[str, int]
    server: dict[str, float | None]
    cpu: dict[str, float]
    errors: dict[str, int]
    board_closes: dict[str, int]
    notes: list[str]

    @property
    def ok(self) -> bool:
        """Every press accepted, on every board of its site in time, and alerted in time."""
        c = self.counts
        return (c["accepted_202"] == c["presses_sent"] == self.config["presses"]
                and c["press_board_pairs_missed"] == 0
                and c.get("presses_without_alert_in_time", 0) == 0)

    def json(self) -> bytes:
        return msgspec.json.format(msgspec.json.encode(self), indent=2) + b"\n"

    def table(self) -> str:
        c = self.config
        lines = [f"Muster press benchmark: {c['presses']} presses at {c['rate']:g}/s over "
                 f"{c['sites']} sites, {c['boards']} boards, concurrency {c['concurrency']}", "",
                 f"{'latency':<26}{'n':>7}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}"]
        for key, label in ROWS:
            s = self.latency[key]
            lines.append(f"{label:<26}{s.n:>7}{s.p50_ms:>10.2f}{s.p99_ms:>10.2f}{s.max_ms:>10.2f}")
        board_p99 = self.latency["press_to_board"].p99_ms
        verdict = "met" if board_p99 < AIM_BOARD_P99_MS else "NOT met"
        server, cpu = self.server, self.cpu
        lines += [
            "", "ratios",
            _row("press→202 p99 ÷ raw publish p99", _x(self.ratios["p202_over_publish"])),
            _row("press→202 p99 ÷ raw batch p99", _x(self.ratios["p202_over_batch"])),
            _row("press→board p99", f"{board_p99:.2f} ms (aim < {AIM_BOARD_P99_MS:g} ms: "
                                    f"{verdict})"),
            _row("first delivery p99 ÷ direct Apprise p99",
                 _x(self.ratios.get("delivery_over_direct"))),
            _row(f"presses with no alert within {c['notify_within_s']:g} s",
                 f"{self.counts['presses_without_alert_in_time']} of "
                 f"{self.counts['presses_that_should_alert']} that should alert"),
            "", "while pressing, as Muster and the machine saw it",
            _row("intake histogram: commands", f"{server.get('intake_n') or 0:g}"),
            _row("intake histogram: p50 / p99", f"{_le(server, 50)} / {_le(server, 99)}"),
            _row("intake appends retried (conflict)", f"{server.get('intake_conflicts') or 0:g}"),
            _row("event-loop lag of a 100 ms timer, p99 / worst",
                 f"≤ {server.get('loop_lag_p99_le_ms') or 0:g} / ≤ "
                 f"{server.get('loop_lag_max_le_ms') or 0:g} ms "
                 f"({server.get('loop_lag_samples') or 0:g} wakes)"),
            _row("read models current after last send",
                 _ms(server, "read_models_done_after_last_send_ms")),
            _row("CPU, % of one core", ", ".join(f"{k} {v:g}" for k, v in cpu.items()
                                                 if k != "machine_load_1m")),
            _row("machine load average (1 min)", f"{cpu.get('machine_load_1m', 0):g}"),
            "", "counts"]
        lines += [_row(key.replace("_", " "), str(value)) for key, value in self.counts.items()]
        lines.append(_row("errors by status", ", ".join(f"{k}: {v}" for k, v in
                                                       self.errors.items()) or "none"))
        if self.board_closes:
            lines.append(_row("board disconnects", ", ".join(
                f"{k}: {v}" for k, v in self.board_closes.items())))
        lines += [f"note: {note}" for note in self.notes]
        lines.append("result: " + ("OK" if self.ok else "FAILED (a press was refused, did not "
                                   "reach every board, or raised no alert in time)"))
        return "\n".join(lines)


def _row(label: str, value: str) -> str:
    return f"  {label:<40}{value}"


def _x(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def _le(server: dict[str, float | None], q: int) -> str:
    if not server.get("intake_n"):
        return "n/a"
    value = server.get(f"intake_p{q}_le_ms")
    return "beyond the last bucket" if value is None else f"≤ {value:g} ms"


def _ms(server: dict[str, float | None], key: str) -> str:
    value = server.get(key)
    return "not within the wait" if value is None else f"≤ {value:g} ms"


def build(config: PressConfig, samples: list[Sample[Answer]], presses: list[Press],
          boards: Boards, delivery: Delivery, single: list[Sample[int]],
          batched: list[Sample[int]], server: dict[str, float | None],
          usage: dict[str, float], notes: list[str], notified: Notified,
          floor: Direct) -> Report:
    ok = [(s, p) for s, p in zip(samples, presses, strict=True)
          if s.value is not None and s.value.status == 202]
    first: dict[str, Sample[Answer]] = {}
    for sample, press in ok:  # the lowest seq at a site is the press that opened its incident
        assert sample.value is not None
        held = first.get(press.site)
        if held is None or (held.value is not None and sample.value.seq < held.value.seq):
            first[press.site] = sample
    firsts = {id(s) for s in first.values()}
    raw_ok = [s for s in single if s.value is not None]
    batch_ok = [s for s in batched if s.value is not None]
    latency = {
        "press_to_202": summarize([s.latency for s, _ in ok]),
        "press_to_202_first": summarize([s.latency for s, _ in ok if id(s) in firsts]),
        "press_to_202_join": summarize([s.latency for s, _ in ok if id(s) not in firsts]),
        "press_to_board": summarize(delivery.latencies),
        "raw_publish": summarize([s.latency for s in raw_ok]),
        "raw_batch_3": summarize([s.latency for s in batch_ok]),
        "press_to_first_delivery": summarize(notified.latencies),
        "press_to_first_delivery_first": summarize(notified.openers),
        "direct_apprise": summarize(floor.latencies),
        "send_lag": summarize([max(0.0, s.lag) for s in samples if s.started]),
    }
    ok_ids = {id(s) for s, _ in ok}
    errors = Counter(str(s.value.status) if s.value is not None else s.error or "unknown"
                     for s in samples if id(s) not in ok_ids)
    for name, runs in (("raw publish", single), ("raw batch", batched)):
        errors.update(f"{name} {s.error}" for s in runs if s.value is None)
    closes = Counter(reason for b in boards.boards for reason in b.closes)
    counts = {
        "presses_sent": sum(s.started for s in samples),
        "accepted_202": len(ok),
        "board_updates_received": boards.received,
        "press_board_pairs": delivery.pairs,
        "press_board_pairs_missed": delivery.missed_pairs,
        "presses_not_on_every_board_in_time": delivery.missed_presses,
        "board_reconnects": sum(b.reconnects for b in boards.boards),
        "raw_publishes_acked": len(raw_ok),
        "raw_batches_acked": len(batch_ok),
        "presses_that_should_alert": notified.expected,
        "presses_without_alert_in_time": notified.missed,
        "alerts_owed_press_x_channel": notified.pairs_expected,
        "alerts_at_sink_press_x_channel": notified.pairs_seen,
        "direct_apprise_sends_ok": floor.sent,
        "direct_apprise_sends_at_sink": floor.arrived,
    }
    return Report(
        config=dataclasses.asdict(config), latency=latency,
        ratios={"p202_over_publish": ratio(latency["press_to_202"], latency["raw_publish"]),
                "p202_over_batch": ratio(latency["press_to_202"], latency["raw_batch_3"]),
                "delivery_over_direct": ratio(latency["press_to_first_delivery"],
                                              latency["direct_apprise"])},
        counts=counts, server={k: None if v is None or math.isinf(v) else v
                               for k, v in server.items()},
        cpu=usage, errors=dict(sorted(errors.items())), board_closes=dict(closes),
        notes=notes)

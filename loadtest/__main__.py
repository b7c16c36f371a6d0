"""`python -m loadtest SCENARIO …`: run a benchmark against a fresh `muster up`, print its table,
write its JSON and draw its latency-over-time plot."""

import argparse
import dataclasses
import sys
import time
from collections.abc import Callable
from pathlib import Path

from loadtest import drill, flood, lockdown
from loadtest.press import PressConfig, bench
from loadtest.result import Result
from loadtest.scenario import Common
from loadtest.stack import StackError

OUT = Path("loadtest/out")
SCENARIOS: dict[str, tuple[type[Common], Callable[..., Result], str]] = {
    "drill": (drill.DrillConfig, drill.run,
              "a district-wide lockdown drill: every site starts one, every room reports, "
              "everyone is accounted for, all clear, close"),
    "lockdown": (lockdown.LockdownConfig, lockdown.run,
                 "a single live lockdown, pressed again and again, while the other sites write "
                 "background traffic and every board is connected"),
    "flood": (flood.FloodConfig, flood.run,
              "a sustained flood of staff reports at a fixed rate over every site"),
}
HELP = {
    "sites": "bench sites (copies of demo-high, 859 people each)",
    "boards": "live WebSocket boards, round robin over the sites",
    "duration": "seconds of load", "floor_count": "raw publishes, batches and echoes (quiet)",
    "floor_rate": "their rate per second", "apprise_count": "direct Apprise sends (quiet)",
    "concurrency": "requests in flight at most", "seed": "seed of the plan",
    "deliver_within_s": "an accepted command on no board by then is late",
    "notify_within_s": "a press with no alert at the sink by then is lost",
    "background": "background events per second over the quiet sites",
    "press_rate": "live presses per second", "cycle": "presses per lockdown before its close",
    "rate": "commands (= events) per second, open loop", "aim": "events/s intake must sustain",
    "start_within": "seconds over which the drills start",
    "ceiling_s": "seconds of the plan first sent to a bare aiohttp + JetStream intake, "
                 "for the ceiling (0: none)",
    "board_processes": "processes that read the boards (0: the load generator's own loop)",
}


def _positive(kind: Callable[[str], float]) -> Callable[[str], float]:
    def parse(text: str) -> float:
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
        return value

    return parse


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m loadtest",
        description="Benchmarks of Muster's critical path, against a real `muster up` "
                    "(embedded NATS and PostgreSQL) on 127.0.0.1.")
    sub = p.add_subparsers(dest="scenario", required=True)
    press = sub.add_parser(
        "press", help="panic presses → durable 202 → live boards and alerts, beside raw "
                       "JetStream publishes and direct Apprise sends",
        description="First publishes raw to JetStream on the same server as the floor (to a "
                    "stream of its own) and sends straight through Apprise to the alert sink; "
                    "then presses panic buttons over HTTP at a fixed rate (open loop), watches "
                    "every board over WebSocket and every alert at the sink. Prints p50/p99/max "
                    "and the ratios; exits 1 when a press was refused, missed a board or raised "
                    "no alert within 10 s.")
    press.add_argument("--presses", type=_positive(int), default=1000, help="presses to send")
    press.add_argument("--sites", type=_positive(int), default=20, help="bench sites to create")
    press.add_argument("--boards", type=_positive(int), default=50,
                       help="WebSocket boards, spread round robin over the sites")
    press.add_argument("--rate", type=_positive(float), default=200.0,
                       help="presses (and raw publishes) per second (default 200)")
    press.add_argument("--concurrency", type=_positive(int), default=64,
                       help="requests in flight at most (default 64)")
    press.add_argument("--seed", type=int, default=1, help="seed for kinds and rooms")
    press.add_argument("--no-baseline", dest="baseline", action="store_false",
                       help="skip the raw JetStream publishes")
    press.add_argument("--no-notify", dest="notify", action="store_false",
                       help="drop the sites' alert channels and skip the alert timings "
                            "(default: they post to a local sink)")
    press.add_argument("--keep", action="store_true", help="keep the data dir afterwards")
    press.add_argument("--json", type=Path, help="also write the result as JSON to this file")
    for name, (config, _, text) in SCENARIOS.items():
        add_scenario(sub.add_parser(name, help=text, description=text + ". Prints the table, "
                                    "writes OUT/NAME-TIME.json and .png; exits 1 when anything "
                                    "acknowledged was lost (bounds missed are reported, "
                                    "not an exit status)."), config)
    return p


def add_scenario(p: argparse.ArgumentParser, config: type[Common]) -> None:
    for f in dataclasses.fields(config):
        flag = "--" + f.name.replace("_", "-")
        if f.type in (bool, "bool"):
            if f.name == "notify":
                p.add_argument("--no-notify", dest="notify", action="store_false",
                               help="sites without alert channels")
            elif f.name == "keep":
                p.add_argument("--keep", action="store_true", help="keep the data dir")
        elif f.name == "plot":
            continue
        else:
            kind = int if isinstance(f.default, int) else float
            check = _positive(kind) if f.name != "board_processes" else int
            p.add_argument(flag, dest=f.name, type=check, default=f.default,
                           help=f"{HELP.get(f.name, f.name)} (default {f.default:g})")
    p.add_argument("--out", type=Path, default=OUT, help=f"where the JSON and PNG go ({OUT})")


def run_scenario(name: str, args: argparse.Namespace) -> int:
    config_type, run, _ = SCENARIOS[name]
    stamp = time.strftime("%Y%m%d-%H%M%S")
    args.out.mkdir(parents=True, exist_ok=True)
    fields = {f.name for f in dataclasses.fields(config_type)} - {"plot"}
    config = config_type(**{k: v for k, v in vars(args).items() if k in fields},
                         plot=args.out / f"{name}-{stamp}.png")
    result = run(config)
    print(result.table())
    path = args.out / f"{name}-{stamp}.json"
    path.write_bytes(result.json())
    print(f"json: {path}")
    return 0 if result.ok else 1


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.scenario in SCENARIOS:
        try:
            return run_scenario(args.scenario, args)
        except StackError as exc:
            print(f"loadtest: {exc}", file=sys.stderr)
            return 2
    config = PressConfig(presses=args.presses, sites=args.sites, boards=args.boards,
                         rate=args.rate, concurrency=args.concurrency, seed=args.seed,
                         baseline=args.baseline, notify=args.notify, keep=args.keep)
    try:
        report = bench(config)
    except StackError as exc:
        print(f"loadtest: {exc}", file=sys.stderr)
        return 2
    print(report.table())
    if args.json is not None:
        args.json.write_bytes(report.json())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())

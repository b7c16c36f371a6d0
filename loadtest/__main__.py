"""`python -m loadtest SCENARIO …`: run a benchmark against a fresh `muster up`, print its table,
write its JSON and draw its latency-over-time plot."""

import argparse
import dataclasses
import importlib
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from loadtest.reporting.result import Result
from loadtest.rig import Rig
from loadtest.scenarios import common, drill, flood, lockdown, press, watchers
from loadtest.stack import StackError

OUT = Path("loadtest/out")
Scenario = Callable[[Any, Rig], Awaitable[Result]]
SCENARIOS: dict[str, tuple[type[common.Common], Scenario, str]] = {
    "drill": (drill.DrillConfig, drill.scenario,
              "a district-wide lockdown drill: every site starts one, every room reports, "
              "everyone is accounted for, all clear, close"),
    "lockdown": (lockdown.LockdownConfig, lockdown.scenario,
                 "a single live lockdown, pressed again and again, while the other sites write "
                 "background traffic and every board is connected"),
    "flood": (flood.FloodConfig, flood.scenario,
              "a sustained flood of staff reports at a fixed rate over every site"),
    "press": (press.PressConfig, press.scenario,
              "live panic presses round robin over every site at a fixed rate, each site's "
              "first opening its incident, with nothing else writing"),
    "watchers": (watchers.WatchersConfig, watchers.scenario,
                 "10,000 boards over 500 mostly quiet sites, 1,000 of them watching one live "
                 "lockdown, against a bare aiohttp broadcast to as many sockets"),
}
# Micro-benchmarks with no `muster up`, each with options of its own (`NAME --help`); imported
# only when run, since the fold's imports the consumers.
COSTS = {
    "foldcost": ("loadtest.costs.fold",
                 "what one event costs a live board as an incident grows, in process"),
    "batchcost": ("loadtest.costs.batch",
                  "what an atomic batch costs nats-server against single publishes"),
    "rebuild": ("loadtest.costs.rebuild",
                "`muster rebuild` of a flood's stream against reading it raw"),
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
    "rate": "commands per second, open loop", "aim": "events/s intake must sustain",
    "start_within": "seconds over which the drills start",
    "ceiling_s": "seconds of the plan first sent to a bare aiohttp + JetStream intake, "
                 "for the ceiling (0: none)",
    "board_processes": "processes that read the boards (0: the load generator's own loop)",
    "quiet_sites": "staff-only quiet schools beside the demo-high copies",
    "watchers": "boards of the live site (of --boards); as many read the broadcast floor",
    "connect_within_s": "seconds for every board to have its snapshot",
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
    for name, (config, _, text) in SCENARIOS.items():
        add_scenario(sub.add_parser(name, help=text, description=text + ". Prints the table, "
                                    "writes OUT/NAME-TIME.json and .png; exits 1 when anything "
                                    "acknowledged was lost (bounds missed are reported, "
                                    "not an exit status)."), config)
    for name, (_, text) in COSTS.items():  # listed here; `main` hands them their own options
        sub.add_parser(name, help=text, description=text)
    return p


def add_scenario(p: argparse.ArgumentParser, config: type[common.Common]) -> None:
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
    config_type, scenario, _ = SCENARIOS[name]
    stamp = time.strftime("%Y%m%d-%H%M%S")
    args.out.mkdir(parents=True, exist_ok=True)
    fields = {f.name for f in dataclasses.fields(config_type)} - {"plot"}
    config = config_type(**{k: v for k, v in vars(args).items() if k in fields},
                         plot=args.out / f"{name}-{stamp}.png")
    result = common.run(config, scenario)
    print(result.table())
    path = args.out / f"{name}-{stamp}.json"
    path.write_bytes(result.json())
    print(f"json: {path}")
    return 0 if result.ok else 1


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in COSTS:
        return int(importlib.import_module(COSTS[argv[0]][0]).main(argv[1:]))
    args = parser().parse_args(argv)
    try:
        return run_scenario(args.scenario, args)
    except StackError as exc:
        print(f"loadtest: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

"""`python -m loadtest press …`: run a benchmark against a fresh `muster up` and print its table."""

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from loadtest.press import PressConfig, bench
from loadtest.stack import StackError


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
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
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

"""Drills from the command line: `muster drills due` prints the compliance view (done, due,
overdue, upcoming, undocumented) and `muster drills log` the drill log, as aligned tables or CSV.

Both read the read models, as the HTTP routes do (consumers/drill_rows.py), against the servers
`servers.for_command` finds or starts.
"""

import argparse
import asyncio
import os
import sys
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from command.bootstrap.servers import for_command
from command.domain import compliance, drill_csv
from command.domain import school_year as sy
from command.domain.compliance import View
from command.domain.drill_log import DrillRow
from command.domain.drill_rules import STATES
from command.infra.config import Settings
from command.infra.embedded import reach_db

COLOURS = {"done": "32", "due": "33", "overdue": "1;31", "upcoming": "36", "undocumented": "35"}


def add_parsers(sub: Any) -> list[argparse.ArgumentParser]:
    drills = sub.add_parser("drills", help="the drill log and the state's drill requirements")
    cmds = drills.add_subparsers(dest="drills_cmd", required=True)
    due = cmds.add_parser("due", help="which required drills are done, due, overdue or "
                                      "undocumented (every site without --site or --district)")
    where = due.add_mutually_exclusive_group()
    where.add_argument("--site")
    where.add_argument("--district")
    due.add_argument("--on", help="the day to take the view on, YYYY-MM-DD (default: today)")
    due.add_argument("--year", help="the school year, YYYY-YY (default: the one of --on)")
    log = cmds.add_parser("log", help="a site's drills of a school year")
    log.add_argument("--site", required=True)
    log.add_argument("--year", help="the school year, YYYY-YY (default: this one)")
    log.add_argument("--csv", action="store_true", help="CSV with a header row")
    return [due, log]


def table(headers: list[str], rows: list[list[str]], paint: dict[int, str] | None = None) -> str:
    """Columns padded to their widest cell; `paint` colours a column by its cell's own text."""
    widths = [max(len(x) for x in col) for col in zip(headers, *rows, strict=True)]
    lines = []
    for i, cells in enumerate([headers, *rows]):
        out = []
        for j, cell in enumerate(cells):
            text = cell.ljust(widths[j])
            if paint is not None and i and j in paint and cell in COLOURS:
                text = f"\033[{COLOURS[cell]}m{cell}\033[0m" + " " * (widths[j] - len(cell))
            out.append(text)
        lines.append("  ".join(out).rstrip())
    return "\n".join(lines)


def _paint() -> dict[int, str] | None:
    return {0: "status"} if sys.stdout.isatty() and not os.environ.get("NO_COLOR") else None


def due_text(view: View, school: str) -> str:
    state = STATES.get(view.state or "")
    held_to = f"{state.name} ({state.state})" if state else view.state or "no state table"
    head = f"{school} ({view.site}) · {held_to} · school year {view.year} · on {view.on}"
    day = timedelta(days=1)
    rows = [[i.status, i.requirement, f"{i.held}/{i.count}", f"{i.opens} to {i.closes - day}",
             str(i.done_on) if i.done_on else "", i.label] for i in view.items]
    body = table(["STATUS", "REQUIREMENT", "HELD", "WINDOW", "DONE ON", "WHAT"],
                 rows, _paint()) if rows else "No requirements: the site file has no [drills]."
    late = [[str(u.held_on), u.kind, u.category or "", str(u.deadline), u.incident_id]
            for u in view.undocumented]
    undocumented = (f"Undocumented (not signed off within {view.documented_within_days} days):\n"
                    + table(["HELD", "KIND", "CATEGORY", "DEADLINE", "INCIDENT"], late)
                    if late else "Undocumented: none.")
    c = view.counts
    summary = (f"{c['done']} done, {c['due']} due, {c['overdue']} overdue, {c['upcoming']} "
               f"upcoming; {c['undocumented']} undocumented")
    return "\n\n".join([head, body, undocumented, summary])


def _clock(s: float | None) -> str:
    return "" if s is None else f"{int(s // 60)}:{int(s % 60):02d}"


def log_text(rows: list[DrillRow], zone: tzinfo, school: str, year: str) -> str:
    def local(at: datetime | None) -> str:
        return at.astimezone(zone).strftime("%H:%M:%S") if at else ""

    lines = [[r.started_at.astimezone(zone).strftime("%Y-%m-%d"), local(r.started_at), r.mode,
              r.kind, r.status, _clock(r.protective_s), _clock(r.accounted_s), local(r.ended_at),
              str(r.participants.get("total", 0)), drill_csv.methods(r) or "none",
              r.signed_off_by or "not signed"] for r in rows]
    body = table(["DATE", "START", "MODE", "KIND", "STATUS", "PROTECTIVE", "ACCOUNTED", "END",
                  "PEOPLE", "NOTIFICATIONS", "SIGNED OFF"], lines) if lines else "No drills."
    return f"{school} · drill log · school year {year}\n\n{body}"


def _day(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"--on: a day is written YYYY-MM-DD, not {text!r}") from exc


def _year(text: str | None, on: date) -> sy.SchoolYear:
    try:
        return sy.parse(text) if text else sy.containing(on)
    except ValueError as exc:
        raise ValueError(f"--year: {exc}") from exc


async def _run(settings: Settings, args: argparse.Namespace) -> int:
    from consumers.drill_rows import DrillRows, Sites

    async with for_command(settings, need_nats=False) as (_, db_url):
        pool = await reach_db(db_url)
        try:
            sites = await Sites.read(pool)
            rows = DrillRows(pool)
            chosen = ([args.site] if args.site else sites.in_district(args.district)
                      if getattr(args, "district", None) else sorted(sites.configs))
            if not chosen or any(sites.config(s) is None for s in chosen):
                district = getattr(args, "district", None)
                what = (f"no site {args.site!r}" if args.site else f"no site names the "
                        f"district {district!r}" if district else "no sites")
                print(f"muster: {what} in the read models", file=sys.stderr)
                return 1
            out = []
            for site in chosen:
                zone, config = sites.zone(site), sites.config(site)
                school = config.name if config else site
                on = _day(getattr(args, "on", None)) or datetime.now(UTC).astimezone(zone).date()
                year = _year(args.year, on)
                listed = await rows.of_site(sites, site, year)
                if args.drills_cmd == "log":
                    out.append(drill_csv.to_csv((r, zone) for r in listed) if args.csv
                               else log_text(listed, zone, school, year.label))
                else:
                    # the year before too: a June drill may fall undocumented in July
                    earlier = await rows.of_site(sites, site, sy.SchoolYear(year.start - 1))
                    out.append(due_text(compliance.view(listed, config, year, on, zone, earlier),
                                        school))
        finally:
            await pool.close()
    sys.stdout.write("\n\n".join(out) + ("" if getattr(args, "csv", False) else "\n"))
    return 0


def drills(settings: Settings, args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_run(settings, args))
    except ValueError as exc:
        print(f"muster: {exc}", file=sys.stderr)
        return 2

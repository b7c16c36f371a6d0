"""The drill log a `drill` run produced, as an integrator reads it: each bench site's
`GET /v1/sites/{site}/drills?year=YYYY-YY` once its drill is closed, checked against what the
boards showed (every room in place, everyone accounted for, the drill closed), printed as a
table for the run's closing note and written beside its JSON.
"""

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec

from command.domain import school_year
from loadtest.rig import Rig

WAIT_S = 60.0  # for each closed drill's row: its close is projected a moment after its 202
COLUMNS = ("site", "kind", "start", "protective response s", "accounted-for s", "end",
           "participants", "methods worked/failed")


class Method(msgspec.Struct):
    channel: str
    method: str
    worked: bool


class Row(msgspec.Struct):
    """What the table shows of a drill-log row (docs/api.md, "Drill log and compliance")."""

    incident_id: str
    site: str
    mode: str
    kind: str
    status: str
    started_at: datetime
    protective_s: float | None
    accounted_s: float | None
    ended_at: datetime | None
    participants: dict[str, int]
    notifications: list[Method] = []


class Log(msgspec.Struct):
    rows: list[Row]


_log = msgspec.json.Decoder(Log)


def year_of(zone: str, now: datetime | None = None) -> str:
    """The school year a drill run now falls in, at the sites' zone."""
    day = (now or datetime.now(UTC)).astimezone(ZoneInfo(zone)).date()
    return school_year.containing(day).label


async def site_rows(r: Rig, site: str, year: str) -> tuple[int, list[Row]]:
    url = f"{r.stack.http_url}/v1/sites/{site}/drills?year={year}"
    async with r.http.get(url, headers={
            "Authorization": f"Bearer {r.stack.tokens['commander']}"}) as resp:
        body = await resp.read()
        return resp.status, _log.decode(body).rows if resp.status == 200 else []


async def fetch(r: Rig, incidents: dict[str, str], year: str,
                wait_s: float = WAIT_S) -> tuple[dict[str, Row], list[str]]:
    """Each site's row of its drill, once closed; and what is wrong with the log."""
    found: dict[str, Row] = {}
    deadline, answers = time.monotonic() + wait_s, {}
    while True:
        pending = [s for s in incidents if s not in found]
        got = await asyncio.gather(*(site_rows(r, s, year) for s in pending))
        for site, (status, rows) in zip(pending, got, strict=True):
            answers[site] = status
            row = next((x for x in rows if x.incident_id == incidents[site]), None)
            if row is not None and row.status == "closed":
                found[site] = row
        if len(found) == len(incidents) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    wrong = [f"{site}: the drill log has no closed row for {incidents[site]} (HTTP "
             f"{answers.get(site)})" for site in incidents if site not in found]
    for site, row in found.items():
        if row.mode != "drill" or row.protective_s is None or row.accounted_s is None:
            wrong.append(f"{site}: the drill log's row says mode {row.mode}, protective "
                         f"response {row.protective_s}, accounted for {row.accounted_s}; the "
                         "board showed every room secured and everyone accounted for")
    return found, wrong


def _seconds(value: float | None) -> str:
    return "not reached" if value is None else f"{value:.1f}"


def _methods(row: Row) -> str:
    worked = sorted({m.method for m in row.notifications if m.worked})
    failed = sorted({f"{m.channel} ({m.method})" for m in row.notifications if not m.worked})
    return (f"{sum(m.worked for m in row.notifications)}/"
            f"{sum(not m.worked for m in row.notifications)}"
            f" ({', '.join(worked) or 'none worked'}"
            + (f"; failed: {', '.join(failed)}" if failed else "") + ")")


def _participants(row: Row) -> str:
    p = row.participants
    return (f"{p.get('total', 0)} ({p.get('student', 0)} students, {p.get('staff', 0)} staff"
            + (f", {p['visitor']} visitors" if p.get("visitor") else "") + ")")


def _clock(at: datetime | None, zone: ZoneInfo) -> str:
    return "—" if at is None else at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


def table(rows: list[Row], zone: str) -> str:
    """The rows as a plain text table, times in the sites' zone, one site a line."""
    tz = ZoneInfo(zone)
    cells = [COLUMNS] + [(r.site, r.kind, _clock(r.started_at, tz), _seconds(r.protective_s),
                          _seconds(r.accounted_s), _clock(r.ended_at, tz), _participants(r),
                          _methods(r)) for r in sorted(rows, key=lambda x: x.site)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in cells]
    return "\n".join([lines[0], "  ".join("-" * w for w in widths), *lines[1:]])


def summary(rows: list[Row]) -> str:
    """One line over the sites: the slowest and the median of each milestone."""
    def spread(values: list[float]) -> str:
        if not values:
            return "none reached"
        ordered = sorted(values)
        return f"median {ordered[len(ordered) // 2]:.1f} s, slowest {ordered[-1]:.1f} s"

    return (f"{len(rows)} drills; protective response "
            f"{spread([r.protective_s for r in rows if r.protective_s is not None])}; "
            f"accounted for {spread([r.accounted_s for r in rows if r.accounted_s is not None])}")


def write(rows: list[Row], text: str, plot: Path | None) -> Path | None:
    """Beside the run's JSON and plot (`drill-STAMP-log.txt` and `.json`); None without one."""
    if plot is None:
        return None
    base = plot.with_name(plot.stem + "-log")
    base.with_suffix(".json").write_bytes(msgspec.json.format(msgspec.json.encode(
        sorted(rows, key=lambda x: x.site)), indent=2) + b"\n")
    path = base.with_suffix(".txt")
    path.write_text(text + "\n", encoding="utf-8")
    return path

"""The drill log as CSV (docs/drills.md): one header row, then one row per drill, times in ISO
8601 with seconds in the site's time zone, so a spreadsheet or a state's form reads it as is."""

import csv
import io
from collections.abc import Iterable
from datetime import datetime, tzinfo

from command.domain.drill_log import DrillRow

COLUMNS = ("site", "incident_id", "mode", "kind", "category", "status", "start",
           "protective_response", "protective_response_s", "accounted_for", "accounted_for_s",
           "end", "ended_by", "students", "staff", "visitors", "participants",
           "notification_methods", "rooms_never_reported", "rooms_late", "unaccounted",
           "signed_off_by", "signed_off_at", "notes")
_FORMULA = ("=", "+", "-", "@", "\t", "\r")  # a cell a spreadsheet would run as a formula


def _time(at: datetime | None, zone: tzinfo) -> str:
    return at.astimezone(zone).isoformat(timespec="seconds") if at else ""


def _seconds(s: float | None) -> str:
    return "" if s is None else f"{s:.0f}" if s == int(s) else f"{s:.1f}"


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def methods(row: DrillRow) -> str:
    """Each channel's method and whether it worked: "sro json worked; sms twilio failed"."""
    return "; ".join(f"{m.channel} {m.method} {'worked' if m.worked else 'failed'}"
                     for m in row.notifications)


def record(row: DrillRow, zone: tzinfo) -> list[str]:
    people = row.participants
    values: list[object] = [
        row.site, row.incident_id, row.mode, row.kind, row.category, row.status,
        _time(row.started_at, zone), _time(row.protective_at, zone),
        _seconds(row.protective_s), _time(row.accounted_at, zone), _seconds(row.accounted_s),
        _time(row.ended_at, zone), row.ended_by, people.get("student", 0),
        people.get("staff", 0), people.get("visitor", 0), people.get("total", 0), methods(row),
        " ".join(row.rooms_never), " ".join(row.rooms_late), row.unaccounted,
        row.signed_off_by, _time(row.signed_off_at, zone), "; ".join(row.notes)]
    return [_cell(v) for v in values]


def to_csv(rows: Iterable[tuple[DrillRow, tzinfo]]) -> str:
    """The rows, each with its site's zone, under one header row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row, zone in rows:
        writer.writerow(record(row, zone))
    return out.getvalue()

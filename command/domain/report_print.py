"""The report's print layout for the state file: one self-contained HTML page, in the fields of
a state's drill record form (Michigan's A-9 and its like), that prints on ONE page of US Letter
or A4. It sets no paper size (the printer's is used) and keeps every list short enough to fit:
the full report holds the rest."""

from datetime import datetime, tzinfo

from command.domain.drill_log import DrillRow, counted_as
from command.domain.report import Report
from command.domain.report_compare import duration
from command.domain.report_format import NOT_REACHED, NOT_SIGNED, at, clock, dur, h
from command.domain.report_timeline import short
from command.domain.site import zone_named

FINDINGS_SHOWN = 8
METHODS_SHOWN = 6
TITLES = {"drill": "Emergency drill record", "live": "Emergency incident record",
          "tabletop": "Tabletop exercise record", "replay": "Replay: not a record to file"}
CSS = ("@page{margin:12mm}*{box-sizing:border-box}"
       "body{font:9.5pt/1.3 system-ui,sans-serif;color:#000;margin:0 auto;max-width:186mm}"
       "h1{font-size:14pt;margin:0 0 1mm}h2{font-size:10.5pt;margin:3mm 0 1mm;"
       "border-bottom:1px solid #000}.sub{margin:0 0 2mm;color:#333}"
       "table{border-collapse:collapse;width:100%}th,td{border:1px solid #777;padding:.6mm 1.5mm;"
       "text-align:left;vertical-align:top}th{background:#eee;font-weight:600;width:19%}"
       ".methods th{width:auto}ol{margin:0;padding:0;list-style-position:inside}p{margin:.8mm 0}"
       # One line each, whatever its length: the page must not spill onto a second.
       "li,.one{white-space:nowrap;overflow:hidden;text-overflow:ellipsis}"
       ".line{border-bottom:1px solid #000;height:6.5mm}.sig{margin-top:4mm}"
       ".sig .line{width:60%;display:inline-block;height:8mm}.sig .date{width:20%}"
       ".no{font-weight:700}"
       ".foot{margin-top:2mm;font-size:8pt;color:#444}")


def _when(moment: datetime | None, s: float | None, zone: tzinfo) -> str:
    return NOT_REACHED if moment is None else f"{clock(moment, zone)} ({dur(s)} after the start)"


def _fields(r: Report, row: DrillRow, zone: tzinfo) -> list[tuple[str, str, str, str]]:
    kind = f"{r.kind} ({counted_as(row)})"
    ended = clock(row.ended_at, zone) + (f" ({row.ended_by.replace('_', ' ')})"
                                         if row.ended_by else " (still open)")
    people = ", ".join(f"{k} {v}" for k, v in row.participants.items()) or "—"
    rooms = f"{row.rooms_total}; late {len(row.rooms_late)}, never reported " \
            f"{len(row.rooms_never)}"
    return [
        ("School", f"{r.school} ({r.site})", "District", r.district or "—"),
        ("Address", r.address or "—", "Date",
         row.started_at.astimezone(zone).strftime("%A %Y-%m-%d")),
        ("Drill type", f"{kind}, {r.mode}", "SRP action", row.action or "none declared"),
        ("Start", clock(row.started_at, zone), "End", ended),
        ("Protective response", _when(row.protective_at, row.protective_s, zone),
         "Accounted for", _when(row.accounted_at, row.accounted_s, zone)),
        ("Duration", dur(duration(row)) if row.ended_at else "—", "First acknowledgement",
         at(row.first_ack_s) if row.first_ack_s is not None else "none"),
        ("Participants", people, "Rooms", rooms),
        ("Not accounted for at the end", str(row.unaccounted), "Time zone", r.timezone),
    ]


def _methods(row: DrillRow) -> str:
    if not row.notifications:
        return "<p>No notification was sent.</p>"
    shown = row.notifications[:METHODS_SHOWN]
    body = "".join(
        f"<tr><td>{h(m.channel)}</td><td>{h(m.method)}</td><td>{m.sent}</td><td>{m.failed}</td>"
        + ("<td>yes</td></tr>" if m.worked else '<td class="no">NO</td></tr>')
        for m in shown)
    more = len(row.notifications) - len(shown)
    return ('<table class="methods"><thead><tr><th>channel</th><th>method</th><th>sent</th>'
            f"<th>failed</th><th>worked</th></tr></thead><tbody>{body}</tbody></table>"
            + (f"<p>and {more} more in the full report</p>" if more > 0 else ""))


def _problems(r: Report) -> str:
    if not r.findings:
        return "<p>None found from the events.</p>"
    shown = r.findings[:FINDINGS_SHOWN]
    more = len(r.findings) - len(shown)
    return "<ol>" + "".join(f"<li>{h(at(f.offset_s))} {h(short(f.text, 150))}</li>"
                            for f in shown) + "</ol>" + (
        f"<p>and {more} more in the full report</p>" if more > 0 else "")


def _signature(r: Report, zone: tzinfo) -> str:
    s = r.signed_off
    if s is None:
        return (f'<div class="sig">Signed off by: <span class="line"></span> Date: '
                f'<span class="line date"></span><br>({NOT_SIGNED})</div>')
    who = h(s.signed_by) + (f", {h(s.title)}" if s.title else "")
    note = f'<div class="one">Note: {h(short(s.note, 200))}</div>' if s.note else ""
    return (f'<div class="sig"><b>Signed off by {who}, at {h(clock(s.at, zone, True))}</b> '
            f"(recorded as event {h(s.event_id)}){note}</div>")


def to_print(r: Report) -> str:
    """The one-page record; a report without a drill-log row has none to print."""
    zone, row = zone_named(r.timezone), r.record
    if row is None:
        raise ValueError("this report has no drill record to print")
    fields = "".join(f"<tr><th>{h(a)}</th><td>{h(b)}</td><th>{h(c)}</th><td>{h(d)}</td></tr>"
                     for a, b, c, d in _fields(r, row, zone))
    title = TITLES.get(r.mode, TITLES["live"])
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{h(title)}: '
            f"{h(r.school)}, {h(row.started_at.astimezone(zone).strftime('%Y-%m-%d'))}</title>"
            f"<style>{CSS}</style></head><body><h1>{h(title)}</h1>"
            f'<p class="sub">Incident {h(r.incident_id)}, from its events in Muster</p>'
            f"<table>{fields}</table><h2>Notification methods</h2>{_methods(row)}"
            f"<h2>Problems found</h2>{_problems(r)}<h2>Corrective actions</h2>"
            + '<div class="line"></div>' * 4 + _signature(r, zone)
            + '<p class="foot">Protective response: every room reported secured, evacuated or '
            "clear. Accounted for: nobody unknown on the roster.</p></body></html>\n")

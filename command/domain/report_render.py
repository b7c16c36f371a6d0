"""The after-action report as JSON, Markdown or a self-contained HTML page with an SVG chart.

Every piece of text is escaped for the format it lands in; nothing is fetched from elsewhere.
"""

import msgspec

from command.domain import report_compare, report_injects, report_reunification
from command.domain.report import Report
from command.domain.report_format import NOT_SIGNED
from command.domain.report_format import at as _at
from command.domain.report_format import clock as _clock
from command.domain.report_format import dur as _dur
from command.domain.report_format import h as _h
from command.domain.report_format import md as _md
from command.domain.report_format import table as _table
from command.domain.site import zone_named

NOTHING_FOUND = "Nothing found: every rule the debrief checks was met."


def to_json(report: Report) -> bytes:
    return msgspec.json.encode(report)


def _facts(r: Report) -> list[tuple[str, str]]:
    zone = zone_named(r.timezone)
    chain = "; ".join(f"{c.commander} ({c.agency}) at {_clock(c.at, zone)}" for c in r.commanders)
    return [("Incident", f"{r.incident_id} — {r.kind}, {r.mode}"),
            ("School", f"{r.school} ({r.site})"),
            ("Opened", f"{_clock(r.opened_at, zone, True)} by {r.opened_by}"),
            ("Ended", f"{_clock(r.ended_at, zone, True)} ({r.status})"),
            ("False alarm", f"yes: {r.cancel_reason}" if r.false_alarm else "no"),
            ("Command", chain or "not transferred"), ("Summary", r.summary or "—"),
            *([("Drill note", r.note)] if r.note else []),
            *([("Reunification", "opened before accounting was complete, "
                f"{r.reunification_opened}")] if r.reunification_opened else []),
            ("Participants", ", ".join(r.participants) or "—"), ("Signed off", _signed(r))]


def _signed(r: Report) -> str:
    s = r.signed_off
    if s is None:
        return NOT_SIGNED
    return (f"by {s.signed_by}" + (f", {s.title}" if s.title else "") + f", at "
            f"{_clock(s.at, zone_named(r.timezone), True)} (recorded as event {s.event_id})"
            + (f": {s.note}" if s.note else ""))


def _counts(r: Report) -> list[tuple[str, str]]:
    c = r.counts
    rows = [("Alerts raised", str(c.alerts)),
            ("Rooms", ", ".join(f"{k} {v}" for k, v in c.rooms.items()) or "—"),
            ("People at the end", ", ".join(f"{k} {v}" for k, v in c.people.items()
                                            if v or k == "total"))]
    return rows + [(f"Channel {ch}", ", ".join(f"{k} {v}" for k, v in n.items()))
                   for ch, n in c.notifications.items()]


def to_markdown(r: Report) -> str:
    zone = zone_named(r.timezone)
    lines = [f"# {_md(r.title)}", "", *(f"- **{k}:** {_md(v)}" for k, v in _facts(r)), "",
             "## Milestones", "", "| milestone | time | after start |", "|---|---|---|"]
    lines += [f"| {m.label} | {_clock(m.at, zone)} | {_md(m.note or _dur(m.offset_s))} |"
              for m in r.milestones]
    lines += ["", "## What went wrong", "", *([f"- **{_at(f.offset_s)}** {_md(f.text)}"
                                               for f in r.findings] or [NOTHING_FOUND])]
    lines += report_compare.to_markdown(r.record, r.history, zone)
    lines += report_injects.to_markdown(r.injects)
    lines += report_reunification.to_markdown(r.reunification)
    lines += ["", "## Counts", "", *(f"- **{k}:** {_md(v)}" for k, v in _counts(r)), "",
              "## Timeline", "", "| time | after start | event | by | what |",
              "|---|---|---|---|---|"]
    lines += [f"| {_clock(x.at, zone)} | {_dur(x.offset_s)} | {x.type} | {_md(x.actor)} | "
              f"{_md(x.text)} |" for x in r.timeline]
    return "\n".join(lines) + "\n"


CSS = ("body{font:15px/1.4 system-ui,sans-serif;margin:2em auto;max-width:1000px;color:#222}"
       "blockquote{margin:.3em 0;padding:.3em .8em;border-left:4px solid #999;background:#f4f4f4}"
       "table{border-collapse:collapse;margin:.5em 0 1.5em;width:100%}"
       "td,th{border-bottom:1px solid #ddd;padding:.25em .5em;text-align:left;vertical-align:top}"
       "dt{font-weight:600;float:left;width:9em}dd{margin:0 0 .3em 9.5em}"
       ".drill{background:#fff3c4}.replay{background:#e4ecff}.tabletop{background:#e9f5ea}"
       "svg{width:100%;height:auto}"
       ".axis{stroke:#444}.ms{stroke:#999;stroke-dasharray:4 3}.lbl{font-size:11px}"
       ".alert{fill:#c62828}.room{fill:#1565c0}.people{fill:#2e7d32}.note{fill:#777}"
       ".acc{fill:none;stroke:#2e7d32;stroke-width:2}.unk{fill:none;stroke:#ef6c00;stroke-width:2}"
       "path.prot,path.acct{fill:none;stroke-width:2.5}path.prot{stroke:#1565c0}"
       "path.acct{stroke:#2e7d32}circle.prot,.prot-t{fill:#1565c0}circle.acct,.acct-t{fill:#2e7d32}"
       "circle.miss{fill:#fff;stroke-width:2}circle.prot.miss{stroke:#1565c0}"
       "circle.acct.miss{stroke:#2e7d32}.compare td:first-child{white-space:nowrap}"
       ".found li{margin:.2em 0}.record th{width:14em;font-weight:600}")
_LANES = {"AlertRaised": "alert", "ProtocolDeclared": "alert", "ProtocolLifted": "alert",
          "RoomStatusReported": "room", "PersonsAccounted": "people",
          "StudentCheckedIn": "people", "StudentReleased": "people"}
W, LEFT, RIGHT, TOP, BOTTOM = 960, 60, 30, 150, 290
AFTERWARDS = frozenset({"DrillSignedOff"})


def _svg(r: Report) -> str:
    """Events as marks on a time axis, milestones labelled, accountability as two lines."""
    # A sign-off may come weeks later: it is in the timeline, not on the incident's time axis.
    marks = [x for x in r.timeline if x.type not in AFTERWARDS]
    span = max([1.0, *(x.offset_s for x in marks), *(m.offset_s or 0.0 for m in r.milestones)])
    total = max(r.counts.people.get("total", 0), 1)

    def x(t: float) -> str:
        return f"{LEFT + (W - LEFT - RIGHT) * max(t, 0.0) / span:.1f}"

    def y(v: int) -> str:
        return f"{BOTTOM - (BOTTOM - TOP) * v / total:.1f}"

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} 320" role="img" '
           f'aria-label="Timeline chart"><line class="axis" x1="{LEFT}" y1="110" '
           f'x2="{W - RIGHT}" y2="110"/><line class="axis" x1="{LEFT}" y1="{BOTTOM}" '
           f'x2="{W - RIGHT}" y2="{BOTTOM}"/>']
    for i in range(6):
        t = span * i / 5
        out.append(f'<text class="lbl" x="{x(t)}" y="{BOTTOM + 16}" text-anchor="middle">'
                   f"{_h(_dur(t))}</text>")
    for i, m in enumerate(m for m in r.milestones if m.offset_s is not None):
        t = m.offset_s or 0.0
        anchor = "end" if t > span / 2 else "start"  # labels stay inside the chart's edges
        out.append(f'<line class="ms" x1="{x(t)}" y1="{16 + 14 * (i % 4)}" x2="{x(t)}" '
                   f'y2="{BOTTOM}"/><text class="lbl" x="{x(t)}" y="{12 + 14 * (i % 4)}" '
                   f'text-anchor="{anchor}">{_h(m.label)}</text>')
    for entry in marks:
        out.append(f'<circle class="{_LANES.get(entry.type, "note")}" cx="{x(entry.offset_s)}" '
                   f'cy="110" r="4"><title>{_h(_dur(entry.offset_s))} {_h(entry.type)}: '
                   f"{_h(entry.text)}</title></circle>")
    for field, css in (("accounted", "acc"), ("unknown", "unk")):
        if r.accountability:
            values = [(p.offset_s, getattr(p, field)) for p in r.accountability]
            path = f"M{x(values[0][0])},{y(values[0][1])}" + "".join(
                f" H{x(t)} V{y(v)}" for t, v in values[1:]) + f" H{x(span)}"
            out.append(f'<path class="{css}" d="{path}"><title>{field}</title></path>')
    out.append(f'<text class="lbl" x="{LEFT}" y="{TOP - 6}">accountability of {total}: '
               '<tspan class="acc">accounted (green)</tspan>, unknown (orange)</text></svg>')
    return "".join(out)


def _findings(r: Report) -> str:
    if not r.findings:
        return f"<p>{NOTHING_FOUND}</p>"
    return '<ul class="found">' + "".join(
        f"<li><b>{_h(_at(f.offset_s))}</b> {_h(f.text)}</li>" for f in r.findings) + "</ul>"


def to_html(r: Report) -> str:
    zone = zone_named(r.timezone)
    facts = "".join(f"<dt>{_h(k)}</dt><dd>{_h(v)}</dd>" for k, v in _facts(r))
    miles = [(m.label, _clock(m.at, zone), m.note or _dur(m.offset_s)) for m in r.milestones]
    rows = [(_clock(x.at, zone), _dur(x.offset_s), x.type, x.actor, x.text) for x in r.timeline]
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{_h(r.title)}'
            f'</title><style>{CSS}</style></head><body class="{_h(r.mode)}">'
            f"<h1>{_h(r.title)}</h1><dl>{facts}</dl><h2>Milestones</h2>"
            f"{_table(('milestone', 'time', 'after start'), miles)}"
            f"<h2>What went wrong</h2>{_findings(r)}"
            f"{report_compare.to_html(r.record, r.history, zone)}"
            f"{report_injects.to_html(r.injects)}"
            f"{report_reunification.to_html(r.reunification)}"
            "<h2>Timeline chart</h2>"
            f"{_svg(r)}<h2>Counts</h2>{_table(('what', 'count'), _counts(r))}<h2>Timeline</h2>"
            f"{_table(('time', 'after start', 'event', 'by', 'what'), rows)}</body></html>\n")

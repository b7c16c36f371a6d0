"""The drill record in the report: this incident's drill-log figures, side by side with the
site's previous drills of the same kind (found among a run of the site's events), and their trend
as an inline SVG chart (no script, no fetch: the report page's policy allows neither)."""

import math
from collections.abc import Iterable
from datetime import tzinfo

from command.domain import drill_log
from command.domain import events as e
from command.domain.drill_log import DrillRow, counted_as
from command.domain.report_format import NOT_REACHED, dur, h, md, md_table, table
from command.domain.site import Site

HEAD = ("date", "drill", "protective response", "accounted for", "duration", "rooms late",
        "people not accounted")
NONE_BEFORE = "No earlier drill of this kind at this site to compare with."
W, H, LEFT, RIGHT, TOP, BOTTOM = 960, 260, 70, 30, 30, 200
TICKS = (10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0)
SERIES = (("protective_s", "prot", "protective response"), ("accounted_s", "acct",
                                                           "accounted for"))


def same_kind(row: DrillRow, other: DrillRow) -> bool:
    """Whether `other` compares with `row`: the same category, else (none) the same kind."""
    if row.category is not None:
        return other.category == row.category
    return other.kind == row.kind


COMPARED_MODES = ("drill", "live")  # a tabletop or a replay is no drill to compare with


def earlier_rows(events: Iterable[tuple[int, e.Event]], config: Site | None = None,
                 ) -> list[DrillRow]:
    """Every drill and live incident opened among `events` (a site's, any order), as its row;
    each is folded with the last site file before its opening, else `config`."""
    latest: tuple[int, e.Event] | None = None
    groups: dict[str, list[tuple[int, e.Event]]] = {}
    for seq, ev in sorted(events, key=lambda x: x[0]):
        if isinstance(ev, e.SiteConfigured):
            latest = (seq, ev)
        elif ev.incident_id in groups:
            groups[ev.incident_id].append((seq, ev))
        elif isinstance(ev, e.IncidentOpened) and ev.incident_id and ev.mode in COMPARED_MODES:
            groups[ev.incident_id] = [*([latest] if latest else []), (seq, ev)]
    return [drill_log.row(found, config, incident_id=iid) for iid, found in groups.items()]


def may_be_same_kind(row: DrillRow, kind: str, action: str | None) -> bool:
    """Whether an incident of `kind` whose action is `action` may compare with `row`, before
    its events are read: a shelter's category waits on its hazard."""
    return (kind == row.kind or "shelter" in (kind, action)
            or drill_log.category(kind, action, None) == row.category)


def duration(row: DrillRow) -> float | None:
    return None if row.ended_at is None else (row.ended_at - row.started_at).total_seconds()


ROOMS_NAMED = 12  # a figure names this many rooms, then says how many more


def _rooms(ids: list[str], total: int) -> str:
    named = ", ".join(ids[:ROOMS_NAMED]) + (f" and {len(ids) - ROOMS_NAMED} more"
                                           if len(ids) > ROOMS_NAMED else "")
    return f"{len(ids)} of {total}" + (f" ({named})" if ids else "")


def figures(row: DrillRow, zone: tzinfo) -> list[tuple[str, str]]:
    """The record's fields, as the drill log and the state's form name them."""
    def time(s: float | None, why: str) -> str:
        return f"{NOT_REACHED}: {why}" if s is None else dur(s)

    started = row.started_at.astimezone(zone)
    ended = row.ended_at.astimezone(zone).strftime("%H:%M:%S") if row.ended_at else "—"
    people = ", ".join(f"{k} {v}" for k, v in row.participants.items())
    methods = "; ".join(f"{m.channel} ({m.method}): " + (
        "worked" if m.worked and not m.failed else f"worked after {m.failed} failed" if m.worked
        else f"FAILED ({m.failed} failed)") for m in row.notifications)
    return [("Drill type", f"{row.kind} ({row.mode}, {counted_as(row)})"),
            ("SRP action", row.action or "none declared"),
            ("Started", started.strftime("%Y-%m-%d %H:%M:%S %Z")),
            ("Protective response", time(row.protective_s, "not every room in place")),
            ("Accounted for", time(row.accounted_s, f"{row.unaccounted} not accounted for")),
            ("Ended", f"{ended}" + (f" ({row.ended_by.replace('_', ' ')})" if row.ended_by
                                    else " (still open)")),
            ("Duration", dur(duration(row)) if row.ended_at else "—"),
            ("First acknowledgement", "none" if row.first_ack_s is None else dur(row.first_ack_s)),
            ("Participants", people or "—"),
            ("Rooms late", _rooms(row.rooms_late, row.rooms_total)),
            ("Rooms never reported", _rooms(row.rooms_never, row.rooms_total)),
            ("People not accounted for", str(row.unaccounted)),
            ("Notification methods", methods or "none used"),
            *([("Notes", "; ".join(row.notes))] if row.notes else [])]


def _line(row: DrillRow, zone: tzinfo, this: bool) -> tuple[str, ...]:
    def t(s: float | None) -> str:
        return NOT_REACHED if s is None else dur(s)

    return (row.started_at.astimezone(zone).strftime("%Y-%m-%d") + (" (this)" if this else ""),
            f"{row.kind} ({row.mode})", t(row.protective_s), t(row.accounted_s),
            t(duration(row)) if row.ended_at else "open", str(len(row.rooms_late)),
            str(row.unaccounted))


def rows(record: DrillRow, history: list[DrillRow], zone: tzinfo) -> list[tuple[str, ...]]:
    return [*(_line(r, zone, False) for r in history), _line(record, zone, True)]


def to_markdown(record: DrillRow | None, history: list[DrillRow], zone: tzinfo) -> list[str]:
    if record is None:
        return []
    lines = ["", "## Drill record", "", *(f"- **{k}:** {md(v)}" for k, v in
                                          figures(record, zone)),
             "", "## Compared with earlier drills of this kind", ""]
    return lines + (md_table(HEAD, rows(record, history, zone)) if history else [NONE_BEFORE])


def to_html(record: DrillRow | None, history: list[DrillRow], zone: tzinfo) -> str:
    if record is None:
        return ""
    facts = "".join(f'<tr><th scope="row">{h(k)}</th><td>{h(v)}</td></tr>'
                    for k, v in figures(record, zone))
    out = (f'<h2>Drill record</h2><table class="record"><tbody>{facts}</tbody></table>'
           "<h2>Compared with earlier drills of this kind</h2>")
    if not history:
        return out + f"<p>{NONE_BEFORE}</p>"
    return out + table(HEAD, rows(record, history, zone), "compare") + trend(record, history,
                                                                             zone)


def trend(record: DrillRow, history: list[DrillRow], zone: tzinfo) -> str:
    """Protective response and accounted-for times, drill after drill, as two lines; a drill
    that never reached one is a hollow mark on the top edge."""
    drills = [*history, record]
    values = [getattr(r, f) for r in drills for f, *_ in SERIES]
    peak = max([30.0, *(v for v in values if v is not None)]) * 1.05
    tick = next((t for t in TICKS if t * 5 >= peak), 3600.0 * math.ceil(peak / 18000))
    top = tick * math.ceil(peak / tick)  # whole ticks, at most five, the highest mark below
    step = (W - LEFT - RIGHT) / max(len(drills) - 1, 1)

    def x(i: int) -> float:
        return LEFT + step * i if len(drills) > 1 else (LEFT + W - RIGHT) / 2

    def y(v: float) -> float:
        return BOTTOM - (BOTTOM - TOP) * v / top

    out = [f'<svg class="trend" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" '
           f'role="img" aria-label="Trend of protective response and accounted-for times over '
           f'{len(drills)} drills"><line class="axis" x1="{LEFT}" y1="{BOTTOM}" x2="{W - RIGHT}" '
           f'y2="{BOTTOM}"/><line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{BOTTOM}"/>']
    for i in range(round(top / tick) + 1):
        v = tick * i
        out.append(f'<text class="lbl" x="{LEFT - 6}" y="{y(v) + 4:.1f}" text-anchor="end">'
                   f"{h(dur(v))}</text>")
    for i, r in enumerate(drills):
        day = r.started_at.astimezone(zone).strftime("%Y-%m-%d")
        anchor = "start" if i == 0 and len(drills) > 1 else "end" if r is record \
            and len(drills) > 1 else "middle"  # the edges' labels stay inside the chart
        out.append(f'<text class="lbl" x="{x(i):.1f}" y="{BOTTOM + 16}" text-anchor="{anchor}">'
                   f"{h(day)}{' (this)' if r is record else ''}</text>")
    for field, css, label in SERIES:
        points = [(x(i), y(v)) for i, r in enumerate(drills) if (v := getattr(r, field))
                  is not None]
        if len(points) > 1:
            path = " ".join(f"{'M' if j == 0 else 'L'}{px:.1f},{py:.1f}"
                            for j, (px, py) in enumerate(points))
            out.append(f'<path class="{css}" d="{path}"/>')
        for i, r in enumerate(drills):
            v = getattr(r, field)
            said = f"{label}: {NOT_REACHED if v is None else dur(v)}"
            out.append(f'<circle class="{css}{" miss" if v is None else ""}" cx="{x(i):.1f}" '
                       f'cy="{y(v) if v is not None else TOP:.1f}" r="5"><title>'
                       f"{h(r.started_at.astimezone(zone).strftime('%Y-%m-%d'))} {h(said)}"
                       "</title></circle>")
    out.append(f'<text class="lbl" x="{LEFT}" y="{H - 10}"><tspan class="prot-t">● protective '
               'response</tspan>  <tspan class="acct-t">● accounted for</tspan>  (hollow: not '
               "reached)</text></svg>")
    return "".join(out)

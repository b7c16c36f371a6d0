"""The report's small text formats, shared by every section's renderer: clock times, offsets
after the start, and text escaped for Markdown or HTML."""

import html
from datetime import datetime, tzinfo

NOT_REACHED = "not reached"
NOT_SIGNED = "not yet signed off in Muster"


def clock(at: datetime | None, zone: tzinfo, date: bool = False) -> str:
    return at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z" if date else "%H:%M:%S") \
        if at else "—"


def dur(s: float | None) -> str:
    if s is None:
        return NOT_REACHED
    whole = int(s)
    h, m, sec = whole // 3600, whole % 3600 // 60, whole % 60
    return f"+{h}:{m:02d}:{sec:02d}" if h else f"+{m}:{sec:02d}"


def at(s: float | None) -> str:
    return "—" if s is None else dur(s)


def md(text: str) -> str:
    return html.escape(" ".join(text.split()), quote=False).replace("|", "\\|")


def md_table(head: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head),
            *("| " + " | ".join(md(c) for c in row) + " |" for row in rows)]


def h(text: object) -> str:
    return html.escape(str(text), quote=True)


def table(head: tuple[str, ...], rows: list[tuple[str, ...]], css: str = "") -> str:
    cells = "".join(f"<th>{h(x)}</th>" for x in head)
    body = "".join("<tr>" + "".join(f"<td>{h(c)}</td>" for c in row) + "</tr>" for row in rows)
    cls = f' class="{css}"' if css else ""
    return f"<table{cls}><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"

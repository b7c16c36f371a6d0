"""A tabletop's debrief, inject by inject: what the team did after each scripted inject until
the next one, and how long the first response took.

A participant's action is any event a person or device wrote on the incident (a protocol, a room
report, accountability, an acknowledgement, a note, reunification, the all clear or the close):
never the inject itself, nor the system's own records of sends.
"""

from collections.abc import Sequence
from datetime import datetime

import msgspec

from command.domain import events as e
from command.domain.report_format import at, dur, h, md, md_table, table
from command.domain.report_timeline import Entry, View, describe, offset

ACTIONS = frozenset({
    "AlertRaised", "ProtocolDeclared", "ProtocolLifted", "RoomStatusReported",
    "PersonsAccounted", "ResponderAcknowledged", "NoteAdded", "CommandTransferred",
    "StudentCheckedIn", "GuardianCheckedIn", "StudentReleased", "ReunificationOpened",
    "IncidentClosed", "IncidentCancelled"})


class InjectStep(msgspec.Struct, frozen=True, kw_only=True):
    index: int  # its place in the scenario, from 0
    text: str
    clock: str  # the script's own clock, "10:02"
    source: str
    offset_s: float  # when it was delivered, from the start
    until_s: float | None  # when the next inject came (None: the last one)
    expect: str | None = None  # what the scenario expected the team to do, if it says
    first_response_s: float | None = None  # from the inject to the first action; None: none
    actions: list[Entry] = []  # each with its offset from the start


def debrief(events: Sequence[e.Event], start: datetime, view: View | None) -> list[InjectStep]:
    """The steps of an incident's injects, in delivery order; [] when it had none."""
    steps: list[InjectStep] = []
    actions: list[Entry] = []
    for ev in events:
        if isinstance(ev, e.InjectDelivered):
            _close(steps, actions, offset(ev.occurred_at, start))
            actions = []
            steps.append(InjectStep(
                index=ev.data.index, text=ev.data.text, clock=ev.data.clock,
                source=ev.data.source, offset_s=offset(ev.occurred_at, start), until_s=None,
                expect=ev.data.expect))
        elif steps and e.type_of(ev) in ACTIONS and ev.actor.kind != "system":
            entry = describe(ev, start, view)
            if entry is not None:
                actions.append(entry)
    _close(steps, actions, None)
    return steps


def _close(steps: list[InjectStep], actions: list[Entry], until: float | None) -> None:
    """The last step, finished: its actions, its first response's delay and its end."""
    if not steps:
        return
    last = steps[-1]
    first = actions[0].offset_s - last.offset_s if actions else None
    steps[-1] = msgspec.structs.replace(last, actions=list(actions), first_response_s=first,
                                        until_s=until)


def _title(step: InjectStep) -> str:
    said = ", ".join(x for x in (step.clock, step.source) if x)
    return f"Inject {step.index + 1} at {at(step.offset_s)}" + (f" ({said})" if said else "")


def _facts(step: InjectStep) -> list[tuple[str, str]]:
    first = f"{round(step.first_response_s, 1):g} s after the inject" \
        if step.first_response_s is not None else "none before the next inject" \
        if step.until_s is not None else "none before the end"
    return [*([("Expected", step.expect)] if step.expect else []), ("First response", first)]


def _rows(step: InjectStep) -> list[tuple[str, str, str]]:
    return [(dur(a.offset_s - step.offset_s), a.actor, a.text) for a in step.actions]


HEAD = ("after the inject", "by", "what")


def to_markdown(steps: list[InjectStep]) -> list[str]:
    """The injects section's Markdown lines; none for an incident without injects."""
    if not steps:
        return []
    lines = ["", "## Injects: what the team did after each", ""]
    for step in steps:
        lines += [f"### {md(_title(step))}", "", f"> {md(step.text)}", "",
                  *(f"- **{k}:** {md(v)}" for k, v in _facts(step)), ""]
        lines += md_table(HEAD, _rows(step)) if step.actions else ["No action was taken."]
        lines.append("")
    return lines[:-1]


def to_html(steps: list[InjectStep]) -> str:
    if not steps:
        return ""
    out = ["<h2>Injects: what the team did after each</h2>"]
    for step in steps:
        facts = "".join(f"<dt>{h(k)}</dt><dd>{h(v)}</dd>" for k, v in _facts(step))
        out.append(f'<section class="inject"><h3>{h(_title(step))}</h3><blockquote>'
                   f"{h(step.text)}</blockquote><dl>{facts}</dl>"
                   + (table(HEAD, _rows(step)) if step.actions else "<p>No action was taken.</p>")
                   + "</section>")
    return "".join(out)

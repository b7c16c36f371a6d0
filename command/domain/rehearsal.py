"""A site file rehearsed through every consumer's pure fold before intake writes it.

Once in the stream an event is there for ever, and one no consumer can apply stops that
consumer at it: so intake (given this by the composition root) first folds the new site file
into a board with a press and an escalation at its first room, renders it for every role, and
works out the alerts, escalation timers, CAP document and report the consumers would.
"""

from datetime import timedelta

import msgspec

from command.domain import (
    alert_rules,
    board,
    board_render,
    cap,
    redact,
    report,
    report_print,
    report_render,
)
from command.domain import events as e
from command.domain.errors import Invalid


def _press(ev: e.SiteConfigured, mode: str) -> list[e.Envelope]:
    """An incident opened by a lockdown press at the site's first room, as intake writes one."""
    room = ev.data.rooms[0].id if ev.data.rooms else "room"
    common = {"site": ev.site, "incident_id": f"rehearsal-{mode}", "mode": mode,
              "occurred_at": ev.occurred_at, "recorded_at": ev.recorded_at, "actor": ev.actor}
    return [
        e.IncidentOpened(id=f"opened-{mode}", **common,  # type: ignore[arg-type]
                         data=e.IncidentOpenedData(kind="lockdown", room=room)),
        e.AlertRaised(id=f"alert-{mode}", **common,  # type: ignore[arg-type]
                      data=e.AlertRaisedData(kind="lockdown", room=room, action="lockdown")),
    ]


def _notify(state: board.State, event: e.Event) -> None:
    """The notifier's arithmetic for one event: its deliveries and their escalation timers."""
    config = state.config
    for d in alert_rules.deliveries(state, event):
        channel = next(ch for ch in config.channels if ch.name == d.channel)  # type: ignore[union-attr]
        if channel.escalate_after_s:
            due = event.occurred_at + timedelta(seconds=channel.escalate_after_s)
            due.isoformat()  # as PostgreSQL stores the timer
            for target in config.channels:  # type: ignore[union-attr]
                alert_rules.escalation(d, target, channel.escalate_after_s)


def apply(ev: e.SiteConfigured) -> None:
    """Every consumer's fold of `ev` and of a press after it; raises what one would."""
    for mode in ("live", "drill"):
        state = board.evolve(board.empty(ev.site), 1, ev)
        events: list[tuple[int, e.Event]] = [(1, ev)]
        for seq, follow in enumerate(_press(ev, mode), start=2):
            _notify(state, follow)  # type: ignore[arg-type]
            state = board.evolve(state, seq, follow)  # type: ignore[arg-type]
            events.append((seq, follow))  # type: ignore[arg-type]
        rendered = msgspec.json.decode(msgspec.json.encode(board_render.render(state)))
        for role in redact.HIDDEN:
            redact.board_view(rendered, role)
        cap.document(state)
        built = report.build(events, ev.data)
        report_render.to_html(built)
        report_render.to_markdown(built)
        report_print.to_print(built)


def rehearse(event: e.Envelope) -> None:
    """Intake's check for a site file: a 400 naming what failed, never a poison event."""
    if not isinstance(event, e.SiteConfigured):
        return
    try:
        apply(event)
    except Exception as exc:  # whatever a consumer would have met, met here instead
        raise Invalid(f"the site file cannot be applied: {type(exc).__name__}: {str(exc)[:200]}",
                      field="$") from None

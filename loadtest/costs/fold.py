"""What one event costs a live board as an incident grows: `python -m loadtest.costs.fold`.

The gateway folds each event into its site's board, renders it (with the board's memo), diffs it
against the last render and encodes the update once per role; the projector does the first two
per site and batch. This times exactly that, in process, with no I/O: demo-high (859 people, 40
rooms) in a drill, the events written by the real `decide`, timed for notes and for
accountability at a growing number of notes and of people accounted. A cost that grows with the
incident is paid on every event, by every site, for as long as the incident lasts.
"""

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta

from command.bootstrap.demo import DEMO_PATH
from command.domain import board, board_render
from command.domain import commands as c
from command.domain import events as e
from command.domain import site as site_file
from command.domain.decide import decide, seal
from command.domain.render_cache import Memo
from command.domain.site_state import Ctx, SiteState
from command.domain.site_state import evolve as fold_intake
from consumers.live_boards import Update

STAFF = e.Actor(kind="user", id="staff", role="staff")
BOSS = e.Actor(kind="user", id="principal", role="commander")
T0 = datetime(2026, 1, 1, tzinfo=UTC)


class Site:
    """One site's intake state and live board, written through `decide` as intake does."""

    def __init__(self, doc: site_file.Site) -> None:
        self.doc = doc
        now = T0
        configured = e.SiteConfigured(id=e.new_id(), site=doc.id, occurred_at=now,
                                      recorded_at=now, actor=e.SYSTEM, data=doc)
        self.intake = fold_intake(SiteState(), configured)
        self.seq = 1
        self.state = board.evolve(board.empty(doc.id), self.seq, configured)
        self.memo = Memo()
        self.rendered = board_render.render(self.state, self.memo)
        self.incident: str | None = None

    def write(self, cmd: c.Command, actor: e.Actor) -> float:
        """Decide and seal `cmd`, then time the board's share: fold, render, diff, encode."""
        ctx = Ctx(site=self.doc.id, actor=actor, now=T0 + timedelta(seconds=self.seq),
                  incident_id=self.incident, room=None, new_incident_id=e.new_id(),
                  commander=actor.role == "commander")
        drafts = decide(self.intake, cmd, ctx)
        events = seal(drafts, ctx, [e.new_id() for _ in drafts])
        started = time.perf_counter()
        for event in events:
            self.seq += 1
            before = self.rendered
            self.state = board.evolve(self.state, self.seq, event)
            self.rendered = board_render.render(self.state, self.memo)
            Update(self.seq, event, board_render.diff(before, self.rendered)).message("staff")
        spent = time.perf_counter() - started
        for event in events:
            self.intake = fold_intake(self.intake, event)
        self.incident = self.incident or events[0].incident_id
        return spent


def median_us(times: list[float]) -> float:
    return sorted(times)[len(times) // 2] * 1e6


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m loadtest.costs.fold", description=__doc__)
    p.add_argument("--steps", type=int, default=4, help="sizes measured (default 4)")
    p.add_argument("--per-step", type=int, default=200,
                   help="notes and people accounted between sizes (default 200)")
    args = p.parse_args(argv)
    s = Site(site_file.load(DEMO_PATH))
    s.write(c.StartDrill(scenario="lockdown"), BOSS)
    people = [person.id for person in s.doc.people]
    print(f"{'notes':>6} {'accounted':>9} {'note event (us)':>16} {'accounted event (us)':>21}")
    for step in range(args.steps):
        notes = [s.write(c.AddNote(text=f"hallway check {step}.{i} done"), STAFF)
                 for i in range(args.per_step)]
        start = step * args.per_step
        chosen = people[start:start + args.per_step]
        accounted = [s.write(c.AccountPersons(entries=[e.AccountingEntry(
            person_id=pid, status="accounted")]), STAFF) for pid in chosen]
        case = board.current(s.state)
        assert case is not None
        print(f"{len(case.notes):>6} {len(case.people):>9} {median_us(notes):>16.0f} "
              f"{median_us(accounted) if accounted else float('nan'):>21.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The site directory: each site's decision state folded from the stream, and the site of each
incident, with the answers index fed by the same fold.

Each site's state is kept in memory, folded from the stream at start and kept current by an
ordered consumer, so several intake replicas can run side by side: an append carries the site's
expected last sequence, and a replica that lost the race catches up and decides again.
"""

import asyncio
import contextlib
import time
from collections.abc import Callable

import msgspec

from command.domain import events as e
from command.domain.site_state import SiteState, evolve
from command.write.answers import Answers


class SiteDirectory:
    """Each site's `SiteState` and each incident's site, as of stream sequence `applied`."""

    def __init__(self, answers: Answers) -> None:
        self.answers = answers
        self.states: dict[str, SiteState] = {}
        self.incident_site: dict[str, str] = {}
        self.applied = 0
        self._tick = asyncio.Event()

    def apply(self, seq: int, event: e.Event) -> None:
        """Fold one event; one already folded (written here, then read back) changes nothing."""
        state = self.states.get(event.site) or SiteState()
        if seq > state.seq:
            self.states[event.site] = msgspec.structs.replace(evolve(state, event), seq=seq)
            self.answers.note(seq, event)
            if event.incident_id:
                self.incident_site[event.incident_id] = event.site
        self._moved(seq)

    def skip(self, seq: int, site: str) -> None:
        """An event this version cannot read still moves its site's sequence on."""
        state = self.states.get(site) or SiteState()
        self.states[site] = msgspec.structs.replace(state, seq=max(state.seq, seq))
        self._moved(seq)

    def _moved(self, seq: int) -> None:
        self.applied = max(self.applied, seq)
        self._tick.set()
        self._tick = asyncio.Event()

    def state(self, site: str) -> SiteState:
        return self.states.get(site) or SiteState()

    def site_of(self, incident_id: str) -> str | None:
        return self.incident_site.get(incident_id)

    async def wait_until(self, done: Callable[[], bool], timeout: float) -> bool:
        """Wait, folding meanwhile, until `done()`; False if `timeout` passes first."""
        deadline = time.monotonic() + timeout
        while not done():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._tick.wait(), timeout=min(left, 0.05))
        return True

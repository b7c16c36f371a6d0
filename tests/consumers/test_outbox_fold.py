"""The notifier's fold at start-up: an outage then is waited out, never the end of alerting."""

import asyncio
from typing import Any

import asyncpg

from consumers.outbox_fold import OutboxFold


class CutPool:
    """A pool whose first `cuts` queries fail as a connection cut mid-operation does."""

    def __init__(self, cuts: int) -> None:
        self.cuts = cuts
        self.queries = 0

    def _query(self) -> None:
        self.queries += 1
        if self.cuts:
            self.cuts -= 1
            raise asyncpg.exceptions.InternalClientError("cannot switch to state 12")

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        self._query()
        return []

    async def fetchval(self, sql: str, *args: Any) -> int:
        self._query()
        return 0


async def test_a_database_away_at_start_up_is_waited_out() -> None:
    pool = CutPool(cuts=2)
    fold = OutboxFold(None, pool, lambda: None)  # type: ignore[arg-type]
    await asyncio.wait_for(fold.resume(), 5)
    assert pool.cuts == 0 and fold.position == 0 and fold.faults == {}
    await fold.alerter.stop()


async def test_a_stop_ends_the_wait() -> None:
    fold = OutboxFold(None, CutPool(cuts=10**9), lambda: None)  # type: ignore[arg-type]
    task = asyncio.create_task(fold.resume())
    await asyncio.sleep(0.1)
    fold.stopping = True
    await asyncio.wait_for(task, 2)
    await fold.alerter.stop()

"""The NATS and PostgreSQL a process runs against: the configured ones, or embedded ones started
under the data dir. `muster up` and every one-off command start them here, and stop them here.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol

from command.bootstrap import runtime_file
from command.infra import credentials
from command.infra.config import Settings
from command.infra.embedded import EmbeddedNats, EmbeddedPostgres


class Server(Protocol):
    def start(self) -> str: ...

    def stop(self) -> None: ...


class Servers:
    """Starts the servers that no URL names, and stops the ones it started, last first."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.started: list[Server] = []
        self._starting: list[asyncio.Future[str]] = []

    async def start(self, nats_url: str, db_url: str, need_nats: bool = True,
                    need_db: bool = True) -> tuple[str, str]:
        """The two URLs: each given one as it is, each missing one from a server started now."""
        if (need_nats and not nats_url) or (need_db and not db_url):
            credentials.private_dir(self.data_dir)  # the servers' passwords are kept in it
        if need_nats and not nats_url:
            nats_url = await self._start(EmbeddedNats(self.data_dir / "nats"))
        if need_db and not db_url:
            db_url = await self._start(EmbeddedPostgres(self.data_dir / "pg"))
        return nats_url, db_url

    async def _start(self, server: Server) -> str:
        self.started.append(server)  # stopped even when its start fails half way
        # stop() waits for this: a cancelled await leaves its thread starting the server.
        self._starting.append(asyncio.get_running_loop().run_in_executor(None, server.start))
        return await self._starting[-1]

    async def stop(self) -> None:
        loop = asyncio.get_running_loop()
        await asyncio.gather(*self._starting, return_exceptions=True)
        for server in reversed(self.started):
            await loop.run_in_executor(None, server.stop)
        self.started.clear()
        self._starting.clear()


@contextlib.asynccontextmanager
async def for_command(settings: Settings, need_nats: bool = True,
                      need_db: bool = True) -> AsyncIterator[tuple[str, str]]:
    """A one-off command's NATS and PostgreSQL URLs: configured ones, a running `muster up`'s,
    or embedded ones started for this command alone and stopped after it."""
    nats_url, db_url = settings.nats_url, settings.database_url
    if info := runtime_file.read(settings):
        nats_url = nats_url or info["nats_url"]
        db_url = db_url or info["database_url"]
    servers = Servers(Path(settings.data_dir))
    try:
        yield await servers.start(nats_url, db_url, need_nats, need_db)
    finally:
        await servers.stop()

"""The write side of a running Muster: intake, the site-file parser, and the desk that a notifier
in a process of its own records through. `Muster` builds it when the intake component runs, and
in the emergency listener's process, where it takes the life-safety commands alone.
"""

from aiohttp import web

from command.domain import rehearsal
from command.infra.auth import TokenStore
from command.infra.eventlog import EventLog
from command.write.intake import Intake
from command.write.notification_records import RecordDesk
from command.write.routes import emergency_routes, observe_latency, write_routes
from command.write.site_parse import SiteParser


class WriteSide:
    def __init__(self, log: EventLog, site_parse_timeout_s: float) -> None:
        self.intake = Intake(log, observe=observe_latency, rehearse=rehearsal.rehearse)
        self.site_parse_timeout_s = site_parse_timeout_s
        self.parser: SiteParser | None = None
        self.desk: RecordDesk | None = None
        self.emergency = False

    async def start(self, desk: str = "", emergency: bool = False) -> None:
        """Fold the stream into intake; with a `desk` subject, take the records of a notifier
        apart there; `emergency` serves only the life-safety commands (no site files, so no
        parser)."""
        await self.intake.start()
        self.emergency = emergency
        if not emergency:
            self.parser = SiteParser(self.site_parse_timeout_s)  # its worker starts meanwhile
        if desk:
            self.desk = RecordDesk(self.intake, desk)
            await self.desk.start()

    def routes(self, tokens: TokenStore) -> list[web.RouteDef]:
        if self.emergency:
            return emergency_routes(self.intake, tokens)
        assert self.parser is not None, "start() first"
        return write_routes(self.intake, tokens, self.parser)

    async def stop(self) -> None:
        if self.desk is not None:
            await self.desk.stop()
        await self.intake.stop()
        if self.parser is not None:
            self.parser.close()

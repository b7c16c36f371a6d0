"""The servers a process runs against: a given URL is used as it is, and nothing is started, not
even a folder made, for a server that is named or not needed. (Starting the embedded ones is
covered with real servers in tests/integration/test_cli.py.)"""

from pathlib import Path

from command.bootstrap.servers import Servers, for_command
from command.infra.config import Settings


async def test_given_urls_start_nothing(tmp_path: Path) -> None:
    servers = Servers(tmp_path / "data")
    assert await servers.start("nats://n:4222", "postgresql://p/db") == (
        "nats://n:4222", "postgresql://p/db")
    assert servers.started == [] and not (tmp_path / "data").exists()
    await servers.stop()


async def test_a_server_not_needed_is_not_started(tmp_path: Path) -> None:
    servers = Servers(tmp_path / "data")
    assert await servers.start("", "postgresql://p/db", need_nats=False) == (
        "", "postgresql://p/db")
    assert await servers.start("nats://n:4222", "", need_db=False) == ("nats://n:4222", "")
    assert servers.started == [] and not (tmp_path / "data").exists()


async def test_a_command_uses_the_configured_servers(tmp_path: Path) -> None:
    settings = Settings(data_dir=str(tmp_path / "data"), nats_url="nats://n:4222",
                        database_url="postgresql://p/db")
    async with for_command(settings) as urls:
        assert urls == ("nats://n:4222", "postgresql://p/db")
    assert not (tmp_path / "data").exists()

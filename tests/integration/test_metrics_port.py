"""`/metrics` has no token, so it is not on the API's port: it has an address of its own, on
loopback unless MUSTER_METRICS_HOST says otherwise (issue #14, item 6)."""

from pathlib import Path

import aiohttp
import msgspec
import pytest

from command.bootstrap.muster import Muster, PortInUse
from command.infra.config import Settings
from command.infra.embedded import free_port
from tests.conftest import App


async def test_metrics_answer_on_loopback_and_not_on_the_api_port(app: App) -> None:
    m = app.muster
    async with aiohttp.ClientSession() as http:
        for path in ("/metrics", "/metrics/notifier"):
            async with http.get(f"{app.url}{path}") as resp:
                assert resp.status == 404, path
        assert m.metrics_runner is not None and m.metrics_url.endswith("/metrics")
        bound = [s.getsockname()[0] for site in m.metrics_runner.sites
                 for s in site._server.sockets]  # type: ignore[union-attr]
        assert bound == ["127.0.0.1"]
        assert m.metrics_port not in (0, m.port)
        async with http.get(m.metrics_url) as resp:
            assert resp.status == 200
            assert "muster_intake_requests_total" in await resp.text()
        # The metrics address serves metrics alone: no API behind it.
        base = m.metrics_url.removesuffix("/metrics")
        async with http.get(f"{base}/v1/sites/test-high/board") as resp:
            assert resp.status == 404
    assert Settings().metrics_host == "127.0.0.1"


async def test_a_fixed_metrics_port_is_used_and_a_taken_one_fails_before_anything_starts(
        nats_url: str, database_url: str, tmp_path: Path) -> None:
    port = free_port()
    settings = Settings(nats_url=nats_url, database_url=database_url, http_port=0,
                        metrics_port=port, data_dir=str(tmp_path / "data"))
    m = Muster(settings, say=lambda _: None)
    try:
        await m.start()
        assert m.metrics_url == f"http://127.0.0.1:{port}/metrics"
        assert msgspec.json.decode(settings.runtime_file.read_bytes())["metrics_url"] == \
            m.metrics_url
        second = Muster(msgspec.structs.replace(settings, data_dir=str(tmp_path / "d2")),
                        say=lambda _: None)
        with pytest.raises(PortInUse, match="MUSTER_METRICS_PORT"):
            await second.start()
        assert second.nc is None  # refused before any server was reached
        await second.stop()
    finally:
        await m.stop()

"""Who reads a board (issue 18): `GET /v1/me` tells a page its token's role, and the readers of
a live site may watch the replays of its incidents, over HTTP and WebSocket, while another
site's readers may not."""

import aiohttp
import pytest
from websockets.exceptions import InvalidStatus

from command.domain.types import ROLES
from consumers.replay import replay
from tests.conftest import App
from tests.integration.test_board_ws import Http, board_ws, caught_up, receive, ws_url


async def me(http: aiohttp.ClientSession, app: App, header: str) -> tuple[int, dict]:
    async with http.get(app.url + "/v1/me", headers={"Authorization": header}) as resp:
        return resp.status, await resp.json()


async def test_me_tells_every_role_who_its_token_speaks_for(app: App) -> None:
    async with aiohttp.ClientSession() as http:
        for role in ROLES:
            for site in ("test-high", "*"):
                status, body = await me(http, app, f"Bearer {await app.token(role, site)}")
                assert status == 200, (role, site, body)
                assert (body["role"], body["site"], body["expires_at"]) == (role, site, None)
                assert body["name"].startswith(f"{role}-")
        for bad in ("Bearer mst_forged", "Basic abc", ""):
            status, body = await me(http, app, bad)
            assert status == 401 and body["error"], (bad, body)


async def replayed(app: App, http: Http) -> tuple[str, str]:
    """A short lockdown at test-high, ended, then replayed: its id and the replay's site."""
    incident = (await http.press())["incident_id"]
    await http.report(incident, "B-112", present=2)
    boss = await app.token("commander")
    await http.post(f"/v1/incidents/{incident}/all-clear", {}, boss)
    await app.wait_projected(await app.log.last_seq())
    site = await replay(app.log, incident, speed=1000, sleep=_no_wait)
    assert app.muster.gateway is not None
    last = await app.log.last_seq()
    await caught_up(app.muster.gateway, last, site)
    await app.wait_projected(last)
    return incident, site


async def _no_wait(_: float) -> None:
    return None


async def test_the_live_sites_readers_may_watch_its_replays_and_no_one_else(app: App) -> None:
    async with aiohttp.ClientSession() as session:
        http = Http(app, session)
        _, site = await replayed(app, http)
        own = await app.token("commander")
        async with board_ws(ws_url(app.url, own, site=site)) as ws:
            snapshot = (await receive(ws))["board"]
        assert (snapshot["site"], snapshot["mode"]) == (site, "replay")
        assert "responder_packet" in snapshot and "roster" in snapshot
        for role in ("staff", "responder", "dispatch"):  # each sees what its role may
            async with board_ws(ws_url(app.url, await app.token(role), site=site)) as ws:
                seen = (await receive(ws))["board"]
            assert ("roster" in seen) == (role == "staff"), role
        async with session.get(app.url + f"/v1/sites/{site}/board",
                               headers={"Authorization": f"Bearer {own}"}) as resp:
            assert resp.status == 200 and (await resp.json())["site"] == site
        for refused in (await app.token("commander", "other-school"),
                        await app.token("device")):
            with pytest.raises(InvalidStatus) as no:
                async with board_ws(ws_url(app.url, refused, site=site)):
                    pass
            assert no.value.response.status_code == 403
            async with session.get(app.url + f"/v1/sites/{site}/board",
                                   headers={"Authorization": f"Bearer {refused}"}) as resp:
                assert resp.status == 403
        everywhere = await app.token("commander", "*")
        async with board_ws(ws_url(app.url, everywhere, site=site)) as ws:
            assert (await receive(ws))["board"]["site"] == site


async def test_a_replay_site_of_no_known_incident_stays_refused(app: App) -> None:
    """A token bound to a live site reads no `replay-...` board of an incident never held."""
    async with aiohttp.ClientSession() as session:
        own = await app.token("commander")
        async with session.get(app.url + "/v1/sites/replay-nothing-here/board",
                               headers={"Authorization": f"Bearer {own}"}) as resp:
            assert resp.status == 403


async def test_the_live_sites_readers_may_read_a_replayed_incidents_timeline(app: App) -> None:
    """The replay board's room history comes from the replayed incident's timeline: the live
    site's readers read it (a debrief), another site's do not."""
    async with aiohttp.ClientSession() as session:
        http = Http(app, session)
        _, site = await replayed(app, http)
        row = await app.muster.pool.fetchrow(  # type: ignore[union-attr]
            "SELECT id FROM incidents WHERE site=$1", site)
        assert row is not None
        path = f"/v1/incidents/{row['id']}/timeline"
        own = await app.token("staff")
        async with session.get(app.url + path, headers={"Authorization": f"Bearer {own}"}) as r:
            assert r.status == 200
            kinds = [ev["type"] for ev in (await r.json())["events"]]
        assert "RoomStatusReported" in kinds
        other = await app.token("staff", "other-school")
        async with session.get(app.url + path, headers={"Authorization": f"Bearer {other}"}) as r:
            assert r.status == 403

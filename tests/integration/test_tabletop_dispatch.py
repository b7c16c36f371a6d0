"""No 911 subscriber hears of a tabletop over STA-024: a `new` subscription is told nothing of
one however it goes on, a `single` one naming it is refused as an incident it may not hear of,
and a live press during the tabletop is notified at once (the subscription works)."""

import aiohttp

from tests.conftest import App
from tests.integration.cad_ws import Cad, cad_socket
from tests.integration.test_dispatch_ws import RESEND_S, SITE, app, command, press

__all__ = ["app"]  # this module's `app`: the dispatch tests' fast-resending Muster


async def test_a_tabletop_is_never_notified_to_a_911_subscriber(app: App) -> None:
    opened = await command(app, f"/v1/sites/{SITE}/tabletops",
                           {"scenario": "armed-intruder-dismissal"}, "commander")
    tabletop = str(opened["incident_id"])
    async with cad_socket(app.url, await app.token("dispatch")) as ws:
        cad = Cad(ws)
        assert (await cad.subscribe(requestSubType="new"))["statusCode"] == 200
        by_id = await cad.subscribe(requestSubType="single", incidentId=tabletop)
        assert by_id["statusCode"] == 404 and "subscriptionId" not in by_id
        for path, body in [
            ("injects", {"index": 0, "text": "A man with a gun by the buses."}),
            ("protocol", {"action": "lockdown"}),
            ("rooms/B-112/status", {"status": "secured"}),
            ("all-clear", {}),
        ]:
            role = "staff" if path.startswith("rooms") else "commander"
            await command(app, f"/v1/incidents/{tabletop}/{path}", body, role)
        await cad.quiet(RESEND_S * 3)
        real = await press(app)
        notified = await cad.settle()
        doc = notified["event"]["notification"][0]
        assert doc["incidentComponent"]["internalIncidentId"] == real != tabletop
    async with aiohttp.ClientSession() as http:  # nor is it read by its id: 404, as unknown
        for role in ("dispatch", "commander"):
            headers = {"Authorization": f"Bearer {await app.token(role)}"}
            async with http.get(f"{app.url}/v1/incidents/{tabletop}/eido",
                                headers=headers) as resp:
                assert resp.status == 404, role
            async with http.get(f"{app.url}/v1/incidents/{real}/eido", headers=headers) as resp:
                assert resp.status == 200, role

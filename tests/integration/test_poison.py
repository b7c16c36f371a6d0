"""Poison events (issue 14, item 1) on real NATS, PostgreSQL and Apprise.

A site file with a number no reader can take back (NaN, which JSON stores as null; infinity;
1e12 seconds, which overflows a timedelta) is refused at the door with the field's path and
writes nothing; and such an event already in the stream, written by an older version, is read
with the field's default by every consumer, which goes on to the next press.
"""

from typing import Any

import aiohttp
import asyncpg
import msgspec
import pytest

from command.domain import commands as c
from command.domain import events as e
from command.domain import rehearsal
from command.domain.errors import Invalid
from command.domain.site import Channel, Site
from command.infra import db
from command.infra.eventlog import EventLog
from command.write.intake import Intake
from consumers import projection_batch as batch
from consumers import report_api
from tests.conftest import App, Sink, small_site

SITE = "test-high"
GOOD = (b'id = "test-high"\nname = "Test High"\n[[rooms]]\nid = "A-101"\nname = "English"\n'
        b'[[channels]]\nname = "sro"\nurl = "json://127.0.0.1:9/"\nescalate_to = ["sro"]\n')


def toml_with(line: bytes, table: bytes = b"") -> bytes:
    """The good file with one key set: at the top, or in the first table named `table`."""
    if not table:
        return line + b"\n" + GOOD
    head, sep, rest = GOOD.partition(b"[[" + table + b"]]\n")
    return head + sep + line + b"\n" + rest


# (the site file, its content type, the JSON path the 400 must name)
HOSTILE: list[tuple[bytes, str, str]] = [
    (toml_with(b"cancel_window_s = nan"), "toml", "$.cancel_window_s"),
    (toml_with(b"cancel_window_s = -inf"), "toml", "$.cancel_window_s"),
    (toml_with(b"cancel_window_s = inf"), "toml", "$.cancel_window_s"),
    (toml_with(b"cancel_window_s = 1e12"), "toml", "$.cancel_window_s"),
    (toml_with(b"escalate_after_s = 1e12", b"channels"), "toml", "$.channels[0].escalate_after_s"),
    (toml_with(b"escalate_after_s = nan", b"channels"), "toml", "$.channels[0].escalate_after_s"),
    (toml_with(b"escalate_after_s = -1.0", b"channels"), "toml", "$.channels[0].escalate_after_s"),
    (toml_with(b"floor = 1000000000000", b"rooms"), "toml", "$.rooms[0].floor"),
    (toml_with(b"floor = -9223372036854775808", b"rooms"), "toml", "$.rooms[0].floor"),
    (toml_with(b'timezone = "' + b"a" * 300 + b'"'), "toml", "$.timezone"),
    (b'{"id": "test-high", "name": "T", "cancel_window_s": 1e400}', "json", "$.cancel_window_s"),
    (b'{"id": "test-high", "name": "T", "cancel_window_s": -1e400}', "json",
     "$.cancel_window_s"),
    (b'{"id": "test-high", "name": "T", "channels": [{"name": "sro", "url": "json://x/", '
     b'"escalate_after_s": 1e12}]}', "json", "$.channels[0].escalate_after_s"),
    (b'{"id": "test-high", "name": "T", "rooms": [{"id": "A", "name": "A", "floor": 1'
     + b"0" * 30 + b"}]}", "json", "$.rooms[0].floor"),
]


async def put_site(app: App, body: bytes, kind: str) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {await app.token('admin')}",
               "Content-Type": f"application/{kind}"}
    async with aiohttp.ClientSession() as http, http.put(
            f"{app.url}/v1/sites/{SITE}", data=body, headers=headers) as resp:
        return resp.status, await resp.json()


@pytest.mark.parametrize(("body", "kind", "path"), HOSTILE,
                         ids=[f"{k}:{p}:{i}" for i, (_, k, p) in enumerate(HOSTILE)])
async def test_a_site_file_with_a_number_no_reader_takes_back_is_refused_naming_it(
        app: App, body: bytes, kind: str, path: str) -> None:
    before = await app.log.last_seq()
    status, answer = await put_site(app, body, kind)
    assert status == 400, answer
    assert answer["error"]["code"] == "invalid" and answer["error"]["field"] == path, answer
    assert await app.log.last_seq() == before
    # The same file with the number in bounds is accepted: the refusal was for that number.
    good = GOOD if kind == "toml" else b'{"id": "test-high", "name": "T"}'
    status, answer = await put_site(app, good, kind)
    assert status == 202, answer
    assert await app.log.last_seq() == before + 1


def poisoned(sink: Sink, edit: Any) -> bytes:
    """A SiteConfigured as an older version wrote it: schema-shaped, then one value broken."""
    config = msgspec.structs.replace(small_site(), channels=[
        Channel(name="sro", url=sink.url("sro"), escalate_after_s=5.0, escalate_to=["sro"])])
    doc = msgspec.to_builtins(e.SiteConfigured(id=e.new_id(), site=SITE, occurred_at=e.now(),
                                               recorded_at=e.now(), data=config))
    edit(doc["data"])
    return msgspec.json.encode(doc)


async def test_poison_already_in_the_stream_is_read_with_defaults_and_every_consumer_goes_on(
        app: App, sink: Sink, caplog: pytest.LogCaptureFixture) -> None:
    """The issue's two reproductions, written raw to JetStream as an old version did: NaN stored
    as null, and 1e12 seconds before escalating. The projector, the notifier and intake apply
    both and carry on: the next press reaches the board and the alert channel."""
    raws = [poisoned(sink, lambda d: d.update(cancel_window_s=None)),
            poisoned(sink, lambda d: d["channels"][0].update(escalate_after_s=1e12))]
    for raw in raws:
        ack = await app.log.js.publish(app.log.subject(SITE, None), raw,
                                       headers={"Nats-Msg-Id": msgspec.json.decode(raw)["id"]})
    intake = app.muster.intake
    assert intake is not None
    assert await intake.wait_until(lambda: intake.state(SITE).seq >= ack.seq, timeout=10)
    config = intake.state(SITE).site
    assert config is not None and config.cancel_window_s == 10.0
    assert config.channels[0].escalate_after_s is None and config.channels[0].url == sink.url("sro")

    async with aiohttp.ClientSession() as http, http.post(
            f"{app.url}/v1/sites/{SITE}/alerts", json={"kind": "lockdown", "room": "B-112"},
            headers={"Authorization": f"Bearer {await app.token('device')}"}) as resp:
        assert resp.status == 202, await resp.text()
        pressed = await resp.json()
    await app.wait_projected(pressed["seq"], timeout=15)
    assert app.muster.pool is not None
    board = msgspec.json.decode(await app.muster.pool.fetchval(
        "SELECT board FROM boards WHERE site=$1", SITE))
    assert board["incident"]["id"] == pressed["incident_id"]
    assert board["protocol"]["action"] == "lockdown"
    await sink.wait_for(1, "sro")  # the alert after the poison reached its channel
    assert "LOCKDOWN" in sink.to("sro")[0]["title"]
    logged = " ".join(r.getMessage() for r in caplog.records if r.name == "muster.events")
    assert "$.data.cancel_window_s" in logged and "$.data.channels[0].escalate_after_s" in logged


ADMIN = e.Actor(kind="user", id="admin", role="admin")


@pytest.mark.parametrize(("site", "path"), [
    # Structs are not validated when built in code (`muster up --demo`, a test, an importer):
    # intake's round trip is what stops these, as JSON turns NaN into null.
    (msgspec.structs.replace(small_site(), cancel_window_s=float("nan")), "$.cancel_window_s"),
    (msgspec.structs.replace(small_site(), cancel_window_s=float("inf")), "$.cancel_window_s"),
    (msgspec.structs.replace(small_site(), rooms=[msgspec.structs.replace(
        small_site().rooms[0], floor=10**30)]), "$.rooms[0].floor"),
])
async def test_intake_refuses_an_event_its_readers_cannot_read_back(
        eventlog: EventLog, site: Site, path: str) -> None:
    intake = Intake(eventlog, rehearse=rehearsal.rehearse)
    await intake.start()
    with pytest.raises(Invalid) as refused:
        await intake.execute(SITE, c.ConfigureSite(site=site), ADMIN)
    assert refused.value.field == path and refused.value.code == "invalid"
    assert await eventlog.last_seq() == 0
    await intake.stop()


async def test_only_a_site_file_is_rehearsed_and_a_failed_rehearsal_writes_nothing(
        eventlog: EventLog) -> None:
    seen: list[str] = []

    def rehearse(event: e.Envelope) -> None:
        seen.append(e.type_of(event))
        rehearsal.rehearse(event)
        if isinstance(event, e.SiteConfigured) and event.data.name == "Refused High":
            raise Invalid("a consumer could not apply it", field="$")

    intake = Intake(eventlog, rehearse=rehearse)
    await intake.start()
    await intake.execute(SITE, c.ConfigureSite(site=small_site()), ADMIN)
    await intake.execute(SITE, c.RaiseAlert(kind="lockdown", room="GYM"),
                         e.Actor(kind="device", id="b-1", role="device"))
    assert seen == ["SiteConfigured"]  # a press is never folded twice on its way in
    written = await eventlog.last_seq()
    with pytest.raises(Invalid):
        await intake.execute(SITE, c.ConfigureSite(
            site=msgspec.structs.replace(small_site(), name="Refused High")), ADMIN)
    assert await eventlog.last_seq() == written
    await intake.stop()


async def test_a_site_file_a_read_model_stored_beyond_todays_bounds_still_loads(
        database_url: str) -> None:
    """The projector starts by loading every site's stored file: one an older version stored
    with a floor or zone out of today's bounds must not stop it (nor a report that reads it)."""
    config = msgspec.to_builtins(small_site())
    config["rooms"][0]["floor"] = 10**6
    config["timezone"] = "Z" * 200
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    try:
        await db.migrate(pool)
        await pool.execute("INSERT INTO sites(site, seq, config) VALUES ($1, 1, $2)", SITE,
                           msgspec.json.encode(config).decode())
        await batch.load_states(pool)
        _, loaded = await report_api.load(pool, "no-such-incident", SITE)
        assert loaded is not None
        assert (loaded.rooms[0].floor, loaded.timezone) == (1, "UTC")
        assert loaded.rooms[1:] == small_site().rooms[1:]
    finally:
        await pool.close()

"""The live board over WebSocket (CONTRACT §3), end to end against real NATS and PostgreSQL:
a snapshot then ordered updates, resume with `since`, slow clients dropped, auth before upgrade."""

import asyncio
import contextlib
import itertools
import socket
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import msgspec
import pytest
from aiohttp import web
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from command.domain.site import Site
from command.infra.web import make_app
from consumers.api import live_routes
from consumers.gateway import Gateway
from tests.conftest import App

SITE = "test-high"
BIG = "big-high"
BOARD_KEYS = {"site", "seq", "mode", "incident", "protocol", "rooms", "accountability",
              "dispatch", "acks", "notifications"}
ROOMS = ("A-101", "A-102", "B-112", "GYM")
STATUSES = ("secured", "clear", "needs_help", "evacuated", "unreachable")


class Http:
    """One aiohttp session posting commands with a bearer token."""

    def __init__(self, app: App, session: aiohttp.ClientSession) -> None:
        self.app = app
        self.session = session

    async def post(self, path: str, body: object, token: str) -> dict[str, Any]:
        async with self.session.post(self.app.url + path, json=body,
                                     headers={"Authorization": f"Bearer {token}"}) as resp:
            answer = await resp.json()
            assert resp.status == 202, (path, resp.status, answer)
            return answer

    async def press(self, kind: str = "lockdown", room: str = "B-112", site: str = SITE,
                    ) -> dict[str, Any]:
        return await self.post(f"/v1/sites/{site}/alerts", {"kind": kind, "room": room},
                               await self.app.token("device", site))

    async def report(self, incident: str, room: str, status: str = "secured", site: str = SITE,
                     **extra: object) -> dict[str, Any]:
        return await self.post(f"/v1/incidents/{incident}/rooms/{room}/status",
                               {"status": status, **extra}, await self.app.token("staff", site))


@pytest.fixture
async def http(app: App) -> AsyncIterator[Http]:
    async with aiohttp.ClientSession() as session:
        yield Http(app, session)


def ws_url(base: str, token: str, since: int | None = None, site: str = SITE) -> str:
    url = base.replace("http://", "ws://", 1) + f"/v1/sites/{site}/board/ws?token={token}"
    return url if since is None else f"{url}&since={since}"


def board_ws(url: str, **options: Any) -> connect:
    # The environment may name an HTTP proxy; the board is on loopback.
    return connect(url, proxy=None, open_timeout=5, **options)


async def receive(ws: ClientConnection, timeout: float = 5.0) -> dict[str, Any]:
    return msgspec.json.decode(await asyncio.wait_for(ws.recv(), timeout))


async def receive_until(ws: ClientConnection, seq: int, timeout: float = 10.0,
                        ) -> list[dict[str, Any]]:
    """Every message up to and including the one at `seq` (or beyond it)."""
    messages: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while not messages or messages[-1]["seq"] < seq:
        left = deadline - time.monotonic()
        assert left > 0, f"no message at seq {seq}; got up to {messages[-1:]}"
        messages.append(await receive(ws, left))
    return messages


async def nothing_more(ws: ClientConnection, within: float = 0.3) -> None:
    with pytest.raises(TimeoutError):
        extra = await asyncio.wait_for(ws.recv(), within)
        pytest.fail(f"unexpected message {extra!r}")


def merge(board: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """A board with an update's parts applied: `rooms` merged by id, anything else replaced."""
    merged = {**board, **{k: v for k, v in changes.items() if k != "rooms"}}
    if "rooms" in changes:
        rooms = {r["id"]: r for r in board["rooms"]}
        rooms.update({r["id"]: r for r in changes["rooms"]})
        merged["rooms"] = list(rooms.values())
    return merged


def strictly_increasing(seqs: list[int]) -> bool:
    return all(a < b for a, b in itertools.pairwise(seqs))


async def poll(condition: Callable[[], object], timeout: float = 10.0,
               what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


async def caught_up(gateway: Gateway, log_last: int, site: str = SITE) -> None:
    await poll(lambda: gateway.applied >= log_last and site in gateway.states,
               what=f"the gateway to apply seq {log_last}")


@pytest.fixture
async def gateway(app: App) -> Gateway:
    """The app's own gateway, once it has applied the site import."""
    assert app.muster.gateway is not None
    await caught_up(app.muster.gateway, await app.log.last_seq())
    return app.muster.gateway


@contextlib.asynccontextmanager
async def served(app: App, **options: Any) -> AsyncIterator[tuple[Gateway, str]]:
    """A second gateway on the same stream (folded from it, no read models), served over HTTP."""
    assert app.muster.tokens is not None
    gateway = Gateway(app.log, None, **options)
    await gateway.start()
    runner = web.AppRunner(make_app(live_routes(gateway, app.muster.tokens)), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        await caught_up(gateway, await app.log.last_seq())
        yield gateway, f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await gateway.stop()
        await runner.cleanup()


# --- 1. press → board ------------------------------------------------------------------------


async def test_snapshot_then_updates_reach_the_lockdown_and_carry_only_changes(
        app: App, gateway: Gateway, http: Http) -> None:
    async with board_ws(ws_url(app.url, await app.token("responder"))) as ws:
        first = await receive(ws)
        assert first["type"] == "snapshot"
        assert first["seq"] == await app.log.last_seq() == 1
        assert BOARD_KEYS <= set(first["board"])
        assert first["board"]["site"] == SITE and first["board"]["seq"] == 1
        assert first["board"]["protocol"] is None and first["board"]["incident"] is None
        assert {r["id"] for r in first["board"]["rooms"]} == set(ROOMS)

        press = await http.press("lockdown", "B-112")
        updates = await receive_until(ws, press["seq"])
        assert {u["type"] for u in updates} == {"update"}
        seqs = [u["seq"] for u in updates]
        assert strictly_increasing([first["seq"], *seqs])
        assert seqs[-1] == press["seq"]
        assert [u["event"]["type"] for u in updates] == [
            "IncidentOpened", "AlertRaised", "ProtocolDeclared"]
        board = first["board"]
        for update in updates:
            assert update["board"]["seq"] == update["seq"]
            board = merge(board, update["board"])
        assert board["protocol"]["action"] == "lockdown"
        assert board["incident"]["id"] == press["incident_id"]
        assert board["mode"] == "live"

        report = await http.report(press["incident_id"], "B-112", "secured", present=3)
        (update,) = await receive_until(ws, report["seq"])
        assert update["seq"] == report["seq"] and update["event"]["type"] == "RoomStatusReported"
        (room,) = update["board"]["rooms"]
        assert room["id"] == "B-112" and room["status"] == "secured" and room["present"] == 3
        assert "protocol" not in update["board"] and "incident" not in update["board"]
        board = merge(board, update["board"])
        assert {r["id"] for r in board["rooms"]} == set(ROOMS)
        assert board["accountability"]["accounted"] == 3

        # The merged board is the same board a fresh client gets as its snapshot.
        async with board_ws(ws_url(app.url, await app.token("responder"))) as fresh:
            assert (await receive(fresh))["board"] == board


# --- 2. resume with since --------------------------------------------------------------------


async def test_resume_with_since_gets_exactly_the_missed_updates(
        app: App, gateway: Gateway, http: Http) -> None:
    token = await app.token("responder")
    async with board_ws(ws_url(app.url, token)) as steady:
        start = await receive(steady)
        async with board_ws(ws_url(app.url, token)) as leaving:
            since = (await receive(leaving))["seq"]
        assert since == start["seq"]

        press = await http.press("armed_intruder", "GYM")
        await http.report(press["incident_id"], "GYM", "secured", present=0)
        last = await http.post(f"/v1/incidents/{press['incident_id']}/acks",
                               {"responder": "Engine 7"}, token)
        stayed = await receive_until(steady, last["seq"])
        assert len(stayed) == 5 and strictly_increasing([since, *(m["seq"] for m in stayed)])

        async with board_ws(ws_url(app.url, token, since=since)) as back:
            resumed = await receive_until(back, last["seq"])
            assert resumed == stayed  # same updates, same order, same parts: no snapshot, no gap
            await nothing_more(back)

        # A client that is already current gets nothing until the next update, then that one.
        async with board_ws(ws_url(app.url, token, since=last["seq"])) as current:
            await nothing_more(current)
            note = await http.post(f"/v1/incidents/{press['incident_id']}/notes",
                                   {"text": "SRO on scene"}, token)
            (update,) = await receive_until(current, note["seq"])
            assert (update["type"], update["seq"]) == ("update", note["seq"])
            assert update == (await receive_until(steady, note["seq"]))[-1]


async def test_since_older_than_the_history_gets_a_fresh_snapshot(
        app: App, gateway: Gateway, http: Http) -> None:
    token = await app.token("responder")
    async with served(app, history=2) as (small, base):
        async with board_ws(ws_url(base, token)) as ws:
            since = (await receive(ws))["seq"]
        press = await http.press("lockdown", "A-101")  # three updates: more than two are kept
        await caught_up(small, press["seq"])

        async with board_ws(ws_url(base, token, since=since)) as ws:
            snapshot = await receive(ws)
            assert (snapshot["type"], snapshot["seq"]) == ("snapshot", press["seq"])
            assert snapshot["board"]["protocol"]["action"] == "lockdown"
            assert snapshot["board"]["incident"]["id"] == press["incident_id"]
            await nothing_more(ws)

        # Inside the kept history the same gateway resumes with updates, not a snapshot.
        async with board_ws(ws_url(base, token, since=press["seq"] - 1)) as ws:
            update = await receive(ws)
            assert (update["type"], update["seq"]) == ("update", press["seq"])
            assert update["event"]["type"] == "ProtocolDeclared"


async def test_since_ahead_of_a_lagging_gateway_never_goes_back(
        app: App, gateway: Gateway, http: Http) -> None:
    """A client coming from a replica that is further along gets no update it already has."""
    token = await app.token("responder")
    press = await http.press("lockdown", "B-112")
    ahead = press["seq"] + 1  # the next event, as another replica would have shown it already
    async with served(app, catch_up_s=10.0) as (_, base), \
            board_ws(ws_url(base, token, since=ahead)) as ws:
        report = await http.report(press["incident_id"], "A-102", "clear")
        after = await http.report(press["incident_id"], "A-101", "clear")
        assert report["seq"] == ahead
        updates = await receive_until(ws, after["seq"])
        assert [(u["type"], u["seq"]) for u in updates] == [("update", after["seq"])]

    # A seq the stream never reaches (say, from before a stream was restored): a fresh snapshot.
    async with board_ws(ws_url(app.url, token, since=after["seq"] + 1000)) as ws:
        snapshot = await receive(ws, timeout=5)
        assert (snapshot["type"], snapshot["seq"]) == ("snapshot", after["seq"])
        assert snapshot["board"]["incident"]["id"] == press["incident_id"]


# --- 3. slow clients -------------------------------------------------------------------------


def big_site(people: int = 250) -> Site:
    """A school whose room reports are large: long person ids, all in one room."""
    return msgspec.convert({
        "id": BIG, "name": "Big High",
        "rooms": [{"id": "HALL", "name": "Hall"}, {"id": "GYM", "name": "Gym"}],
        "people": [{"id": f"student-{i:03d}-" + "x" * 48, "name": f"Student {i}", "room": "HALL"}
                   for i in range(people)],
    }, Site)


async def test_slow_client_is_dropped_and_others_are_not_held_up(app: App, http: Http) -> None:
    roster = big_site()
    await app.muster.import_site(roster)
    # Each report names 250 long ids (~32 kB an update), so 300 of them outgrow the kernel's
    # socket buffers (autotuned to ~4 MB on loopback) that would otherwise hide a slow reader.
    missing = [p.id for p in roster.people]
    press = await http.press("lockdown", "HALL", site=BIG)
    token = await app.token("responder", BIG)
    async with served(app, buffer_bytes=8 * 32 * 1024) as (small, base):
        await caught_up(small, press["seq"], BIG)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)  # before connect: tiny window
        sock.setblocking(False)
        host, port = base.removeprefix("http://").split(":")
        await asyncio.get_running_loop().sock_connect(sock, (host, int(port)))
        # Never read until the end: websockets stops reading the socket at one queued frame.
        async with board_ws(ws_url(base, token, site=BIG), sock=sock, compression=None,
                            max_queue=1, ping_interval=None) as slow, \
                board_ws(ws_url(base, token, site=BIG)) as fast:
            snapshot = await receive(fast)
            received: list[tuple[int, float]] = []

            async def listen() -> None:
                async for raw in fast:
                    received.append((msgspec.json.decode(raw)["seq"], time.monotonic()))

            listener = asyncio.create_task(listen())
            try:
                await poll(lambda: len(small.clients[BIG]) == 2, what="both clients subscribed")
                sent: list[tuple[int, float]] = []
                started = time.monotonic()
                for i in range(300):
                    answer = await http.report(press["incident_id"], ("HALL", "GYM")[i % 2],
                                               STATUSES[i % 5], site=BIG, present=i,
                                               missing=missing)
                    sent.append((answer["seq"], time.monotonic()))
                posting = time.monotonic() - started
                await poll(lambda: bool(received) and received[-1][0] >= sent[-1][0],
                           timeout=5, what="the fast client to receive the last update")
            finally:
                listener.cancel()

            seqs = [s for s, _ in received]
            assert seqs == [s for s, _ in sent]  # every update, in order
            assert snapshot["seq"] < seqs[0]
            at = dict(received)
            lag = max(at[s] - t for s, t in sent)
            assert lag < 2.0, f"the fast client lagged {lag:.2f}s behind a 202"
            await poll(lambda: len(small.clients[BIG]) == 1, timeout=3,
                       what="the slow client to be dropped")

            got: list[int] = []
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    got.append((await receive(slow))["seq"])
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
            assert got and got[0] == snapshot["seq"]
            assert strictly_increasing(got) and got[-1] < sent[-1][0]
            print(f"300 reports in {posting:.2f}s; fast client max lag {lag * 1000:.0f} ms; "
                  f"slow client got {len(got) - 1} updates before being dropped")


# --- 4. auth before upgrade ------------------------------------------------------------------


@pytest.mark.parametrize("case,status", [
    ("missing", 401), ("forged", 401), ("device", 403), ("other-site", 403),
    ("unknown-site", 404), ("bad-since", 400)])
async def test_auth_is_checked_before_the_upgrade(
        app: App, gateway: Gateway, case: str, status: int) -> None:
    tokens = {
        "missing": "", "forged": "mst_forged",
        "device": await app.token("device"),
        "other-site": await app.token("responder", "other-school"),
        "unknown-site": await app.token("responder", "*"),
        "bad-since": await app.token("responder"),
    }
    url = ws_url(app.url, tokens[case], site="nowhere" if case == "unknown-site" else SITE)
    if case == "missing":
        url = url.split("?")[0]
    if case == "bad-since":
        url += "&since=-1"
    with pytest.raises(InvalidStatus) as refused:
        async with board_ws(url):
            pass
    assert refused.value.response.status_code == status
    assert msgspec.json.decode(refused.value.response.body)["error"]["code"]
    # The same '*' token does open the site it names: the 404 is about the site, not the token.
    if case == "unknown-site":
        async with board_ws(ws_url(app.url, tokens[case])) as ws:
            assert (await receive(ws))["type"] == "snapshot"


# --- 5. ordering under concurrency -----------------------------------------------------------


async def test_seq_strictly_increases_under_concurrent_writers(
        app: App, gateway: Gateway, http: Http) -> None:
    token = await app.token("responder")
    async with board_ws(ws_url(app.url, token)) as ws:
        start = (await receive(ws))["seq"]
        first = await http.press("lockdown", "B-112")
        # One report first, so the staff token is known before it is used concurrently: the
        # token store answers 401 to concurrent first uses of a new token (see the report).
        answers: list[dict[str, Any]] = [first, await http.report(first["incident_id"], "GYM")]

        async def writer(n: int) -> None:
            for i in range(10):
                if i % 3 == 0:
                    answers.append(await http.press("armed_intruder", ROOMS[(n + i) % 4]))
                else:
                    answers.append(await http.report(first["incident_id"], ROOMS[(n + i) % 4],
                                                     STATUSES[(n + i) % 5], present=i))

        await asyncio.gather(*(writer(n) for n in range(5)))
        assert len(answers) == 52
        last = max(a["seq"] for a in answers)
        updates = await receive_until(ws, last)
        seqs = [u["seq"] for u in updates]
        assert strictly_increasing([start, *seqs])
        assert {a["seq"] for a in answers} <= set(seqs)
        stream = [seq async for seq, _ in app.log.read(start + 1, last)]
        assert seqs == stream  # every event after the snapshot, none twice, none skipped

"""A OneRoster import on a running Muster (POST /v1/sites/{site}/roster): 5,000 generated
students with malformed rows refused whole with each row's file and line; the fixed bundle on
the board; the same bundle again writes nothing; one move, one guardian and one restriction are
exactly one RosterChanged; a re-import of the site file keeps the roster."""

import copy
from typing import Any

import aiohttp
import msgspec
from msgspec.structs import replace

from command.domain import events as e
from command.domain.site import Bus
from command.write.roster_import import KEPT_FOR_REMOVED, NO_RESTRICTIONS
from tests.conftest import App, small_site
from tests.integration.oneroster_bundle import bundle, files
from tests.integration.test_board_ws import board_ws, receive, receive_until, ws_url

PATH = "/v1/sites/test-high/roster"


async def send(http: aiohttp.ClientSession, app: App, bundle_files: dict[str, str],
               multipart: bool = True, role: str = "admin") -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {await app.token(role)}"}
    if multipart:
        form = aiohttp.FormData()
        for name, text in bundle_files.items():
            form.add_field("file", text.encode(), filename=name, content_type="text/csv")
        kwargs: dict[str, Any] = {"data": form}
    else:
        kwargs = {"json": {"files": bundle_files}}
    async with http.post(app.url + PATH, headers=headers, **kwargs) as resp:
        return resp.status, await resp.json()


async def board(http: aiohttp.ClientSession, app: App) -> dict[str, Any]:
    await app.wait_projected(await app.log.last_seq())
    headers = {"Authorization": f"Bearer {await app.token('commander')}"}
    async with http.get(app.url + "/v1/sites/test-high/board", headers=headers) as resp:
        assert resp.status == 200
        return await resp.json()


def students_on(doc: dict[str, Any]) -> int:
    return sum(p["kind"] == "student" for people in doc["roster"].values() for p in people)


async def stored_as_the_sites_config(app: App, students: int) -> None:
    """The projector keeps the config a RosterChanged gives as the site's file and a version."""
    pool = app.muster.pool
    assert pool is not None
    last = await app.log.last_seq()
    row = await pool.fetchrow("SELECT seq, config FROM sites WHERE site='test-high'")
    assert row["seq"] == last
    assert sum(p.kind == "student" for p in e.decode_site(row["config"]).people) == students
    assert await pool.fetchval("SELECT max(seq) FROM site_versions WHERE site='test-high'") == last


def malformed(rows: dict[str, list[list[str]]]) -> list[tuple[str, int, str]]:
    """Breaks rows of a bundle in place; the errors they must give (file, line, field)."""
    users = rows["users.csv"]
    at = {r[0]: i for i, r in enumerate(users)}
    users[at["stu-7"]][16] = "13th"  # bad grade
    users[at["stu-8"]][15] = "par-8a,par-nobody"  # unknown reference
    users[at["stu-10"]][5] = ""  # missing required value
    users.append(list(users[at["stu-9"]]))  # duplicate sourcedId
    rows["enrollments.csv"].append(["e-x", "active", "", "hr-Z", "org-1", "stu-1", "student",
                                    "false", "", ""])
    rows["classes.csv"].append(["hr-X", "active", "", "Homeroom X", "09", "c-hr", "X-999",
                                "homeroom", "", "org-1", "term-1", "", "", ""])
    return sorted([
        ("users.csv", at["stu-7"] + 1, "grades"),
        ("users.csv", at["stu-8"] + 1, "agentSourcedIds"),
        ("users.csv", at["stu-10"] + 1, "role"),
        ("users.csv", len(users), "sourcedId"),
        ("enrollments.csv", len(rows["enrollments.csv"]), "classSourcedId"),
        ("classes.csv", len(rows["classes.csv"]), "location"),
    ])


async def test_a_5000_student_import_writes_only_what_changed(app: App) -> None:
    await app.muster.import_site(replace(small_site(), roster_source="oneroster"))
    rows = bundle(5000)
    async with aiohttp.ClientSession() as http:
        broken = copy.deepcopy(rows)
        expected = malformed(broken)
        before = await app.log.last_seq()
        status, doc = await send(http, app, files(broken))
        assert status == 400, doc
        assert sorted((r["file"], r["line"], r["field"]) for r in doc["rows"]) == expected
        assert doc["error"]["code"] == "invalid"
        assert await app.log.last_seq() == before  # nothing written

        status, doc = await send(http, app, files(rows))
        assert status == 202, doc
        assert (doc["changed"], doc["added"], doc["changed_people"], doc["removed"]) == (
            True, 5004, 0, 8)  # 5,000 students and 4 teachers in; the site file's 8 out
        assert students_on(await board(http, app)) == 5000
        await stored_as_the_sites_config(app, students=5000)

        last = await app.log.last_seq()
        status, doc = await send(http, app, files(rows), multipart=False)
        assert (status, doc["changed"]) == (200, False)
        assert await app.log.last_seq() == last  # the same export writes nothing

        users = rows["users.csv"]
        at = {r[0]: i for i, r in enumerate(users)}
        rows["enrollments.csv"][[r[5] for r in rows["enrollments.csv"]].index("stu-3")][3] = \
            "hr-A-101"  # a move (from the GYM)
        users[at["stu-4"]][15] = "par-4a"  # a guardian dropped
        users[at["stu-5"]][18] = "par-5b"  # a custody restriction
        status, doc = await send(http, app, files(rows))
        assert status == 202, doc
        assert await app.log.last_seq() == last + 1  # one event
        (_, event), = [x async for x in app.log.read(last + 1)]
        assert isinstance(event, e.RosterChanged)
        changed = {p.id: p for p in event.data.changed}
        assert sorted(changed) == ["stu-3", "stu-4", "stu-5"]
        assert event.data.added == [] and event.data.removed == []
        assert changed["stu-3"].room == "A-101" and changed["stu-4"].guardians == ["Mum4 Pupil"]
        assert changed["stu-5"].restricted == ["Dad5 Pupil"]
        assert changed["stu-5"].guardians == ["Mum5 Pupil"]

        await app.muster.import_site(replace(small_site(), name="Test High School",
                                             roster_source="oneroster"))
        doc = await board(http, app)
        assert students_on(doc) == 5000 and "GYM" in doc["roster"]
        assert app.muster.intake is not None
        config = app.muster.intake.state("test-high").site
        assert config is not None and config.name == "Test High School"
        assert next(p for p in config.people if p.id == "stu-3").room == "A-101"


async def test_only_an_admin_of_the_site_imports(app: App) -> None:
    async with aiohttp.ClientSession() as http:
        status, _ = await send(http, app, files(bundle(3)), role="commander")
        assert status == 403


async def test_a_malformed_form_or_body_is_400_and_writes_nothing(app: App) -> None:
    headers = {"Authorization": f"Bearer {await app.token('admin')}"}
    before = await app.log.last_seq()
    async with aiohttp.ClientSession() as http:
        boundary = "7c5156fb04a2177cf9e322ad31ebde44"
        form = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        async with http.post(app.url + PATH, headers=headers | form,
                             data=f"--{boundary}\r\nNone--{boundary}--\r\n") as resp:
            assert resp.status == 400, await resp.text()
        async with http.post(app.url + PATH, headers=headers, json={"files": []}) as resp:
            assert resp.status == 400
        async with http.post(app.url + PATH, headers=headers, json={"files": {}}) as resp:
            assert resp.status == 400
            assert [r["file"] for r in (await resp.json())["rows"]] == ["users.csv"]
    assert await app.log.last_seq() == before


async def test_a_board_over_websocket_hears_an_import_as_counts(app: App) -> None:
    """Staff's board gets the new roster; its update tells the import as counts, no names."""
    assert app.muster.gateway is not None
    async with board_ws(ws_url(app.url, await app.token("staff"))) as ws:
        assert (await receive(ws))["type"] == "snapshot"
        async with aiohttp.ClientSession() as http:
            status, doc = await send(http, app, files(bundle(2)))
            assert status == 202, doc
        [*_, update] = await receive_until(ws, doc["seq"])
    assert update["event"]["type"] == "RosterChanged"
    assert update["event"]["data"] == {"added": 6, "changed": 0, "removed": 8, "part": 1,
                                       "parts": 1, "source": "oneroster"}
    assert "Student0" not in msgspec.json.encode(update["event"]).decode()
    assert sum(len(v) for v in update["board"]["roster"].values()) == 6


def without_restrictions(rows: dict[str, list[list[str]]]) -> dict[str, list[list[str]]]:
    """The bundle as most SIS export it: no metadata.muster.restricted column."""
    return {**rows, "users.csv": [r[:18] for r in rows["users.csv"]]}


def config_of(app: App) -> Any:
    assert app.muster.intake is not None
    return app.muster.intake.state("test-high").site


async def test_a_sync_without_the_restriction_column_keeps_every_restriction(app: App) -> None:
    """A custody order is never dropped by a sync that does not say who is restricted; only a
    bundle with the column and an emptied cell lifts it. A leaver leaves the bus too."""
    rows = bundle(3)
    at = {r[0]: i for i, r in enumerate(rows["users.csv"])}
    rows["users.csv"][at["stu-1"]][18] = "par-1b"
    async with aiohttp.ClientSession() as http:
        status, doc = await send(http, app, files(rows))
        # the site file's own roster leaves; its Ada's custody order is kept by her id
        assert (status, doc["restrictions_added"], doc["restrictions_kept_for_removed"],
                doc["warnings"]) == (202, 1, 1, [KEPT_FOR_REMOVED.format(ids="s-1")]), doc
        assert config_of(app).custody == {"s-1": ["Lord Byron"]}
        await app.muster.import_site(replace(config_of(app), buses=[
            Bus(id="bus-7", name="Route 7", riders=["stu-1", "stu-2"])]))
        last = await app.log.last_seq()
        status, doc = await send(http, app, files(without_restrictions(rows)))
        assert (status, doc["changed"], doc["warnings"]) == (200, False, [NO_RESTRICTIONS])
        assert await app.log.last_seq() == last  # nothing else changed: nothing written
        left = copy.deepcopy(without_restrictions(rows))  # stu-2 leaves the school
        left["users.csv"] = [r for r in left["users.csv"] if r[0] != "stu-2"]
        left["enrollments.csv"] = [r for r in left["enrollments.csv"] if r[5] != "stu-2"]
        left["demographics.csv"] = [r for r in left["demographics.csv"] if r[0] != "stu-2"]
        status, doc = await send(http, app, files(left))
        assert status == 202, doc
        assert (doc["removed"], doc["restrictions_added"], doc["restrictions_removed"]) == (
            1, 0, 0)
        assert doc["dropped"] == ["bus-7: riders stu-2 removed"]
        assert doc["warnings"] == [NO_RESTRICTIONS]
        ada = next(p for p in config_of(app).people if p.id == "stu-1")
        assert (ada.restricted, ada.guardians) == (["Dad1 Pupil"], ["Mum1 Pupil"])
        assert config_of(app).buses[0].riders == ["stu-1"]
        lifted = copy.deepcopy(rows)
        lifted["users.csv"] = [r for r in lifted["users.csv"] if r[0] != "stu-2"]
        lifted["enrollments.csv"], lifted["demographics.csv"] = (left["enrollments.csv"],
                                                                 left["demographics.csv"])
        lifted["users.csv"][at["stu-1"]][18] = ""
        status, doc = await send(http, app, files(lifted))
        assert (status, doc["restrictions_removed"], doc["warnings"]) == (202, 1, []), doc
        assert next(p for p in config_of(app).people if p.id == "stu-1").restricted == []


async def test_during_an_incident_a_restriction_is_taken_a_move_waits(app: App) -> None:
    """A custody order that arrives mid-lockdown reaches the site at once; an import that would
    move a student waits (409, nothing written) and says why."""
    rows = bundle(3)
    at = {r[0]: i for i, r in enumerate(rows["users.csv"])}
    async with aiohttp.ClientSession() as http:
        assert (await send(http, app, files(rows)))[0] == 202
        headers = {"Authorization": f"Bearer {await app.token('device')}"}
        async with http.post(app.url + "/v1/sites/test-high/alerts", headers=headers,
                             json={"kind": "lockdown", "room": "B-112"}) as resp:
            assert resp.status == 202, await resp.json()
        rows["users.csv"][at["stu-1"]][18] = "par-1b"
        status, doc = await send(http, app, files(rows))
        assert (status, doc["restrictions_added"], doc["changed_people"]) == (202, 1, 1), doc
        ada = next(p for p in config_of(app).people if p.id == "stu-1")
        assert (ada.restricted, ada.guardians) == (["Dad1 Pupil"], ["Mum1 Pupil"])
        last = await app.log.last_seq()
        enrol = rows["enrollments.csv"]
        enrol[[r[5] for r in enrol].index("stu-1")][3] = "hr-GYM"  # a move
        status, doc = await send(http, app, files(rows))
        assert status == 409 and "live incident is open" in doc["error"]["message"], doc
        assert "restrictions and contacts may change now" in doc["error"]["message"]
        assert await app.log.last_seq() == last


def leaving(rows: dict[str, list[list[str]]], pid: str) -> dict[str, list[list[str]]]:
    """`rows` without the person `pid` (users, enrollments and demographics)."""
    out = copy.deepcopy(rows)
    out["users.csv"] = [r for r in out["users.csv"] if r[0] != pid]
    out["enrollments.csv"] = [r for r in out["enrollments.csv"] if r[5] != pid]
    out["demographics.csv"] = [r for r in out["demographics.csv"] if r[0] != pid]
    return out


async def test_a_student_absent_from_one_export_is_restricted_again_when_back(app: App) -> None:
    """The nightly export (no restriction column) misses stu-1 one night and has her back the
    next: her custody order is in force again, in intake and in the site's stored config."""
    rows = bundle(3)
    rows["users.csv"][[r[0] for r in rows["users.csv"]].index("stu-1")][18] = "par-1b"
    async with aiohttp.ClientSession() as http:
        assert (await send(http, app, files(rows)))[0] == 202
        status, doc = await send(http, app, files(leaving(without_restrictions(rows), "stu-1")))
        assert (status, doc["removed"], doc["restrictions_kept_for_removed"]) == (202, 1, 1)
        assert doc["warnings"] == [NO_RESTRICTIONS, KEPT_FOR_REMOVED.format(ids="stu-1")]
        status, doc = await send(http, app, files(without_restrictions(rows)))
        assert (status, doc["added"], doc["restrictions_added"], doc["restrictions_removed"]) \
            == (202, 1, 0, 0), doc
    back = next(p for p in config_of(app).people if p.id == "stu-1")
    assert (back.restricted, back.guardians) == (["Dad1 Pupil"], ["Mum1 Pupil"])
    await app.wait_projected(await app.log.last_seq())
    assert app.muster.pool is not None
    stored = e.decode_site(await app.muster.pool.fetchval(
        "SELECT config FROM sites WHERE site='test-high'"))
    assert next(p for p in stored.people if p.id == "stu-1").restricted == ["Dad1 Pupil"]

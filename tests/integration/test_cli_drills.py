"""`muster drills due` and `muster drills log` as an operator runs them: the installed console
script, against the database of a running Muster that held real drills through its API."""

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import msgspec

from command.domain import drill_csv
from command.domain import school_year as sy
from command.domain.site_drills import Drills
from tests.conftest import App, small_site
from tests.integration.test_cli import clean_env, muster
from tests.integration.test_drill_api import drill


async def test_due_and_log_print_what_the_api_serves(app: App, database_url: str,
                                                     tmp_path: Path) -> None:
    await app.muster.import_site(msgspec.structs.replace(
        small_site(), district="test-district", drills=Drills(state="MI")))
    async with aiohttp.ClientSession() as http:
        held = await drill(http, app, "lockdown")
        skipped = await drill(http, app, "fire", cancel=True)
    await app.wait_projected(await app.log.last_seq())
    env = clean_env(MUSTER_DATABASE_URL=database_url)
    today = datetime.now(UTC).date()
    year = sy.containing(today).label
    later = today + timedelta(days=31)  # past the drill's 30 days to be documented
    common = ["--data-dir", str(tmp_path / "data")]

    due = muster("drills", "due", "--site", "test-high", "--year", year, "--on", str(later),
                 *common, cwd=tmp_path, env=env)
    assert due.returncode == 0, due.stderr
    lines = due.stdout.splitlines()
    assert lines[0] == f"Test High (test-high) · Michigan (MI) · school year {year} · on {later}"
    header = next(x for x in lines if x.startswith("STATUS"))
    lockdown = next(x for x in lines if " mi-lockdown " in x)
    fire = next(x for x in lines if " mi-fire " in x)
    assert re.match(r"^(due|overdue) +mi-lockdown +1/3 ", lockdown), lockdown
    assert re.match(r"^(due|overdue) +mi-fire +0/5 ", fire), fire  # the cancelled one: no
    assert header.index("REQUIREMENT") == lockdown.index("mi-") == fire.index("mi-")
    assert header.index("HELD") == lockdown.index("1/3")
    assert "Undocumented (not signed off within 30 days):" in due.stdout
    assert held in due.stdout and skipped not in due.stdout

    district = muster("drills", "due", "--district", "test-district", *common, cwd=tmp_path,
                      env=env)
    assert district.returncode == 0 and "Test High (test-high)" in district.stdout

    log = muster("drills", "log", "--site", "test-high", *common, cwd=tmp_path, env=env)
    assert log.returncode == 0, log.stderr
    assert "lockdown" in log.stdout and "cancelled" in log.stdout and "not signed" in log.stdout
    table = muster("drills", "log", "--site", "test-high", "--csv", *common, cwd=tmp_path,
                   env=env)
    records = list(csv.reader(io.StringIO(table.stdout)))
    assert tuple(records[0]) == drill_csv.COLUMNS
    assert [r[1] for r in records[1:]] == [held, skipped]

    for bad, said in [(["due", "--site", "test-high", "--year", "2026-28"], "--year"),
                      (["due", "--site", "test-high", "--on", "tomorrow"], "--on")]:
        refused = muster("drills", *bad, *common, cwd=tmp_path, env=env)
        assert refused.returncode == 2 and said in refused.stderr, refused
        assert "Traceback" not in refused.stderr
    unknown = muster("drills", "log", "--site", "nowhere", *common, cwd=tmp_path, env=env)
    assert unknown.returncode == 1 and "nowhere" in unknown.stderr

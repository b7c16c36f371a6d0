"""`muster roster import --site SITE DIR` against a running Muster: a bundle's folder imported
through the HTTP API, the same folder again writes nothing, and a bad row is printed as
FILE:LINE FIELD: MESSAGE with nothing written."""

import asyncio
from pathlib import Path

import pytest

from command.bootstrap.cli import main
from tests.conftest import App
from tests.integration.oneroster_bundle import bundle, files


def written(folder: Path, rows: dict[str, list[list[str]]]) -> Path:
    folder.mkdir(exist_ok=True)
    for name, text in files(rows).items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


async def muster(app: App, tmp_path: Path, *args: str) -> int:
    argv = ["roster", "import", *args, "--site", "test-high", "--url", app.url,
            "--token", await app.token("admin"), "--data-dir", str(tmp_path / "cli")]
    return await asyncio.to_thread(main, argv)


async def test_roster_import_from_a_folder(app: App, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    rows = bundle(20)
    folder = written(tmp_path / "export", rows)
    assert await muster(app, tmp_path, str(folder)) == 0
    assert "imported: 24 added, 0 changed, 8 removed" in capsys.readouterr().out
    last = await app.log.last_seq()
    assert await muster(app, tmp_path, str(folder)) == 0
    assert "unchanged: 24 people, nothing written" in capsys.readouterr().out
    assert await muster(app, tmp_path, str(folder), "--school", "org-1") == 0  # its school
    assert "unchanged: 24 people" in capsys.readouterr().out
    assert await muster(app, tmp_path, str(folder), "--school", "org-9") == 1  # nobody's
    assert "no student or staff of school 'org-9'" in capsys.readouterr().err
    at = [r[0] for r in rows["users.csv"]].index("stu-0")
    rows["users.csv"][at][16] = "13th"  # a bad grade
    written(folder, rows)
    assert await muster(app, tmp_path, str(folder)) == 1
    assert f"users.csv:{at + 1} grades: bad grade '13th'" in capsys.readouterr().err
    assert await app.log.last_seq() == last


async def test_a_folder_without_users_csv_is_refused_at_once(
        app: App, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    assert await muster(app, tmp_path, str(tmp_path / "empty")) == 2
    assert "has no users.csv" in capsys.readouterr().err


async def test_a_bundle_without_the_restriction_column_is_warned_of(
        app: App, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = bundle(3)
    rows["users.csv"] = [r[:18] for r in rows["users.csv"]]  # no metadata.muster.restricted
    folder = written(tmp_path / "export", rows)
    assert await muster(app, tmp_path, str(folder)) == 0
    out = capsys.readouterr()
    assert "imported: 7 added, 0 changed, 8 removed; restrictions 0 added, 0 removed" in out.out
    assert ("warning: users.csv has no metadata.muster.restricted column: custody restrictions "
            "were kept as they were") in out.err
    assert await muster(app, tmp_path, str(folder)) == 0
    out = capsys.readouterr()
    assert "unchanged: 7 people" in out.out and "warning: users.csv has no" in out.err

"""The `muster` command line as a newcomer uses it: real subprocesses of the installed console
script, on a fresh data dir and free ports, against real embedded or fixture servers.

Every `muster up` is stopped in a `finally`; a check that no nats-server or postgres mentioning
the data dir is left over follows each stop.
"""

import asyncio
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg
import psutil
import pytest

from command.infra.embedded import EmbeddedPostgres, free_port
from command.infra.eventlog import EventLog, connect

MUSTER = str(Path(sys.executable).parent / "muster")
ROLES = ("device", "staff", "responder", "commander", "dispatch", "admin")
TINY_SITE = """
id = "tiny-elem"
name = "Tiny Elementary"
[[rooms]]
id = "R-1"
name = "Room 1"
[[rooms]]
id = "R-2"
name = "Room 2"
[[people]]
id = "s-1"
name = "Ada Lovelace"
room = "R-1"
"""


def clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without MUSTER_* settings, so only the test's own apply."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MUSTER_")}
    env.update(extra)
    return env


def muster(*args: str, cwd: Path, env: dict[str, str] | None = None,
           timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([MUSTER, *args], cwd=cwd, env=env or clean_env(), text=True,
                          capture_output=True, timeout=timeout)


def servers_of(data_dir: Path) -> list[psutil.Process]:
    """nats-server and postgres processes whose command line names the data dir."""
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if proc.info["name"] in ("nats-server", "postgres") and any(
                str(data_dir) in arg for arg in cmdline):
            found.append(proc)
    return found


def assert_no_servers(data_dir: Path, within: float = 3.0) -> None:
    deadline = time.monotonic() + within
    while (left := servers_of(data_dir)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not left, [p.info["cmdline"] for p in left]


def kill_servers(data_dir: Path) -> None:
    """After a failed test: end the servers this test's `muster` started, by pid."""
    for proc in servers_of(data_dir):
        try:
            proc.terminate()
            proc.wait(10)
        except psutil.NoSuchProcess:
            pass
        except psutil.TimeoutExpired:
            proc.kill()


def http(method: str, url: str, token: str | None = None,
         body: object = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


class Up:
    """A `muster up` subprocess in its own process group, as a terminal would run it."""

    def __init__(self, tmp: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.stdout_path = tmp / f"up-{time.monotonic_ns()}.out"
        self.stderr_path = self.stdout_path.with_suffix(".err")
        with self.stdout_path.open("w") as out, self.stderr_path.open("w") as err:
            self.proc = subprocess.Popen([MUSTER, "up", *args], cwd=tmp, env=env or clean_env(),
                                         stdout=out, stderr=err, start_new_session=True)

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text()

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def wait_listening(self, timeout: float = 60) -> str:
        """The URL from the "listening on" line, once it is printed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.stdout.splitlines():
                if "listening on " in line:
                    return line.split("listening on ", 1)[1].split()[0]
            if self.proc.poll() is not None:
                raise AssertionError(f"muster up exited {self.proc.returncode}: {self.stderr}")
            time.sleep(0.05)
        raise AssertionError(f"muster up did not listen within {timeout} s: {self.stderr}")

    def tokens(self) -> dict[str, str]:
        found = {}
        for line in self.stdout.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] in ROLES and parts[1].startswith("mst_"):
                found[parts[0]] = parts[1]
        return found

    def board_links(self) -> dict[str, str]:
        """The board link printed per reading role."""
        return {parts[0]: parts[1] for line in self.stdout.splitlines()
                if len(parts := line.split()) == 2 and parts[0] in ROLES
                and "/board/" in parts[1]}

    def stop(self, sig: signal.Signals = signal.SIGTERM, group: bool = False,
             timeout: float = 15) -> int:
        if group:  # Ctrl-C reaches the terminal's whole foreground process group
            os.killpg(self.proc.pid, sig)
        else:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@contextmanager
def running(tmp: Path, *args: str, data_dir: Path | None = None,
            env: dict[str, str] | None = None) -> Iterator[Up]:
    up = Up(tmp, *args, env=env)
    try:
        yield up
    finally:
        up.kill()
        if data_dir is not None:
            kill_servers(data_dir)


def last_seq(nats_url: str) -> int:
    async def go() -> int:
        nc = await connect(nats_url)
        try:
            return await EventLog(nc).last_seq()
        finally:
            await nc.close()

    return asyncio.run(go())


def stream_types(nats_url: str) -> list[str]:
    async def go() -> list[str]:
        nc = await connect(nats_url)
        try:
            return [type(ev).__name__ async for _, ev in EventLog(nc).read(1)]
        finally:
            await nc.close()

    return asyncio.run(go())


def wait_board_incident(url: str, token: str, timeout: float = 15) -> dict[str, Any]:
    """The board once it shows an incident: the projector may still be catching up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, board = http("GET", f"{url}/v1/sites/demo-high/board", token)
        assert status == 200, board
        if board["incident"] is not None:
            return board
        time.sleep(0.05)
    raise AssertionError(f"no incident on the board within {timeout} s: {board}")


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "data"
    yield path
    kill_servers(path)


def test_up_demo_press_sigterm_then_restart_finds_everything(tmp_path: Path,
                                                             data_dir: Path) -> None:
    port = free_port()
    with running(tmp_path, "--demo", "--data-dir", str(data_dir), "--port", str(port),
                 data_dir=data_dir) as up:
        url = up.wait_listening()
        assert url == f"http://127.0.0.1:{port}"
        # By default only the notifier runs apart (consumers/component_processes.py says why).
        assert "(components: intake, projector, boards; notifier in a process of its own)" \
            in up.stdout, up.stdout
        tokens = up.tokens()
        assert set(tokens) == set(ROLES), up.stdout
        assert len(set(tokens.values())) == len(ROLES)
        assert up.board_links() == {role: f"{url}/board/demo-high#token={tokens[role]}"
                                    for role in ("staff", "responder", "commander", "dispatch")}
        assert "staff and responder links side by side" in up.stdout
        status, ready = http("GET", f"{url}/readyz")
        assert status == 200 and ready["stream"] is True and ready["database"] is True, ready
        names = {p.info["name"] for p in servers_of(data_dir)}
        assert names == {"nats-server", "postgres"}, names
        status, press = http("POST", f"{url}/v1/sites/demo-high/alerts", tokens["device"],
                             {"kind": "lockdown", "room": "B-112"})
        assert status == 202, press
        assert up.stop(signal.SIGTERM) == 0, up.stderr
        assert "Traceback" not in up.stderr
        assert_no_servers(data_dir)

    with running(tmp_path, "--demo", "--data-dir", str(data_dir), "--port", str(port),
                 data_dir=data_dir) as up:
        url = up.wait_listening()
        runtime = json.loads((data_dir / "runtime.json").read_text())
        # A second --demo imports nothing again and loses nothing; after the press only the
        # notifier's records of its sends (the demo channels' port has no listener) follow.
        types = stream_types(runtime["nats_url"])
        assert types[:4] == ["SiteConfigured", "IncidentOpened", "AlertRaised",
                             "ProtocolDeclared"]
        assert press["seq"] == 4
        assert set(types[4:]) <= {"NotificationFailed", "NotificationSent"}
        created = muster("token", "create", "--role", "commander", "--site", "demo-high",
                         "--data-dir", str(data_dir), cwd=tmp_path)
        assert created.returncode == 0, created.stderr
        board = wait_board_incident(url, created.stdout.strip().splitlines()[-1])
        assert board["incident"]["id"] == press["incident_id"]
        assert up.stop(signal.SIGTERM) == 0, up.stderr
        assert_no_servers(data_dir)


def test_ctrl_c_stops_everything_even_after_a_kill_9(tmp_path: Path, data_dir: Path) -> None:
    with running(tmp_path, "--data-dir", str(data_dir), "--port", str(free_port()),
                 data_dir=data_dir) as up:
        up.wait_listening()
        nats = [p for p in servers_of(data_dir) if p.info["name"] == "nats-server"]
        assert len(nats) == 1
        up.kill()
        nats[0].wait(10)  # its parent-death signal ends it; PostgreSQL is kept for reuse
    with running(tmp_path, "--data-dir", str(data_dir), "--port", str(free_port()),
                 data_dir=data_dir) as up:
        url = up.wait_listening()
        assert http("GET", f"{url}/readyz")[0] == 200
        assert up.stop(signal.SIGINT, group=True) == 0, up.stderr
        assert "Traceback" not in up.stderr
        assert not (data_dir / "runtime.json").exists()
        assert_no_servers(data_dir)


def test_signal_while_still_connecting_stops_at_once(tmp_path: Path) -> None:
    env = clean_env(MUSTER_NATS_URL=f"nats://127.0.0.1:{free_port()}",
                    MUSTER_DATABASE_URL=f"postgresql://muster@127.0.0.1:{free_port()}/muster")
    with running(tmp_path, "--port", str(free_port()), env=env) as up:
        deadline = time.monotonic() + 30
        while "NATS:" not in up.stderr and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "NATS:" in up.stderr, up.stderr  # it is retrying, and says so in one line
        assert up.stop(signal.SIGTERM, timeout=10) == 0
        assert "Traceback" not in up.stderr


def test_taken_port_fails_fast_with_one_line(tmp_path: Path, data_dir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        result = muster("up", "--data-dir", str(data_dir), "--port", str(port), cwd=tmp_path)
    assert result.returncode != 0
    assert time.monotonic() - started < 20
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(port) in lines[0], result.stderr
    assert_no_servers(data_dir, within=0)


def test_second_up_on_the_same_data_dir_is_refused(tmp_path: Path, data_dir: Path) -> None:
    with running(tmp_path, "--data-dir", str(data_dir), "--port", str(free_port()),
                 data_dir=data_dir) as up:
        url = up.wait_listening()
        second = muster("up", "--data-dir", str(data_dir), "--port", str(free_port()),
                        cwd=tmp_path)
        assert second.returncode != 0
        assert "already running" in second.stderr and "Traceback" not in second.stderr
        assert http("GET", f"{url}/readyz")[0] == 200  # the first one kept its servers
        assert up.stop() == 0


def test_token_create_prints_the_token_last_and_stores_only_its_hash(
        tmp_path: Path, data_dir: Path) -> None:
    result = muster("token", "create", "--role", "staff", "--site", "demo-high",
                    "--data-dir", str(data_dir), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    secret = result.stdout.rstrip("\n").splitlines()[-1]
    assert secret == secret.strip() and " " not in secret and len(secret) >= 24
    assert_no_servers(data_dir)  # the PostgreSQL it started for itself is stopped

    async def rows(url: str) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(url)
        try:
            return await conn.fetch("SELECT t.hash, t.role, t.site, t::text AS all_text "
                                    "FROM tokens t")
        finally:
            await conn.close()

    pg = EmbeddedPostgres(data_dir / "pg")
    try:
        found = asyncio.run(rows(pg.start()))
    finally:
        pg.stop()
    assert [(r["role"], r["site"]) for r in found] == [("staff", "demo-high")]
    assert bytes(found[0]["hash"]) == hashlib.sha256(secret.encode()).digest()
    assert secret not in found[0]["all_text"]
    assert secret.encode().hex() not in found[0]["all_text"]


def test_token_create_refuses_a_name_the_site_already_has(tmp_path: Path,
                                                          database_url: str) -> None:
    env = clean_env(MUSTER_DATABASE_URL=database_url)
    args = ("token", "create", "--role", "device", "--site", "demo-high", "--name", "gym-door")
    first = muster(*args, cwd=tmp_path, env=env)
    assert first.returncode == 0, first.stderr
    again = muster(*args, cwd=tmp_path, env=env)
    assert again.returncode == 1 and "Traceback" not in again.stderr
    assert "a token named 'gym-door' already exists for site 'demo-high'" in again.stderr
    assert again.stdout == ""  # no secret was minted for it


def test_site_import_writes_one_event_and_a_broken_file_writes_nothing(
        tmp_path: Path, nats_url: str) -> None:
    env = clean_env(MUSTER_NATS_URL=nats_url)
    tiny = tmp_path / "tiny.toml"
    tiny.write_text(TINY_SITE)
    other = tmp_path / "other.toml"
    other.write_text(TINY_SITE.replace("tiny-elem", "other-elem"))
    for path in (tiny, other):  # the second site's subjects are not the stream's last
        result = muster("site", "import", str(path), cwd=tmp_path, env=env, timeout=30)
        assert result.returncode == 0, result.stderr
        assert "imported" in result.stdout
    assert stream_types(nats_url) == ["SiteConfigured", "SiteConfigured"]

    again = muster("site", "import", str(tiny), cwd=tmp_path, env=env, timeout=30)
    assert again.returncode == 0 and "nothing written" in again.stdout, again
    broken = {
        "unknown key": (TINY_SITE + 'colour = "red"\n', "colour"),
        "duplicate room": (TINY_SITE + '[[rooms]]\nid = "R-1"\nname = "Again"\n',
                           "duplicate room id"),
        "bad TOML": ('id = "tiny-elem\nname = \n', "TOML"),
    }
    for problem, (text, named) in broken.items():
        path = tmp_path / "broken.toml"
        path.write_text(text)
        result = muster("site", "import", str(path), cwd=tmp_path, env=env, timeout=30)
        assert result.returncode != 0, problem
        assert named in result.stderr and "Traceback" not in result.stderr, (problem, result)
    assert last_seq(nats_url) == 2


def test_alert_from_the_terminal_on_external_servers(tmp_path: Path, data_dir: Path,
                                                     nats_url: str, database_url: str) -> None:
    env = clean_env(MUSTER_NATS_URL=nats_url, MUSTER_DATABASE_URL=database_url)
    with running(tmp_path, "--demo", "--data-dir", str(data_dir), "--port", str(free_port()),
                 env=env, data_dir=data_dir) as up:
        up.wait_listening()
        # Configured servers: nothing of its own, not even a folder for them.
        assert not servers_of(data_dir)
        assert not [c for c in psutil.Process(up.proc.pid).children(recursive=True)
                    if c.name() in ("nats-server", "postgres")]
        assert not (data_dir / "nats").exists() and not (data_dir / "pg").exists()
        alert = ["alert", "--site", "demo-high", "--kind", "lockdown", "--room", "B-112",
                 "--data-dir", str(data_dir)]
        pressed = muster(*alert, "--token", up.tokens()["device"], cwd=tmp_path)
        assert pressed.returncode == 0, pressed.stderr
        body = json.loads(pressed.stdout)
        assert body["duplicate"] is False and body["incident_id"]
        types = stream_types(nats_url)
        assert types[body["seq"] - 1] == "ProtocolDeclared"
        refused = muster(*alert, "--token", "mst_not-a-real-token", cwd=tmp_path)
        assert refused.returncode != 0
        assert "Traceback" not in refused.stderr and "token" in refused.stderr
        # Nothing but the notifier's records of its sends follows the one press.
        after = stream_types(nats_url)[body["seq"]:]
        assert set(after) <= {"NotificationSent", "NotificationFailed"}, after
        assert up.stop() == 0, up.stderr


def test_migrate_twice_says_up_to_date(tmp_path: Path, data_dir: Path) -> None:
    first = muster("migrate", "--data-dir", str(data_dir), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "up to date" not in first.stdout and ".sql" in first.stdout
    second = muster("migrate", "--data-dir", str(data_dir), cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "up to date" in second.stdout
    assert_no_servers(data_dir)


def test_config_file_is_honoured_and_env_overrides_it(tmp_path: Path, data_dir: Path,
                                                      nats_url: str, database_url: str) -> None:
    port, env_port = free_port(), free_port()
    config = tmp_path / "muster.toml"
    config.write_text(f'http_port = {port}\ndata_dir = "{data_dir}"\n')
    env = clean_env(MUSTER_NATS_URL=nats_url, MUSTER_DATABASE_URL=database_url)
    with running(tmp_path, "--config", str(config), env=env, data_dir=data_dir) as up:
        assert up.wait_listening() == f"http://127.0.0.1:{port}"
        assert (data_dir / "runtime.json").exists()
        assert up.stop() == 0, up.stderr

    # Nothing listens now, so `alert` names the URL it built from the settings.
    alert = ["--config", str(config), "alert", "--site", "s", "--kind", "hold", "--room", "r",
             "--token", "t"]
    from_file = muster(*alert, cwd=tmp_path)
    assert from_file.returncode != 0 and f"127.0.0.1:{port}" in from_file.stderr
    from_env = muster(*alert, cwd=tmp_path, env=clean_env(MUSTER_HTTP_PORT=str(env_port)))
    assert from_env.returncode != 0 and f"127.0.0.1:{env_port}" in from_env.stderr

    config.write_text("http_prot = 1\n")
    misspelt = muster("up", "--config", str(config), cwd=tmp_path)
    assert misspelt.returncode != 0 and "http_prot" in misspelt.stderr
    assert "Traceback" not in misspelt.stderr

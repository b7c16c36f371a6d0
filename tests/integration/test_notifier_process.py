"""`muster up` runs the notifier and the projector in processes of their own: real subprocesses,
embedded servers, alerts through Apprise to a local HTTP sink. The notifier's records are written
by intake (no race for a site's sequence), a kill -9 of it is followed by a restart, SIGTERM ends
both, and MUSTER_APART naming a part that serves clients is refused."""

import json
import re
import signal
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http import server as web_server
from pathlib import Path

import psutil
import pytest

from command.infra.embedded import free_port
from consumers.component_processes import ChildError, Children
from tests.integration.test_cli import TINY_SITE, clean_env, http, muster, running, stream_types


class _Handler(web_server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # the standard library calls it by this name
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.posts.append(json.loads(body))  # type: ignore[attr-defined]
        self.send_response(200)
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


@contextmanager
def sink() -> Iterator[tuple[int, list[dict[str, object]]]]:
    server = web_server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.posts = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1], server.posts  # type: ignore[attr-defined]
    finally:
        server.shutdown()


def wait_for(check: object, what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def child_pid(data_dir: Path, component: str = "notifier") -> int | None:
    try:
        pid = int(json.loads((data_dir / component / "runtime.json").read_text())["pid"])
    except (OSError, ValueError, KeyError):
        return None
    return pid if psutil.pid_exists(pid) else None


def conflicts(metrics: str) -> float:
    with urllib.request.urlopen(metrics, timeout=5) as resp:
        text = resp.read().decode()
    found = re.search(r"^muster_intake_conflicts_total ([0-9.e+]+)$", text, re.M)
    assert found, "no conflicts counter"
    return float(found.group(1))


def test_up_runs_the_notifier_apart_restarts_it_and_stops_it(tmp_path: Path) -> None:
    data_dir, port = tmp_path / "data", free_port()
    with sink() as (sink_port, posts), running(
            tmp_path, "--data-dir", str(data_dir), "--port", str(port), data_dir=data_dir,
            env=clean_env(MUSTER_APART="notifier,projector")) as up:
        url = up.wait_listening()
        assert "notifier in a process of its own" in up.stdout, up.stdout
        assert "projector in a process of its own" in up.stdout, up.stdout
        first = child_pid(data_dir)
        assert first is not None and psutil.Process(first).parent().pid == up.proc.pid
        projector = child_pid(data_dir, "projector")
        assert projector is not None and psutil.Process(projector).parent().pid == up.proc.pid
        # Its records go to this muster up's intake desk (tests/integration/test_records.py).
        desk = psutil.Process(first).environ().get("MUSTER_RECORDS_TO", "")
        assert desk.startswith("_muster.records.") and desk.endswith(f".{up.proc.pid}"), desk
        site = tmp_path / "tiny.toml"
        site.write_text(TINY_SITE + f'[[channels]]\nname = "sro"\n'
                                    f'url = "json://127.0.0.1:{sink_port}/sro"\n')
        imported = muster("site", "import", str(site), "--data-dir", str(data_dir),
                          cwd=tmp_path)
        assert imported.returncode == 0, imported.stderr
        made = muster("token", "create", "--role", "device", "--site", "tiny-elem",
                      "--data-dir", str(data_dir), cwd=tmp_path)
        device = made.stdout.strip().splitlines()[-1]
        press = f"{url}/v1/sites/tiny-elem/alerts"
        for room in ("R-1", "R-2", "R-1"):
            status, body = http("POST", press, device, {"kind": "lockdown", "room": room})
            assert status == 202, body
        made = muster("token", "create", "--role", "commander", "--site", "tiny-elem",
                      "--data-dir", str(data_dir), cwd=tmp_path)
        commander = made.stdout.strip().splitlines()[-1]
        board_url = f"{url}/v1/sites/tiny-elem/board"
        wait_for(lambda: (http("GET", board_url, commander)[1].get("incident") or {}).get("id")
                 == body["incident_id"], "the projector's read model shows the incident")
        wait_for(lambda: len(posts) >= 3, f"alerts at the sink: {posts}")
        runtime = json.loads((data_dir / "runtime.json").read_text())
        wait_for(lambda: stream_types(runtime["nats_url"]).count("NotificationSent")
                 == len(posts), "each send recorded in the stream")
        metrics = runtime["metrics_url"]  # its own address, loopback, not the API's port
        assert metrics.startswith("http://127.0.0.1:") and not metrics.startswith(url), metrics
        assert conflicts(metrics) == 0  # records queued behind commands, never raced them
        # The notifier's own metrics, relayed beside ours: its sends are counted there.
        with urllib.request.urlopen(f"{metrics}/notifier", timeout=10) as resp:
            relayed = resp.read().decode()
        sent = re.search(r'^muster_notifications_total\{outcome="sent"\} ([0-9.e+]+)$',
                         relayed, re.M)
        assert sent and float(sent.group(1)) >= 3, relayed[-2000:]
        assert "muster_intake_requests_total" not in relayed  # intake is not in that process
        assert http("GET", f"{metrics}/intake")[0] == 404
        assert http("GET", f"{url}/metrics/notifier")[0] == 404  # no token: not on the API
        # Our own /metrics lists only what runs here: no zero counts of sends for an operator
        # to read as "no alert went out".
        with urllib.request.urlopen(metrics, timeout=10) as resp:
            own = resp.read().decode()
        assert "muster_intake_requests_total" in own
        assert "muster_notification" not in own and "muster_projection" not in own

        psutil.Process(first).kill()
        wait_for(lambda: child_pid(data_dir) not in (None, first), "notifier restarted")
        seen = len(posts)
        status, body = http("POST", press, device, {"kind": "lockdown", "room": "R-2"})
        assert status == 202, body
        wait_for(lambda: len(posts) > seen, "an alert after the restart")

        # Dead again soon after its start: a crash loop is restarted after a pause, not at once.
        young = child_pid(data_dir)
        assert young is not None
        psutil.Process(young).kill()
        wait_for(lambda: child_pid(data_dir) not in (None, young), "notifier restarted again")
        again = child_pid(data_dir)
        assert up.stop(signal.SIGTERM) == 0, up.stderr
        assert "the notifier process exited with -9; starting it again in 1 s" in up.stderr
        assert again is not None and not psutil.pid_exists(again)
        assert not psutil.pid_exists(projector)
        assert "Traceback" not in up.stderr


def test_apart_names_only_what_serves_no_client(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    result = muster("up", "--data-dir", str(data_dir), "--port", str(free_port()), cwd=tmp_path,
                    env=clean_env(MUSTER_APART="notifier,boards"), timeout=30)
    assert result.returncode == 2, result
    assert "boards" in result.stderr and "Traceback" not in result.stderr
    assert not (data_dir / "nats").exists()  # refused before any server started


async def test_a_child_that_cannot_start_is_named_and_left_behind_by_none(
        tmp_path: Path) -> None:
    # `muster serve` without servers to use exits at once: a child that never comes up.
    children = Children(tmp_path, ("notifier",), ready_timeout=2.0)
    env = {"MUSTER_NATS_URL": "", "MUSTER_DATABASE_URL": ""}
    with pytest.raises(ChildError, match="notifier process did not start within 2 s"):
        await children.start(env)
    procs = list(children.procs.values())
    await children.stop()
    assert procs and all(p.poll() is not None for p in procs)

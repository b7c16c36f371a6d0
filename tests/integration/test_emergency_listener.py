"""`MUSTER_EMERGENCY_PORT`: `muster up` runs a process that takes only the life-safety commands,
on a port of its own. Real subprocesses and embedded servers: a press there is on the stream and
the board, a routine report there is a 404 that writes nothing, one `client_event_id` sent to both
doors is written once, the notifier's records go through its desk, a kill -9 of the listener is
followed by a restart, and SIGTERM ends it."""

import json
import signal
import urllib.request
import uuid
from pathlib import Path

import psutil

from command.infra.embedded import free_port
from tests.integration.test_cli import TINY_SITE, clean_env, http, muster, running, stream_types
from tests.integration.test_notifier_process import child_pid, conflicts, sink, wait_for


def token(data_dir: Path, tmp: Path, role: str) -> str:
    made = muster("token", "create", "--role", role, "--site", "tiny-elem",
                  "--data-dir", str(data_dir), cwd=tmp)
    assert made.returncode == 0, made.stderr
    return made.stdout.strip().splitlines()[-1]


def commands_written(nats_url: str) -> list[str]:
    """The stream's event types, without the notifier's records, which arrive when they do."""
    return [t for t in stream_types(nats_url) if not t.startswith("Notification")]


def test_up_serves_the_life_safety_commands_on_a_door_of_their_own(tmp_path: Path) -> None:
    data_dir, port = tmp_path / "data", free_port()
    # Port 0: a free one, which a restarted listener must bind again (the printed address holds).
    with sink() as (sink_port, posts), running(
            tmp_path, "--data-dir", str(data_dir), "--port", str(port), data_dir=data_dir,
            env=clean_env(MUSTER_EMERGENCY_PORT="0")) as up:
        url = up.wait_listening()
        wait_for(lambda: "Emergency listener" in up.stdout, f"announced: {up.stdout}")
        runtime = json.loads((data_dir / "runtime.json").read_text())
        emergency = runtime["emergency_url"]
        assert emergency.startswith("http://127.0.0.1:") and emergency != url
        assert emergency in up.stdout, up.stdout
        listener = child_pid(data_dir, "emergency")
        assert listener is not None and psutil.Process(listener).parent().pid == up.proc.pid
        site = tmp_path / "tiny.toml"
        site.write_text(TINY_SITE + f'[[channels]]\nname = "sro"\n'
                                    f'url = "json://127.0.0.1:{sink_port}/sro"\n')
        imported = muster("site", "import", str(site), "--data-dir", str(data_dir), cwd=tmp_path)
        assert imported.returncode == 0, imported.stderr
        device, staff = token(data_dir, tmp_path, "device"), token(data_dir, tmp_path, "staff")

        # The site imported through the API's intake is known at the other door at once.
        once = str(uuid.uuid4())
        status, pressed = http("POST", f"{emergency}/v1/sites/tiny-elem/alerts", device,
                               {"kind": "lockdown", "room": "R-1", "client_event_id": once})
        assert status == 202, pressed
        # The same press retried at the API's door is the same event, not a second one.
        status, again = http("POST", f"{url}/v1/sites/tiny-elem/alerts", device,
                             {"kind": "lockdown", "room": "R-1", "client_event_id": once})
        assert status == 202 and again["duplicate"] is True, again
        assert again["event_id"] == pressed["event_id"] and again["seq"] == pressed["seq"]
        incident = pressed["incident_id"]

        # Routine traffic is not taken there, and a refusal writes nothing.
        written = commands_written(runtime["nats_url"])
        note = {"text": "hallway clear"}
        status, body = http("POST", f"{emergency}/v1/incidents/{incident}/notes", staff, note)
        assert status == 404, body
        status, body = http("POST", f"{emergency}/v1/incidents/{incident}/rooms/R-1/status",
                            staff, {"status": "secured", "present": 20})
        assert status == 404, body
        assert commands_written(runtime["nats_url"]) == written
        assert written.count("AlertRaised") == 1 and written.count("IncidentOpened") == 1
        # ... while the API's door takes it, and the emergency door decides on what it wrote.
        status, body = http("POST", f"{url}/v1/incidents/{incident}/notes", staff, note)
        assert status == 202, body
        status, body = http("POST", f"{emergency}/v1/sites/tiny-elem/alerts", device,
                             {"kind": "lockdown", "room": "R-2"})
        assert status == 202 and body["incident_id"] == incident, body
        commander = token(data_dir, tmp_path, "commander")
        wait_for(lambda: (http("GET", f"{url}/v1/sites/tiny-elem/board", commander)[1]
                          .get("incident") or {}).get("id") == incident, "on the board")

        # The notifier's records of its sends go through the emergency listener's desk, so they
        # queue behind the presses they follow instead of racing them for the site's sequence.
        notifier = child_pid(data_dir, "notifier")
        assert notifier is not None
        desk = psutil.Process(notifier).environ()["MUSTER_RECORDS_TO"]
        assert desk.endswith(f".{up.proc.pid}")
        assert psutil.Process(listener).environ()["MUSTER_DESK"] == desk
        wait_for(lambda: len(posts) >= 2, f"both presses at the sink: {posts}")
        wait_for(lambda: stream_types(runtime["nats_url"]).count("NotificationSent")
                 == len(posts), "each send recorded in the stream")
        relayed_at = runtime["metrics_url"] + "/emergency"
        assert conflicts(relayed_at) == 0  # records queued behind its presses, never raced them

        # Its own metrics are relayed beside the others'.
        with urllib.request.urlopen(relayed_at, timeout=10) as resp:
            relayed = resp.read().decode()
        assert 'muster_intake_requests_total{route="/v1/sites/{site}/alerts"' in relayed
        assert "muster_board" not in relayed and "muster_notification" not in relayed

        psutil.Process(listener).kill()
        wait_for(lambda: child_pid(data_dir, "emergency") not in (None, listener),
                 "the emergency listener restarted")
        wait_for(lambda: http("GET", f"{emergency}/readyz")[0] == 200, "listening again")
        status, body = http("POST", f"{emergency}/v1/incidents/{incident}/acks",
                            token(data_dir, tmp_path, "responder"), {"responder": "SRO Diaz"})
        assert status == 202, body
        restarted = child_pid(data_dir, "emergency")
        assert up.stop(signal.SIGTERM) == 0, up.stderr
        assert restarted is not None and not psutil.pid_exists(restarted)

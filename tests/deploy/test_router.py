"""The routers in front of Muster (compose's nginx, Kubernetes' ConfigMap) send each request
where it is served: the life-safety POSTs to the emergency listener, and to intake when no
listener answers; reads to boards; every other write to intake. nginx's map is evaluated here
the way nginx does, against every write route Muster serves."""

import re

import pytest
import yaml

from command.write.routes import EMERGENCY, WRITE_ROUTES
from tests.deploy.nats_cluster import DEPLOY

K8S_DIR = DEPLOY / "k8s"


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


ROUTED = [("POST", "/v1/sites/s1/alerts", "emergency"),
          ("POST", "/v1/incidents/i-1/protocol", "emergency"),
          ("POST", "/v1/incidents/i-1/acks", "emergency"),
          ("POST", "/v1/incidents/i-1/all-clear", "emergency"),
          ("POST", "/v1/incidents/i-1/cancel", "emergency"),
          ("POST", "/v1/incidents/i-1/command", "emergency"),
          ("POST", "/v1/incidents/i-1/rooms/B-112/status", "intake"),
          ("POST", "/v1/incidents/i-1/notes", "intake"),
          ("POST", "/v1/incidents/i-1/close", "intake"),
          ("POST", "/v1/sites/s1/drills", "intake"),
          ("POST", "/v1/sites/s1/alerts/extra", "intake"),
          ("PUT", "/v1/sites/s1", "intake"),
          ("GET", "/v1/sites/s1/board", "boards"),
          ("GET", "/v1/incidents/i-1/timeline", "boards"),
          ("HEAD", "/board/s1", "boards")]


def route(conf: str, method: str, uri: str) -> str:
    """The backend nginx's `map "$request_method $uri"` picks: its first matching regex in
    order, else its default, as nginx does for regex-only maps."""
    (body,) = re.findall(r'map "\$request_method \$uri" \$muster_backend \{(.*?)\}', conf,
                         flags=re.S)
    default = None
    for line in body.strip().splitlines():
        key, value = line.strip().rstrip(";").rsplit(None, 1)
        if key == "default":
            default = value
        elif re.search(key.strip('"').removeprefix("~"), f"{method} {uri}"):
            return value
    assert default is not None
    return default


@pytest.mark.parametrize("where", ["compose", "k8s"])
def test_router_sends_life_safety_to_emergency_reads_to_boards_the_rest_to_intake(
        where: str) -> None:
    conf = ((DEPLOY / "nginx" / "muster.conf").read_text() if where == "compose" else
            yaml.safe_load((K8S_DIR / "router.yaml").read_text().split("\n---\n")[0])
            ["data"]["default.conf"])
    assert [route(conf, m, u) for m, u, _ in ROUTED] == [b for _, _, b in ROUTED]
    if where == "compose":
        assert {"intake", "boards", "emergency"} <= set(
            compose()["services"]["router"]["depends_on"])
    else:
        assert "server muster-emergency:8080;" in conf


def test_the_routers_emergency_routes_are_the_emergency_listeners() -> None:
    conf = (DEPLOY / "nginx" / "muster.conf").read_text()
    for r in WRITE_ROUTES:
        uri = r.path.replace("{site}", "s1").replace("{id}", "i-1").replace("{room}", "B-1")
        assert (route(conf, "POST", uri) == "emergency") == (r.command in EMERGENCY), r.path


def test_a_press_goes_to_intake_when_no_emergency_listener_answers() -> None:
    conf = (DEPLOY / "nginx" / "muster.conf").read_text()
    (fallback,) = re.findall(r"map \$muster_backend \$muster_fallback \{(.*?)\}", conf, re.S)
    pairs = dict(line.strip().rstrip(";").split(None, 1) for line in fallback.strip().splitlines())
    assert pairs == {"emergency": "intake", "default": '""'}  # only the emergency routes
    assert "error_page 502 = @fallback;" in conf
    assert "proxy_pass http://$muster_fallback:8080;" in conf
    k8s = yaml.safe_load((K8S_DIR / "router.yaml").read_text().split("\n---\n")[0])
    assert re.search(r"upstream emergency \{\s*server muster-emergency:8080;\s*"
                     r"server muster-intake:8080 backup;\s*\}", k8s["data"]["default.conf"])


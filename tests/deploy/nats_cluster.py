"""The three-node NATS cluster of deploy/ (compose's nats-N.conf, or the k8s ConfigMap), run on
loopback for the tests.

Each node runs a copy of the shipped config with only its addresses and paths rewritten,
so a test of the cluster is a test of the files we deploy. A rewrite that finds nothing to
replace fails: a changed config must change this helper, not silently run something else.
Its TLS certificates are made by the shipped deploy/nats/make-tls.sh (openssl), for 127.0.0.1
too, and its clients' password is a new one per cluster, given as the deploy gives it: by
environment.
"""

import contextlib
import json
import os
import secrets
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml  # PyYAML comes with apprise, a dependency of Muster

from command.infra.embedded import free_port, nats_binary

ROOT = Path(__file__).resolve().parent.parent.parent
DEPLOY = ROOT / "deploy"
NATS_DIR = DEPLOY / "nats"
CLIENT, ROUTE, MONITOR, STORE = "0.0.0.0:4222", "0.0.0.0:6222", "0.0.0.0:8222", "/data/jetstream"
K8S_PID_FILE = "/var/run/nats/nats.pid"
TLS_DIR = "/etc/nats-tls/"  # where compose and k8s mount the certificates
TLS_PATHS = 6  # cert, key and CA, for clients and for routes
USER, PASSWORD_ENV = "muster", "NATS_MUSTER_PASSWORD"


def make_tls(out: Path) -> Path:
    """A throwaway CA and node certificate in `out`, by the script an operator runs."""
    if not (out / "tls.crt").exists():
        subprocess.run(["sh", str(NATS_DIR / "make-tls.sh"), str(out), "IP:127.0.0.1"],
                       check=True, capture_output=True, timeout=60)
    return out


def with_tls(text: str, tls: Path) -> str:
    """The config with its certificate paths moved to `tls`."""
    return _replace(text, TLS_DIR, f"{tls}/", TLS_PATHS)


def client_tls(tls: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(tls / "ca.crt"))


def shipped(name: str) -> Path:
    return NATS_DIR / f"{name}.conf"


def k8s_config() -> str:
    """nats.conf of the ConfigMap in deploy/k8s/nats.yaml: one template for the three pods."""
    docs = yaml.safe_load_all((DEPLOY / "k8s" / "nats.yaml").read_text())
    return next(d for d in docs if d["kind"] == "ConfigMap")["data"]["nats.conf"]


@dataclass(frozen=True)
class Layout:
    """Where a set of configs comes from, what its nodes are called and how routes name them."""

    names: tuple[str, ...]
    route: str
    text: Callable[[str], str]
    env: Callable[[str], dict[str, str]] = lambda _: {}
    paths: dict[str, str] = field(default_factory=dict)  # absolute path -> file under node dir


COMPOSE = Layout(("nats-1", "nats-2", "nats-3"), "nats-route://{}:6222",
                 lambda name: shipped(name).read_text())
K8S = Layout(("nats-0", "nats-1", "nats-2"), "nats-route://{}.nats-headless:6222",
             lambda _: k8s_config(), lambda name: {"POD_NAME": name},
             {K8S_PID_FILE: "nats.pid"})


def _replace(text: str, old: str, new: str, count: int) -> str:
    found = text.count(old)
    if found != count:
        raise AssertionError(f"expected {old!r} {count} time(s) in the config, found {found}")
    return text.replace(old, new)


class Node:
    """One nats-server of the cluster, on free loopback ports under `root`."""

    def __init__(self, name: str, root: Path, layout: Layout = COMPOSE, tls: Path = Path(),
                 password: str = "") -> None:
        self.name = name
        self.layout = layout
        self.tls = tls
        self.password = password
        self.dir = root / name
        self.client_port = free_port()
        self.route_port = free_port()
        self.monitor_port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"tls://{USER}:{self.password}@127.0.0.1:{self.client_port}"

    @property
    def log(self) -> Path:
        return self.dir / "nats.log"

    def config(self, peers: list["Node"]) -> str:
        text = self.layout.text(self.name)
        text = _replace(text, CLIENT, f"127.0.0.1:{self.client_port}", 1)
        text = _replace(text, ROUTE, f"127.0.0.1:{self.route_port}", 1)
        text = _replace(text, MONITOR, f"127.0.0.1:{self.monitor_port}", 1)
        text = _replace(text, STORE, str(self.dir / "jetstream"), 1)
        text = with_tls(text, self.tls)
        for path, name in self.layout.paths.items():
            text = _replace(text, path, str(self.dir / name), 1)
        for peer in peers:
            text = _replace(text, self.layout.route.format(peer.name),
                            f"nats-route://127.0.0.1:{peer.route_port}", 1)
        return text

    def start(self, peers: list["Node"]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        conf = self.dir / "nats.conf"
        conf.write_text(self.config(peers))
        # Its own session: a Ctrl-C of pytest reaches pytest, whose teardown stops the nodes.
        self.proc = subprocess.Popen([nats_binary(), "-c", str(conf), "-l", str(self.log)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                                     env={**os.environ, **self.layout.env(self.name),
                                          PASSWORD_ENV: self.password},
                                     start_new_session=True)

    def kill(self) -> None:
        """kill -9: no lame duck, no flush, as a power cut or an OOM kill would leave it."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def monitor(self, path: str) -> Any:
        """A monitoring endpoint's JSON, or None while the node does not answer 200."""
        url = f"http://127.0.0.1:{self.monitor_port}{path}"
        with contextlib.suppress(OSError, urllib.error.URLError, ValueError):
            with urllib.request.urlopen(url, timeout=1) as resp:
                return json.loads(resp.read())
        return None


class Cluster:
    def __init__(self, root: Path, layout: Layout = COMPOSE) -> None:
        self.tls = make_tls(root / "tls")
        self.password = secrets.token_urlsafe(24)
        self.nodes = [Node(name, root, layout, self.tls, self.password) for name in layout.names]

    @property
    def ca_file(self) -> str:
        return str(self.tls / "ca.crt")

    def client_tls(self) -> ssl.SSLContext:
        return client_tls(self.tls)

    @property
    def urls(self) -> list[str]:
        return [n.url for n in self.nodes if n.alive]

    def node(self, name: str) -> Node:
        return next(n for n in self.nodes if n.name == name)

    def start(self, timeout: float = 20.0) -> None:
        for node in self.nodes:
            node.start(self.nodes)
        self.wait_ready(timeout)

    def meta_leader(self) -> str | None:
        """The JetStream meta leader every live node agrees on, once all of them see it."""
        leaders = set()
        for node in self.nodes:
            if not node.alive:
                continue
            jsz = node.monitor("/jsz")
            if jsz is None or node.monitor("/healthz?js-enabled-only=true") is None:
                return None
            leaders.add((jsz.get("meta_cluster") or {}).get("leader"))
        return leaders.pop() if len(leaders) == 1 and None not in leaders else None

    def wait_ready(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for node in self.nodes:
                if node.proc is not None and node.proc.poll() is not None:
                    raise RuntimeError(f"{node.name} exited; see {node.log}")
            if (leader := self.meta_leader()) is not None:
                return leader
            time.sleep(0.1)
        logs = "\n".join(f"--- {n.name}\n{n.log.read_text()[-2000:]}" for n in self.nodes
                         if n.log.exists())
        raise RuntimeError(f"no JetStream meta leader within {timeout:g} s\n{logs}")

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

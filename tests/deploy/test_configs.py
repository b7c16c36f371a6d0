"""The files under deploy/ say what they must, and the programs that read them accept them.

No Docker or Kubernetes runs here, so compose and the manifests are checked as data: they parse,
run every component with the settings Muster knows, keep the single-per-partition components
single, and point at files and Services that exist. Each NATS config is given to `nats-server -t`
and then run as a real three-node cluster on loopback, with TLS certificates made by the shipped
deploy/nats/make-tls.sh: it must refuse clients without TLS or without the password.
"""

import asyncio
import os
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import nats
import pytest
import yaml  # PyYAML comes with apprise, a dependency of Muster

from command.infra.broker import anonymous_may_publish
from command.infra.config import COMPONENTS, Settings
from command.infra.embedded import nats_binary
from tests.deploy.nats_cluster import (
    COMPOSE,
    DEPLOY,
    K8S,
    PASSWORD_ENV,
    ROOT,
    Cluster,
    Layout,
    k8s_config,
    make_tls,
    with_tls,
)

K8S_DIR = DEPLOY / "k8s"
SCALED = ("intake", "boards", "emergency")  # stateless: two or more
# Every component, and the emergency listener (intake's life-safety routes alone) beside them.
DEPLOYED = (*COMPONENTS, "emergency")
SINGLE = ("projector", "notifier")  # one per partition
NATS_CONFIGS = {f"compose/{n}": (COMPOSE, n) for n in COMPOSE.names}
NATS_CONFIGS["k8s/configmap"] = (K8S, K8S.names[0])


def yaml_files() -> list[Path]:
    return sorted(p for p in DEPLOY.rglob("*.yaml") if "migrations" not in p.parts)


def load_all(path: Path) -> list[Any]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def manifests() -> list[dict[str, Any]]:
    kustomization = yaml.safe_load((K8S_DIR / "kustomization.yaml").read_text())
    return [doc for name in kustomization["resources"] for doc in load_all(K8S_DIR / name)]


def of_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in manifests() if d["kind"] == kind}


def unknown_settings(env: dict[str, Any]) -> list[str]:
    """MUSTER_* names no setting reads: a typo there is silently ignored at run time."""
    return [k for k in env if k.startswith("MUSTER_")
            and k.removeprefix("MUSTER_").lower() not in Settings.__struct_fields__]


@pytest.mark.parametrize("path", yaml_files(), ids=lambda p: str(p.relative_to(DEPLOY)))
def test_every_yaml_file_parses(path: Path) -> None:
    docs = load_all(path)
    assert docs and all(isinstance(d, dict) for d in docs), path


# --- compose ------------------------------------------------------------------------------


def muster_services() -> dict[str, dict[str, Any]]:
    return {name: s for name, s in compose()["services"].items()
            if s.get("build", {}).get("dockerfile") == "deploy/Dockerfile"}


def test_compose_runs_each_component_as_its_own_service() -> None:
    serving = {name: s["command"] for name, s in muster_services().items()
               if s["command"][:2] == ["serve", "--components"]}
    assert sorted(c for cmd in serving.values() for c in cmd[2].split(",")) == sorted(DEPLOYED)
    for name, cmd in serving.items():
        replicas = compose()["services"][name].get("deploy", {}).get("replicas", 1)
        component = cmd[2]
        assert replicas >= 2 if component in SCALED else replicas == 1, (name, replicas)


def test_compose_muster_services_are_configured_for_the_cluster() -> None:
    services = muster_services()
    assert services["migrate"]["command"] == ["migrate"]
    for name, s in services.items():
        env = s["environment"]
        assert not unknown_settings(env), (name, unknown_settings(env))
        assert env["MUSTER_STREAM_REPLICAS"] == "3", name
        # TLS to our own CA and a password with no default: compose stops if it is unset.
        assert env["MUSTER_NATS_URL"] == \
            "tls://muster:${NATS_MUSTER_PASSWORD:?set it in deploy/.env}@nats:4222", name
        assert env["MUSTER_NATS_CA_FILE"] == "/etc/muster/nats-ca.crt", name
        assert "./nats/tls/ca.crt:/etc/muster/nats-ca.crt:ro" in s["volumes"], name
        assert env["MUSTER_DATABASE_URL"].startswith(
            "postgresql://muster:${POSTGRES_PASSWORD:?"), name
        assert env["MUSTER_METRICS_PORT"] == "9464", name
        if name == "migrate":
            continue
        assert "/readyz" in " ".join(s["healthcheck"]["test"]), name
        needs = s["depends_on"]
        assert needs["migrate"]["condition"] == "service_completed_successfully", name
        assert {f"nats-{i}" for i in (1, 2, 3)} <= set(needs), name


def test_compose_mounts_files_that_exist() -> None:
    services = compose()["services"]
    for name, s in services.items():
        for volume in s.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./nats/tls"):  # made by the script, never committed
                assert (DEPLOY / "nats" / "make-tls.sh").is_file(), (name, volume)
            elif source.startswith("."):
                assert (DEPLOY / source).is_file(), (name, volume)
    for i in (1, 2, 3):
        mounts = services[f"nats-{i}"]["volumes"]
        assert f"./nats/nats-{i}.conf:/etc/nats/nats.conf:ro" in mounts
        assert "./nats/tls:/etc/nats-tls:ro" in mounts
        assert services[f"nats-{i}"]["environment"][PASSWORD_ENV].startswith(
            "${NATS_MUSTER_PASSWORD:?")
    for name, s in muster_services().items():
        assert (DEPLOY / s["build"]["context"] / s["build"]["dockerfile"]).is_file(), name


# --- Dockerfile ---------------------------------------------------------------------------


def test_dockerfile_copies_every_package_it_installs() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    assert text.startswith("#") and "FROM python:3.11-slim" in text
    assert "pip install ." in text
    copied = re.findall(r"^COPY (\S+)", text, flags=re.M)
    for source in copied:
        assert (ROOT / source).exists(), source
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    tops = {pattern.rstrip("*") for pattern in setuptools["packages"]["find"]["include"]}
    assert tops == {"command", "consumers", "loadtest"}
    assert tops <= set(copied), "pip install . needs every package"
    assert "migrations/*.sql" in setuptools["package-data"]["command"]


# --- Kubernetes ---------------------------------------------------------------------------


def test_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((K8S_DIR / "kustomization.yaml").read_text())
    files = {p.name for p in K8S_DIR.glob("*.yaml")} - {"kustomization.yaml"}
    assert sorted(kustomization["resources"]) == sorted(files)


def test_k8s_names_every_kind_it_needs() -> None:
    kinds = {d["kind"] for d in manifests()}
    assert {"Namespace", "Secret", "ConfigMap", "Service", "StatefulSet", "Deployment",
            "Job", "PodDisruptionBudget"} <= kinds


def test_k8s_nats_is_a_three_node_statefulset_with_its_headless_service() -> None:
    nats = of_kind("StatefulSet")["nats"]
    assert nats["spec"]["replicas"] == 3
    headless = of_kind("Service")[nats["spec"]["serviceName"]]
    assert headless["spec"]["clusterIP"] == "None"
    assert headless["spec"]["publishNotReadyAddresses"] is True
    volumes = nats["spec"]["template"]["spec"]["volumes"]
    assert {"name": "config", "configMap": {"name": "nats-config"}} in volumes
    assert "nats-config" in of_kind("ConfigMap")
    for route in re.findall(r"nats-route://(\S+):6222", k8s_config()):
        pod, service = route.split(".")
        assert service == nats["spec"]["serviceName"] and pod in K8S.names, route


def containers(workload: dict[str, Any]) -> list[dict[str, Any]]:
    return workload["spec"]["template"]["spec"]["containers"]


def test_k8s_runs_each_component_in_its_own_deployment() -> None:
    deployments = of_kind("Deployment")
    services = of_kind("Service")
    for component in DEPLOYED:
        d = deployments[f"muster-{component}"]
        (c,) = containers(d)
        assert c["args"] == ["serve", "--components", component]
        assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
        if component in SCALED:
            assert d["spec"]["replicas"] >= 2, component
            assert services[f"muster-{component}"]["spec"]["selector"].items() <= \
                d["spec"]["template"]["metadata"]["labels"].items(), component
        else:
            assert d["spec"]["replicas"] == 1, component
            assert d["spec"]["strategy"]["type"] == "Recreate", component


def test_k8s_muster_containers_read_the_database_url_from_the_secret() -> None:
    secret = of_kind("Secret")["muster-db"]
    workloads = [*of_kind("Deployment").values(), *of_kind("Job").values()]
    muster = [c for w in workloads for c in containers(w) if c["image"] == "muster"]
    assert len(muster) == len(DEPLOYED) + 1  # the components and the migrate Job
    assert any(c["args"] == ["migrate"] for c in muster)
    for c in muster:
        env = {e["name"]: e for e in c["env"]}
        assert not unknown_settings(env), unknown_settings(env)
        ref = env["MUSTER_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
        assert ref["name"] == "muster-db" and ref["key"] in secret["stringData"]
        if c["args"] != ["migrate"]:
            assert env["MUSTER_STREAM_REPLICAS"]["value"] == "3"
            ref = env["MUSTER_NATS_URL"]["valueFrom"]["secretKeyRef"]
            nats_secret = of_kind("Secret")[ref["name"]]["stringData"]
            assert nats_secret[ref["key"]].startswith("tls://muster:")
            assert "nats" in of_kind("Service")
            mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
            assert env["MUSTER_NATS_CA_FILE"]["value"] == f"{mounts['nats-tls']}/ca.crt"
            assert env["MUSTER_METRICS_PORT"]["value"] == "9464"


def test_k8s_services_select_pods_that_exist() -> None:
    pods = [w["spec"]["template"]["metadata"]["labels"]
            for kind in ("Deployment", "StatefulSet") for w in of_kind(kind).values()]
    for name, service in of_kind("Service").items():
        selector = service["spec"]["selector"].items()
        assert any(selector <= labels.items() for labels in pods), name


# --- NATS ---------------------------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(NATS_CONFIGS))
def test_nats_config_syncs_always_and_routes_to_all_three(key: str) -> None:
    layout, name = NATS_CONFIGS[key]
    text = layout.text(name)
    assert re.search(r"^\s*sync_interval:\s*always\s*$", text, flags=re.M)
    assert re.search(r"^\s*jetstream\s*\{", text, flags=re.M)
    assert re.search(r"^\s*cluster\s*\{", text, flags=re.M)
    for node in layout.names:
        assert layout.route.format(node) in text, (key, node)


def block(text: str, name: str) -> str:
    """The body of `name { ... }` (its first one), nested braces included."""
    start = re.search(rf"^\s*{name}\s*\{{", text, flags=re.M)
    assert start, name
    depth, i = 1, start.end()
    while depth:
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        i += 1
    return text[start.end():i - 1]


@pytest.mark.parametrize("key", sorted(NATS_CONFIGS))
def test_nats_config_asks_clients_for_tls_and_a_password_and_routes_for_certificates(
        key: str) -> None:
    layout, name = NATS_CONFIGS[key]
    text = layout.text(name)
    cluster = block(text, "cluster")
    outside = text.replace(cluster, "")
    for tls in (block(outside, "tls"), block(cluster, "tls")):
        for field in ("cert_file", "key_file", "ca_file"):
            assert re.search(rf"^\s*{field}:\s*/etc/nats-tls/\S+$", tls, flags=re.M), field
    assert re.search(r"^\s*verify:\s*true\s*$", block(cluster, "tls"), flags=re.M)
    account = block(block(text, "accounts"), "MUSTER")
    assert re.search(r"^\s*jetstream:\s*enabled\s*$", account, flags=re.M)
    assert re.search(r"\{user: muster, password: \$NATS_MUSTER_PASSWORD\}", account)
    # No way in without a user: no anonymous default user, no second, looser user list.
    assert not re.search(r"^\s*(no_auth_user|authorization)\b", text, flags=re.M)


def nats_test_mode(path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([nats_binary(), "-c", str(path), "-t"], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=30)


@pytest.mark.parametrize("key", sorted(NATS_CONFIGS))
def test_nats_server_accepts_the_config(key: str, tmp_path: Path) -> None:
    layout, name = NATS_CONFIGS[key]
    tls = make_tls(tmp_path / "tls")
    env = {**layout.env(name), PASSWORD_ENV: "a-test-password"}
    path = tmp_path / "nats.conf"
    path.write_text(with_tls(layout.text(name), tls))
    result = nats_test_mode(path, env)
    assert result.returncode == 0, result.stdout + result.stderr
    # The same check refuses a broken copy, so the pass above means something.
    path.write_text(with_tls(layout.text(name), tls).replace("sync_interval: always",
                                                             "sync_interval: sometimes"))
    assert nats_test_mode(path, env).returncode != 0


def test_compose_nats_nodes_differ_only_in_their_names() -> None:
    texts = {n: COMPOSE.text(n) for n in COMPOSE.names}
    names = {n: re.findall(r"^server_name:\s*(\S+)\s*$", t, flags=re.M) for n, t in texts.items()}
    assert names == {n: [n] for n in COMPOSE.names}
    bodies = {re.sub(r"(^server_name:.*$)|(node \d of 3)", "", t, flags=re.M)
              for t in texts.values()}
    assert len(bodies) == 1, "nats-N.conf files have drifted apart"


@pytest.mark.parametrize("layout", [COMPOSE, K8S], ids=["compose", "k8s"])
def test_nats_configs_form_a_cluster_with_a_jetstream_leader(layout: Layout,
                                                             tmp_path: Path) -> None:
    cluster = Cluster(tmp_path, layout)
    try:
        cluster.start()
        assert cluster.meta_leader() in layout.names
        for node in cluster.nodes:
            routes = node.monitor("/routez")
            assert routes is not None and routes["num_routes"] >= 2, (node.name, routes)
            varz = node.monitor("/varz")
            assert varz["tls_required"] and varz["auth_required"], node.name
            assert varz["cluster"]["tls_required"] and varz["cluster"]["tls_verify"], node.name
        asyncio.run(refuses_all_but_muster_over_tls(cluster))
    finally:
        cluster.stop()


async def refuses_all_but_muster_over_tls(cluster: Cluster) -> None:
    url = cluster.nodes[0].url
    bare = url.replace("tls://", "nats://").split("@", 1)[1]
    once = {"allow_reconnect": False, "max_reconnect_attempts": 0, "connect_timeout": 3}
    with pytest.raises(Exception, match=r"(?i)tls|ssl|certificate"):  # no TLS: no way in
        await nats.connect(f"nats://{bare}", **once)
    for wrong in (f"tls://{bare}", url.replace(cluster.password, "not-the-password")):
        with pytest.raises(nats.errors.Error, match="Authorization Violation"):
            await nats.connect(wrong, tls=cluster.client_tls(), **once)
    nc = await nats.connect(url, tls=cluster.client_tls(), **once)
    try:
        await nc.jetstream().account_info()  # account MUSTER has JetStream
    finally:
        await nc.close()
    assert await anonymous_may_publish(url, "muster.events", cluster.client_tls()) is False


def test_postgres_asks_every_connection_for_a_password() -> None:
    (pod,) = containers(of_kind("StatefulSet")["postgres"])
    env = {e["name"]: e for e in pod["env"]}
    assert env["POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "muster-db"
    composed = compose()["services"]["postgres"]["environment"]
    assert composed["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")  # no default
    for args in (env["POSTGRES_INITDB_ARGS"]["value"], composed["POSTGRES_INITDB_ARGS"]):
        assert args.split() == ["--auth-local=scram-sha-256", "--auth-host=scram-sha-256"]


def test_prometheus_scrapes_the_metrics_port_not_the_api() -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    (job,) = config["scrape_configs"]
    (sd,) = job["dns_sd_configs"]
    assert sd["port"] == 9464 and sorted(sd["names"]) == sorted(DEPLOYED)
    for component in DEPLOYED:
        deployment = of_kind("Deployment")[f"muster-{component}"]
        notes = deployment["spec"]["template"]["metadata"]["annotations"]
        assert notes["prometheus.io/port"] == "9464", component
        (c,) = containers(deployment)
        assert {"name": "metrics", "containerPort": 9464} in c["ports"], component

"""The Grafana dashboard and the Prometheus alert rules under deploy/ name only metrics a running
Muster exports, keep the shape Grafana and Prometheus read, and are wired into compose.

No Prometheus or Grafana runs here (promtool is not installed): the PromQL of every panel and
rule is read for its metric names, and those are looked for on /metrics and /metrics/notifier of
a real `muster up` (embedded NATS and PostgreSQL, the notifier in a process of its own).
"""

import json
import re
import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from command.infra.embedded import free_port
from tests.deploy.nats_cluster import DEPLOY
from tests.integration.test_cli import clean_env, running

GRAFANA = DEPLOY / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "muster-critical-path.json"
RULES = DEPLOY / "prometheus" / "muster-rules.yml"
# Words of PromQL that stand where a metric name could, without a "(" after them.
KEYWORDS = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right", "bool",
                      "and", "or", "unless", "offset", "inf", "nan", "atan2"})
PROMETHEUS_OWN = frozenset({"up"})  # made by Prometheus for each target, not by Muster
SUFFIXES = ("_bucket", "_sum", "_count", "_total", "_created")
# What the issue asks operators to see, by the metric that shows it.
CRITICAL_PATH = frozenset({
    "muster_intake_latency_seconds", "muster_board_fanout_lag_seconds",
    "muster_projection_lag_events", "muster_notifier_backlog_messages",
    "muster_notification_first_send_seconds", "muster_escalations_total",
    "muster_event_loop_delay_seconds", "muster_nats_connected", "muster_postgres_reachable"})


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads: identifiers that are neither called (a
    function or an aggregation) nor keywords, once strings, label matchers, ranges, label lists
    and Grafana's $variables are taken out."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"\$\{?\w+\}?", " ", text)
    names = set()
    for found in re.finditer(r"(?<![\w.:])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?", text):
        word, called = found.group(1), found.group(2)
        if not called and word.lower() not in KEYWORDS:
            names.add(word)
    return names


def family(name: str) -> str:
    """A sample's or series' name as its metric family: histograms' and counters' suffixes off."""
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return name.removesuffix(suffix)
    return name


def exported(exposition: str) -> set[str]:
    """Every family a /metrics page declares, with or without samples yet."""
    found = set()
    for fam in text_string_to_metric_families(exposition):
        found.add(family(fam.name))
        found.update(family(sample.name) for sample in fam.samples)
    return found


def missing(exprs: list[str], pages: list[str]) -> set[str]:
    """Metrics the expressions read that none of the /metrics pages export."""
    have = set().union(*(exported(page) for page in pages))
    wanted = set().union(*(metric_names(x) for x in exprs)) - PROMETHEUS_OWN
    return {name for name in wanted if family(name) not in have}


def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


def panel_targets(node: Any) -> list[dict[str, Any]]:
    """Every query of every panel, rows' nested panels too."""
    if isinstance(node, dict):
        own = [t for t in node.get("targets", []) if isinstance(t, dict)]
        return own + [t for v in node.values() for t in panel_targets(v)]
    if isinstance(node, list):
        return [t for v in node for t in panel_targets(v)]
    return []


def rules() -> list[dict[str, Any]]:
    config = yaml.safe_load(RULES.read_text())
    return [rule for group in config["groups"] for rule in group["rules"]]


def all_exprs() -> list[str]:
    return [t["expr"] for t in panel_targets(dashboard())] + [r["expr"] for r in rules()]


# --- the checker itself --------------------------------------------------------------------


def test_names_are_read_from_promql_and_a_made_up_one_is_missing() -> None:
    expr = ('histogram_quantile(0.99, sum by (le, route) (rate(a_seconds_bucket'
            '{route=~"/v1/.*", job="x"}[$__rate_interval]))) > 0.25 and on (instance) '
            'b_total offset 5m / ignoring (le) c_gauge unless up{job="muster"}')
    assert metric_names(expr) == {"a_seconds_bucket", "b_total", "c_gauge", "up"}
    registry = CollectorRegistry()
    Histogram("a_seconds", "a", registry=registry).observe(0.1)
    Counter("b", "b", ["outcome"], registry=registry)  # no sample yet: still exported
    page = generate_latest(registry).decode()
    assert missing([expr], [page]) == {"c_gauge"}
    made_up = 'sum(rate(muster_made_up_total[5m])) / sum(rate(a_seconds_count[5m]))'
    assert missing([made_up], [page]) == {"muster_made_up_total"}


# --- the files -----------------------------------------------------------------------------


def test_every_query_names_a_metric_and_the_critical_path_is_covered() -> None:
    targets = panel_targets(dashboard())
    assert len(targets) >= 15
    for target in targets:
        assert metric_names(target["expr"]), target
        assert target["datasource"]["uid"] == "prometheus", target
    wanted = {family(n) for n in CRITICAL_PATH}
    shown = {family(n) for t in targets for n in metric_names(t["expr"])}
    alerted = {family(n) for r in rules() for n in metric_names(r["expr"])}
    assert wanted <= shown, wanted - shown
    assert wanted <= alerted, wanted - alerted
    assert dashboard()["title"] == "Muster critical path"


def test_rules_have_what_prometheus_and_an_operator_need() -> None:
    found = rules()
    assert len(found) >= 9
    names = [r["alert"] for r in found]
    assert len(set(names)) == len(names)
    readme = (DEPLOY / "README.md").read_text()
    for rule in found:
        assert set(rule) == {"alert", "expr", "for", "labels", "annotations"}, rule
        assert re.fullmatch(r"\d+[smh]", rule["for"]), rule
        assert rule["labels"]["severity"] in ("critical", "warning"), rule
        assert rule["annotations"]["summary"] and len(rule["annotations"]["description"]) > 80
        assert rule["expr"].count("(") == rule["expr"].count(")"), rule
        assert f"`{rule['alert']}`" in readme, f"deploy/README.md says nothing of {rule['alert']}"


def test_prometheus_loads_the_rules_and_scrapes_the_relayed_notifier() -> None:
    for name in ("prometheus.yml", "muster-up.yml"):
        config = yaml.safe_load((DEPLOY / "prometheus" / name).read_text())
        assert config["rule_files"] == [RULES.name], name
    up = yaml.safe_load((DEPLOY / "prometheus" / "muster-up.yml").read_text())
    paths = sorted(job["metrics_path"] for job in up["scrape_configs"])
    assert paths == ["/metrics", "/metrics/notifier"]


def test_compose_mounts_the_rules_and_grafana_provisioning_read_only() -> None:
    services = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
    assert "./prometheus/muster-rules.yml:/etc/prometheus/muster-rules.yml:ro" in \
        services["prometheus"]["volumes"]
    grafana = services["grafana"]
    assert grafana["image"].startswith("grafana/grafana:")
    assert grafana["profiles"] == ["metrics"] and "prometheus" in grafana["depends_on"]
    assert all(p.startswith("127.0.0.1:") for p in grafana["ports"])
    mounts = dict(v.removesuffix(":ro").split(":", 1) for v in grafana["volumes"])
    assert all(v.endswith(":ro") for v in grafana["volumes"])
    for source in mounts:
        assert (DEPLOY / source).is_file(), source
    provider = yaml.safe_load((GRAFANA / "provisioning/dashboards/muster.yaml").read_text())
    (entry,) = provider["providers"]
    assert mounts["./grafana/dashboards/muster-critical-path.json"] == \
        f"{entry['options']['path']}/{DASHBOARD.name}"
    assert mounts["./grafana/provisioning/dashboards/muster.yaml"].startswith(
        "/etc/grafana/provisioning/dashboards/")
    sources = yaml.safe_load((GRAFANA / "provisioning/datasources/prometheus.yaml").read_text())
    (source,) = sources["datasources"]
    assert source["uid"] == "prometheus" and source["url"] == "http://prometheus:9090"
    assert mounts["./grafana/provisioning/datasources/prometheus.yaml"].startswith(
        "/etc/grafana/provisioning/datasources/")
    assert not any("PASSWORD" in k for k in grafana.get("environment", {}))


# --- against a running Muster --------------------------------------------------------------


def fetch(url: str) -> str:
    deadline = time.monotonic() + 20
    while True:
        try:
            with urllib.request.urlopen(url, timeout=10) as resp:
                return resp.read().decode()
        except OSError:  # the relayed notifier may still be starting
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_every_metric_named_is_exported_by_a_running_muster(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with running(tmp_path, "--data-dir", str(data_dir), "--port", str(free_port()),
                 data_dir=data_dir, env=clean_env(MUSTER_APART="notifier")) as up:
        up.wait_listening()
        assert "notifier in a process of its own" in up.stdout, up.stdout
        metrics = json.loads((data_dir / "runtime.json").read_text())["metrics_url"]
        main, notifier = fetch(metrics), fetch(f"{metrics}/notifier")
    assert missing(all_exprs(), [main, notifier]) == set()
    # Each page lists only what runs in its process: the notifier's are not on the main one.
    assert "muster_notifier_backlog_messages" in exported(notifier)
    assert "muster_notifier_backlog_messages" not in exported(main)
    assert {"muster_nats_connected", "muster_postgres_reachable"} <= exported(notifier)
    # The reachability probes have run: both servers answer, and the gauges say so.
    for page in (main, notifier):
        assert re.search(r"^muster_nats_connected 1\.0$", page, re.M), page
        assert re.search(r"^muster_postgres_reachable 1\.0$", page, re.M), page

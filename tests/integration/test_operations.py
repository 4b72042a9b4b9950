"""Operating SutazAI: the Prometheus alert rules (checked and unit-tested with Debian's promtool),
the Grafana dashboard (every query valid, every SutazAI metric it reads really exported by the
running services), and the runbook (a section for every alert)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.conftest import Platform
from tests.integration.knowledge_helpers import auth, ingest_text

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "compose" / "prometheus" / "alerts.yml"
RULE_TESTS = ROOT / "compose" / "prometheus" / "alerts.test.yml"
DASHBOARDS = sorted((ROOT / "compose" / "grafana" / "dashboards").glob("*.json"))
RUNBOOK = ROOT / "docs" / "operations.md"
SERVICES = ("identity", "reasoning", "knowledge", "learning", "metacognition")
EXTERNAL = ("haproxy_", "patroni_", "redis_", "node_")
"""Metric families of the exporters beside the services (HAProxy's own exporter, Patroni's REST
API, redis_exporter, node_exporter): not exported by SutazAI, so not checked against a scrape."""
PROMETHEUS_OWN = {"up", "ALERTS", "ALERTS_FOR_STATE"}
_FUNCTIONS_AND_WORDS = re.compile(r"\b[a-zA-Z_:][a-zA-Z0-9_:]*\b")
_NOT_METRICS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset",
    "sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk", "quantile", "count_values",
    "group", "inf", "nan", "e",
}


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail("promtool is missing: run `bash scripts/test-deps.sh` (it installs Debian's prometheus)")
    return found


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects: identifiers outside label matchers, quoted
    strings and grouping clauses that are not functions, aggregations or keywords."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", "", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    text = re.sub(r"\[[^\]]*\]", "", text)
    names = set()
    for match in _FUNCTIONS_AND_WORDS.finditer(text):
        word, after = match.group(0), text[match.end():].lstrip()[:1]
        if after == "(" or word.lower() in _NOT_METRICS or re.fullmatch(r"\d.*", word):
            continue
        names.add(word)
    return names


def alert_rules() -> list[dict[str, object]]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


def dashboard_queries() -> list[tuple[str, str]]:
    found = []
    for path in DASHBOARDS:
        for panel in json.loads(path.read_text())["panels"]:
            found += [(f"{path.name}: {panel['title']}", t["expr"]) for t in panel.get("targets", [])]
    return found


def test_the_expression_reader_finds_metric_names() -> None:
    expr = ('sum by (service) (rate(sutazai_http_requests_total{status=~"5.."}[5m])) / on (service) '
            'group_left () max(up{job="x"}) and on (instance) (patroni_replica == 1) > 16 * 1024')
    assert metric_names(expr) == {"sutazai_http_requests_total", "up", "patroni_replica"}


def test_the_alert_rules_are_valid_and_their_unit_tests_pass(tmp_path: Path) -> None:
    checked = subprocess.run([promtool(), "check", "rules", str(RULES)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = subprocess.run([promtool(), "test", "rules", str(RULE_TESTS)], capture_output=True, text=True,
                            check=False, cwd=RULE_TESTS.parent)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    # a broken rule is caught (the check can fail)
    broken = tmp_path / "broken.yml"
    broken.write_text("groups: [{name: x, rules: [{alert: X, expr: 'sum by (a (up)'}]}]\n")
    assert subprocess.run([promtool(), "check", "rules", str(broken)], capture_output=True,
                          check=False).returncode != 0


def test_every_alert_is_unit_tested_and_has_a_runbook_section() -> None:
    tested = {t["alertname"] for case in yaml.safe_load(RULE_TESTS.read_text())["tests"]
              for t in case.get("alert_rule_test", []) if t.get("exp_alerts")}
    runbook = RUNBOOK.read_text()
    anchors = {re.sub(r"[^a-z0-9 -]", "", h.strip().lower()).replace(" ", "-")
               for h in re.findall(r"^#{2,4} (.+)$", runbook, flags=re.M)}
    for rule in alert_rules():
        name = str(rule["alert"])
        assert name in tested, f"{name} has no promtool test where it fires"
        link = str(rule["annotations"]["runbook"])  # type: ignore[index]
        assert link == f"docs/operations.md#{name.lower()}" and name.lower() in anchors, \
            f"{name}: no runbook section '### {name}' in docs/operations.md"


def test_every_dashboard_query_is_valid_promql(tmp_path: Path) -> None:
    queries = dashboard_queries()
    assert len(queries) >= 15
    as_rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:query_{i}", "expr": expr} for i, (_, expr) in enumerate(queries)]}]}
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump(as_rules))
    checked = subprocess.run([promtool(), "check", "rules", str(path)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_dashboard_is_grafana_json_on_the_provisioned_datasource() -> None:
    datasources = yaml.safe_load((ROOT / "compose/grafana/provisioning/datasources/sutazai.yml").read_text())
    prometheus_uid = next(d["uid"] for d in datasources["datasources"] if d["type"] == "prometheus")
    for path in DASHBOARDS:
        board = json.loads(path.read_text())
        assert board["uid"] and board["title"] and board["schemaVersion"] >= 30
        ids = [p["id"] for p in board["panels"]]
        assert len(ids) == len(set(ids))
        for panel in board["panels"]:
            assert set(panel["gridPos"]) == {"h", "w", "x", "y"} and panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
            for target in panel.get("targets", []):
                assert target["datasource"] == {"type": "prometheus", "uid": prometheus_uid}


def test_every_sutazai_metric_the_rules_and_dashboards_read_is_exported(platform: Platform) -> None:
    with httpx.Client(base_url=platform.url, headers=auth(platform.admin_key), timeout=120) as client:
        ingest_text(client, "The Vessel Aurora was built in 1999 in Gdansk.", graph=False, collection="ops-metrics",
                    source="aurora.txt")
        client.get("/api/knowledge/v1/search", params={"q": "Aurora", "collection": "ops-metrics"})
        exported: set[str] = set()
        for service in SERVICES:
            response = httpx.get(f"{platform.url}/api/{service}/metrics", timeout=30)
            assert response.status_code == 200
            families = list(text_string_to_metric_families(response.text))
            exported |= {s.name for f in families for s in f.samples} | {f.name for f in families}
            up = {s.labels["check"]: s.value for f in families if f.name == "sutazai_dependency_up" for s in f.samples}
            assert up.get("postgres") == 1.0 and up.get("redis") == 1.0, (service, up)
        monitors = client.get("/api/metacognition/v1/monitors/prometheus")
        assert monitors.status_code == 200
        declared = list(text_string_to_metric_families(monitors.text))  # a reading's series appear once it has one
        exported |= {s.name for f in declared for s in f.samples} | {f.name for f in declared}
    knowledge = httpx.get(f"{platform.url}/api/knowledge/metrics", timeout=30).text
    jobs = {(s.labels.get("kind"), s.labels.get("state")) for f in text_string_to_metric_families(knowledge)
            if f.name == "sutazai_jobs" for s in f.samples}
    assert {("index", "queued"), ("index", "running"), ("graph", "queued"), ("graph", "running")} <= jobs
    read = {name for rule in alert_rules() for name in metric_names(str(rule["expr"]))}
    read |= {name for _, expr in dashboard_queries() for name in metric_names(expr)}
    ours = {n for n in read if not n.startswith(EXTERNAL) and n not in PROMETHEUS_OWN}
    assert ours, "no SutazAI metric is read at all"
    assert ours <= exported, f"read but not exported by any service: {sorted(ours - exported)}"
    assert all(n.startswith("sutazai_") for n in ours)

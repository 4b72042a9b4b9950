"""deploy/helm/sutazai rendered by Helm v4's own engine (helm-python-sdk: Helm's Go SDK through
its C ABI, no helm binary) and every core manifest validated against the Kubernetes API schemas
(kubernetes-validate, strict: unknown fields are errors) for the oldest and newest Kubernetes the
chart supports. The custom resources (CloudNativePG, redis-operator, cert-manager) have no schema
here; their shape is checked below against what the HA tier proved. Nothing is applied to a
cluster: no Kubernetes runs on this machine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
import yaml

CHART = Path(__file__).resolve().parents[2] / "deploy" / "helm" / "sutazai"
VERSIONS = ["1.29.0", "1.37.0"]  # Chart.yaml's kubeVersion floor, and the newest schemas available
CUSTOM = {("postgresql.cnpg.io/v1", "Cluster"), ("redis.redis.opstreelabs.in/v1beta2", "RedisReplication"),
          ("redis.redis.opstreelabs.in/v1beta2", "RedisSentinel"), ("cert-manager.io/v1", "Certificate")}
SERVICES = ["identity", "reasoning", "knowledge", "learning", "metacognition", "web"]
BASE = {"secrets": {"existingSecret": "sutazai-secrets"}}


def render(values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    with helm.Chart.load(str(CHART)) as chart:
        out = chart.render({**BASE, **(values or {})}, name="sutazai", namespace="ai")
    return [doc for name, text in out.items() if name.endswith(".yaml") for doc in yaml.safe_load_all(text) if doc]


def by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def env_of(deployment: dict[str, Any]) -> dict[str, Any]:
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


@pytest.mark.parametrize("values", [{}, {"internalTLS": {"enabled": True, "issuerRef": {"name": "internal-ca"}},
                                         "ingress": {"tlsSecret": "sutazai-tls"}, "search": {
                                             "backend": "elasticsearch", "elasticsearch": {"url": "http://es:9200"}}},
                                    {"ollama": {"deploy": False, "url": "http://gpu-pool:11434"}, "grpc": {
                                        "enabled": False}, "networkPolicy": {"enabled": False}}],
                         ids=["defaults", "tls-and-elasticsearch", "external-ollama"])
@pytest.mark.parametrize("version", VERSIONS)
def test_every_rendered_manifest_is_valid_kubernetes(values: dict[str, Any], version: str) -> None:
    docs = render(values)
    custom = set()
    for doc in docs:
        kind = (doc["apiVersion"], doc["kind"])
        if kind in CUSTOM:
            custom.add(kind)
            continue
        kubernetes_validate.validate(doc, version, strict=True)  # raises on the first schema violation
    assert custom >= CUSTOM - {("cert-manager.io/v1", "Certificate")}


def test_the_validator_really_rejects_what_kubernetes_would() -> None:
    deployment = next(iter(by_kind(render(), "Deployment").values()))
    deployment["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, VERSIONS[-1], strict=True)
    deployment["spec"]["replicas"] = 2
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbes"] = {}  # a typo Kubernetes would drop
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, VERSIONS[-1], strict=True)


def test_helm_lint_finds_no_error() -> None:
    report = helm.lint(str(CHART), BASE, strict=True)
    assert report["errors"] == [] and all(m["severity"] < 3 for m in report["messages"]), report


@pytest.mark.parametrize(("values", "says"), [
    ({"secrets": {"existingSecret": ""}}, "secrets.existingSecret is required"),
    ({"services": {"identity": {"replicas": "two"}}}, "/services/identity/replicas"),
    ({"postgresql": {"instances": 2, "synchronousStandbys": 2}}, "must be fewer than postgresql.instances"),
    ({"redis": {"replicas": 2, "sentinels": 3, "quorum": 4}}, "cannot exceed redis.sentinels"),
    ({"ollama": {"deploy": False}}, "ollama.url is required when ollama.deploy is false"),
    ({"search": {"backend": "elasticsearch"}}, "search.elasticsearch.url is required"),
    ({"internalTLS": {"enabled": True}}, "internalTLS.issuerRef.name is required"),
    ({"neo4j": {"url": "http://neo4j:7474", "user": "neo4j"}}, "/neo4j/url"),
])
def test_bad_values_are_refused_with_what_to_fix(values: dict[str, Any], says: str) -> None:
    merged = {**BASE, **values}
    for key in ("postgresql", "redis", "ollama", "search", "internalTLS"):
        if key in values:  # keep the other defaults of a section the case changes
            with helm.Chart.load(str(CHART)) as chart:
                merged[key] = {**chart.values[key], **values[key]}
    with helm.Chart.load(str(CHART)) as chart, pytest.raises(helm.HelmError, match=says):
        chart.render(merged, name="sutazai", namespace="ai")


def test_every_service_runs_twice_behind_readiness_and_a_disruption_budget() -> None:
    docs = render()
    deployments, budgets = by_kind(docs, "Deployment"), by_kind(docs, "PodDisruptionBudget")
    for service in SERVICES:
        deployment = deployments[f"sutazai-{service}"]
        assert deployment["spec"]["replicas"] >= 2
        assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        prefix = "/web" if service == "web" else f"/api/{service}"
        assert container["readinessProbe"]["httpGet"]["path"] == f"{prefix}/readyz"  # the route HAProxy checks
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert budgets[f"sutazai-{service}"]["spec"]["minAvailable"] == 1
    for worker in ("knowledge", "learning", "metacognition"):
        probe = deployments[f"sutazai-{worker}-worker"]["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]
        assert probe["exec"]["command"][:2] == ["sutazai", "worker-health"]


def test_no_secret_is_in_a_manifest_and_every_one_comes_from_a_secret() -> None:
    docs = render()
    assert not by_kind(docs, "Secret")
    env = env_of(by_kind(docs, "Deployment")["sutazai-knowledge"])
    assert env["SUTAZAI_JWT_SECRET"] == {"secretKeyRef": {"name": "sutazai-secrets", "key": "jwt-secret"}}
    assert env["SUTAZAI_NEO4J_PASSWORD"] == {"secretKeyRef": {"name": "sutazai-secrets", "key": "neo4j-password"}}
    assert env["SUTAZAI_DATABASE_URL"] == {"secretKeyRef": {"name": "sutazai-pg-app", "key": "uri"}}  # CloudNativePG's
    assert env["SUTAZAI_REDIS_URL"] == "redis+sentinel://:$(REDIS_PASSWORD)@sutazai-redis-sentinel-sentinel:26379/mymaster/0"
    names = list(env)
    assert names.index("REDIS_PASSWORD") < names.index("SUTAZAI_REDIS_URL")  # $(VAR) needs it defined first


def test_the_data_tier_is_the_topology_the_ha_tier_proves() -> None:
    docs = render()
    cluster = next(d for d in docs if d["kind"] == "Cluster")
    assert cluster["spec"]["instances"] == 2
    assert cluster["spec"]["postgresql"]["synchronous"] == {"method": "any", "number": 1, "dataDurability": "required"}
    assert "CREATE EXTENSION IF NOT EXISTS vector" in cluster["spec"]["bootstrap"]["initdb"]["postInitApplicationSQL"]
    sentinel = next(d for d in docs if d["kind"] == "RedisSentinel")
    replication = next(d for d in docs if d["kind"] == "RedisReplication")
    assert sentinel["spec"]["clusterSize"] == 3 and sentinel["spec"]["redisSentinelConfig"]["quorum"] == "2"
    assert sentinel["spec"]["redisSentinelConfig"]["redisReplicationName"] == replication["metadata"]["name"]
    assert replication["spec"]["clusterSize"] == 2


def test_nothing_the_release_runs_can_reach_outside_the_cluster() -> None:
    docs = render()
    policy = by_kind(docs, "NetworkPolicy")["sutazai-default-deny"]
    assert set(policy["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    selected = policy["spec"]["podSelector"]["matchLabels"]
    for deployment in by_kind(docs, "Deployment").values():  # every pod of the release is under the policy
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert selected.items() <= labels.items(), deployment["metadata"]["name"]
    for rule in policy["spec"]["egress"]:
        for peer in rule["to"]:
            assert "ipBlock" not in peer  # only pods: DNS in kube-system, and this namespace
    dns, inside = policy["spec"]["egress"]
    assert dns["to"][0]["podSelector"]["matchLabels"] == {"k8s-app": "kube-dns"}
    assert inside["to"] == [{"podSelector": {}}]


def test_the_ingress_routes_like_haproxy_and_keeps_the_metrics_inside() -> None:
    docs = render()
    paths = {p["path"]: p for p in by_kind(docs, "Ingress")["sutazai-ingress"]["spec"]["rules"][0]["http"]["paths"]}
    for service in ("identity", "reasoning", "knowledge", "learning", "metacognition"):
        assert paths[f"/api/{service}/"]["backend"]["service"]["name"] == f"sutazai-{service}"
        closed = paths[f"/api/{service}/metrics"]
        assert closed["pathType"] == "Exact" and closed["backend"]["service"]["name"] == "sutazai-closed"
    assert paths["/v1/"]["backend"]["service"]["name"] == "sutazai-reasoning"
    assert paths["/"]["backend"]["service"]["name"] == "sutazai-web"
    closed_service = by_kind(docs, "Service")["sutazai-closed"]
    selector = closed_service["spec"]["selector"]
    assert not any(selector.items() <= d["spec"]["template"]["metadata"]["labels"].items()
                   for d in by_kind(docs, "Deployment").values())  # no pod behind it: the controller answers 503

"""docker-compose.yml and its overlays against the Compose specification (the compose-spec
bindings of the Rust `compose_spec` parser) and the production rules of the design card."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from compose_spec import PyCompose

from tests.deploy.compose_files import ROOT, InterpolationError, project, read_env_file, variables_used

OVERLAYS = [(), ("compose/observability.yml",), ("compose/no-egress.yml",), ("compose/card-images.yml",)]
SECRET_KEY = re.compile(r"(PASSWORD|SECRET|TOKEN|_AUTH)$")


def validate(config: dict[str, Any]) -> PyCompose:
    return PyCompose.from_yaml(yaml.safe_dump(config, sort_keys=False))


@pytest.mark.parametrize("overlays", OVERLAYS, ids=lambda o: "+".join(o) or "base")
def test_files_satisfy_the_compose_specification(overlays: tuple[str, ...]) -> None:
    compose = validate(project(*overlays))
    assert "haproxy" in compose.service_names()


def test_the_validator_rejects_a_broken_file() -> None:
    config = project()
    config["services"]["identity"]["depends_on"]["vault-init"]["condition"] = "whenever"
    with pytest.raises(Exception, match="condition"):
        validate(config)


def test_the_stack_runs_only_images_built_here_and_the_card_images_are_an_overlay() -> None:
    """The base file names no registry image: every service runs an image `sutazai images build`
    makes (or a bundle loads); the design card's vendor images are the GPU host's overlay."""
    from sutazai.runtime.images import BASE_ALIAS, IMAGES

    built = {BASE_ALIAS, *(spec.tag() for spec in IMAGES)}
    services = project()["services"]
    for name in ("haproxy", "identity", "reasoning", "knowledge", "learning", "metacognition", "web",
                 "knowledge-worker", "learning-worker", "metacognition-worker", "etcd-1", "etcd-2", "etcd-3",
                 "postgres-1", "postgres-2", "postgres-router", "redis-master", "redis-replica", "redis-sentinel-1",
                 "redis-sentinel-2", "redis-sentinel-3", "vault", "vault-init", "tls-init", "ollama"):
        assert services[name]["image"] in built, (name, services[name]["image"])
        assert "build" not in services[name], name
    assert not {"neo4j", "elasticsearch"} & set(services)
    for name in ("identity", "reasoning", "knowledge", "learning", "metacognition", "web"):
        assert int(services[name]["deploy"]["replicas"]) == 2, name  # a crashed replica costs no request
    # the model server is SutazAI's own (Ollama's API from llama.cpp), under the name the card gives Ollama
    assert services["ollama"]["command"][:2] == ["models", "serve"] and set(services["ollama"]["networks"]) == {
        "models"}
    for name in ("knowledge", "knowledge-worker", "reasoning"):
        env = services[name]["environment"]
        assert (env["SUTAZAI_MODEL_BACKEND"], env["SUTAZAI_OLLAMA_URL"]) == ("ollama", "http://ollama:11434")
    for name in ("knowledge", "knowledge-worker"):
        env = services[name]["environment"]
        assert (env["SUTAZAI_GRAPH_BACKEND"], env["SUTAZAI_SEARCH_BACKEND"]) == ("falkordb", "postgres")
    card = project("compose/card-images.yml")["services"]
    assert card["ollama"]["image"].startswith("ollama/ollama:") and card["ollama"]["entrypoint"] == ["/bin/ollama"]
    gpu = card["ollama"]["deploy"]["resources"]["reservations"]["devices"][0]
    assert gpu["driver"] == "nvidia" and "gpu" in gpu["capabilities"]
    assert card["neo4j"]["image"].startswith("neo4j:5.") and card["vault"]["image"].startswith("hashicorp/vault:")
    assert card["elasticsearch"]["image"].split(":")[-1].startswith("8.")
    for name in ("knowledge", "knowledge-worker"):
        env = card[name]["environment"]
        assert (env["SUTAZAI_GRAPH_BACKEND"], env["SUTAZAI_SEARCH_BACKEND"], env["SUTAZAI_MODEL_BACKEND"]) == \
            ("neo4j", "elasticsearch", "ollama")
        assert card[name]["depends_on"]["neo4j"]["condition"] == "service_healthy"
    assert card["reasoning"]["environment"]["SUTAZAI_MODEL_BACKEND"] == "ollama"


@pytest.mark.parametrize("overlays", OVERLAYS, ids=lambda o: "+".join(o) or "base")
def test_healthchecks_and_healthy_dependencies(overlays: tuple[str, ...]) -> None:
    services = project(*overlays)["services"]
    for name, service in services.items():
        role = service.get("labels", {}).get("sutazai.role")
        if role != "job":
            assert "healthcheck" in service, f"{name} has no healthcheck"
        for dep, rule in (service.get("depends_on") or {}).items():
            expected = ("service_completed_successfully"
                        if services[dep].get("labels", {}).get("sutazai.role") == "job" else "service_healthy")
            assert rule["condition"] == expected, f"{name} -> {dep}"


def test_backend_networks_are_internal_and_only_haproxy_faces_out() -> None:
    config = project()
    networks = config["networks"]
    assert {n for n, spec in networks.items() if not (spec or {}).get("internal")} == {"edge"}
    for name, service in config["services"].items():
        attached = service.get("networks", [])
        if "edge" in attached:
            assert name == "haproxy"
        if name != "haproxy":
            assert "ports" not in service, f"{name} publishes ports"
    volumes = set(config["volumes"])
    for service in config["services"].values():
        for mount in service.get("volumes", []):
            source = mount.split(":")[0]
            assert source.startswith("./") or source in volumes, mount


def test_each_service_mounts_only_its_own_approle() -> None:
    services = project()["services"]
    for name in ("identity", "reasoning", "knowledge", "learning", "metacognition"):
        mounts = [m for m in services[name]["volumes"] if m.startswith("approle-")]
        assert mounts == [f"approle-{name}:/run/approle:ro"], name


def test_the_web_ui_holds_no_secret_and_reaches_only_the_app_network() -> None:
    web = project()["services"]["web"]
    assert web["command"][:2] == ["serve", "web"] and web["networks"] == ["app"]
    assert not [m for m in web.get("volumes", []) if "approle" in m]
    assert sorted(web["volumes"]) == ["internal-ca:/run/internal-ca:ro", "tls-web:/run/tls:ro"]
    assert not [k for k in web["environment"] if "VAULT" in k or SECRET_KEY.search(k)]
    assert project()["services"]["haproxy"]["depends_on"]["web"]["condition"] == "service_healthy"


def test_no_secret_literal_in_any_compose_file() -> None:
    for path in [ROOT / "docker-compose.yml", *sorted((ROOT / "compose").glob("*.yml"))]:
        raw = yaml.load(path.read_text(), Loader=yaml.BaseLoader)  # noqa: S506 - strings only, no objects

        def walk(node: Any, where: str, path: Path = path) -> None:
            if isinstance(node, dict):
                for key, value in node.items():
                    if SECRET_KEY.search(str(key)) and isinstance(value, str):
                        assert "${" in value or "$$" in value, f"{path.name}:{where}.{key} = {value!r}"
                    walk(value, f"{where}.{key}", path)
            elif isinstance(node, list):
                for item in node:
                    walk(item, where, path)

        walk(raw, "")


def test_every_variable_is_documented_in_env_example() -> None:
    documented = set(read_env_file(ROOT / ".env.example"))
    for path in [ROOT / "docker-compose.yml", *sorted((ROOT / "compose").glob("*.yml"))]:
        missing = variables_used(path.read_text()) - documented
        assert not missing, f"{path.name} uses undocumented variables {sorted(missing)}"


def test_required_secrets_are_refused_when_unset() -> None:
    env = read_env_file(ROOT / ".env.example")  # secrets left empty, as in a fresh copy
    with pytest.raises(InterpolationError, match="in .env"):
        project(env=env)


def test_services_talk_to_each_other_over_tls_from_vaults_pki() -> None:
    services = project()["services"]
    for name in ("identity", "reasoning", "knowledge", "learning", "metacognition", "web"):
        env = services[name]["environment"]
        assert env["SUTAZAI_TLS_CERT_FILE"].endswith("tls.crt") and env["SUTAZAI_TLS_KEY_FILE"].endswith("tls.key")
        assert env["SUTAZAI_TLS_CA_FILE"] == "/run/internal-ca/ca.crt", name
        urls = [v for k, v in env.items() if k.endswith("_URL") and ":8000" in str(v)]
        assert urls and all(str(u).startswith("https://") for u in urls), (name, urls)
        assert "https://127.0.0.1:8000" in " ".join(services[name]["healthcheck"]["test"]), name
    assert services["vault-init"]["environment"]["CA_OUT"] == "/internal-ca"
    haproxy = (ROOT / "haproxy" / "haproxy.cfg").read_text()
    assert 'ssl verify required ca-file "${SUTAZAI_INTERNAL_CA}"' in haproxy
    assert haproxy.count("verifyhost") == 6


def test_the_database_tier_is_the_topology_the_ha_tier_proves() -> None:
    """Patroni over etcd with synchronous replication, and a router that sends every connection to
    the member whose Patroni REST API answers /primary: the arrangement tests/ha kills under load."""
    import subprocess

    from tests.ha.cluster import DCS

    services = project()["services"]
    patroni = yaml.safe_load((ROOT / "images/postgres/patroni.yml").read_text())
    for key in ("synchronous_mode", "synchronous_mode_strict", "ttl", "loop_wait", "retry_timeout"):
        assert patroni["bootstrap"]["dcs"][key] == DCS[key], key
    assert patroni["bootstrap"]["dcs"]["postgresql"]["use_pg_rewind"] is True
    etcd = sorted(n for n in services if n.startswith("etcd-"))
    assert len(etcd) == 3 and sorted(h.split(":")[0] for h in patroni["etcd3"]["hosts"].split(",")) == etcd
    assert all(not rule.startswith("host all all all trust") for rule in patroni["postgresql"]["pg_hba"])
    members = sorted(n for n in services if n.startswith("postgres-") and n != "postgres-router")
    router = (ROOT / "compose/postgres/haproxy.cfg").read_text()
    assert "option httpchk GET /primary" in router and "on-marked-down shutdown-sessions" in router
    for member in members:
        assert f"server {member} {member}:5432 check port 8008" in router
    checked = subprocess.run(["haproxy", "-c", "-f", str(ROOT / "compose/postgres/haproxy.cfg")],  # noqa: S607
                             capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "postgres-router" in (ROOT / "vault/init.sh").read_text()  # what the services connect to
    assert all(services[s]["depends_on"].get("postgres-router") for s in ("identity", "knowledge", "reasoning"))
    assert "replica-entrypoint.sh" not in (ROOT / "docker-compose.yml").read_text()  # no hand-rolled replica

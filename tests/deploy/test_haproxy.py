"""haproxy/haproxy.cfg is accepted by HAProxy itself and routes every service prefix."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from tests.deploy.compose_files import ROOT

CFG = ROOT / "haproxy" / "haproxy.cfg"


def test_haproxy_accepts_the_config(tmp_path: Path) -> None:
    haproxy = shutil.which("haproxy")
    assert haproxy, "Debian's haproxy package is installed by `make test` (scripts/test-deps.sh)"
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=sutazai.test", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    bundle = tmp_path / "sutazai.pem"
    bundle.write_text(cert.read_text() + key.read_text())
    env = {**os.environ, "SUTAZAI_TLS_CERT": str(bundle), "SUTAZAI_INTERNAL_CA": str(cert)}
    result = subprocess.run([haproxy, "-c", "-f", str(CFG)], env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Configuration file is valid" in result.stdout + result.stderr
    broken = tmp_path / "broken.cfg"
    broken.write_text(CFG.read_text().replace("use_backend identity", "use_backend identiy"))
    bad = subprocess.run([haproxy, "-c", "-f", str(broken)], env=env, capture_output=True, text=True, check=False)
    assert bad.returncode != 0


def test_every_prefix_routes_to_its_service_with_a_health_check() -> None:
    text = CFG.read_text()
    expected = {"identity": ["/api/identity/"], "reasoning": ["/api/reasoning/", "/v1/"],
                "knowledge": ["/api/knowledge/"], "learning": ["/api/learning/"],
                "metacognition": ["/api/metacognition/"]}
    for service, prefixes in expected.items():
        acl = re.search(rf"acl p_{service}\s+path_beg (.+)", text)
        assert acl and acl.group(1).split() == prefixes, service
        assert re.search(rf"use_backend {service}\s+if p_{service}", text), service
        backend = text.split(f"backend {service}\n", 1)[1].split("\nbackend ", 1)[0]
        assert f"option httpchk GET /api/{service}/readyz" in backend
        # as many servers as the service has replicas, found by Docker's DNS; a refused connection is retried
        assert f"server-template {service} 4 {service}:8000" in backend
    assert re.search(r"^\s*option redispatch$", text, re.M)


def test_everything_else_goes_to_the_web_ui() -> None:
    text = CFG.read_text()
    assert re.search(r"^\s*default_backend web$", text, re.M)
    backend = text.split("backend web\n", 1)[1].split("\nresolvers ", 1)[0]
    assert "option httpchk GET /web/readyz" in backend
    assert "server-template web 4 web:8000" in backend


def test_service_metrics_are_not_served_to_the_outside() -> None:
    frontend = CFG.read_text().split("frontend sutazai\n", 1)[1].split("\nfrontend ", 1)[0]
    assert "http-request deny deny_status 404 if { path -m reg ^/api/[a-z]+/metrics$ }" in frontend
    rule = re.compile(r"^/api/[a-z]+/metrics$")
    for path in ("/api/knowledge/metrics", "/api/identity/metrics", "/api/metacognition/metrics"):
        assert rule.match(path)
    assert not rule.match("/api/metacognition/v1/monitors/prometheus")  # admin-keyed, stays reachable

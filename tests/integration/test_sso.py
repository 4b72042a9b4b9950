"""Single sign-on against real servers on loopback: Debian's OpenLDAP `slapd` (started here with a
directory of its own) and an OpenID Connect provider from a registry package
(`oidc-provider-mock`, authlib underneath). Directory groups map to SutazAI groups, whose grants
then decide what the person may do; the membership follows the directory at every sign-in."""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from ldap3 import Connection, Server

from sutazai.runtime.processes import free_port, port_in_use
from tests.integration.conftest import Platform, build_platform_app
from tests.servers import ServerThread

SLAPD = "/usr/sbin/slapd"
SUFFIX = "dc=example,dc=org"
ROOT_DN, ROOT_PW = f"cn=admin,{SUFFIX}", "root-secret-for-tests"
ERIN_PW = "erin's directory passphrase"



@contextmanager
def as_root(url: str) -> Iterator[Connection]:
    """The directory's administrator (ldap3's own `with` leaves an auto-bound connection open)."""
    conn = Connection(Server(url), ROOT_DN, ROOT_PW, auto_bind=True)
    try:
        yield conn
    finally:
        conn.unbind()


@pytest.fixture(scope="module")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real OpenLDAP server on 127.0.0.1 with people and groups, stopped by PID at the end."""
    home = tmp_path_factory.mktemp("slapd")
    (home / "db").mkdir()
    schema = Path("/etc/ldap/schema")
    (home / "slapd.conf").write_text("\n".join([
        *(f"include {schema / name}.schema" for name in ("core", "cosine", "nis", "inetorgperson")),
        f"pidfile {home / 'slapd.pid'}", "modulepath /usr/lib/ldap", "moduleload back_mdb",
        "database mdb", f"directory {home / 'db'}", f'suffix "{SUFFIX}"', f'rootdn "{ROOT_DN}"',
        f"rootpw {ROOT_PW}", "index objectClass eq", "index member eq", ""]))
    port = free_port()
    url = f"ldap://127.0.0.1:{port}"
    log = (home / "slapd.log").open("wb")
    process = subprocess.Popen([SLAPD, "-f", str(home / "slapd.conf"), "-h", f"{url}/", "-d", "0"],  # noqa: S603
                               stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 20
        while not port_in_use("127.0.0.1", port):
            assert process.poll() is None, (home / "slapd.log").read_text()
            assert time.monotonic() < deadline, "slapd did not start"
            time.sleep(0.1)
        with as_root(url) as admin:
            admin.add(SUFFIX, ["dcObject", "organization"], {"o": "Example", "dc": "example"})
            admin.add(f"ou=people,{SUFFIX}", ["organizationalUnit"], {"ou": "people"})
            admin.add(f"ou=groups,{SUFFIX}", ["organizationalUnit"], {"ou": "groups"})
            for uid, name, password in (("erin", "Erin Example", ERIN_PW), ("frank", "Frank Example", "frank pass")):
                admin.add(f"uid={uid},ou=people,{SUFFIX}", ["inetOrgPerson"],
                          {"uid": uid, "cn": name, "sn": "Example", "mail": f"{uid}@example.org",
                           "userPassword": password})
            admin.add(f"cn=engineers,ou=groups,{SUFFIX}", ["groupOfNames"],
                      {"cn": "engineers", "member": [f"uid=erin,ou=people,{SUFFIX}"]})
            assert admin.result["description"] == "success", admin.result
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def oidc_provider() -> Iterator[str]:
    from oidc_provider_mock import User, run_server_in_thread

    people = [User(sub="carol-sub-1", claims={"preferred_username": "carol", "email": "carol@example.org",
                                              "name": "Carol Example", "groups": ["sutazai-analysts"]})]
    with run_server_in_thread(port=0, user_claims=people) as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture(scope="module")
def sso_platform(platform: Platform, slapd: str, oidc_provider: str) -> Iterator[Platform]:
    port = free_port()
    identity = {"ldap_url": slapd, "ldap_user_dn_template": f"uid={{username}},ou=people,{SUFFIX}",
                "ldap_group_base": f"ou=groups,{SUFFIX}", "oidc_issuer": oidc_provider,
                "oidc_client_id": "sutazai-web", "oidc_client_secret": "client-secret", "oidc_label": "Example SSO"}
    with ServerThread(build_platform_app(platform.backends, port, identity_overrides=identity), port=port) as server:
        yield Platform(server.url, platform.backends, platform.admin_key)


def _admin(platform: Platform) -> httpx.Client:
    return httpx.Client(base_url=platform.url, headers={"Authorization": f"Bearer {platform.admin_key}"}, timeout=30)


def test_ldap_sign_in_maps_directory_groups(sso_platform: Platform, slapd: str) -> None:
    tag = uuid.uuid4().hex[:6]
    group, collection = f"eng-{tag}", f"designs-{tag}"
    engineers = f"cn=engineers,ou=groups,{SUFFIX}"
    with _admin(sso_platform) as admin:
        assert admin.post("/api/identity/v1/groups", json={"name": group}).status_code == 201
        assert admin.put("/api/identity/v1/directory-mappings", json={
            "provider": "ldap", "external_group": engineers.upper(), "group": group}).status_code == 204
        assert admin.put("/api/identity/v1/grants", json={"group": group, "collection": collection}).status_code == 204
        providers = httpx.get(f"{sso_platform.url}/api/identity/v1/sso/providers").json()
        assert {p["name"] for p in providers} == {"ldap", "oidc"}

    with httpx.Client(base_url=sso_platform.url, timeout=30) as client:
        assert client.post("/web/v1/session", json={"username": "erin", "password": "wrong"}).status_code == 401
        empty = client.post("/api/identity/v1/sessions", json={"username": "erin", "password": " "})
        assert empty.status_code == 401
        signed = client.post("/web/v1/session", json={"username": "Erin", "password": ERIN_PW})
        assert signed.status_code == 200, signed.text
        assert signed.json()["subject"] == "user:erin" and signed.json()["collections"] == [collection]
        search = client.get("/api/knowledge/v1/search", params={"q": "x", "collection": collection})
        assert search.status_code == 200, search.text
        # frank is in the directory but not among the engineers: signed in, no collection
        frank = client.post("/api/identity/v1/sessions", json={"username": "frank", "password": "frank pass"})
        assert frank.status_code == 200
        who = client.get("/api/identity/v1/whoami", headers={"Authorization": f"Bearer {frank.json()['access_token']}"})
        assert who.json()["grants"] == {}

    with _admin(sso_platform) as admin:
        listed = {u["username"]: u for u in admin.get("/api/identity/v1/users").json()}
        assert listed["erin"]["source"] == "ldap" and not listed["erin"]["has_password"]
        assert listed["erin"]["display_name"] == "Erin Example" and group in listed["erin"]["groups"]
    # the directory drops erin from the engineers: at the next sign-in the SutazAI group follows
    with as_root(slapd) as directory:
        directory.modify(engineers, {"member": [("MODIFY_REPLACE", [f"uid=frank,ou=people,{SUFFIX}"])]})
    with httpx.Client(base_url=sso_platform.url, timeout=30) as client:
        again = client.post("/api/identity/v1/sessions", json={"username": "erin", "password": ERIN_PW})
        grants = client.get("/api/identity/v1/whoami",
                            headers={"Authorization": f"Bearer {again.json()['access_token']}"}).json()["grants"]
        assert grants == {}
    with as_root(slapd) as directory:
        directory.modify(engineers, {"member": [("MODIFY_REPLACE", [f"uid=erin,ou=people,{SUFFIX}"])]})


def test_oidc_sign_in_through_the_web_ui(sso_platform: Platform, oidc_provider: str) -> None:
    tag = uuid.uuid4().hex[:6]
    group, collection = f"analysts-{tag}", f"reports-{tag}"
    with _admin(sso_platform) as admin:
        assert admin.post("/api/identity/v1/groups", json={"name": group}).status_code == 201
        assert admin.put("/api/identity/v1/directory-mappings", json={
            "provider": "oidc", "external_group": "sutazai-analysts", "group": group}).status_code == 204
        assert admin.put("/api/identity/v1/grants", json={"group": group, "collection": collection,
                                                          "role": "admin"}).status_code == 204

    with httpx.Client(base_url=sso_platform.url, timeout=30) as browser:
        providers = browser.get("/web/v1/sso").json()
        start = next(p["start_url"] for p in providers if p["name"] == "oidc")
        to_provider = browser.get(start)
        assert to_provider.status_code == 302
        authorize = to_provider.headers["location"]
        assert authorize.startswith(oidc_provider) and "code_challenge=" in authorize and "nonce=" in authorize
        # the person picks their account at the provider, which sends the browser back with a code
        back = httpx.post(authorize, data={"sub": "carol-sub-1"}, timeout=30)
        assert back.status_code == 302, back.text
        callback = urlsplit(back.headers["location"])
        assert callback.path == "/web/v1/sso/oidc/callback"
        # a callback in another browser (no state cookie) is refused: no sign-in forced on anyone
        forced = httpx.get(f"{sso_platform.url}{callback.path}?{callback.query}", timeout=30)
        assert forced.status_code == 302 and "sso_error" in forced.headers["location"]
        done = browser.get(f"{callback.path}?{callback.query}")
        assert done.status_code == 302 and done.headers["location"] == "/", done.headers
        session = browser.get("/web/v1/session").json()
        assert session["signed_in"] and session["subject"] == "user:carol" and session["collections"] == [collection]
        reused = browser.get(f"{callback.path}?{callback.query}")  # a code works once
        assert "sso_error" in reused.headers["location"]
        assert parse_qs(urlsplit(reused.headers["location"]).query)["sso_error"]

    with httpx.Client(base_url=sso_platform.url, timeout=30) as client:
        tampered = client.post("/api/identity/v1/sso/oidc/callback", json={"code": "x", "state": "not-signed"})
        assert tampered.status_code == 422 and "start the sign-in again" in tampered.json()["detail"]

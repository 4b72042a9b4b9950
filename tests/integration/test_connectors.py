"""Connectors on the real platform: a folder, a Git repository (read with dulwich) and an intranet
site (a server on 127.0.0.1) synced into a collection through the API and the worker's scheduler,
with incremental syncs (new, changed, deleted items; nothing ingested twice), an interrupted sync
that resumes, who may create one, and bad input (a path outside the allowed roots, a symbolic link
loop, a corrupt image, an off-host redirect, a bad config), each a clear error while the rest of
the sync goes on. The IMAP connector has its own module (Debian's dovecot)."""

from __future__ import annotations

import asyncio
import http.server
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sutazai.knowledge import wiring
from sutazai.knowledge.connectors.manager import NewConnector
from sutazai.knowledge.settings import KnowledgeSettings
from sutazai.knowledge.store import connectors as connector_store
from sutazai.lib.access import Principal, Role
from tests.integration.conftest import (
    CONNECTOR_ROOT,
    GRAPH_TEST_SETTINGS,
    Backends,
    Platform,
    create_key,
    fresh_database,
)
from tests.integration.knowledge_helpers import auth, search

CONNECTORS = "/api/knowledge/v1/connectors"


@pytest.fixture
def client(platform: Platform) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=platform.url, headers=auth(platform.admin_key), timeout=120) as c:
        yield c


@pytest.fixture
def folder() -> Iterator[Path]:
    path = CONNECTOR_ROOT / f"f-{uuid.uuid4().hex[:8]}"
    path.mkdir(parents=True)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def name() -> str:
    return f"c{uuid.uuid4().hex[:10]}"


def synced(client: httpx.Client, ref: str, after: str | None = None, timeout: float = 240) -> dict[str, Any]:
    """The connector once a run other than `after` has finished."""
    deadline = time.monotonic() + timeout
    while True:
        body = client.get(f"{CONNECTORS}/{ref}").json()
        last = body.get("last_run")
        if last and last["id"] != after and last["state"] != "running":
            return body
        if time.monotonic() > deadline:
            raise TimeoutError(f"connector {ref} has not finished a run: {body}")
        time.sleep(0.3)


def sync_again(client: httpx.Client, ref: str) -> dict[str, Any]:
    before = client.get(f"{CONNECTORS}/{ref}").json()["last_run"]["id"]
    response = client.post(f"{CONNECTORS}/{ref}/sync")
    assert response.status_code == 202, response.text
    return synced(client, ref, after=before)


def documents(client: httpx.Client, collection: str) -> dict[str, dict[str, Any]]:
    rows = client.get("/api/knowledge/v1/documents", params={"collection": collection, "limit": 500}).json()
    return {r["source"]: r for r in rows}


def wait_ready(client: httpx.Client, collection: str, count: int, timeout: float = 240) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        docs = documents(client, collection)
        if len(docs) == count and all(d["status"] in ("ready", "failed") for d in docs.values()):
            return docs
        if time.monotonic() > deadline:
            raise TimeoutError(f"{collection}: {[(s, d['status']) for s, d in docs.items()]}")
        time.sleep(0.3)


def test_a_folder_syncs_new_changed_and_deleted_files_and_nothing_twice(client: httpx.Client, folder: Path) -> None:
    col, ref = f"fold-{uuid.uuid4().hex[:8]}", name()
    (folder / "leave.md").write_text("# Leave\n\nStaff get 28 days of paid leave after five years of service.\n")
    (folder / "vpn.txt").write_text("The VPN password rotates every ninety days.\n")
    (folder / "sub").mkdir()
    (folder / "sub" / "canteen.html").write_text("<html><body><p>The canteen opens at 11:30 on weekdays.</p>"
                                                 "</body></html>")
    (folder / "sub" / "notes.bin").write_bytes(b"\x00\x01 not a document type")  # not synced: not a document type
    (folder / "sub" / "loop").symlink_to(folder)  # a symbolic link loop
    (folder / "passwd.txt").symlink_to("/etc/hostname")  # leads outside the allowed roots
    (folder / "scan.png").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(200))  # a corrupt image

    response = client.post(CONNECTORS, json={"name": ref, "kind": "folder", "collection": col,
                                             "config": {"path": str(folder)}})
    assert response.status_code == 201, response.text
    assert response.json()["has_secret"] is False and response.json()["next_sync_at"] is not None
    first = synced(client, ref)
    run = first["last_run"]
    assert run["state"] == "done" and run["trigger"] == "schedule", run
    assert (run["seen"], run["added"], run["failed"], run["deleted"]) == (4, 3, 1, 0), run
    reasons = {e["item"]: e["reason"] for e in run["errors"]}
    assert "symbolic link loop" in reasons["sub/loop"]
    assert "outside the folders connectors may read" in reasons["passwd.txt"]
    assert "image" in reasons["scan.png"] and len(reasons) == 3, reasons
    docs = wait_ready(client, col, 3)  # the corrupt image wrote nothing
    assert set(docs) == {f"{ref}:leave.md", f"{ref}:vpn.txt", f"{ref}:sub/canteen.html"}
    assert all(f"connector:{ref}" in d["tags"] for d in docs.values())
    hits = search(client, "paid leave after five years", collection=col)
    assert hits and hits[0]["source"] == f"{ref}:leave.md"

    # a change, a deletion and a new file; the rest is not read again
    time.sleep(0.01)
    (folder / "leave.md").write_text("# Leave\n\nStaff get 30 days of paid leave after ten years of service.\n")
    (folder / "vpn.txt").unlink()
    (folder / "sub" / "parking.md").write_text("Parking permits are renewed every January.\n")
    second = sync_again(client, ref)["last_run"]
    assert second["trigger"] == "manual" and second["state"] == "done", second
    assert (second["added"], second["changed"], second["deleted"], second["unchanged"]) == (1, 1, 1, 2), second
    docs = wait_ready(client, col, 3)
    assert set(docs) == {f"{ref}:leave.md", f"{ref}:sub/parking.md", f"{ref}:sub/canteen.html"}
    assert docs[f"{ref}:leave.md"]["version"] == 2
    assert "30 days" in search(client, "days of paid leave", collection=col)[0]["text"]

    # nothing changed: nothing is read or ingested again
    third = sync_again(client, ref)["last_run"]
    assert (third["added"], third["changed"], third["deleted"], third["unchanged"]) == (0, 0, 0, 4), third
    after = wait_ready(client, col, 3)
    assert {s: (d["version"], d["updated_at"]) for s, d in after.items()} == \
        {s: (d["version"], d["updated_at"]) for s, d in docs.items()}

    listed = client.get(CONNECTORS).json()
    assert any(c["name"] == ref and c["items"] == 4 for c in listed)  # the corrupt image is kept as seen
    response = client.delete(f"{CONNECTORS}/{ref}", params={"documents": "true"})
    assert response.status_code == 204, response.text
    assert documents(client, col) == {} and client.get(f"{CONNECTORS}/{ref}").status_code == 404


def test_an_interrupted_sync_resumes_where_it_stopped(backends: Backends, folder: Path) -> None:
    private = backends.redis.url().rsplit("/", 1)[0] + "/3"  # no other test's worker consumes these events
    # a database of its own: no other platform's scheduler sees its connectors
    database = fresh_database(backends, "connectors", extensions=("vector",))
    settings = KnowledgeSettings(**backends.settings(redis_url=private, database_url=database), inprocess_worker=False,
                                 **{k: v for k, v in GRAPH_TEST_SETTINGS.items() if k.startswith("connector")})
    for i in range(6):
        (folder / f"memo-{i}.txt").write_text(f"Memo {i}: the archive room key is kept by desk {i * 7}.\n")
    col, ref = f"resume-{uuid.uuid4().hex[:8]}", name()
    admin = Principal(subject="test-admin", role=Role.admin, credential="api_key")

    async def scenario() -> None:
        async with wiring.started(settings) as kc:
            view = await kc.connectors.create(NewConnector(name=ref, kind="folder", collection=col,
                                                           config={"path": str(folder)}), by=admin)
            connector = view.connector

            async def stop_after_two(item: str, tally: Any) -> None:
                if tally.counts["added"] == 2:
                    raise asyncio.CancelledError  # as when the service shuts down mid-sync

            with pytest.raises(asyncio.CancelledError):
                await kc.syncer.run(connector, progress=stop_after_two)
            async with kc.resources.db.connection() as conn:
                interrupted = (await connector_store.runs(conn=conn, connector_id=connector.id, limit=1))[0]
                kept = await connector_store.items(conn=conn, connector_id=connector.id)
                again = await connector_store.get_connector(conn=conn, ref=ref)
            assert interrupted.state == "interrupted" and interrupted.added == 2
            assert sorted(kept) == ["memo-0.txt", "memo-1.txt"]
            assert again is not None and again.lease_until is None and again.next_sync_at is not None  # due again

            assert await kc.syncer.run_due() == 1  # the next round takes it up
            async with kc.resources.db.connection() as conn:
                resumed = (await connector_store.runs(conn=conn, connector_id=connector.id, limit=1))[0]
                kept = await connector_store.items(conn=conn, connector_id=connector.id)
                versions = await (await conn.execute(
                    "SELECT source, version FROM knowledge.documents WHERE collection = %s", (col,))).fetchall()
            assert (resumed.state, resumed.unchanged, resumed.added) == ("done", 2, 4), resumed
            assert len(kept) == 6 and all(v["version"] == 1 for v in versions) and len(versions) == 6

    asyncio.run(scenario())


def test_who_may_connect_a_source_and_what_a_bad_config_says(platform: Platform, client: httpx.Client,
                                                             folder: Path) -> None:
    col = f"perm-{uuid.uuid4().hex[:8]}"
    body = {"name": name(), "kind": "folder", "collection": col, "config": {"path": str(folder)}}
    user = asyncio.run(create_key(platform.backends, "user", [col]))
    other_admin = asyncio.run(create_key(platform.backends, "admin", ["elsewhere"]))
    for key, says in ((user, "admin"), (other_admin, f"only an admin of collection '{col}'")):
        with httpx.Client(base_url=platform.url, headers=auth(key), timeout=60) as c:
            response = c.post(CONNECTORS, json=body)
            assert response.status_code == 403, response.text
            assert says in response.json()["detail"]
    created = client.post(CONNECTORS, json=body)
    assert created.status_code == 201, created.text
    with httpx.Client(base_url=platform.url, headers=auth(user), timeout=60) as c:
        seen = c.get(f"{CONNECTORS}/{body['name']}")  # a user of the collection sees its status
        assert seen.status_code == 200 and seen.json()["collection"] == col
        assert c.post(f"{CONNECTORS}/{body['name']}/sync").status_code == 403
        assert c.delete(f"{CONNECTORS}/{body['name']}").status_code == 403
    with httpx.Client(base_url=platform.url, headers=auth(other_admin), timeout=60) as c:
        assert c.get(f"{CONNECTORS}/{body['name']}").status_code == 404  # not even its name shows
        assert all(x["name"] != body["name"] for x in c.get(CONNECTORS).json())
    assert client.post(CONNECTORS, json=body).status_code == 409  # the name is taken

    bad = {
        "outside": ({"kind": "folder", "config": {"path": "/etc"}}, "outside the folders connectors may read"),
        "escape": ({"kind": "folder", "config": {"path": str(folder / ".." / ".." / "..")}}, "outside the folders"),
        "relative": ({"kind": "folder", "config": {"path": "docs"}}, "absolute path"),
        "host": ({"kind": "web", "config": {"url": "http://intranet.example/"}}, "may not reach intranet.example"),
        "scheme": ({"kind": "git", "config": {"url": "ssh://127.0.0.1/repo.git"}}, "not ssh://"),
        "nopass": ({"kind": "imap", "config": {"host": "127.0.0.1", "username": "u", "security": "none"}},
                   "needs the mailbox password"),
        "cleartext": ({"kind": "imap", "config": {"host": "127.0.0.1", "username": "u", "security": "nope"},
                       "secret": "p"}, "security: Input should be"),
        "missing": ({"kind": "web", "config": {}}, "url: Field required"),
        "kind": ({"kind": "ftp", "config": {}}, "kind"),
        "schedule": ({"kind": "folder", "config": {"path": str(folder)}, "every_seconds": 5}, "every_seconds"),
        "name": ({"kind": "folder", "config": {"path": str(folder)}, "name": "Bad Name!"}, "lower-case"),
        "nul": ({"kind": "folder", "config": {"path": str(folder) + "\x00x"}}, ""),
        "huge": ({"kind": "web", "config": {"url": "http://127.0.0.1/", "max_pages": 10**400}}, "max_pages"),
    }
    for label, (fields, says) in bad.items():
        response = client.post(CONNECTORS, json={"name": name(), "collection": col, **fields})
        assert response.status_code == 422, (label, response.status_code, response.text)
        assert says in response.text, (label, response.text)
    deep: Any = {}
    for _ in range(500):
        deep = {"a": deep}
    response = client.post(CONNECTORS, json={"name": name(), "kind": "folder", "collection": col, "config": deep})
    assert 400 <= response.status_code < 500, response.text
    assert client.delete(f"{CONNECTORS}/{body['name']}").status_code == 204


@pytest.fixture
def repository(folder: Path) -> Path:
    from dulwich import porcelain

    repo = folder / "handbook"
    with porcelain.init(str(repo)) as created:
        created.refs.set_symbolic_ref(b"HEAD", b"refs/heads/main")
    (repo / "travel.md").write_text("# Travel\n\nTrain travel is booked in second class.\n")
    (repo / "tools.md").write_text("# Tools\n\nThe team tracks work in the Ledger board.\n")
    (repo / "logo.svg").write_text("<svg/>")  # not a document type
    porcelain.add(str(repo), [str(repo / "travel.md"), str(repo / "tools.md"), str(repo / "logo.svg")])
    porcelain.commit(str(repo), message=b"Add the travel and tools pages", author=b"Ada <ada@example.org>",
                     committer=b"Ada <ada@example.org>")
    return repo


def test_a_git_repository_syncs_its_branch_and_its_history(client: httpx.Client, repository: Path) -> None:
    from dulwich import porcelain

    col, ref = f"git-{uuid.uuid4().hex[:8]}", name()
    response = client.post(CONNECTORS, json={"name": ref, "kind": "git", "collection": col,
                                             "config": {"url": str(repository), "branch": "main"}})
    assert response.status_code == 201, response.text
    run = synced(client, ref)["last_run"]
    assert (run["state"], run["added"], run["failed"]) == ("done", 3, 0), run  # two files and the history
    docs = wait_ready(client, col, 3)
    assert set(docs) == {f"{ref}:travel.md", f"{ref}:tools.md", f"{ref}:~history"}
    assert "branch:main" in docs[f"{ref}:travel.md"]["tags"]
    hits = search(client, "who added the travel page", collection=col, mode="keyword")
    history = [f"{h['heading']}\n{h['text']}" for h in hits if h["source"] == f"{ref}:~history"]
    assert history and "Add the travel and tools pages" in history[0] and "by Ada" in history[0], hits

    (repository / "travel.md").write_text("# Travel\n\nTrain travel is booked in first class above 4 hours.\n")
    porcelain.add(str(repository), [str(repository / "travel.md")])
    porcelain.remove(str(repository), [str(repository / "tools.md")])
    porcelain.commit(str(repository), message=b"First class for long journeys; drop the tools page",
                     author=b"Ben <ben@example.org>", committer=b"Ben <ben@example.org>")
    run = sync_again(client, ref)["last_run"]
    assert (run["changed"], run["deleted"], run["added"]) == (2, 1, 0), run  # travel.md and the history
    docs = wait_ready(client, col, 2)
    assert docs[f"{ref}:travel.md"]["version"] == 2
    found = search(client, "drop the tools page", collection=col, mode="keyword")
    assert found and found[0]["source"] == f"{ref}:~history", found
    assert "delete tools.md" in f"{found[0]['heading']}\n{found[0]['text']}", found[0]

    response = client.post(CONNECTORS, json={"name": name(), "kind": "git", "collection": col,
                                             "config": {"url": str(repository), "branch": "release"}})
    assert response.status_code == 201
    failed = synced(client, response.json()["name"])["last_run"]
    assert failed["state"] == "failed" and "no branch 'release' (it has: main)" in failed["error"], failed


class Site(http.server.SimpleHTTPRequestHandler):
    """An intranet site on 127.0.0.1: pages that link each other, one behind robots.txt, one that
    redirects off the host, one that redirects within it."""

    pages: dict[str, tuple[int, str, str]] = {}

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        status, kind, body = self.pages.get(self.path, (404, "text/plain", "not found"))
        self.send_response(status)
        if status in (301, 302):
            self.send_header("Location", body)
            body = ""
        self.send_header("Content-Type", kind)
        data = body.encode()
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_: Any) -> None:
        return None


@pytest.fixture
def site() -> Iterator[str]:
    def page(text: str, *links: str) -> tuple[int, str, str]:
        anchors = "".join(f'<a href="{link}">{link}</a> ' for link in links)
        return 200, "text/html", f"<html><body><p>{text}</p>{anchors}</body></html>"

    Site.pages = {
        "/robots.txt": (200, "text/plain", "User-agent: *\nDisallow: /wiki/private/\n"),
        "/wiki/": page("Welcome to the intranet wiki.", "/wiki/kitchen", "/wiki/private/salaries", "/wiki/moved",
                       "/wiki/away", "http://other.example/wiki/x", "/elsewhere/page", "#top"),
        "/wiki/kitchen": page("The kitchen dishwasher runs at 14:00 every day.", "/wiki/", "/wiki/bikes"),
        "/wiki/bikes": page("Bicycles are parked in the basement rack.", "/wiki/kitchen"),
        "/wiki/private/salaries": page("Secret salary bands."),
        "/wiki/moved": (301, "text/html", "/wiki/bikes"),
        "/wiki/away": (302, "text/html", "http://other.example/phish"),
        "/elsewhere/page": page("Outside the wiki's prefix."),
    }
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Site)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_an_intranet_site_is_crawled_within_its_host_as_robots_txt_allows(client: httpx.Client, site: str) -> None:
    col, ref = f"web-{uuid.uuid4().hex[:8]}", name()
    response = client.post(CONNECTORS, json={"name": ref, "kind": "web", "collection": col,
                                             "config": {"url": f"{site}/wiki/"}})
    assert response.status_code == 201, response.text
    run = synced(client, ref)["last_run"]
    # the start page, the kitchen, the bicycles (reached by a link and by a redirect: once)
    assert run["state"] == "done" and (run["seen"], run["added"]) == (3, 3), run
    reasons = {e["item"]: e["reason"] for e in run["errors"]}
    assert "off the crawled host" in reasons[f"{site}/wiki/away"] and len(reasons) == 1, reasons
    docs = wait_ready(client, col, 3)
    assert set(docs) == {f"{ref}:{site}/wiki/", f"{ref}:{site}/wiki/kitchen", f"{ref}:{site}/wiki/bikes"}
    assert not search(client, "salary bands", collection=col, mode="keyword")  # robots.txt said no

    # a changed page is read again; a page no longer linked from anywhere is deleted
    Site.pages["/wiki/kitchen"] = (200, "text/html", "<p>The dishwasher now runs at 15:00.</p>")
    del Site.pages["/wiki/moved"]  # the bicycles were reached through it, now through nothing
    run = sync_again(client, ref)["last_run"]
    assert (run["changed"], run["unchanged"], run["deleted"]) == (1, 1, 1), run
    assert set(wait_ready(client, col, 2)) == {f"{ref}:{site}/wiki/", f"{ref}:{site}/wiki/kitchen"}

    # a page limit stops the crawl: what it did not reach is not taken as deleted
    limited = client.post(CONNECTORS, json={"name": name(), "kind": "web", "collection": f"{col}-2",
                                            "config": {"url": f"{site}/wiki/", "max_pages": 1}})
    assert limited.status_code == 201
    one = synced(client, limited.json()["name"])["last_run"]
    assert (one["seen"], one["added"], one["deleted"]) == (1, 1, 0), one


def test_the_cli_connects_a_folder_follows_its_sync_and_shows_its_errors(platform: Platform, folder: Path,
                                                                         tmp_path: Path) -> None:
    sutazai = str(Path(sys.executable).with_name("sutazai"))
    env = {**os.environ, "SUTAZAI_URL": platform.url, "SUTAZAI_API_KEY": platform.admin_key, "COLUMNS": "200",
           "HOME": str(tmp_path)}

    def cli(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sutazai, "connectors", *argv], capture_output=True, text=True, env=env,  # noqa: S603
                              timeout=300, check=False, stdin=subprocess.DEVNULL)

    (folder / "handbook.md").write_text("# Handbook\n\nDesks are booked through the front office.\n")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7 not really a PDF")
    col, ref = f"cli-{uuid.uuid4().hex[:8]}", name()
    added = cli("add", "folder", ref, str(folder), "-c", col, "--every", "6h")
    assert added.returncode == 0, added.stdout + added.stderr
    assert f"connector {ref} (folder) writes into collection {col}" in added.stdout
    assert "1 added" in added.stdout and "1 failed" in added.stdout and "broken.pdf:" in added.stdout
    listed = cli("list")
    assert listed.returncode == 0 and ref in listed.stdout and col in listed.stdout
    shown = cli("show", ref)
    assert shown.returncode == 0 and "every 21600 s" in shown.stdout and "broken.pdf" in shown.stdout
    again = cli("sync", ref)
    assert again.returncode == 0 and "2 unchanged" in again.stdout, again.stdout + again.stderr
    bad = cli("add", "folder", name(), "/etc", "-c", col)
    assert bad.returncode == 1 and "outside the folders connectors may read" in bad.stderr
    assert "Traceback" not in bad.stderr
    every = cli("add", "folder", name(), str(folder), "-c", col, "--every", "soon")
    assert every.returncode == 1 and "write a number with s, m, h or d" in every.stderr
    removed = cli("remove", ref, "--documents", "--yes")
    assert removed.returncode == 0 and f"removed connector {ref}" in removed.stdout
    with httpx.Client(base_url=platform.url, headers=auth(platform.admin_key)) as client:
        assert documents(client, col) == {}

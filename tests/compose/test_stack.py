"""The production Compose stack, from images built here, exercised through HAProxy on 127.0.0.1
as a user and an operator would: keys, ingest, search, ask over HTTP, gRPC and the OpenAI client,
the web UI in Chromium; a service container, the Patroni leader and the Redis master killed under
load (nothing acknowledged lost); `down` then `up` (every row and graph fact kept); and the
no-egress overlay (no container reaches an outside address). The tests run in file order."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from tests.compose.conftest import Stack
from tests.figures import record_figures

from sutazai.grpc_api.codegen import ensure

ensure()
from sutazaipb.v1 import sutazai_pb2 as pb  # noqa: E402
from sutazaipb.v1 import sutazai_pb2_grpc as rpc  # noqa: E402

pytestmark = [pytest.mark.compose, pytest.mark.timeout(1800)]  # the first test also builds and starts the stack

HANDBOOK = ("# Annual leave\n\n| Years of service | Days |\n|---|---|\n| 0 to 4 years | 25 |\n"
            "| 5 to 9 years | 28 |\n| 10 years or more | 30 |\n")
OBSERVATORY = ("Lena Quill founded the Harbin Observatory in 1932. The observatory is in Harbin, China. "
               "Marco Vell directs the Harbin Observatory today.")


def wait_until(condition: Callable[[], Any], *, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = condition()
        except (httpx.HTTPError, grpc.RpcError, OSError):
            value = None
        if value:
            return value
        assert time.monotonic() < deadline, f"{what}: not within {timeout:.0f} s"
        time.sleep(0.5)


def settled(client: httpx.Client, document_id: str, *, graph: bool = True) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        response = client.get(f"/api/knowledge/v1/documents/{document_id}")
        document = response.json() if response.status_code == 200 else {}
        if document.get("status") == "failed":
            raise AssertionError(f"{document_id} failed: {document.get('error')}")
        ready = document.get("status") == "ready" and (not graph or document["graph"]["state"] in ("done", "off"))
        return document if ready else None
    return wait_until(done, timeout=300, what=f"document {document_id} indexed")


def facts(client: httpx.Client, collection: str) -> int:
    found = client.post("/api/knowledge/v1/cypher", json={
        "collection": collection, "query": "MATCH (:Entity)-[r:REL]->(:Entity) RETURN count(r) AS n"})
    assert found.status_code == 200, found.text
    return int(found.json()["rows"][0][0])


USER_PASSWORD = "correct horse battery staple 42"


def test_through_haproxy_a_key_ingest_search_and_ask_over_http_grpc_and_openai(stack: Stack, admin_key: str) -> None:
    with stack.client(admin_key) as admin:
        assert admin.get("/api/identity/v1/whoami").json()["role"] == "admin"
        # a user with a grant on one collection, signed in with a password (Argon2 in PostgreSQL)
        made_user = admin.post("/api/identity/v1/users", json={"username": "hanna", "password": USER_PASSWORD})
        assert made_user.status_code == 201, made_user.text
        granted = admin.put("/api/identity/v1/grants", json={"user": "hanna", "collection": "handbook"})
        assert granted.status_code == 204, granted.text
    with stack.client() as anonymous:
        session = anonymous.post("/api/identity/v1/sessions", json={"username": "hanna", "password": USER_PASSWORD})
        assert session.status_code == 200, session.text
    with stack.client(session.json()["access_token"]) as hanna:
        assert hanna.get("/api/identity/v1/whoami").json()["grants"] == {"handbook": "user"}
        made = hanna.post("/api/identity/v1/keys", json={"name": "handbook reader", "collections": ["handbook"]})
        assert made.status_code == 201, made.text  # her own key, never wider than she is
        reader_key = made.json()["api_key"]
    with stack.client(admin_key) as admin:
        uploaded = admin.post("/api/knowledge/v1/documents", data={"collection": "handbook"},
                              files={"file": ("leave.md", HANDBOOK.encode(), "text/markdown")})
        assert uploaded.status_code in (200, 201, 202), uploaded.text
        settled(admin, uploaded.json()["document"]["id"])
        observatory = admin.post("/api/knowledge/v1/documents", json={"text": OBSERVATORY, "source": "obs.txt",
                                                                      "collection": "history"})
        assert observatory.status_code in (200, 201, 202), observatory.text
        document = settled(admin, observatory.json()["document"]["id"])
        assert document["graph"]["state"] == "done" and facts(admin, "history") >= 1  # FalkorDB behind Sentinel
    with stack.client(reader_key) as reader:
        hits = reader.get("/api/knowledge/v1/search", params={"q": "annual leave days", "collection": "handbook"})
        assert hits.status_code == 200 and "28" in " ".join(h["text"] for h in hits.json()["hits"])
        refused = reader.get("/api/knowledge/v1/search", params={"q": "observatory", "collection": "history"})
        assert refused.status_code == 403, refused.text  # the key is scoped to its collection
        asked = reader.post("/api/reasoning/v1/ask", json={
            "question": "How many days of annual leave does an employee with 6 years of service get?",
            "collection": "handbook"})
        assert asked.status_code == 200, asked.text
        assert asked.json()["answer"].startswith("28") and asked.json()["citations"], asked.json()

    channel = grpc.secure_channel(f"127.0.0.1:{stack.grpc}", grpc.ssl_channel_credentials(stack.ca.read_bytes()),
                                  options=[("grpc.ssl_target_name_override", "sutazai.internal")])
    with channel:
        metadata = [("authorization", f"Bearer {admin_key}")]
        found = rpc.KnowledgeStub(channel).Search(pb.SearchRequest(query="annual leave", k=3,
                                                                   collection="handbook"),
                                                  metadata=metadata, timeout=60)
        assert found.hits and any("28" in h.text for h in found.hits)
        events = list(rpc.ReasoningStub(channel).Ask(pb.AskRequest(question="What is 12 * 12?"),
                                                     metadata=metadata, timeout=300))
        assert events[-1].answer.answer.startswith("144")

    from openai import OpenAI

    with httpx.Client(verify=stack.tls(), timeout=300) as transport:
        client = OpenAI(base_url=f"{stack.url}/v1", api_key=admin_key, http_client=transport)
        completion = client.chat.completions.create(model="sutazai", messages=[
            {"role": "user", "content": "What is 12 times 7?"}])
        assert (completion.choices[0].message.content or "").startswith("84")


def test_the_web_ui_loads_through_haproxy_in_chromium(stack: Stack, admin_key: str) -> None:
    from playwright.sync_api import expect
    from tests.e2e.browser import Watch, chromium

    watch = Watch()
    with chromium() as browser:
        context = browser.new_context(ignore_https_errors=True)  # the edge's certificate is self-signed
        page = context.new_page()
        page.on("console", watch.console)
        page.goto(stack.url + "/")
        page.get_by_role("button", name="Sign in with an API key instead").click()
        page.get_by_label("API key").fill(admin_key)
        page.get_by_role("button", name="Sign in", exact=True).click()
        expect(page.get_by_role("heading", name="Ask", exact=True)).to_be_visible(timeout=30_000)
        context.close()
    assert watch.errors == [], watch.errors


class Load:
    """Uploads, asks with feedback and key creation in a loop; what the stack acknowledged is kept,
    and every error is recorded with what was being done."""

    def __init__(self, stack: Stack, key: str) -> None:
        self.stack, self.key = stack, key
        self.uploads: list[str] = []
        self.feedback: list[str] = []
        self.keys: list[str] = []
        self.errors: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        with self.stack.client(self.key, timeout=30) as client:
            n = 0
            while not self.stop.is_set():
                n += 1
                self.step(client, n)

    def step(self, client: httpx.Client, n: int) -> None:
        try:
            upload = client.post("/api/knowledge/v1/documents", json={
                "text": f"Load note {n}: warehouse {uuid.uuid4().hex[:8]} holds {n} pallets.",
                "source": f"load-{n}.txt", "collection": "load"})
            if upload.status_code in (200, 201, 202):
                self.uploads.append(upload.json()["document"]["id"])
            else:
                self.errors.append(f"upload {n}: {upload.status_code}")
            made = client.post("/api/identity/v1/keys", json={"name": f"load {n}", "collections": ["load"]})
            if made.status_code == 201:
                self.keys.append(made.json()["key_id"])
            else:
                self.errors.append(f"key {n}: {made.status_code}")
            asked = client.post("/api/reasoning/v1/ask", json={"question": f"What is {n} + {n}?"})
            if asked.status_code == 200:
                rated = client.post("/api/learning/v1/feedback", json={"trace_id": asked.json()["trace_id"],
                                                                      "rating": "up"})
                if rated.status_code == 201:
                    self.feedback.append(rated.json()["id"])
                else:
                    self.errors.append(f"feedback {n}: {rated.status_code}")
            else:
                self.errors.append(f"ask {n}: {asked.status_code}")
        except httpx.HTTPError as exc:
            self.errors.append(f"step {n}: {type(exc).__name__}")
        time.sleep(0.1)


class Probe:
    """A small write every quarter second (an upload, then a key), each timed: when the writes
    are acknowledged again after a kill is read from these, not from the slower mixed load."""

    def __init__(self, stack: Stack, key: str) -> None:
        self.stack, self.key = stack, key
        self.writes: list[tuple[float, float, bool]] = []  # started, finished, acknowledged
        self.uploads: list[str] = []
        self.keys: list[str] = []
        self.errors: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        with self.stack.client(self.key, timeout=15) as client:
            n = 0
            while not self.stop.is_set():
                n += 1
                started = time.monotonic()
                acknowledged = self.step(client, n)
                self.writes.append((started, time.monotonic(), acknowledged))
                self.stop.wait(0.25)

    def step(self, client: httpx.Client, n: int) -> bool:
        try:
            upload = client.post("/api/knowledge/v1/documents", json={
                "text": f"Probe note {n}: dock {uuid.uuid4().hex[:8]}.", "source": f"probe-{n}.txt",
                "collection": "load"})
            if upload.status_code not in (200, 201, 202):
                self.errors.append(f"probe upload {n}: {upload.status_code}")
                return False
            self.uploads.append(upload.json()["document"]["id"])
            made = client.post("/api/identity/v1/keys", json={"name": f"probe {n}", "collections": ["load"]})
            if made.status_code != 201:
                self.errors.append(f"probe key {n}: {made.status_code}")
                return False
            self.keys.append(made.json()["key_id"])
            return True
        except httpx.HTTPError as exc:
            self.errors.append(f"probe {n}: {type(exc).__name__}")
            return False

    def refused_after(self, killed: float, back: float) -> int:
        """Probe writes refused between the kill and the return."""
        return sum(1 for started, _, ok in self.writes if killed <= started < killed + back and not ok)

    def back_after(self, killed: float, *, settled: int = 8) -> float | None:
        """Seconds from the kill to the first acknowledged write of the run of `settled` acknowledged
        writes (all started after the kill) that no refusal follows; None until there is one."""
        after = [w for w in self.writes if w[0] >= killed]
        if len(after) < settled or not all(ok for _, _, ok in after[-settled:]):
            return None
        first = len(after) - settled
        while first > 0 and after[first - 1][2]:
            first -= 1
        return after[first][1] - killed


def _leader(stack: Stack) -> str:
    for member in ("postgres-1", "postgres-2"):
        answered = stack.compose("exec", "-T", member, "wget", "-q", "-S", "-O", "/dev/null",
                                 "http://127.0.0.1:8008/primary", check=False, timeout=60)
        if "200 OK" in answered:
            return member
    raise AssertionError("no Patroni member answers /primary")


def _redis_master(stack: Stack) -> str:
    password = dict(line.split("=", 1) for line in stack.env_file.read_text().splitlines())["REDIS_PASSWORD"]
    address = stack.exec("redis-sentinel-1", "redis-cli", "-p", "26379", "-a", password, "--no-auth-warning",
                         "sentinel", "get-master-addr-by-name", "sutazai").split()[0]
    for service in ("redis-master", "redis-replica"):
        inspected = json.loads(stack.compose("ps", "--format", "json", service).strip().splitlines()[0])
        networks = json.loads(subprocess_output(["docker", "inspect", inspected["ID"]]))[0]["NetworkSettings"]
        if address in {n["IPAddress"] for n in networks["Networks"].values()} or address == service:
            return service
    raise AssertionError(f"the sentinels name {address}, which is neither Redis container")


def subprocess_output(command: list[str]) -> str:
    import subprocess

    return subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603


def test_killed_service_patroni_leader_and_redis_master_lose_nothing_acknowledged(stack: Stack,
                                                                                  admin_key: str) -> None:
    load, probe = Load(stack, admin_key), Probe(stack, admin_key)
    load.thread.start()
    probe.thread.start()
    try:
        wait_until(lambda: len(load.uploads) >= 3, timeout=120, what="load running")
        recovered: dict[str, float] = {}
        refused: dict[str, int] = {}
        for victim in ("knowledge", _leader(stack), _redis_master(stack)):
            killed = time.monotonic()
            stack.crash(victim)
            # the restart policy brings the container back (or the standby takes over); the
            # writes must then be acknowledged again, steadily
            back = wait_until(lambda k=killed: probe.back_after(k), timeout=180,
                              what=f"writes acknowledged again after {victim} was killed")
            name = victim.rstrip("-12") if victim.startswith("postgres") else victim
            recovered[name] = back
            refused[name] = probe.refused_after(killed, back)
        record_figures("compose-faults", {  # the raw figures for bench/results (no timing is asserted)
            "seconds_until_writes_acknowledged_again": recovered, "probe_writes_refused": refused,
            "measured_by": "a probe writing an upload and a key every 0.25 s: seconds from the SIGKILL to the "
                           "first acknowledged write of the steady run (8 writes) after the last refusal",
            "uploads": len(load.uploads) + len(probe.uploads), "keys": len(load.keys) + len(probe.keys),
            "feedback": len(load.feedback), "refused": load.errors + probe.errors})
    finally:
        load.stop.set()
        probe.stop.set()
        load.thread.join(timeout=120)
        probe.thread.join(timeout=60)
    load.uploads += probe.uploads
    load.keys += probe.keys
    load.errors += probe.errors
    assert load.uploads and load.keys and load.feedback
    # while a killed service is down, a request is refused as unavailable (HAProxy's 503, the
    # service's 503 naming the dependency, or a dropped connection), never answered with a 500
    refusals = [e for e in load.errors if e.rsplit(": ", 1)[1] in ("502", "503", "504")
                or e.rsplit(": ", 1)[1].endswith(("Error", "Timeout"))]
    assert refusals == load.errors, load.errors
    with stack.client(admin_key) as admin:
        for document_id in load.uploads:
            settled(admin, document_id, graph=False)  # every acknowledged upload is indexed
        listed = {k["key_id"] for k in admin.get("/api/identity/v1/keys").json()}
        assert set(load.keys) <= listed
        rated = {f["id"] for f in admin.get("/api/learning/v1/feedback", params={"limit": 1000}).json()}
        assert set(load.feedback) <= rated


def every_document(client: httpx.Client) -> set[str]:
    found: set[str] = set()
    for collection in ("handbook", "history", "load"):
        listed = client.get("/api/knowledge/v1/documents", params={"collection": collection, "limit": 500})
        assert listed.status_code == 200, listed.text
        found |= {d["id"] for d in listed.json()}
    return found


def test_down_then_up_keeps_every_row_and_graph_fact(stack: Stack, admin_key: str) -> None:
    with stack.client(admin_key) as admin:
        documents = every_document(admin)
        graph = facts(admin, "history")
        keys = {k["key_id"] for k in admin.get("/api/identity/v1/keys").json()}
    assert documents and graph >= 1
    stack.compose("down", timeout=300)
    stack.up()
    with stack.client(admin_key) as admin:
        assert every_document(admin) == documents
        assert facts(admin, "history") == graph
        assert {k["key_id"] for k in admin.get("/api/identity/v1/keys").json()} == keys


def test_with_the_no_egress_overlay_no_container_reaches_an_outside_address(configured: Stack) -> None:
    import socket
    import subprocess

    # an address this host reaches (its Debian mirror): from a plain bridge network a container
    # connects to it, so the probe below would see a leak; on the overlay's networks it must fail
    mirror = socket.getaddrinfo("deb.debian.org", 80, socket.AF_INET, socket.SOCK_STREAM)[0][4][0]
    control = subprocess.run(["docker", "run", "--rm", "--network", "bridge", "--entrypoint", "python3",  # noqa: S607
                              "sutazai/sutazai:0.1.0", "-c",
                              f"import socket; socket.create_connection(('{mirror}', 80), timeout=5).close()"],
                             capture_output=True, text=True, check=False, timeout=120)
    assert control.returncode == 0, f"the control could not reach {mirror}:80 either: {control.stderr[-500:]}"
    stack = configured
    project = f"{stack.env_file.parent.name}-egress".lower()
    overlay = ("docker-compose.yml", "compose/no-egress.yml")
    try:
        checked = stack.compose("run", "--rm", "-e", f"EGRESS_PROBE_ADDRESSES={mirror}:80,192.0.2.1:443,1.1.1.1:53",
                                "egress-check", files=overlay, project=project, timeout=300)
    finally:
        stack.compose("down", "-v", files=overlay, project=project, timeout=300, check=False)
    assert "the air gap holds" in checked and f"{mirror}:80 unreachable" in checked, checked


def test_images_travel_by_save_and_load_and_a_wrong_id_or_a_missing_image_is_refused(images: None,
                                                                                      tmp_path: Path) -> None:
    from sutazai.runtime.images import IMAGES, ImageError, load, save

    references = [spec.tag() for spec in IMAGES if spec.name in ("etcd", "haproxy")]  # small: the base layer
    saved = save(tmp_path / "images.tar", references=references)
    assert json.loads((tmp_path / "images.json").read_text()) == saved
    assert load(tmp_path / "images.tar", expected=saved["images"]) == saved["images"]
    altered = {**saved["images"], references[0]: "sha256:" + "0" * 64}
    with pytest.raises(ImageError, match="altered"):
        load(tmp_path / "images.tar", expected=altered)
    with pytest.raises(ImageError, match="missing from"):
        load(tmp_path / "images.tar", expected={**saved["images"], "sutazai/absent:0.0.0": "sha256:" + "1" * 64})

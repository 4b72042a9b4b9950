"""First light: start the stack the way `make up` does, ask the reasoning service a question
with a key, get an answer from the local model, read the stored trace back by its id."""

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import cli_stack
from tests.e2e.stack import CliStack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliStack]:
    with cli_stack(tmp_path_factory.mktemp("home")) as cli:
        yield cli


def test_status_shows_every_service_and_backend_healthy(stack: CliStack) -> None:
    report = stack.status()
    assert report["running"] and report["healthy"], report
    assert set(report["services"]) == {"identity", "reasoning", "knowledge", "learning", "metacognition", "web"}
    assert all(s["status"] == "ready" for s in report["services"].values())
    assert set(report["backends"]) == {"postgres", "redis", "falkordb", "model"}
    assert all(b["status"] == "up" for b in report["backends"].values())
    table = stack.run("status")
    assert table.returncode == 0 and "reasoning" in table.stdout and "down" not in table.stdout


def test_later_commands_find_the_stack_without_repeating_the_data_directory(stack: CliStack) -> None:
    import json
    import subprocess

    from tests.e2e.stack import SUTAZAI

    env = {"PATH": "/usr/bin:/bin", "HOME": str(stack.data_dir.parent), "COLUMNS": "200"}  # as `up` had
    found = subprocess.run([SUTAZAI, "status", "--json"], capture_output=True, text=True, env=env, timeout=120,
                           check=False)  # no --data-dir, no SUTAZAI_DATA_DIR: `up` noted where it runs
    assert found.returncode == 0, found.stderr
    report = json.loads(found.stdout)
    assert report["running"] and report["data_dir"] == str(stack.data_dir)


def test_first_light_question_answer_and_trace(stack: CliStack) -> None:
    key = stack.create_key("user")
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=stack.url, headers=headers, timeout=120) as client:
        assert client.post("/api/reasoning/v1/ask", json={"question": "hi"},
                           headers={"Authorization": ""}).status_code == 401
        answer = client.post("/api/reasoning/v1/ask", json={"question": "What colour is the sky on a clear day?"})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["answer"].strip()
        assert body["model"].startswith("SmolLM2")
        trace = client.get(f"/api/reasoning/v1/traces/{body['trace_id']}")
        assert trace.status_code == 200
        stored = trace.json()
        assert stored["answer"] == body["answer"]
        assert stored["status"] == ("abstained" if body["abstained"] else "answered")
        assert any((s["model"] or "").startswith("SmolLM2") for s in stored["steps"])


def test_second_up_reuses_the_running_stack(stack: CliStack) -> None:
    again = stack.up()
    assert again.returncode == 0 and "already running" in again.stdout


def test_down_stops_what_up_started_and_up_reuses_the_data(stack: CliStack) -> None:
    key = stack.create_key("admin")
    assert stack.down().returncode == 0
    assert stack.nothing_running()
    assert stack.status()["running"] is False
    assert stack.run("status").returncode == 3
    restarted = stack.up()
    assert restarted.returncode == 0, restarted.stderr
    with httpx.Client(base_url=stack.url, timeout=30) as client:  # the key survived: same data
        who = client.get("/api/identity/v1/whoami", headers={"Authorization": f"Bearer {key}"})
    assert who.status_code == 200 and who.json()["role"] == "admin"


def test_data_lives_under_one_directory(stack: CliStack) -> None:
    entries = {p.name for p in Path(stack.data_dir).iterdir()}
    assert {"postgres", "redis", "logs", "run", "secrets"} <= entries
    assert oct(Path(stack.data_dir, "secrets").stat().st_mode)[-3:] == "700"


def test_the_stack_serves_grpc_on_its_own_port(stack: CliStack) -> None:
    import time

    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    from sutazai.grpc_api.codegen import ensure

    ensure()
    from sutazaipb.v1 import sutazai_pb2 as pb
    from sutazaipb.v1 import sutazai_pb2_grpc as rpc

    assert stack.status()["grpc"] == f"127.0.0.1:{stack.grpc_port}"
    key = stack.create_key("user")
    with grpc.insecure_channel(f"127.0.0.1:{stack.grpc_port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        deadline = time.monotonic() + 30
        while health.Check(health_pb2.HealthCheckRequest()).status != health_pb2.HealthCheckResponse.SERVING:
            assert time.monotonic() < deadline
            time.sleep(0.5)
        events = list(rpc.ReasoningStub(channel).Ask(pb.AskRequest(question="What is 2 + 3?"), timeout=300,
                                                     metadata=[("authorization", f"Bearer {key}")]))
        assert events[-1].answer.answer.startswith("5")

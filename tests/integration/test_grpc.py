"""gRPC on the real stack: a client generated from proto/ asks and receives the streamed steps then
the answer, uploads a document as a client stream and follows its job, searches, lists, reads and
deletes documents, rates an answer; the same credentials and errors as HTTP (statuses mapped); the
standard health service says SERVING; and a generic client that knows nothing but the server's
reflection finds the services and makes a call."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import grpc
import httpx
import pytest
from google.protobuf import descriptor_pool, message_factory
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from sutazai.grpc_api.codegen import ensure
from sutazai.grpc_api.server import GrpcServer, _event
from sutazai.runtime.processes import free_port
from tests.integration.conftest import Platform, create_key
from tests.integration.knowledge_helpers import auth, wait_for_graph

ensure()
from sutazaipb.v1 import sutazai_pb2 as pb  # noqa: E402
from sutazaipb.v1 import sutazai_pb2_grpc as rpc  # noqa: E402


@pytest.fixture(scope="module")
def target(platform: Platform) -> Iterator[str]:
    """The gRPC server in front of the platform's HTTP API, on its own loop in a thread."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    address = f"127.0.0.1:{free_port()}"

    async def start() -> GrpcServer:
        server = GrpcServer(http_url=platform.url, address=address)
        await server.start()
        return server

    server = asyncio.run_coroutine_threadsafe(start(), loop).result(30)
    try:
        yield address
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(1.0), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def as_(key: str) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {key}")]


def test_health_says_serving_and_reflection_lets_a_generic_client_call(target: str, platform: Platform) -> None:
    with grpc.insecure_channel(target) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        deadline = time.monotonic() + 30
        while health.Check(health_pb2.HealthCheckRequest(service="")).status != health_pb2.HealthCheckResponse.SERVING:
            assert time.monotonic() < deadline, "never SERVING"
            time.sleep(0.5)
        assert health.Check(health_pb2.HealthCheckRequest(service="sutazai.v1.Reasoning")).status == \
            health_pb2.HealthCheckResponse.SERVING

        reflected = ProtoReflectionDescriptorDatabase(channel)  # knows nothing of sutazai.proto beforehand
        services = set(reflected.get_services())
        assert {"sutazai.v1.Reasoning", "sutazai.v1.Knowledge", "sutazai.v1.Documents", "sutazai.v1.Learning",
                "grpc.health.v1.Health"} <= services
        pool = descriptor_pool.DescriptorPool(reflected)
        method = pool.FindServiceByName("sutazai.v1.Documents").FindMethodByName("List")
        request_class = message_factory.GetMessageClass(method.input_type)
        reply_class = message_factory.GetMessageClass(method.output_type)
        call = channel.unary_unary("/sutazai.v1.Documents/List", request_serializer=request_class.SerializeToString,
                                   response_deserializer=reply_class.FromString)
        reply = call(request_class(collection="docs", limit=5), metadata=as_(platform.admin_key))
        assert reply.DESCRIPTOR.full_name == "sutazai.v1.DocumentList"


def test_ask_streams_the_steps_then_the_answer_and_feedback_rates_it(target: str, platform: Platform) -> None:
    with grpc.insecure_channel(target) as channel:
        events = list(rpc.ReasoningStub(channel).Ask(pb.AskRequest(question="What is 12 * 12?"),
                                                     metadata=as_(platform.admin_key), timeout=300))
        kinds = [e.WhichOneof("event") for e in events]
        assert kinds[0] == "trace_id" and "plan" in kinds and "step" in kinds and kinds[-1] == "answer"
        assert kinds.index("step") < kinds.index("answer")
        answer = events[-1].answer
        assert answer.answer.startswith("144") and answer.trace_id == events[0].trace_id and not answer.abstained
        rated = rpc.LearningStub(channel).Feedback(pb.FeedbackRequest(trace_id=answer.trace_id, rating="up"),
                                                   metadata=as_(platform.admin_key))
        assert rated.rating == "up" and rated.trace_id == answer.trace_id


def test_ingest_as_a_client_stream_then_follow_search_list_get_delete(target: str, platform: Platform) -> None:
    collection = f"grpc-{uuid.uuid4().hex[:6]}"
    text = ("The Harbin observatory was founded in 1932 by the astronomer Lena Quill. " * 20).encode()
    pieces = [text[i:i + 200] for i in range(0, len(text), 200)]

    def upload() -> Iterator[pb.IngestChunk]:
        yield pb.IngestChunk(filename="observatory.txt", collection=collection, tags=["history"], data=pieces[0])
        for piece in pieces[1:]:
            yield pb.IngestChunk(data=piece)

    with grpc.insecure_channel(target) as channel:
        knowledge, documents = rpc.KnowledgeStub(channel), rpc.DocumentsStub(channel)
        reply = knowledge.Ingest(upload(), metadata=as_(platform.admin_key))
        assert reply.bytes_received == len(text) and reply.job_id and not reply.duplicate
        progress = list(knowledge.WatchJob(pb.JobRequest(job_id=reply.job_id), metadata=as_(platform.admin_key),
                                           timeout=300))
        assert progress[-1].state == "done" and progress[-1].percent == 100
        found = knowledge.Search(pb.SearchRequest(query="Who founded the Harbin observatory?", collection=collection),
                                 metadata=as_(platform.admin_key))
        assert found.hits and "Lena Quill" in found.hits[0].text and found.hits[0].document_id == reply.document_id
        with httpx.Client(base_url=platform.url, headers=auth(platform.admin_key), timeout=60) as http:
            wait_for_graph(http, reply.document_id)  # the model is free again: the ask does not queue behind it
        asked = list(rpc.ReasoningStub(channel).Ask(pb.AskRequest(question="Who founded the Harbin observatory?",
                                                                  collection=collection, samples=1),
                                                    metadata=as_(platform.admin_key), timeout=300))
        kinds = [e.WhichOneof("event") for e in asked]
        drafts = [e.draft for e in asked if e.WhichOneof("event") == "draft"]
        assert drafts and kinds.index("draft") < kinds.index("answer")  # the answer's text as it was written
        assert len({d.step for d in drafts}) == 1 and "".join(d.delta for d in drafts).strip()
        listed = documents.List(pb.ListDocumentsRequest(collection=collection), metadata=as_(platform.admin_key))
        assert [d.id for d in listed.documents] == [reply.document_id]
        got = documents.Get(pb.DocumentRequest(document_id=reply.document_id), metadata=as_(platform.admin_key))
        assert got.source == "observatory.txt" and list(got.tags) == ["history"] and got.status == "ready"
        documents.Delete(pb.DocumentRequest(document_id=reply.document_id), metadata=as_(platform.admin_key))
        with pytest.raises(grpc.RpcError) as gone:
            documents.Get(pb.DocumentRequest(document_id=reply.document_id), metadata=as_(platform.admin_key))
        assert gone.value.code() == grpc.StatusCode.NOT_FOUND


def test_the_same_credentials_scopes_and_errors_as_http(target: str, platform: Platform) -> None:
    outsider = asyncio.run(create_key(platform.backends, "user", [f"other-{uuid.uuid4().hex[:6]}"]))

    def refused(call: Any, *args: Any, **kwargs: Any) -> grpc.RpcError:
        with pytest.raises(grpc.RpcError) as info:
            result = call(*args, **kwargs)
            if hasattr(result, "__iter__") and not isinstance(result, (bytes, str)):
                list(result)
        return info.value

    with grpc.insecure_channel(target) as channel:
        knowledge, reasoning = rpc.KnowledgeStub(channel), rpc.ReasoningStub(channel)
        anonymous = refused(knowledge.Search, pb.SearchRequest(query="x", collection="docs"))
        assert anonymous.code() == grpc.StatusCode.UNAUTHENTICATED and anonymous.details()
        wrong = refused(knowledge.Search, pb.SearchRequest(query="x", collection="docs"), metadata=as_("szk_no_no"))
        assert wrong.code() == grpc.StatusCode.UNAUTHENTICATED
        scoped = refused(knowledge.Search, pb.SearchRequest(query="x", collection="docs"), metadata=as_(outsider))
        assert scoped.code() == grpc.StatusCode.PERMISSION_DENIED and "docs" in scoped.details()
        empty = refused(reasoning.Ask, pb.AskRequest(question="   "), metadata=as_(platform.admin_key))
        assert empty.code() == grpc.StatusCode.INVALID_ARGUMENT and "question" in empty.details()
        nameless = refused(knowledge.Ingest, iter([pb.IngestChunk(data=b"x")]), metadata=as_(platform.admin_key))
        assert nameless.code() == grpc.StatusCode.INVALID_ARGUMENT and "filename" in nameless.details()
        missing = refused(rpc.DocumentsStub(channel).Get, pb.DocumentRequest(document_id=str(uuid.uuid4())),
                          metadata=as_(platform.admin_key))
        assert missing.code() == grpc.StatusCode.NOT_FOUND


def test_a_failed_ask_ends_with_the_problems_status_not_the_traces() -> None:
    """An ask that fails streams the trace's own error event (status "exhausted", "failed") and then
    the problem (an HTTP status): the call ends with the problem's code, mapped."""
    assert _event("error", {"status": "exhausted", "detail": "the budget ran out"}) is None
    assert _event("error", {"status": 422, "detail": "the budget ran out"}) == (
        grpc.StatusCode.INVALID_ARGUMENT, "the budget ran out")
    assert _event("error", {"status": 503, "detail": "down"})[0] == grpc.StatusCode.UNAVAILABLE  # type: ignore[index]

"""The gRPC server: each call is carried out by the HTTP API (at `http_url`) with the caller's own
credential, so gRPC has exactly the same credentials, scopes, validation and errors as HTTP; a
problem+json status becomes the matching gRPC status with its detail. Ask streams the pipeline's
server-sent events as they come; Ingest takes a client-streamed upload; WatchJob streams a job's
progress. The standard health-checking service reports SERVING while the HTTP API is ready, and
reflection lists every service (for generic clients such as grpcurl)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import grpc
import httpx
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from sutazai.grpc_api.codegen import ensure
from sutazai.lib.contracts.knowledge import PREFIX as KNOWLEDGE
from sutazai.lib.contracts.learning import PREFIX as LEARNING
from sutazai.lib.contracts.reasoning import PREFIX as REASONING
from sutazai.lib.http_client import internal_ca

ensure()
from sutazaipb.v1 import sutazai_pb2 as pb  # noqa: E402 - generated at build time, importable after ensure()
from sutazaipb.v1 import sutazai_pb2_grpc as rpc  # noqa: E402

logger = logging.getLogger(__name__)
STATUS = {400: grpc.StatusCode.INVALID_ARGUMENT, 401: grpc.StatusCode.UNAUTHENTICATED,
          403: grpc.StatusCode.PERMISSION_DENIED, 404: grpc.StatusCode.NOT_FOUND, 405: grpc.StatusCode.UNIMPLEMENTED,
          409: grpc.StatusCode.ABORTED, 413: grpc.StatusCode.RESOURCE_EXHAUSTED, 415: grpc.StatusCode.INVALID_ARGUMENT,
          422: grpc.StatusCode.INVALID_ARGUMENT, 429: grpc.StatusCode.RESOURCE_EXHAUSTED,
          503: grpc.StatusCode.UNAVAILABLE, 504: grpc.StatusCode.DEADLINE_EXCEEDED}
"""HTTP status of the API's problem -> gRPC status (anything else: INTERNAL)."""
MAX_UPLOAD = 64 * 1024 * 1024
READY = {"sutazai.v1.Reasoning": ("reasoning",), "sutazai.v1.Knowledge": ("knowledge",),
         "sutazai.v1.Documents": ("knowledge",), "sutazai.v1.Learning": ("learning",)}
"""Each gRPC service and the HTTP services it needs ready (the identity service, for all)."""
SERVICES = tuple(READY)


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail") or response.reason_phrase)
    except ValueError:
        return response.text[:500] or response.reason_phrase


class _Routed(httpx.AsyncBaseTransport):
    """Each API prefix to the service that serves it (Compose: straight to the service over the
    internal TLS, not back through HAProxy); anything else to the default."""

    def __init__(self, routes: dict[str, str], default: httpx.AsyncBaseTransport) -> None:
        self._routes = sorted(((p, httpx.URL(u)) for p, u in routes.items()), key=lambda r: -len(r[0]))
        self._default = default
        self._transport = httpx.AsyncHTTPTransport(verify=internal_ca())

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        for prefix, base in self._routes:
            if request.url.path.startswith(prefix):
                request.url = request.url.copy_with(scheme=base.scheme, host=base.host, port=base.port)
                return await self._transport.handle_async_request(request)
        return await self._default.handle_async_request(request)

    async def aclose(self) -> None:
        await self._transport.aclose()
        await self._default.aclose()


class Bridge:
    """Calls of the HTTP API with the caller's credential; refusals become gRPC statuses."""

    def __init__(self, http_url: str, routes: dict[str, str] | None = None) -> None:
        default = httpx.AsyncHTTPTransport(verify=internal_ca())
        transport: httpx.AsyncBaseTransport = _Routed(routes, default) if routes else default
        self.client = httpx.AsyncClient(base_url=http_url, timeout=httpx.Timeout(600.0, connect=5.0),
                                        transport=transport, trust_env=False)  # internal: never via a proxy

    @staticmethod
    def credential(context: grpc.aio.ServicerContext) -> dict[str, str]:
        for key, value in context.invocation_metadata() or ():
            if key == "authorization":
                return {"Authorization": str(value)}
            if key == "x-api-key":
                return {"X-API-Key": str(value)}
        return {}

    async def call(self, context: grpc.aio.ServicerContext, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = await self.client.request(method, path, headers=self.credential(context), **kwargs)
        except httpx.HTTPError as exc:
            await context.abort(grpc.StatusCode.UNAVAILABLE, f"the SutazAI API cannot be reached: {exc}")
        await self.check(context, response)
        return response.json() if response.content else None

    @staticmethod
    async def check(context: grpc.aio.ServicerContext, response: httpx.Response) -> None:
        if response.status_code >= 400:
            await context.abort(STATUS.get(response.status_code, grpc.StatusCode.INTERNAL), _detail(response))

    async def close(self) -> None:
        await self.client.aclose()


def _answer(data: dict[str, Any]) -> pb.Answer:
    citations = [pb.Citation(document_id=c["document_id"], chunk_id=c["chunk_id"], source=c.get("source") or "",
                             text=c.get("text") or "") for c in data.get("citations") or []]
    return pb.Answer(trace_id=str(data["trace_id"]), answer=data.get("answer") or "",
                     confidence=float(data.get("confidence") or 0.0), abstained=bool(data.get("abstained")),
                     reason=data.get("reason") or "", model=data.get("model") or "",
                     grounding=data.get("grounding") or "none", citations=citations)


class Reasoning(rpc.ReasoningServicer):  # type: ignore[misc] # generated, untyped
    def __init__(self, bridge: Bridge) -> None:
        self.bridge = bridge

    async def Ask(self, request: pb.AskRequest, context: grpc.aio.ServicerContext) -> AsyncIterator[pb.AskEvent]:  # noqa: N802
        options: dict[str, Any] = {"temperature": request.temperature, "seed": request.seed}
        if request.samples:
            options["samples"] = request.samples
        body = {"question": request.question, "options": options,
                **({"collection": request.collection} if request.collection else {})}
        async with self.bridge.client.stream("POST", f"{REASONING}/ask/stream", json=body,
                                             headers=self.bridge.credential(context)) as response:
            if response.status_code != 200:
                await response.aread()
                await self.bridge.check(context, response)
            kind = ""
            async for line in response.aiter_lines():
                if line.startswith("event:"):
                    kind = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and kind:
                    event = _event(kind, json.loads(line.split(":", 1)[1]))
                    if isinstance(event, tuple):
                        await context.abort(*event)
                    if event is not None:
                        yield event


def _event(kind: str, data: dict[str, Any]) -> pb.AskEvent | tuple[grpc.StatusCode, str] | None:
    if kind == "trace":
        return pb.AskEvent(trace_id=str(data["trace_id"]))
    if kind == "plan":
        return pb.AskEvent(plan=pb.Plan(strategy=data.get("strategy", ""), steps=[
            pb.PlannedStep(id=s["id"], tool=s["tool"], kind=s.get("kind", ""), purpose=s.get("purpose", ""),
                           depends_on=s.get("depends_on", [])) for s in data.get("steps", [])]))
    if kind == "step" and data.get("id") != "plan":
        return pb.AskEvent(step=pb.Step(id=data["id"], tool=data["tool"], kind=data.get("kind", ""),
                                        status=data["status"], purpose=data.get("purpose", ""),
                                        model=data.get("model") or "", latency_ms=float(data.get("latency_ms", 0)),
                                        error=data.get("error") or ""))
    if kind == "draft":
        return pb.AskEvent(draft=pb.Draft(step=str(data["step"]), delta=str(data["delta"])))
    if kind == "answer":
        return pb.AskEvent(answer=_answer(data))
    if kind == "error" and isinstance(data.get("status"), int):  # the problem (the trace's own "error" event,
        # whose status is the trace's, e.g. "exhausted", comes first and says the same)
        return STATUS.get(int(data["status"]), grpc.StatusCode.INTERNAL), str(data.get("detail"))
    return None


class Knowledge(rpc.KnowledgeServicer):  # type: ignore[misc] # generated, untyped
    def __init__(self, bridge: Bridge) -> None:
        self.bridge = bridge

    async def Search(self, request: pb.SearchRequest, context: grpc.aio.ServicerContext) -> pb.SearchResponse:  # noqa: N802
        params: dict[str, Any] = {"q": request.query, "k": request.k or 10, "known": "true"}
        if request.collection:
            params["collection"] = request.collection
        body = await self.bridge.call(context, "GET", f"{KNOWLEDGE}/search", params=params)
        return pb.SearchResponse(collection=body["collection"], hits=[
            pb.Hit(chunk_id=h["chunk_id"], document_id=h["document_id"], source=h["source"], text=h["text"],
                   score=float(h["score"])) for h in body["hits"]])

    async def Ingest(self, request_iterator: AsyncIterator[pb.IngestChunk],  # noqa: N802
                     context: grpc.aio.ServicerContext) -> pb.IngestReply:
        filename, collection, size = "", "", 0
        tags: list[str] = []
        parts: list[bytes] = []
        async for chunk in request_iterator:
            filename, collection = filename or chunk.filename, collection or chunk.collection
            tags = tags or list(chunk.tags)
            size += len(chunk.data)
            if size > MAX_UPLOAD:
                await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED,
                                    f"the upload passed {MAX_UPLOAD // 2**20} MiB; send a smaller file")
            parts.append(chunk.data)
        if not filename:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "the first message must name the file (filename)")
        data = {"source": filename, "tags": ",".join(tags), **({"collection": collection} if collection else {})}
        body = await self.bridge.call(context, "POST", f"{KNOWLEDGE}/documents",
                                      files={"file": (filename, b"".join(parts))}, data=data)
        job = body.get("job") or {}
        return pb.IngestReply(document_id=str(body["document"]["id"]), job_id=str(job.get("id") or ""),
                              duplicate=bool(body.get("duplicate")), bytes_received=size)

    async def WatchJob(self, request: pb.JobRequest,  # noqa: N802
                       context: grpc.aio.ServicerContext) -> AsyncIterator[pb.JobProgress]:
        last: tuple[str, float] | None = None
        while True:
            job = await self.bridge.call(context, "GET", f"{KNOWLEDGE}/jobs/{request.job_id}")
            now = (job["state"], float(job.get("percent") or 0.0))
            if now != last:
                yield pb.JobProgress(job_id=request.job_id, state=now[0], percent=now[1], error=job.get("error") or "")
                last = now
            if now[0] in ("done", "failed"):
                return
            await asyncio.sleep(0.3)


def _document(d: dict[str, Any]) -> pb.Document:
    return pb.Document(id=d["id"], collection=d["collection"], source=d["source"], status=d["status"],
                       chunk_count=int(d["chunk_count"]), sha256=d["sha256"], tags=d["tags"],
                       graph_state=(d.get("graph") or {}).get("state", ""))


class Documents(rpc.DocumentsServicer):  # type: ignore[misc] # generated, untyped
    def __init__(self, bridge: Bridge) -> None:
        self.bridge = bridge

    async def List(self, request: pb.ListDocumentsRequest,  # noqa: N802
                   context: grpc.aio.ServicerContext) -> pb.DocumentList:
        params: dict[str, Any] = {"limit": request.limit or 100}
        if request.collection:
            params["collection"] = request.collection
        rows = await self.bridge.call(context, "GET", f"{KNOWLEDGE}/documents", params=params)
        return pb.DocumentList(documents=[_document(d) for d in rows])

    async def Get(self, request: pb.DocumentRequest, context: grpc.aio.ServicerContext) -> pb.Document:  # noqa: N802
        return _document(await self.bridge.call(context, "GET", f"{KNOWLEDGE}/documents/{request.document_id}"))

    async def Delete(self, request: pb.DocumentRequest, context: grpc.aio.ServicerContext) -> pb.Deleted:  # noqa: N802
        await self.bridge.call(context, "DELETE", f"{KNOWLEDGE}/documents/{request.document_id}")
        return pb.Deleted(id=request.document_id)


class Learning(rpc.LearningServicer):  # type: ignore[misc] # generated, untyped
    def __init__(self, bridge: Bridge) -> None:
        self.bridge = bridge

    async def Feedback(self, request: pb.FeedbackRequest,  # noqa: N802
                       context: grpc.aio.ServicerContext) -> pb.FeedbackReply:
        body = await self.bridge.call(context, "POST", f"{LEARNING}/feedback", json={
            "trace_id": request.trace_id, "rating": request.rating, "comment": request.comment or None})
        return pb.FeedbackReply(id=str(body["id"]), trace_id=str(body["trace_id"]), rating=body["rating"])


class GrpcServer:
    """The gRPC server on `address` in front of the HTTP API at `http_url`."""

    def __init__(self, *, http_url: str, address: str, routes: dict[str, str] | None = None) -> None:
        self.bridge = Bridge(http_url, routes)
        self.server = grpc.aio.server(options=[("grpc.max_receive_message_length", 8 * 1024 * 1024)])
        rpc.add_ReasoningServicer_to_server(Reasoning(self.bridge), self.server)
        rpc.add_KnowledgeServicer_to_server(Knowledge(self.bridge), self.server)
        rpc.add_DocumentsServicer_to_server(Documents(self.bridge), self.server)
        rpc.add_LearningServicer_to_server(Learning(self.bridge), self.server)
        self.health = health.aio.HealthServicer() if hasattr(health, "aio") else health.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        reflection.enable_server_reflection(
            (*SERVICES, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME),
            self.server)
        self.port = self.server.add_insecure_port(address)
        self._watch: asyncio.Task[None] | None = None

    async def start(self) -> None:
        for name in ("", *SERVICES):  # known, not serving, until the HTTP services say they are ready
            await _set(self.health, name, health_pb2.HealthCheckResponse.NOT_SERVING)
        await self.server.start()
        self._watch = asyncio.create_task(self._follow_readiness())

    async def _ready(self, service: str) -> bool:
        try:
            return (await self.bridge.client.get(f"/api/{service}/readyz", timeout=5.0)).status_code == 200
        except httpx.HTTPError:
            return False

    async def _follow_readiness(self) -> None:
        """Each service SERVING while the HTTP services it needs say they are ready (the whole
        server, "": all of them), NOT_SERVING otherwise."""
        serving, not_serving = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING
        while True:
            ready = {s: await self._ready(s) for s in ("identity", "reasoning", "knowledge", "learning")}
            for name, needs in READY.items():
                ok = ready["identity"] and all(ready[n] for n in needs)
                await _set(self.health, name, serving if ok else not_serving)
            await _set(self.health, "", serving if all(ready.values()) else not_serving)
            await asyncio.sleep(2.0)

    async def stop(self, grace: float = 5.0) -> None:
        if self._watch is not None:
            self._watch.cancel()
        await self.server.stop(grace)
        await self.bridge.close()


async def _set(servicer: Any, name: str, status: int) -> None:
    result = servicer.set(name, status)
    if asyncio.iscoroutine(result):
        await result


def routes_from_environment() -> dict[str, str]:
    """Compose gives each service's address (SUTAZAI_<SERVICE>_URL): calls go straight there."""
    import os  # noqa: PLC0415

    found = {}
    for service in ("identity", "reasoning", "knowledge", "learning"):
        url = os.environ.get(f"SUTAZAI_{service.upper()}_URL")
        if url:
            found[f"/api/{service}/"] = url
    return found


async def serve_forever(*, http_url: str, address: str) -> None:
    """Run until SIGTERM or SIGINT (`sutazai serve-grpc`, the Compose `grpc` service)."""
    import signal  # noqa: PLC0415

    server = GrpcServer(http_url=http_url, address=address, routes=routes_from_environment())
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    logger.info("gRPC on %s, in front of %s", address, http_url)
    await stop.wait()
    await server.stop()

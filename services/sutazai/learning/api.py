"""HTTP adapter of the learning service: feedback and corrections on answers, procedural memory
(exemplars, demoted passages), evaluation suites and runs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from sutazai.learning.deps import Learning
from sutazai.learning.evaluation_runs import RunConfig
from sutazai.learning.suites import SUITE_NAME_RULE, parse, render
from sutazai.lib.access import CollectionName
from sutazai.lib.contracts import learning as contract
from sutazai.lib.contracts.learning import (
    MemoryOut,
    OutcomeOut,
    PassageRef,
    SuiteOut,
    SuiteWithCases,
)
from sutazai.lib.deps import AdminPrincipal, CurrentPrincipal, PlatformAdmin
from sutazai.lib.errors import Conflict, PayloadTooLarge, ValidationFailed
from sutazai.lib.security import credential_from

router = APIRouter(prefix=contract.PREFIX, tags=["learning"])


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    trace_id: uuid.UUID = Field(description="the reasoning trace the answer came from")
    rating: Literal["up", "down"] = Field(description="thumbs up or down")
    comment: str | None = Field(default=None, max_length=4000, description="what was right or wrong")


class FeedbackOut(BaseModel):
    id: uuid.UUID
    trace_id: uuid.UUID
    subject: str
    rating: Literal["up", "down"]
    comment: str | None
    collection: str | None = Field(description="the collection of the trace")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: dict[str, Any]) -> FeedbackOut:
        return cls(**{**row, "rating": "up" if row["rating"] > 0 else "down"})


@router.post("/feedback", response_model=FeedbackOut, status_code=201,
             summary="Thumbs up or down on an answer, with an optional comment (a second verdict from "
                     "the same person on the same trace replaces the first)")
async def give_feedback(body: FeedbackIn, request: Request, response: Response, principal: CurrentPrincipal,
                        learning: Learning) -> FeedbackOut:
    recorded = await learning.feedback.give(principal=principal, credential=credential_from(request),
                                            trace_id=body.trace_id, rating=body.rating, comment=body.comment)
    if not recorded.created:
        response.status_code = 200
    return FeedbackOut.of(recorded.row)


@router.get("/feedback", response_model=list[FeedbackOut],
            summary="Feedback, newest first: admins see the feedback on the collections they "
                    "administer, others their own")
async def list_feedback(principal: CurrentPrincipal, learning: Learning,
                        trace_id: Annotated[uuid.UUID | None, Query()] = None,
                        limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[FeedbackOut]:
    rows = await learning.feedback.visible(principal=principal, trace_id=trace_id, limit=limit)
    return [FeedbackOut.of(r) for r in rows]


# -- corrections and memory ----------------------------------------------------------------------

ChunkId = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[\w:.-]+$")]


class CorrectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    trace_id: uuid.UUID = Field(description="the reasoning trace of the answer being corrected")
    answer: str = Field(max_length=4000, description="the right answer to the question")
    passage: ChunkId | None = Field(default=None, description="the chunk_id of a passage the answer was shown "
                                    "that states the right answer")
    wrong_passages: list[ChunkId] = Field(default_factory=list, max_length=20, description="chunk_ids of passages "
                                          "that were wrong for this question (demoted for similar questions)")
    note: str | None = Field(default=None, max_length=2000)


class CorrectionOut(BaseModel):
    id: uuid.UUID
    trace_id: uuid.UUID
    subject: str
    collection: str
    question: str
    given_answer: str
    answer: str
    passage: PassageRef | None
    wrong_passages: list[PassageRef]
    note: str | None
    status: Literal["pending", "approved", "rejected"]
    reviewed_by: str | None
    reviewed_at: datetime | None
    review_note: str | None
    created_at: datetime


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(default=None, max_length=2000)


class ExemplarOut(BaseModel):
    id: uuid.UUID
    collection: str
    question: str
    answer: str
    passage: PassageRef | None
    origin: Literal["correction", "rating", "teacher"]
    origin_id: str
    work: str | None = Field(default=None, description="the worked arithmetic a teacher wrote")
    trace_id: uuid.UUID | None
    active: bool
    created_by: str
    created_at: datetime
    retired_at: datetime | None


@router.post("/corrections", response_model=CorrectionOut, status_code=201,
             summary="Correct an answer you were given: the right answer, optionally the passage that shows it "
                     "and passages that were wrong. Pending until an admin of the collection approves it (an "
                     "admin's own correction is approved at once); approved, it becomes an exemplar")
async def correct(body: CorrectionIn, request: Request, principal: CurrentPrincipal,
                  learning: Learning) -> CorrectionOut:
    credential = credential_from(request)
    if credential is None:  # pragma: no cover - the dependency required one
        raise ValidationFailed("a credential is needed")
    row = await learning.memory.correct(principal=principal, credential=credential, trace_id=body.trace_id,
                                        answer=body.answer, passage=body.passage, wrong_passages=body.wrong_passages,
                                        note=body.note)
    return CorrectionOut.model_validate(row)


@router.get("/corrections", response_model=list[CorrectionOut], summary="Corrections, newest first: admins see "
            "those in the collections they administer, others their own")
async def list_corrections(principal: CurrentPrincipal, learning: Learning,
                           status: Literal["pending", "approved", "rejected"] | None = None,
                           limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[CorrectionOut]:
    rows = await learning.memory.corrections(principal=principal, status=status, limit=limit)
    return [CorrectionOut.model_validate(r) for r in rows]


@router.post("/corrections/{correction_id}/approve", response_model=CorrectionOut,
             summary="Approve a pending correction: it becomes an exemplar and its wrong passages are demoted "
                     "(admins of its collection; of two reviews at once exactly one wins)")
async def approve_correction(correction_id: uuid.UUID, principal: CurrentPrincipal, learning: Learning,
                             body: ReviewIn | None = None) -> CorrectionOut:
    row = await learning.memory.review(principal=principal, correction_id=correction_id, approve=True,
                                       note=body.note if body else None)
    return CorrectionOut.model_validate(row)


@router.post("/corrections/{correction_id}/reject", response_model=CorrectionOut,
             summary="Reject a pending correction (admins of its collection)")
async def reject_correction(correction_id: uuid.UUID, principal: CurrentPrincipal, learning: Learning,
                            body: ReviewIn | None = None) -> CorrectionOut:
    row = await learning.memory.review(principal=principal, correction_id=correction_id, approve=False,
                                       note=body.note if body else None)
    return CorrectionOut.model_validate(row)


@router.get("/exemplars", response_model=list[ExemplarOut], summary="Exemplars in the collections you administer "
            "(admins)")
async def list_exemplars(admin: AdminPrincipal, learning: Learning, include_retired: bool = False,
                         limit: Annotated[int, Query(ge=1, le=5000)] = 500) -> list[ExemplarOut]:
    rows = await learning.memory.exemplars(principal=admin, include_retired=include_retired, limit=limit)
    return [ExemplarOut.model_validate(r) for r in rows]


@router.delete("/exemplars/{exemplar_id}", status_code=204, summary="Retire an exemplar: the pipeline no longer "
               "uses it (admins of its collection)")
async def retire_exemplar(exemplar_id: uuid.UUID, admin: AdminPrincipal, learning: Learning) -> Response:
    await learning.memory.retire(principal=admin, exemplar_id=exemplar_id)
    return Response(status_code=204)


@router.get("/memory", response_model=MemoryOut, summary="A collection's active exemplars and demoted passages, "
            "as the reasoning service reads them for a question asked there (anyone who may use it)")
async def memory(collection: Annotated[CollectionName, Query()], principal: CurrentPrincipal,
                 learning: Learning) -> MemoryOut:
    return MemoryOut.model_validate(await learning.memory.memory(principal=principal, collection=collection))


# -- models and routing -------------------------------------------------------------------------

class ModelOut(BaseModel):
    name: str
    title: str
    parameters: str | None
    quantization: str | None
    size: int | None
    suits: list[str] = Field(description="the step kinds the manifest says it suits")
    served_as: str | None = Field(description="the name the reasoning service serves it under; null: not served")
    routed_kinds: list[str] = Field(description="the step kinds it serves now")


class RecommendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    suite: str = Field(min_length=1, max_length=63, description="the suite whose pipeline runs are the evidence")
    kinds: list[Literal["plan", "extract", "synthesize", "verify"]] | None = Field(
        default=None, description="the step kinds to consider (default: all)")
    latency_budget_s: float | None = Field(default=None, gt=0, le=3600, description="a model whose run's p95 "
                                           "latency is above this is not recommended")
    propose: bool = Field(default=False, description="hand a supported change to the metacognition service as a "
                                                     "proposal (an admin approves it there)")


@router.get("/models", response_model=list[ModelOut], summary="The model registry: every model of the manifest "
            "and every model served, with the step kinds each serves now (admins)")
async def models(request: Request, admin: AdminPrincipal, learning: Learning) -> list[ModelOut]:  # noqa: ARG001
    credential = credential_from(request)
    if credential is None:  # pragma: no cover - the dependency required one
        raise ValidationFailed("a credential is needed")
    return [ModelOut.model_validate(m) for m in await learning.routing.registry(credential=credential)]


@router.post("/routing/recommendations", summary="Which model should serve each step kind, from a suite's "
             "evaluation runs (paired comparison against the routes in force, within a latency budget); with "
             "propose, a supported change goes to the metacognition service as a proposal (platform admins)")
async def recommend_routes(body: RecommendIn, request: Request, admin: PlatformAdmin,
                           learning: Learning) -> dict[str, Any]:
    credential = credential_from(request)
    if credential is None:  # pragma: no cover - the dependency required one
        raise ValidationFailed("a credential is needed")
    return await learning.routing.recommend(principal=admin, credential=credential, suite=body.suite,
                                            kinds=list(body.kinds) if body.kinds else None,
                                            latency_budget_s=body.latency_budget_s, propose=body.propose)


# -- evaluation suites ---------------------------------------------------------------------------

MAX_SUITE_BYTES = 32 * 1024 * 1024
SuiteName = Annotated[str, Path(min_length=1, max_length=63, description=SUITE_NAME_RULE)]
Format = Annotated[Literal["jsonl", "csv"], Query(description="jsonl (one JSON object per line) or csv")]


@router.post("/suites/{name}", response_model=SuiteOut, status_code=201,
             summary="Import a suite from JSON lines or CSV (the request body): a new version, or the newest "
                     "one unchanged (200) when its cases are the same (admins)",
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/x-ndjson": {"schema": {"type": "string"}}, "text/csv": {"schema": {"type": "string"}}}}})
async def import_suite(name: SuiteName, request: Request, response: Response, admin: AdminPrincipal,
                       learning: Learning, format: Format = "jsonl",  # noqa: A002 - the query parameter's name
                       description: Annotated[str, Query(max_length=500)] = "",
                       source: Annotated[str, Query(max_length=200)] = "import") -> SuiteOut:
    body = await request.body()
    if len(body) > MAX_SUITE_BYTES:
        raise PayloadTooLarge(f"a suite file may be at most {MAX_SUITE_BYTES // 2**20} MB")
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationFailed(f"the suite file is not UTF-8 (byte {exc.start}); save it as UTF-8") from None
    imported = await learning.suites.import_suite(principal=admin, name=name, cases=parse(text, format),
                                                  description=description, source=source)
    if not imported.created:
        response.status_code = 200
    return SuiteOut.model_validate(imported.suite)


@router.get("/suites", response_model=list[SuiteOut], summary="Every suite, newest version (admins)")
async def list_suites(admin: AdminPrincipal, learning: Learning) -> list[SuiteOut]:  # noqa: ARG001
    return [SuiteOut.model_validate(s) for s in await learning.suites.list_suites()]


@router.get("/suites/{name}", response_model=SuiteWithCases, summary="A suite with its cases (admins)")
async def get_suite(name: SuiteName, admin: AdminPrincipal, learning: Learning,
                    version: Annotated[int | None, Query(ge=1, le=1_000_000)] = None) -> SuiteWithCases:
    row, cases = await learning.suites.suite(principal=admin, name=name, version=version)
    return SuiteWithCases.model_validate({**row, "items": [c.to_json() for c in cases]})


@router.get("/suites/{name}/export", response_class=PlainTextResponse,
            summary="A suite as JSON lines or CSV, as it can be imported again (admins)")
async def export_suite(name: SuiteName, admin: AdminPrincipal, learning: Learning, format: Format = "jsonl",  # noqa: A002
                       version: Annotated[int | None, Query(ge=1, le=1_000_000)] = None) -> PlainTextResponse:
    row, cases = await learning.suites.suite(principal=admin, name=name, version=version)
    media = "application/x-ndjson" if format == "jsonl" else "text/csv"
    filename = f"{row['name']}-v{row['version']}.{format}"
    return PlainTextResponse(render(cases, format), media_type=media,
                             headers={"Content-Disposition": f'attachment; filename="{filename}"'})


# -- evaluation runs -----------------------------------------------------------------------------

class RunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    suite: str = Field(min_length=1, max_length=63)
    version: int | None = Field(default=None, ge=1, description="default: the suite's newest version")
    label: str = Field(default="", max_length=200, description="how the run is named in comparisons")
    mode: Literal["pipeline", "bare"] = Field(default="pipeline", description="pipeline: the whole pipeline with "
                                              "the model routes in force; bare: one model, chain of thought")
    model: str | None = Field(default=None, max_length=200, description="the model of a bare run (/v1/models)")
    routes: dict[str, str] | None = Field(default=None, max_length=8, description="a pipeline run's own model "
                                          "per step kind (default: the routes in force)")
    ensemble: list[str] | None = Field(default=None, min_length=2, max_length=5, description="a pipeline run that "
                                       "votes across these models")
    samples: int | None = Field(default=None, ge=1, le=16)
    abstain_below: float | None = Field(default=None, ge=0.0, le=1.0)
    limit: int | None = Field(default=None, ge=1, le=100_000, description="only the first N cases (after offset)")
    offset: int = Field(default=0, ge=0, le=100_000, description="skip the first N cases: with limit, a slice of "
                        "the suite (e.g. cases a previous run did not reach)")


class RunOut(BaseModel):
    run_id: uuid.UUID
    suite: str
    suite_version: int
    label: str
    config: dict[str, Any]
    status: Literal["queued", "running", "done", "cancelled", "failed"]
    total: int
    finished: int
    key_id: str | None
    error: str | None
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    summary: dict[str, Any] | None = None


class ResultOut(BaseModel):
    case_id: str
    position: int
    answer: str
    correct: bool
    abstained: bool
    confidence: float | None
    latency_s: float | None
    tokens: int | None
    trace_id: uuid.UUID | None
    error: str | None
    finished_at: datetime
    candidate_correct: bool | None = Field(default=None, description="whether the answer the pipeline had was "
                                           "right, also when it withheld it for low confidence (the calibration "
                                           "label; null: no answer at all, or the bare model)")


@router.post("/runs", response_model=RunOut, status_code=202, summary="Start an evaluation run: a suite against "
             "a configuration, as a worker job with its own narrow key (admins)")
async def start_run(body: RunIn, request: Request, admin: AdminPrincipal, learning: Learning) -> RunOut:
    credential = credential_from(request)
    if credential is None:  # pragma: no cover - the dependency required one
        raise ValidationFailed("a credential is needed")
    run = await learning.runs.start(principal=admin, credential=credential, suite=body.suite, version=body.version,
                                    label=body.label, limit=body.limit, offset=body.offset,
                                    config=RunConfig(mode=body.mode, model=body.model, samples=body.samples,
                                                     abstain_below=body.abstain_below, routes=body.routes,
                                                     ensemble=body.ensemble))
    return RunOut.model_validate(await learning.runs.get(run_id=run["run_id"]))


@router.get("/runs", response_model=list[RunOut], summary="Evaluation runs, newest first (admins)")
async def list_runs(admin: AdminPrincipal, learning: Learning,  # noqa: ARG001
                    limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[RunOut]:
    return [RunOut.model_validate(r) for r in await learning.runs.recent(limit=limit)]


@router.get("/outcomes", response_model=list[OutcomeOut], summary="Labelled answers for calibration, oldest first: "
            "evaluation cases (was the answer, or the one withheld for low confidence, right?) and feedback "
            "(platform admins; the metacognition service reads them)")
async def list_outcomes(admin: PlatformAdmin, learning: Learning,  # noqa: ARG001
                        since: Annotated[datetime | None, Query(description="only labels recorded at or after this "
                                                                "time (ISO 8601 with a zone)")] = None,
                        limit: Annotated[int, Query(ge=1, le=10_000)] = 5000) -> list[OutcomeOut]:
    if since is not None and since.tzinfo is None:
        raise ValidationFailed("since needs a time zone, e.g. 2026-11-23T10:00:00Z")
    return [OutcomeOut.model_validate(r) for r in await learning.runs.outcomes(since=since, limit=limit)]


@router.get("/runs/compare", summary="Two runs of one suite compared case by case: accuracy difference (B - A) "
            "with a paired bootstrap 95% interval and McNemar's exact test (admins)")
async def compare_runs(admin: AdminPrincipal, learning: Learning,  # noqa: ARG001
                       a: Annotated[uuid.UUID, Query()], b: Annotated[uuid.UUID, Query()]) -> dict[str, Any]:
    return await learning.runs.compare(a=a, b=b)


@router.get("/runs/{run_id}", response_model=RunOut, summary="A run with its progress and summary (admins)")
async def get_run(run_id: uuid.UUID, admin: AdminPrincipal, learning: Learning) -> RunOut:  # noqa: ARG001
    return RunOut.model_validate(await learning.runs.get(run_id=run_id))


@router.get("/runs/{run_id}/results", response_model=list[ResultOut], summary="A run's finished cases (admins)")
async def run_results(run_id: uuid.UUID, admin: AdminPrincipal, learning: Learning) -> list[ResultOut]:  # noqa: ARG001
    return [ResultOut.model_validate(r) for r in await learning.runs.results(run_id=run_id)]


@router.post("/runs/{run_id}/exemplars", summary="Make a (teacher) run's right answers exemplars, each with the "
             "worked arithmetic of its trace: a student model is shown them for similar questions (admins of the "
             "collections asked in)")
async def teach_from_run(run_id: uuid.UUID, request: Request, admin: AdminPrincipal,
                         learning: Learning) -> dict[str, int]:
    credential = credential_from(request)
    if credential is None:  # pragma: no cover - the dependency required one
        raise ValidationFailed("a credential is needed")
    run = await learning.runs.get(run_id=run_id)
    if run["status"] in ("queued", "running"):
        raise Conflict(f"run {run_id} is still {run['status']}; make exemplars from a finished run")
    _row, cases = await learning.suites.suite(principal=admin, name=run["suite"], version=run["suite_version"])
    return await learning.memory.teach(principal=admin, credential=credential, run=run,
                                       results=await learning.runs.results(run_id=run_id),
                                       cases={c.case_id: c for c in cases})


@router.post("/runs/{run_id}/cancel", response_model=RunOut, summary="Cancel a run; its finished cases are kept "
             "(admins)")
async def cancel_run(run_id: uuid.UUID, admin: AdminPrincipal, learning: Learning) -> RunOut:  # noqa: ARG001
    return RunOut.model_validate(await learning.runs.cancel(run_id=run_id))

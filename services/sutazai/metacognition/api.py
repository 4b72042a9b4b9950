"""HTTP adapter of the metacognition service: confidence assessments and calibration, improvement
proposals."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from sutazai.lib.confidence import AnswerFeatures
from sutazai.lib.contracts import metacognition as contract
from sutazai.lib.contracts.metacognition import AssessmentIn, AssessmentOut, ProposalIn, ProposalOut, Status
from sutazai.lib.deps import AdminPrincipal, CurrentPrincipal, PlatformAdmin
from sutazai.lib.errors import Unauthenticated, ValidationFailed
from sutazai.lib.security import credential_from
from sutazai.metacognition.deps import Metacognition

router = APIRouter(prefix=contract.PREFIX, tags=["metacognition"])


@router.post("/proposals", response_model=ProposalOut, status_code=201, summary="Propose a bounded change to the "
             "platform's settings with its evidence; a newer proposal of the same kind supersedes a pending one "
             "(platform admins, or a service acting for one)")
async def propose(body: ProposalIn, admin: PlatformAdmin, meta: Metacognition) -> ProposalOut:
    row = await meta.proposals.propose(principal=admin, kind=body.kind, change=body.change, evidence=body.evidence,
                                       rationale=body.rationale, source=body.source)
    return ProposalOut.model_validate(row)


@router.get("/proposals", response_model=list[ProposalOut], summary="Proposals, newest first (admins)")
async def list_proposals(admin: AdminPrincipal, meta: Metacognition, status: Status | None = None,  # noqa: ARG001
                         limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[ProposalOut]:
    return [ProposalOut.model_validate(r) for r in await meta.proposals.recent(status=status, limit=limit)]


@router.get("/proposals/{proposal_id}", response_model=ProposalOut, summary="A proposal with its evidence (admins)")
async def get_proposal(proposal_id: uuid.UUID, admin: AdminPrincipal,  # noqa: ARG001
                       meta: Metacognition) -> ProposalOut:
    return ProposalOut.model_validate(await meta.proposals.get(proposal_id=proposal_id))


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(min_length=1, max_length=2000, description="why: it goes to the audit log")


@router.post("/proposals/{proposal_id}/approve", response_model=ProposalOut, summary="Approve a pending proposal "
             "and put it in force as a new settings version (status applied; failed, with the reason, when it "
             "could not act) — platform admins; audited")
async def approve(proposal_id: uuid.UUID, body: DecisionIn, request: Request, admin: PlatformAdmin,
                  meta: Metacognition) -> ProposalOut:
    return ProposalOut.model_validate(await meta.proposals.decide(
        principal=admin, credential=credential_from(request), proposal_id=proposal_id, approve=True, note=body.note))


@router.post("/proposals/{proposal_id}/reject", response_model=ProposalOut, summary="Reject a pending proposal "
             "(platform admins; audited)")
async def reject(proposal_id: uuid.UUID, body: DecisionIn, request: Request, admin: PlatformAdmin,
                 meta: Metacognition) -> ProposalOut:
    return ProposalOut.model_validate(await meta.proposals.decide(
        principal=admin, credential=credential_from(request), proposal_id=proposal_id, approve=False, note=body.note))


@router.post("/proposals/{proposal_id}/apply", response_model=ProposalOut, summary="Finish applying an approved "
             "proposal whose application was interrupted (idempotent; platform admins)")
async def apply(proposal_id: uuid.UUID, request: Request, admin: PlatformAdmin, meta: Metacognition) -> ProposalOut:
    return ProposalOut.model_validate(await meta.proposals.apply(principal=admin, credential=credential_from(request),
                                                                 proposal_id=proposal_id))


class ThresholdIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    target_risk: float | None = Field(default=None, gt=0.0, lt=1.0, description="the share of wrong answers among "
                                      "those given to aim for (default: the service's)")


@router.post("/proposals/threshold", response_model=ProposalOut, status_code=201, summary="Propose the abstention "
             "threshold that reaches the target risk on the calibrator's held-out labels — offered only when it "
             "beats the threshold in force with a 95% interval that excludes zero (platform admins)")
async def propose_threshold(body: ThresholdIn, admin: PlatformAdmin, meta: Metacognition) -> ProposalOut:
    evidence = await meta.confidence.threshold_evidence(target_risk=body.target_risk)
    now, then = evidence["current"], evidence["proposed"]
    summary = (f"at {then['threshold']:.2f}: {then['coverage']:.0%} answered, risk {then['risk']:.1%}; in force "
               f"{now['threshold']:.2f}: {now['coverage']:.0%} answered, risk {now['risk']:.1%} "
               f"({evidence['cases']} held-out cases)")
    if not evidence["wins"]:
        raise ValidationFailed(f"no better threshold to offer: {summary}; the proposal must {evidence['criterion']} "
                               "with an interval that excludes zero", extra={"evidence": evidence})
    row = await meta.proposals.propose(principal=admin, kind="abstain_below",
                                       change={"abstain_below": then["threshold"]}, evidence=evidence,
                                       rationale=f"{evidence['criterion']}: {summary}", source="metacognition")
    return ProposalOut.model_validate(row)


SuiteName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$", description="a suite name")]


class RetrievalProposalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    suites: list[SuiteName] = Field(
        min_length=1, max_length=20, description="suites whose questions are asked of a collection (e.g. companies, "
        "squad-shifts); half tunes the setting, the other half measures it")
    seed: int = Field(default=0, ge=0, le=2**31 - 1, description="which half is held out")


@router.post("/proposals/retrieval", response_model=ProposalOut, status_code=201, summary="Propose the retrieval "
             "depth and fusion weights that find the reference answers best on held-out evaluation questions — "
             "offered only when they beat the settings in force with a 95% interval that excludes zero "
             "(platform admins)")
async def propose_retrieval(body: RetrievalProposalIn, request: Request, admin: PlatformAdmin,
                            meta: Metacognition) -> ProposalOut:
    credential = credential_from(request)
    if credential is None:
        raise Unauthenticated("a credential is needed to read the suites and search the collections")
    evidence = await meta.retrieval.evidence(suites=body.suites, credential=credential, seed=body.seed)
    now, then = evidence["current"], evidence["proposed"]

    def said(s: dict[str, Any]) -> str:
        w = s["weights"]
        return f"depth {s['depth']}, weights {w['keyword']:g}/{w['vector']:g}: recall {s['recall']:.0%}"

    lo, hi = evidence["utility_difference_ci"]
    summary = (f"{said(then)}; in force {said(now)}; utility difference {evidence['utility_difference']:+.3f} "
               f"[{lo:+.3f}, {hi:+.3f}] over {evidence['held_out_cases']} held-out questions")
    if not evidence["wins"]:
        why = "the tuning half chose the settings in force" if evidence["same_as_current"] else summary
        raise ValidationFailed(f"no better retrieval setting to offer: {why}; the proposal must have "
                               f"{evidence['criterion']}", extra={"evidence": evidence})
    row = await meta.proposals.propose(principal=admin, kind="retrieval",
                                       change={"retrieval": {k: then[k] for k in ("depth", "weights")}},
                                       evidence=evidence, rationale=summary, source="metacognition")
    return ProposalOut.model_validate(row)


class VersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # built from the store's SettingsVersionRow

    version: int
    settings: dict[str, Any]
    proposal_id: uuid.UUID | None
    restored_from: int | None
    actor: str
    reason: str
    created_at: datetime


@router.get("/settings", summary="The settings this service governs as they are in force (admins)")
async def settings_in_force(admin: AdminPrincipal, meta: Metacognition) -> dict[str, Any]:  # noqa: ARG001
    return await meta.proposals.in_force()


@router.get("/settings/versions", response_model=list[VersionOut], summary="Every settings version, newest (in "
            "force) first (admins)")
async def settings_versions(admin: AdminPrincipal, meta: Metacognition,  # noqa: ARG001
                            limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[VersionOut]:
    return [VersionOut.model_validate(r) for r in await meta.proposals.versions(limit=limit)]


class RestoreIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(min_length=1, max_length=2000, description="why: it goes to the audit log")


@router.post("/settings/versions/{version}/restore", response_model=VersionOut, status_code=201,
             summary="Put an earlier settings version back in force, as a new version (platform admins; audited)")
async def restore(version: Annotated[int, Path(ge=1, le=2**31 - 1)], body: RestoreIn, request: Request,
                  admin: PlatformAdmin, meta: Metacognition) -> VersionOut:
    return VersionOut.model_validate(await meta.proposals.restore(
        principal=admin, credential=credential_from(request), version=version, note=body.note))

# -- confidence ----------------------------------------------------------------------------------

@router.post("/assessments", response_model=AssessmentOut, summary="How likely an answer is right, from its "
             "features, by the calibrator in use; the reasoning service asks on every answer and abstains when "
             "told (anyone signed in; recorded for calibration)")
async def assess(body: AssessmentIn, principal: CurrentPrincipal, meta: Metacognition) -> AssessmentOut:
    f = body.features
    features = AnswerFeatures(agreement=f.agreement, supported_fraction=f.supported_fraction,
                              retrieval_scores=tuple(f.retrieval_scores), answer_kind=f.answer_kind,
                              strategy=f.strategy, step_kinds=tuple(f.step_kinds), models=tuple(f.models),
                              samples=f.samples, computed=f.computed, citations=f.citations)
    return AssessmentOut.model_validate(await meta.confidence.assess(
        principal=principal, features=features, trace_id=body.trace_id, abstain_below=body.abstain_below))


class CalibratorOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # built from the store's CalibratorRow / CalibratorSummary

    version: int
    method: str
    metrics: dict[str, Any]
    created_by: str
    created_at: datetime


class FitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seed: int = Field(default=0, ge=0, le=2**32 - 1,  # the range scikit-learn's random_state takes
                      description="how the labels are split into the folds it is measured on")


@router.post("/calibrators", response_model=CalibratorOut, status_code=201, summary="Read the labelled outcomes "
             "from the learning service and fit a calibrator on them (logistic or isotonic, whichever "
             "cross-validates better), measured out of fold on every label; it is used from the next answer on "
             "(platform admins)")
async def fit_calibrator(request: Request, admin: PlatformAdmin, meta: Metacognition,
                         body: FitIn | None = None) -> CalibratorOut:
    credential = credential_from(request)
    if credential is None:
        raise Unauthenticated("a credential is needed to read the labels from the learning service")
    row = await meta.confidence.refit(principal=admin, credential=credential, seed=(body or FitIn()).seed)
    return CalibratorOut.model_validate(row)


@router.get("/calibrators", response_model=list[CalibratorOut], summary="Fitted calibrators, newest (in use) "
            "first (admins)")
async def list_calibrators(admin: AdminPrincipal, meta: Metacognition,  # noqa: ARG001
                           limit: Annotated[int, Query(ge=1, le=200)] = 20) -> list[CalibratorOut]:
    return [CalibratorOut.model_validate(r) for r in await meta.confidence.calibrators(limit=limit)]


@router.get("/calibration", summary="Calibration of the confidence: the calibrator in use measured on held-out "
            "labels, and the probabilities given live against their labels (overall, per suite, over feedback): "
            "ECE, Brier score, reliability diagram, risk-coverage curve and the threshold for the target risk "
            "(platform admins)")
async def calibration(request: Request, admin: PlatformAdmin, meta: Metacognition,  # noqa: ARG001
                      target_risk: Annotated[float | None, Query(gt=0.0, lt=1.0, description="the share of wrong "
                                                                 "answers among those given to aim for")] = None,
                      sync: Annotated[bool, Query(description="read new labels from the learning service "
                                                  "first")] = True,
                      pairs: Annotated[bool, Query(description="include the calibrator's held-out (probability, "
                                                   "right) pairs")] = False) -> dict[str, Any]:
    return await meta.confidence.calibration(target_risk=target_risk,
                                             sync_with=credential_from(request) if sync else None, pairs=pairs)


@router.get("/labels", summary="The labelled assessments calibrators are fitted on: each answer's features, the "
            "probability given then and whether it was right (evaluation cases and feedback), newest first; for "
            "audit, export and fitting elsewhere (platform admins)")
async def labels(request: Request, admin: PlatformAdmin, meta: Metacognition,  # noqa: ARG001
                 source: Annotated[Literal["evaluation", "feedback"] | None, Query(
                     description="only labels from evaluation runs or only from feedback")] = None,
                 suite: Annotated[str | None, Query(min_length=1, max_length=200,
                                                    description="only this evaluation suite's labels")] = None,
                 limit: Annotated[int, Query(ge=1, le=100_000)] = 1000,
                 sync: Annotated[bool, Query(description="read new labels from the learning service "
                                             "first")] = True) -> dict[str, Any]:
    return await meta.confidence.labels(source=source, suite=suite, limit=limit,
                                        sync_with=credential_from(request) if sync else None)


# -- monitors and alerts -------------------------------------------------------------------------

class AlertOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # built from the store's AlertRow

    id: uuid.UUID
    rule: str
    status: Literal["firing", "resolved"]
    value: float
    threshold: float
    detail: dict[str, Any]
    fired_at: datetime
    resolved_at: datetime | None


@router.get("/monitors", summary="Every monitor's current reading over the recent window, its threshold and "
            "whether it fires, with the alerts firing now (admins)")
async def monitors(admin: AdminPrincipal, meta: Metacognition) -> dict[str, Any]:  # noqa: ARG001
    return await meta.monitors.overview()


class ReferenceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # built from the store's ReferencePin

    first_seq: int = Field(description="the first observation of the reference period")
    pinned_by: str
    pinned_at: datetime


@router.post("/monitors/reference", response_model=ReferenceOut, summary="Make the newest answers the reference "
             "period that drift is measured against (after a change you accept as the new normal; platform admins)")
async def pin_reference(admin: PlatformAdmin, meta: Metacognition) -> ReferenceOut:
    return ReferenceOut.model_validate(await meta.monitors.pin_reference(principal=admin))


@router.get("/alerts", response_model=list[AlertOut], summary="Alerts, newest first (admins)")
async def alerts(admin: AdminPrincipal, meta: Metacognition,  # noqa: ARG001
                 status: Literal["firing", "resolved"] | None = None,
                 limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[AlertOut]:
    return [AlertOut.model_validate(r) for r in await meta.monitors.alerts(status=status, limit=limit)]


@router.get("/monitors/prometheus", response_class=PlainTextResponse, summary="The monitors' readings and "
            "firing alerts in Prometheus' text format (admins; scrape with a bearer key)")
async def monitor_metrics(admin: AdminPrincipal, meta: Metacognition) -> PlainTextResponse:  # noqa: ARG001
    return PlainTextResponse(await meta.monitors.prometheus(), media_type="text/plain; version=0.0.4")

"""Confidence as a service: assessments (features in, calibrated probability out, with the
calibrator's version and the abstention decision), labelled outcomes pulled from the learning
service, fitting a new calibrator, and the calibration report (ECE, Brier, reliability diagram,
risk-coverage curve, the threshold for a target risk) per suite and over live feedback."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any, Protocol

from sutazai.lib.access import Principal
from sutazai.lib.clients.learning import LearningClient
from sutazai.lib.confidence import AnswerFeatures
from sutazai.lib.db import Database
from sutazai.lib.errors import Conflict, DependencyUnavailable, Forbidden, SutazaiError, ValidationFailed
from sutazai.metacognition.calibration import PRIOR, Calibrator, by_group, fit
from sutazai.metacognition.reliability import compare_thresholds, report, threshold_for_risk
from sutazai.metacognition.shipped import shipped_for
from sutazai.metacognition.store import calibration as store
from sutazai.metacognition.store.calibration import CalibratorRow, CalibratorSummary, LabelledRow

logger = logging.getLogger(__name__)
PAGE = 5000


class Labels(Protocol):
    """Where labelled outcomes come from (the learning service)."""

    async def outcomes(self, *, credential: str, since: dt.datetime | None, limit: int) -> list[dict[str, Any]]: ...


class LearningLabels:
    """Labels through the learning service's typed client, read with the admin's credential."""

    def __init__(self, client: LearningClient) -> None:
        self._client = client

    async def outcomes(self, *, credential: str, since: dt.datetime | None, limit: int) -> list[dict[str, Any]]:
        try:
            rows = await self._client.outcomes(credential=credential, since=since, limit=limit)
        except Forbidden as exc:
            raise Forbidden("reading labelled outcomes from the learning service needs a platform admin") from exc
        except SutazaiError as exc:
            raise DependencyUnavailable(f"the learning service could not give the labelled outcomes: {exc.detail}") \
                from exc
        return [row.model_dump(mode="json") for row in rows]


class ConfidenceBook:
    """Assesses answers and keeps the calibrators; knows nothing of HTTP."""

    def __init__(self, *, db: Database, labels: Labels, threshold: Callable[[], Awaitable[float]], target_risk: float,
                 min_labels: int, shipped: bool = True) -> None:
        self._db, self._labels, self._threshold = db, labels, threshold
        self._target_risk, self._min_labels, self._shipped = target_risk, min_labels, shipped

    async def active(self) -> Calibrator:
        """The calibrator fitted on this site's labels (the newest), else the prior."""
        async with self._db.connection() as conn:
            row = await store.newest_calibrator(conn=conn)
        return PRIOR if row is None else Calibrator(version=row.version, method=row.method, params=row.params)

    async def for_answer(self, features: AnswerFeatures) -> tuple[Calibrator, str]:
        """The calibrator that assesses this answer, and where it comes from: the prior for an exact
        answer (the question's own arithmetic, no model step: its agreement is its certainty); else
        the site's fitted one; else the one shipped with the model that served the answer; else the prior."""
        if features.strategy == "exact" and features.computed:
            return PRIOR, "exact: the question's own arithmetic, computed with no model step"
        calibrator = await self.active()
        if calibrator.version:
            return calibrator, f"fitted on this site's labels (version {calibrator.version})"
        shipped = shipped_for(tuple(features.models)) if self._shipped else None
        return shipped if shipped is not None else (PRIOR, "the documented prior")

    async def assess(self, *, principal: Principal, features: AnswerFeatures, trace_id: uuid.UUID | None,
                     abstain_below: float | None) -> dict[str, Any]:
        calibrator, source = await self.for_answer(features)
        probability = calibrator.probability(features)
        threshold = await self._threshold() if abstain_below is None else abstain_below
        async with self._db.connection() as conn, conn.transaction():
            assessment = await store.insert_assessment(
                conn=conn, trace_id=trace_id, subject=principal.subject,
                features={**asdict(features), "abstained": probability < threshold, "threshold": threshold},
                probability=probability, calibrator=calibrator.version)
        if assessment is None:
            raise Conflict(f"trace {trace_id} was assessed for someone else; an assessment belongs to the trace's "
                           "asker")
        return {"assessment_id": assessment, "probability": probability, "calibrator": calibrator.version,
                "method": calibrator.method, "source": source, "threshold": threshold,
                "abstain": probability < threshold}

    async def sync(self, *, credential: str) -> int:
        """Read the labels recorded since the newest one held; returns how many were read."""
        async with self._db.connection() as conn:
            since = await store.last_outcome_at(conn=conn)
        read = 0
        while True:
            rows = await self._labels.outcomes(credential=credential, since=since, limit=PAGE)
            async with self._db.connection() as conn, conn.transaction():
                await store.upsert_outcomes(conn=conn, rows=rows)
            read += len(rows)
            newest = max((r["recorded_at"] for r in rows), default=None)
            if len(rows) < PAGE or newest is None or newest == since:
                return read
            since = newest

    async def labelled(self, *, source: str | None = None, suite: str | None = None) -> list[LabelledRow]:
        """Assessed answers with a label; feedback on an answer that abstained says nothing about it."""
        async with self._db.connection() as conn:
            rows = await store.labelled(conn=conn, source=source, suite=suite)
        return [r for r in rows if r.source == "evaluation" or not r.features.get("abstained")]

    async def labels(self, *, source: str | None, suite: str | None, limit: int,
                     sync_with: str | None = None) -> dict[str, Any]:
        """The labelled assessments a calibrator is fitted on (what the answer looked like when it
        was decided, the probability given then and whether it was right), for audit and export;
        newest `limit`, with how many there are in all."""
        stale = None
        if sync_with is not None:
            try:
                await self.sync(credential=sync_with)
            except DependencyUnavailable as exc:
                stale = f"labels not refreshed: {exc.detail}"
        rows = await self.labelled(source=source, suite=suite)
        rows.sort(key=lambda r: r.created_at, reverse=True)
        return {"total": len(rows), "stale": stale,
                "labels": [{"trace_id": r.trace_id, "source": r.source, "suite": r.suite, "run_id": r.run_id,
                            "features": r.features, "probability": float(r.probability), "calibrator": r.calibrator,
                            "correct": bool(r.correct), "assessed_at": r.created_at} for r in rows[:limit]]}

    async def refit(self, *, principal: Principal, credential: str, seed: int = 0) -> CalibratorRow:
        """Read new labels, fit a calibrator on every labelled assessment and make it the one in use."""
        if not principal.administers(None):
            raise Forbidden("fitting a calibrator needs a platform admin")
        synced = await self.sync(credential=credential)
        rows = await self.labelled()
        try:
            fitted = fit([(AnswerFeatures.of(r.features), bool(r.correct)) for r in rows], seed=seed,
                         min_labels=self._min_labels)
        except ValidationFailed as exc:
            exc.extra["labels_read"] = synced
            raise
        groups = [r.group for r in rows]
        metrics = {**fitted.metrics, "labels_read": synced,
                   "held_out_by_group": by_group(fitted.held_out, groups, seed=seed),
                   "held_out_report": report(fitted.held_out, target_risk=self._target_risk)}
        async with self._db.connection() as conn, conn.transaction():
            row = await store.insert_calibrator(conn=conn, method=fitted.method, params=fitted.params, metrics=metrics,
                                                held_out=fitted.held_out, created_by=principal.subject)
        logger.info("calibrator %s (%s) fitted on %s labels by %s", row.version, row.method,
                    metrics["labels"], principal.subject)
        return row

    async def calibrators(self, *, limit: int) -> list[CalibratorSummary]:
        async with self._db.connection() as conn:
            return await store.calibrators(conn=conn, limit=limit)

    async def calibration(self, *, target_risk: float | None = None, sync_with: str | None = None,
                          pairs: bool = False) -> dict[str, Any]:
        """The calibration report: the active calibrator's held-out measurement, and the
        probabilities given live (as they were given) against their labels, over all labels, per
        suite and over feedback."""
        stale = None
        if sync_with is not None:
            try:
                await self.sync(credential=sync_with)
            except DependencyUnavailable as exc:  # the report still shows what is held
                stale = f"labels not refreshed: {exc.detail}"
        target = self._target_risk if target_risk is None else target_risk
        async with self._db.connection() as conn:
            newest = await store.newest_calibrator(conn=conn)
        rows = await self.labelled()
        by_group: dict[str, list[tuple[float, bool]]] = {}
        for r in rows:
            by_group.setdefault(r.group, []).append((float(r.probability), bool(r.correct)))
        given = [(float(r.probability), bool(r.correct)) for r in rows]
        active: dict[str, Any] = {"version": 0, "method": "prior"}
        if newest is not None:
            held = [(float(p), bool(y)) for p, y in newest.held_out]
            active = {"version": newest.version, "method": newest.method, "created_at": newest.created_at,
                      "metrics": {k: v for k, v in newest.metrics.items() if k != "held_out_report"},
                      "held_out": report(held, target_risk=target)} | ({"held_out_pairs": held} if pairs else {})
        return {"target_risk": target, "abstain_below": await self._threshold(), "active": active, "stale": stale,
                "live": report(given, target_risk=target) if given else None,
                "groups": {name: report(pairs, target_risk=target) for name, pairs in sorted(by_group.items())}}

    async def threshold_evidence(self, *, target_risk: float | None) -> dict[str, Any]:
        """The threshold that reaches the target risk on the calibrator's held-out labels, compared
        with the one in force on the same cases; ValidationFailed when there is nothing to go on."""
        target = self._target_risk if target_risk is None else target_risk
        async with self._db.connection() as conn:
            newest = await store.newest_calibrator(conn=conn)
        if newest is None:
            raise ValidationFailed("no calibrator has been fitted: fit one (sutazai meta fit) before proposing a "
                                   "threshold")
        held = [(float(p), bool(y)) for p, y in newest.held_out]
        chosen = threshold_for_risk([p for p, _ in held], [int(y) for _, y in held], target)
        if chosen is None:
            raise ValidationFailed(f"no threshold keeps the risk at or under {target:.0%} on the held-out labels of "
                                   f"calibrator {newest.version}")
        current = await self._threshold()
        compared = compare_thresholds(held, current=current, proposed=min(0.95, float(chosen["threshold"])),
                                      target=target)
        return {**compared, "calibrator": newest.version}

"""Monitors: rolling windows over what the platform does, from the events the services publish
(reasoning's `trace.completed` for every answered question, learning's `feedback.given` for every
rating), and alert rules over them.

Windows: the newest `window` observations are the recent window; the reference period that it is
compared with for drift is `reference` observations from a pinned start: the first observations,
until an admin pins the newest ones as the new normal (after a change they accept). A rolling
reference would not do: after a bad spell it would hold the bad answers and call the recovery a
drift. Rules (each with a threshold
from the settings; a rule needs `min_observations` before it can fire):

- abstention_rate: share of recent answers that abstained;
- negative_feedback_rate: share of the newest `window` ratings that are down;
- confidence_drift: population stability index (PSI, ten equal bins over 0-1) of the confidence
  of recent answers against the reference window; the two-sample Kolmogorov-Smirnov statistic and
  p-value are reported with it;
- latency_p95_s:<tool>: 95th percentile of a step kind's latency in recent answers (seconds);
- tool_error_rate: share of recent steps that failed;
- empty_retrieval_rate: share of recent answers that searched and found nothing.

A rule over its threshold fires one alert (stored; a firing alert is updated, not repeated); back
under it, the alert is resolved. Readings and firing alerts are exported in Prometheus' text format."""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sutazai.lib.access import Principal
from sutazai.lib.db import Database
from sutazai.lib.errors import ValidationFailed
from sutazai.lib.stats import percentile
from sutazai.metacognition.store import monitors as store
from sutazai.metacognition.store.monitors import AlertRow, ObservationRow, ReferencePin

logger = logging.getLogger(__name__)
PSI_BINS = 10
PSI_FLOOR = 1e-4


@dataclass(frozen=True)
class Thresholds:
    window: int = 50
    reference: int = 200
    min_observations: int = 20
    abstention_rate: float = 0.5
    negative_feedback_rate: float = 0.3
    confidence_psi: float = 0.25
    latency_p95_s: float = 120.0
    tool_error_rate: float = 0.2
    empty_retrieval_rate: float = 0.5


@dataclass(frozen=True)
class Reading:
    rule: str
    description: str
    value: float | None
    """None: not enough observations yet"""
    threshold: float
    count: int
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def firing(self) -> bool | None:
        return None if self.value is None else self.value > self.threshold


def psi(reference: Sequence[float], recent: Sequence[float], bins: int = PSI_BINS) -> float:
    """Population stability index of `recent` against `reference` over equal bins of 0-1 (0: the
    same; above 0.25 is commonly read as a major shift)."""
    def shares(values: Sequence[float]) -> list[float]:
        counts = [0] * bins
        for v in values:
            counts[min(bins - 1, max(0, int(v * bins)))] += 1
        return [max(PSI_FLOOR, c / len(values)) for c in counts]

    ref, now = shares(reference), shares(recent)
    return round(sum((n - r) * math.log(n / r) for r, n in zip(ref, now, strict=True)), 4)


def ks(reference: Sequence[float], recent: Sequence[float]) -> dict[str, float]:
    from scipy.stats import ks_2samp  # noqa: PLC0415 - loaded only when there is enough to compare

    result = ks_2samp(list(reference), list(recent))
    return {"ks_statistic": round(float(result.statistic), 4), "ks_p_value": float(result.pvalue)}


def _rate(values: Sequence[bool]) -> float:
    return round(sum(values) / len(values), 4)


def evaluate(observations: Sequence[ObservationRow], ratings: Sequence[int], t: Thresholds,
             reference: Sequence[ObservationRow] | None = None) -> list[Reading]:
    """Every rule's reading; `observations` newest first, `ratings` (+1/-1) newest first;
    `reference` the reference period (default: the observations before the recent window)."""
    recent = list(observations[:t.window])
    if reference is None:
        reference = list(observations[t.window:t.window + t.reference])
    enough = len(recent) >= t.min_observations
    readings = [Reading("abstention_rate", "share of recent answers that abstained",
                        _rate([o.abstained for o in recent]) if enough else None, t.abstention_rate, len(recent))]
    rated = list(ratings[:t.window])
    readings.append(Reading("negative_feedback_rate", "share of recent ratings that are down",
                            _rate([r < 0 for r in rated]) if len(rated) >= min(10, t.min_observations) else None,
                            t.negative_feedback_rate, len(rated)))
    now = [float(o.confidence) for o in recent if o.confidence is not None]
    before = [float(o.confidence) for o in reference if o.confidence is not None]
    drift: float | None = None
    detail: dict[str, Any] = {"reference": len(before), "recent": len(now)}
    if len(now) >= t.min_observations and len(before) >= t.min_observations:
        drift = psi(before, now)
        detail |= ks(before, now) | {"reference_mean": round(sum(before) / len(before), 4),
                                     "recent_mean": round(sum(now) / len(now), 4)}
    readings.append(Reading("confidence_drift", "PSI of recent confidences against the reference window", drift,
                            t.confidence_psi, len(now), detail))
    steps = [s for o in recent for s in o.steps if s.get("status") != "skipped"]
    by_tool: dict[str, list[float]] = {}
    for s in steps:
        by_tool.setdefault(str(s.get("tool")), []).append(float(s.get("latency_ms") or 0) / 1000)
    for tool, latencies in sorted(by_tool.items()):
        if tool == "planner":
            continue
        p95 = percentile(latencies, 95) if len(latencies) >= min(10, t.min_observations) else None
        readings.append(Reading(f"latency_p95_s:{tool}", f"95th percentile latency of {tool} steps (s)",
                                None if p95 is None else round(p95, 3), t.latency_p95_s, len(latencies)))
    readings.append(Reading("tool_error_rate", "share of recent steps that failed",
                            _rate([s.get("status") == "error" for s in steps]) if enough and steps else None,
                            t.tool_error_rate, len(steps)))
    searched = [o for o in recent if any(s.get("tool") == "search" for s in o.steps)]
    readings.append(Reading("empty_retrieval_rate", "share of recent answers whose searches found nothing",
                            _rate([o.empty_retrieval for o in searched])
                            if len(searched) >= min(10, t.min_observations) else None,
                            t.empty_retrieval_rate, len(searched)))
    return readings


class MonitorBook:
    """Records observations and ratings, evaluates the rules, keeps the alerts; no HTTP."""

    def __init__(self, *, db: Database, thresholds: Thresholds) -> None:
        self._db, self.thresholds = db, thresholds

    async def observed(self, data: dict[str, Any]) -> list[AlertRow]:
        """Record a `trace.completed` event and check the rules; the alerts that fired because of it."""
        steps = [{"tool": str(s.get("tool")), "status": str(s.get("status")),
                  "latency_ms": float(s.get("latency_ms") or 0)} for s in data.get("steps") or []]
        async with self._db.connection() as conn, conn.transaction():
            new = await store.observe(conn=conn, trace_id=uuid.UUID(str(data["trace_id"])),
                                      abstained=bool(data.get("abstained")), confidence=data.get("confidence"),
                                      collection=data.get("collection"), models=list(data.get("models") or []),
                                      steps=steps, empty_retrieval=bool(data.get("empty_retrieval")))
        return await self.check() if new else []

    async def rated(self, data: dict[str, Any]) -> list[AlertRow]:
        async with self._db.connection() as conn, conn.transaction():
            await store.rate(conn=conn, trace_id=uuid.UUID(str(data["trace_id"])), subject=str(data["subject"]),
                             rating=1 if data.get("rating") in ("up", 1) else -1)
        return await self.check()

    async def readings(self) -> list[Reading]:
        t = self.thresholds
        async with self._db.connection() as conn:
            observations = await store.recent_observations(conn=conn, limit=t.window)
            reference = await store.reference_observations(conn=conn, limit=t.reference)
            ratings = await store.recent_ratings(conn=conn, limit=t.window)
        return evaluate(observations, ratings, t, reference)

    async def pin_reference(self, *, principal: Principal) -> ReferencePin:
        """Make the newest observations the reference period drift is measured against."""
        async with self._db.connection() as conn, conn.transaction():
            pinned = await store.pin_reference(conn=conn, size=self.thresholds.reference, pinned_by=principal.subject)
        if pinned is None:
            raise ValidationFailed("nothing has been observed yet: ask some questions first")
        logger.info("monitor reference pinned at observation %s by %s", pinned.first_seq, principal.subject)
        await self.check()
        return pinned

    async def check(self) -> list[AlertRow]:
        """Evaluate every rule: fire what is over its threshold, resolve what is back under."""
        fired = []
        for reading in await self.readings():
            if reading.firing is None:
                continue
            async with self._db.connection() as conn, conn.transaction():
                if reading.firing:
                    row = await store.fire(conn=conn, rule=reading.rule, value=float(reading.value or 0),
                                           threshold=reading.threshold,
                                           detail={"count": reading.count, **reading.detail})
                    if row is not None:
                        logger.warning("alert %s: %s = %s is over %s", row.id, reading.rule, reading.value,
                                       reading.threshold)
                        fired.append(row)
                elif (row := await store.resolve(conn=conn, rule=reading.rule)) is not None:
                    logger.info("alert %s resolved: %s = %s", row.id, reading.rule, reading.value)
        return fired

    async def alerts(self, *, status: str | None, limit: int) -> list[AlertRow]:
        async with self._db.connection() as conn:
            return await store.alerts(conn=conn, status=status, limit=limit)

    async def overview(self) -> dict[str, Any]:
        readings = await self.readings()
        async with self._db.connection() as conn:
            firing = await store.firing(conn=conn)
            pin = await store.reference_pin(conn=conn)
        return {"thresholds": asdict(self.thresholds), "reference": None if pin is None else asdict(pin),
                "readings": [{**asdict(r), "firing": r.firing} for r in readings],
                "firing": [asdict(a) for a in firing]}

    async def prometheus(self) -> bytes:
        """The readings and firing alerts in Prometheus' text exposition format."""
        from prometheus_client import CollectorRegistry, Gauge, generate_latest  # noqa: PLC0415

        overview = await self.overview()
        registry = CollectorRegistry()
        value = Gauge("sutazai_monitor_value", "Current value of a monitor rule", ["rule"], registry=registry)
        threshold = Gauge("sutazai_monitor_threshold", "Alert threshold of a monitor rule", ["rule"],
                          registry=registry)
        firing = Gauge("sutazai_alert_firing", "1 while an alert of the rule is firing", ["rule"], registry=registry)
        for r in overview["readings"]:
            if r["value"] is not None:
                value.labels(rule=r["rule"]).set(r["value"])
            threshold.labels(rule=r["rule"]).set(r["threshold"])
            firing.labels(rule=r["rule"]).set(0)
        for alert in overview["firing"]:
            firing.labels(rule=alert["rule"]).set(1)
        return generate_latest(registry)

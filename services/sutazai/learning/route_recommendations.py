"""Routing by evidence: which model should serve each kind of step, from evaluation runs.

Learning keeps the registry of the models the platform can run (the models manifest, joined
with what the reasoning service serves now) and reads the evidence the evaluation runs left: for
a suite, the newest finished pipeline run per model serving a step kind, *all other routes being
those in force* (a controlled comparison). Against the run with the routes in force, each
alternative is compared case by case (paired bootstrap interval of the accuracy difference,
McNemar). A model is recommended for a kind only when it is within the latency budget (its
run's p95) and its interval lies above zero; with several, the largest gain. Learning never
applies a route: it hands the change to the metacognition service as a proposal that an admin
approves."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sutazai.learning.evaluation_runs import outcome_of, served_routes
from sutazai.learning.scoring import compare, summary
from sutazai.learning.store import runs as run_store
from sutazai.learning.suites import SuiteBook
from sutazai.lib.access import Principal
from sutazai.lib.clients.metacognition import MetacognitionClient
from sutazai.lib.clients.reasoning import ReasoningClient
from sutazai.lib.contracts.metacognition import ProposalIn
from sutazai.lib.db import Database
from sutazai.lib.errors import BadRequest, DependencyUnavailable, Forbidden, SutazaiError, ValidationFailed
from sutazai.lib.models.manifest import ManifestError, default_manifest


@dataclass(frozen=True)
class Evidence:
    """One run: the model it routed to the kind, its summary, and how it compared with the run
    of the routes in force."""

    kind: str
    model: str
    run_id: str
    label: str
    summary: dict[str, Any]
    within_budget: bool
    comparison: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "model": self.model, "run_id": self.run_id, "label": self.label,
                "accuracy": self.summary["accuracy"], "accuracy_ci": self.summary["accuracy_ci"],
                "latency_p95_s": self.summary["latency_p95_s"], "cases": self.summary["cases"],
                "within_budget": self.within_budget,
                "comparison": {k: v for k, v in (self.comparison or {}).items() if k != "changed"} or None}


@dataclass
class Recommendation:
    current: dict[str, str]
    routes: dict[str, str] = field(default_factory=dict)
    evidence: list[Evidence] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def effective_routes(run: dict[str, Any]) -> dict[str, str]:
    config = run["config"]
    return {**(config.get("routes_in_force") or {}), **(config.get("routes") or {})}


def recommend(runs: list[dict[str, Any]], results: dict[str, list[dict[str, Any]]], current: dict[str, str], *,
              kinds: list[str], latency_budget_s: float | None, suite: str) -> Recommendation:
    """The routes the evidence supports (see the module docstring). `runs`: finished pipeline
    runs of one suite version, newest first; `results`: each run's cases by run id."""
    found = Recommendation(current=dict(current))
    for kind in kinds:
        newest: dict[str, dict[str, Any]] = {}
        for run in runs:
            routes = effective_routes(run)
            others_as_now = all(routes.get(k) == m for k, m in current.items() if k != kind)
            if kind in routes and others_as_now:
                newest.setdefault(routes[kind], run)
        base = newest.get(current[kind])
        if base is None:
            found.notes.append(f"{kind}: no finished run of {suite} with the routes in force; run `sutazai eval run "
                               f"{suite}` first")
            continue
        base_outcomes = [outcome_of(r) for r in results[str(base["run_id"])]]
        base_summary = summary(base_outcomes)
        found.evidence.append(Evidence(kind, current[kind], str(base["run_id"]), base["label"], base_summary,
                                       _within(base_summary, latency_budget_s)))
        best: tuple[float, str] | None = None
        for model, run in newest.items():
            if model == current[kind]:
                continue
            mine = [outcome_of(r) for r in results[str(run["run_id"])]]
            compared = compare(base_outcomes, mine)
            ours = summary(mine)
            within = _within(ours, latency_budget_s)
            found.evidence.append(Evidence(kind, model, str(run["run_id"]), run["label"], ours, within, compared))
            low = compared["difference_ci"][0]
            if within and low is not None and low > 0 and (best is None or compared["difference"] > best[0]):
                best = (compared["difference"], model)
        if best is not None:
            found.routes[kind] = best[1]
        elif len(newest) == 1:
            found.notes.append(f"{kind}: only the model in force ({current[kind]}) has a run of {suite}; run the "
                               f"suite with --route {kind}=<model> to compare")
        else:
            found.notes.append(f"{kind}: no model beats {current[kind]} on {suite} with an interval above zero"
                               + (f" within {latency_budget_s:g} s" if latency_budget_s else ""))
    return found


def _within(stats: dict[str, Any], budget: float | None) -> bool:
    p95 = stats.get("latency_p95_s")
    return budget is None or (p95 is not None and p95 <= budget)


class RouteRecommender:
    """The model registry and routing recommendations; knows nothing of HTTP."""

    def __init__(self, *, db: Database, suites: SuiteBook, reasoning: ReasoningClient,
                 metacognition: MetacognitionClient) -> None:
        self._db, self._suites, self._reasoning, self._metacognition = db, suites, reasoning, metacognition

    async def registry(self, *, credential: str) -> list[dict[str, Any]]:
        """Every model of the manifest and every model served, with what it serves now."""
        routes, served = await served_routes(self._reasoning, credential)
        try:
            entries = list(default_manifest().model)
        except ManifestError:
            entries = []
        rows: list[dict[str, Any]] = []
        named: set[str] = set()
        for entry in entries:
            names = {entry.name, entry.filename.rsplit(".gguf", 1)[0], *([entry.ollama] if entry.ollama else [])}
            serving = next((m for m in served if m in names), None)
            named |= names
            rows.append({"name": entry.name, "title": entry.title, "parameters": entry.parameters,
                         "quantization": entry.quantization, "size": entry.size, "suits": list(entry.suits),
                         "served_as": serving, "routed_kinds": sorted(k for k, m in routes.items() if m == serving)})
        for model in served:
            if model not in named:
                rows.append({"name": model, "title": model, "parameters": None, "quantization": None, "size": None,
                             "suits": [], "served_as": model,
                             "routed_kinds": sorted(k for k, m in routes.items() if m == model)})
        return rows

    async def recommend(self, *, principal: Principal, credential: str, suite: str, kinds: list[str] | None,
                        latency_budget_s: float | None, propose: bool) -> dict[str, Any]:
        current, _ = await served_routes(self._reasoning, credential)
        unknown = [k for k in kinds or [] if k not in current]
        if unknown:
            raise ValidationFailed(f"unknown step kind(s) {', '.join(unknown)}; the kinds are {', '.join(current)}")
        row, _cases = await self._suites.suite(principal=principal, name=suite, version=None)
        async with self._db.connection() as conn:
            runs = await run_store.done_runs_of(conn=conn, suite_id=row["suite_id"], mode="pipeline")
            results = {str(r["run_id"]): await run_store.results(conn=conn, run_id=r["run_id"]) for r in runs}
        found = recommend(runs, results, current, kinds=kinds or list(current), latency_budget_s=latency_budget_s,
                          suite=row["name"])
        proposal = None
        if propose and found.routes:
            proposal = await self._propose(credential, found, suite=f"{row['name']} v{row['version']}",
                                           budget=latency_budget_s)
        elif propose:
            found.notes.append("nothing to propose: no route change is supported by the evidence")
        return {"suite": row["name"], "suite_version": row["version"], "current": found.current,
                "recommended": found.routes, "evidence": [e.to_dict() for e in found.evidence],
                "notes": found.notes, "proposal": proposal}

    async def _propose(self, credential: str, found: Recommendation, *, suite: str,
                       budget: float | None) -> dict[str, Any]:
        gains = [e for e in found.evidence if found.routes.get(e.kind) == e.model]
        rationale = "; ".join(
            f"{e.kind}: {e.model} instead of {found.current[e.kind]} gains "
            f"{e.comparison['difference']:+.1%} on {suite} (95% interval {e.comparison['difference_ci'][0]:+.1%} "
            f"to {e.comparison['difference_ci'][1]:+.1%}, McNemar p {e.comparison['mcnemar_p']:.3g})"
            for e in gains if e.comparison)
        proposal = ProposalIn(kind="routes", change={"routes": found.routes}, source="learning",
                              rationale=rationale + (f"; latency budget {budget:g} s (p95)" if budget else ""),
                              evidence={"suite": suite, "latency_budget_s": budget,
                                        "runs": [e.to_dict() for e in found.evidence]})
        try:
            made = await self._metacognition.propose(proposal, credential=credential)
        except (Forbidden, BadRequest):
            raise
        except SutazaiError as exc:
            raise DependencyUnavailable(f"the metacognition service did not take the proposal: {exc.detail}") from exc
        return made.model_dump(mode="json")



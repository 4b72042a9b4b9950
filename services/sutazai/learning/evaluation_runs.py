"""Evaluation runs: a suite against a configuration, as worker jobs.

A run asks every case through the reasoning service — the whole pipeline (`mode="pipeline"`,
with the model routes in force) or one model bare (`mode="bare"`, chain of thought through the
OpenAI-compatible endpoint) — with a credential of its own: an API key made for the run at
identity by the person who started it, limited to the suite's collections (never wider than that
person), stored encrypted where Vault is configured, revoked when the run ends. Each case's
result is committed as soon as it is scored, and the job proceeds a few cases per message, so a
killed worker loses no finished case and the next worker goes on where it stopped. A cancelled
run keeps its finished cases."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from sutazai.learning.scoring import Outcome, compare, is_right, summary
from sutazai.learning.store import runs as store
from sutazai.learning.store import suites as suite_store
from sutazai.learning.suites import Case, SuiteBook
from sutazai.lib.access import Principal, Role
from sutazai.lib.bus import EventBus
from sutazai.lib.clients.identity import IdentityClient
from sutazai.lib.clients.knowledge import KnowledgeClient
from sutazai.lib.clients.reasoning import ReasoningClient
from sutazai.lib.contracts.identity import CreateKey
from sutazai.lib.contracts.reasoning import AskRequest
from sutazai.lib.db import Database
from sutazai.lib.errors import Conflict, DependencyUnavailable, Forbidden, NotFound, SutazaiError, ValidationFailed
from sutazai.lib.field_crypto import FieldCipher, PlainFields

STREAM = "learning.jobs"
RUN_EVENT = "eval.run"
CASES_PER_MESSAGE = 4
BARE_SYSTEM = "Answer the question. Think step by step, then end with 'The answer is <answer>.'"
MODES = ("pipeline", "bare")


@dataclass(frozen=True)
class RunConfig:
    mode: str = "pipeline"
    model: str | None = None
    samples: int | None = None
    abstain_below: float | None = None
    temperature: float = 0.0
    seed: int = 0
    max_tokens: int = 512
    routes: dict[str, str] | None = None
    ensemble: list[str] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


async def served_routes(reasoning: ReasoningClient, credential: str) -> tuple[dict[str, str], list[str]]:
    """The routes in force (step kind -> model) and the models that may be named, as the
    reasoning service tells them to `credential`."""
    try:
        answer = await reasoning.routes(credential=credential)
    except SutazaiError as exc:
        raise DependencyUnavailable(f"the reasoning service did not list its routes and models: {exc.detail}") from exc
    return dict(answer.routes), list(answer.models)


class RunBook:
    """Starts, runs, cancels and reports evaluation runs; knows nothing of HTTP."""

    def __init__(self, *, db: Database, suites: SuiteBook, reasoning: ReasoningClient, identity: IdentityClient,
                 bus: EventBus, cipher: FieldCipher | None = None, knowledge: KnowledgeClient | None = None) -> None:
        self._db, self._suites, self._reasoning, self._identity = db, suites, reasoning, identity
        self._bus, self._cipher, self._knowledge = bus, cipher or PlainFields(), knowledge

    async def _check_collections(self, collections: list[str], credential: str) -> None:
        """Refuse a suite that asks in collections that do not exist (its cases would all fail)."""
        if not collections or self._knowledge is None:
            return
        try:
            known = {c.name for c in await self._knowledge.collections(credential=credential)}
        except SutazaiError as exc:
            raise DependencyUnavailable(f"the knowledge service did not list the collections: {exc.detail}") from exc
        missing = [c for c in collections if c not in known]
        if missing:
            raise ValidationFailed(f"this suite asks in collection(s) that do not exist: {', '.join(missing)}; add "
                                   "their documents first (`sutazai eval install` uploads the built-in suites' "
                                   "documents)")

    async def _check(self, config: RunConfig, credential: str) -> dict[str, str]:
        """Refuse a configuration that cannot run; the routes in force (recorded with the run)."""
        in_force, models = await served_routes(self._reasoning, credential)
        if config.mode == "bare":
            if config.routes or config.ensemble:
                raise ValidationFailed("a bare run asks one model; routes and ensembles apply to pipeline runs")
            if not config.model or config.model not in models:
                raise ValidationFailed(f"unknown model {config.model!r} for a bare run; the models are: "
                                       f"{', '.join(models)}")
            return in_force
        if config.model is not None:
            raise ValidationFailed("a pipeline run uses the model routes in force or the run's own routes; to "
                                   "measure one model alone, use mode 'bare' with that model")
        unknown = [m for m in config.ensemble or [] if m not in models]
        if unknown:
            raise ValidationFailed(f"unknown model(s) {', '.join(map(repr, unknown))} in the ensemble; the models are: "
                                   f"{', '.join(models)}")
        for kind, model in (config.routes or {}).items():
            if kind not in in_force:
                raise ValidationFailed(f"unknown step kind {kind!r} in routes; the kinds are {', '.join(in_force)}")
            if model not in models:
                raise ValidationFailed(f"unknown model {model!r} for step kind {kind!r}; the models are: "
                                       f"{', '.join(models)}")
        return in_force

    async def start(self, *, principal: Principal, credential: str, suite: str, version: int | None, label: str,
                    config: RunConfig, limit: int | None, offset: int = 0) -> dict[str, Any]:
        if config.mode not in MODES:
            raise ValidationFailed(f"mode must be one of {', '.join(MODES)}")
        row, cases = await self._suites.suite(principal=principal, name=suite, version=version)
        if offset >= len(cases):
            raise ValidationFailed(f"offset {offset} skips every case: {row['name']} v{row['version']} has "
                                   f"{len(cases)}; give an offset below {len(cases)}")
        cases = cases[offset:]
        cases = cases[:limit] if limit else cases
        collections = sorted({c.collection for c in cases if c.collection})
        outside = [c for c in collections if not principal.may_use(c)]
        if outside:
            raise Forbidden(f"this suite asks in collections your credential may not use: {', '.join(outside)}")
        in_force = await self._check(config, credential)
        await self._check_collections(collections, credential)
        run_id = uuid.uuid4()
        async with self._db.connection() as conn:
            run = await store.insert_run(conn=conn, run_id=run_id, suite_id=row["suite_id"],
                                         label=label or f"{row['name']} v{row['version']} {config.mode}",
                                         config=config.to_dict() | {"limit": limit, "offset": offset,
                                                                     "routes_in_force": in_force},
                                         total=len(cases),
                                         created_by=principal.subject)
        key_id, key = await self._run_key(credential, run_id, collections)
        async with self._db.connection() as conn:
            await store.set_credential(conn=conn, run_id=run_id, key_id=key_id, credential=await self._cipher.seal(key))
        await self._bus.publish(STREAM, RUN_EVENT, {"run_id": str(run_id)})
        return {**run, "key_id": key_id}

    async def _run_key(self, credential: str, run_id: uuid.UUID, collections: list[str]) -> tuple[str, str]:
        """A user key for the run, made by (and never wider than) the person who started it."""
        try:
            made = await self._identity.create_key(CreateKey(name=f"evaluation run {run_id}", role=Role.user,
                                                             collections=collections), credential=credential)
        except SutazaiError as exc:
            raise DependencyUnavailable(f"identity did not make the run's key: {exc.detail}") from exc
        return made.key_id, made.api_key

    async def _revoke(self, run: dict[str, Any], key: str | None) -> None:
        if key and run.get("key_id"):
            await self._identity.revoke_key(str(run["key_id"]), credential=key)

    async def step(self, run_id: uuid.UUID) -> None:
        """Run the next few cases of a run (the handler of one job message)."""
        async with self._db.connection() as conn:
            run = await store.get_run(conn=conn, run_id=run_id)
            if run is None:
                return
            key = await self._cipher.open(run["credential"])
            if run["status"] not in ("queued", "running") or key is None:
                return
            await store.set_status(conn=conn, run_id=run_id, status="running")
            cases = [case_of(r) for r in await suite_store.suite_cases(conn=conn, suite_id=run["suite_id"])]
            done = await store.finished_cases(conn=conn, run_id=run_id)
        config = RunConfig(**{k: v for k, v in run["config"].items() if k in RunConfig.__dataclass_fields__})
        offset = int(run["config"].get("offset") or 0)
        todo = [(n, c) for n, c in enumerate(cases[offset:offset + run["total"]], start=offset)
                if c.case_id not in done]
        for position, case in todo[:CASES_PER_MESSAGE]:
            async with self._db.connection() as conn:
                current = await store.get_run(conn=conn, run_id=run_id)
            if current is None or current["status"] != "running":
                return  # cancelled meanwhile: what is finished stays
            result = await self._ask(case, config, key)
            async with self._db.connection() as conn:
                await store.insert_result(conn=conn, run_id=run_id, result={"case_id": case.case_id,
                                                                             "position": position, **result})
        if len(todo) > CASES_PER_MESSAGE:
            await self._bus.publish(STREAM, RUN_EVENT, {"run_id": str(run_id)})
            return
        async with self._db.connection() as conn:
            await store.set_status(conn=conn, run_id=run_id, status="done")
        await self._revoke(run, key)

    async def _ask(self, case: Case, config: RunConfig, key: str) -> dict[str, Any]:
        started = time.monotonic()
        try:
            if config.mode == "bare":
                body = await self._reasoning.chat({
                    "model": config.model, "temperature": config.temperature, "seed": config.seed,
                    "max_tokens": config.max_tokens, "messages": [{"role": "system", "content": BARE_SYSTEM},
                                                                  {"role": "user", "content": case.question}]},
                    credential=key)
            else:
                options: dict[str, Any] = {"temperature": config.temperature, "seed": config.seed}
                options |= {k: v for k, v in (("samples", config.samples), ("abstain_below", config.abstain_below),
                                              ("routes", config.routes), ("ensemble", config.ensemble))
                            if v is not None}
                answer = await self._reasoning.ask(AskRequest.model_validate(
                    {"question": case.question, "collection": case.collection, "options": options}), credential=key)
        except DependencyUnavailable as exc:  # a 5xx or no answer: the case is retried
            raise DependencyUnavailable(f"{exc.detail}; the case is retried") from exc
        except (SutazaiError, PydanticValidationError) as exc:  # the case itself was refused (e.g. too long)
            reason = exc.detail if isinstance(exc, SutazaiError) else str(exc.errors()[0]["msg"])
            return {"answer": "", "correct": False, "abstained": True, "confidence": None,
                    "latency_s": time.monotonic() - started, "tokens": None, "trace_id": None, "error": reason[:500]}
        latency = time.monotonic() - started
        if config.mode == "bare":
            text = body["choices"][0]["message"]["content"] or ""
            return {"answer": text, "correct": is_right(case, text, bare=True), "abstained": False, "confidence": None,
                    "latency_s": latency, "tokens": (body.get("usage") or {}).get("total_tokens"), "trace_id": None,
                    "error": None}
        # the answer the pipeline had, even when it withheld it for low confidence: the calibration label
        candidate = answer.withheld or (None if answer.abstained else answer.answer)
        return {"answer": answer.answer, "correct": is_right(case, answer.answer, abstained=answer.abstained),
                "abstained": answer.abstained, "confidence": answer.confidence, "latency_s": latency,
                "tokens": answer.spent.get("tokens"), "trace_id": str(answer.trace_id), "error": None,
                "candidate_correct": None if candidate is None else is_right(case, candidate)}

    async def cancel(self, *, run_id: uuid.UUID) -> dict[str, Any]:
        async with self._db.connection() as conn:
            run = await store.get_run(conn=conn, run_id=run_id)
            if run is None:
                raise NotFound(f"no evaluation run {run_id}")
            if not await store.set_status(conn=conn, run_id=run_id, status="cancelled"):
                raise Conflict(f"run {run_id} is already {run['status']}; only a queued or running run can be "
                               "cancelled")
        await self._revoke(run, await self._cipher.open(run["credential"]))
        return await self.get(run_id=run_id)

    async def get(self, *, run_id: uuid.UUID) -> dict[str, Any]:
        async with self._db.connection() as conn:
            run = await store.get_run(conn=conn, run_id=run_id)
            if run is None:
                raise NotFound(f"no evaluation run {run_id}")
            rows = await store.results(conn=conn, run_id=run_id)
        public = {k: v for k, v in run.items() if k != "credential"}
        return {**public, "summary": summary([outcome_of(r) for r in rows])}

    async def recent(self, *, limit: int) -> list[dict[str, Any]]:
        """The newest runs, each with its summary."""
        async with self._db.connection() as conn:
            runs = await store.list_runs(conn=conn, limit=limit)
            rows = await store.outcomes_of(conn=conn, run_ids=[r["run_id"] for r in runs])
        by_run: dict[uuid.UUID, list[Outcome]] = {}
        for row in rows:
            by_run.setdefault(row["run_id"], []).append(outcome_of(row))
        return [{**{k: v for k, v in r.items() if k != "credential"}, "summary": summary(by_run.get(r["run_id"], []))}
                for r in runs]

    async def results(self, *, run_id: uuid.UUID) -> list[dict[str, Any]]:
        await self.get(run_id=run_id)
        async with self._db.connection() as conn:
            return await store.results(conn=conn, run_id=run_id)

    async def outcomes(self, *, since: dt.datetime | None, limit: int) -> list[dict[str, Any]]:
        """Labelled answers (evaluation cases and feedback) recorded at or after `since`, oldest first."""
        async with self._db.connection() as conn:
            return await store.outcomes(conn=conn, since=since, limit=limit)

    async def compare(self, *, a: uuid.UUID, b: uuid.UUID) -> dict[str, Any]:
        first, second = await self.get(run_id=a), await self.get(run_id=b)
        if first["suite_id"] != second["suite_id"] and first["suite"] != second["suite"]:
            raise ValidationFailed(f"runs of different suites ({first['suite']}, {second['suite']}) cannot be "
                                   "compared case by case")
        left = [outcome_of(r) for r in await self.results(run_id=a)]
        right = [outcome_of(r) for r in await self.results(run_id=b)]
        return {"a": first, "b": second, "comparison": compare(left, right)}


def case_of(row: dict[str, Any]) -> Case:
    return Case(case_id=row["case_id"], question=row["question"], answers=list(row["answers"]), numeric=row["numeric"],
                tolerance=row["tolerance"], collection=row["collection"], tags=list(row["tags"]))


def outcome_of(row: dict[str, Any]) -> Outcome:
    return Outcome(row["case_id"], row["correct"], row["abstained"], row["latency_s"])

"""Retrieval proposals: the search depth and the fusion weights, tuned on evaluation questions and
measured on held-out ones.

A passage is relevant to a question when it contains one of the question's reference answers
(the usual "answer recall" of open-domain QA: it needs no human relevance labels, and it does not
favour the retriever in force, as labels made from its own citations would). Questions whose
answer no passage of either ranking's first 50 contains (answers computed from several facts, or
not in the collection) cannot tell settings apart and are left out, counted.

The questions are split in two halves by a hash of their ids. On the tuning half, the keyword and
vector rankings are read once per question and fused again locally for every candidate of the
declared grid (the same weighted reciprocal-rank fusion the knowledge service ranks with); the
candidate with the best utility is chosen: the share of questions with a relevant passage among
the first `depth`, less `PASSAGE_COST` per passage (a deeper search must find more to be worth
its longer prompts). On the held-out half, the knowledge service itself runs both the settings
in force and the candidate, and the candidate is offered only when the paired bootstrap 95%
interval of the utility difference lies above zero."""

from __future__ import annotations

import hashlib
import random
import re
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import ValidationError as PydanticValidationError

from sutazai.lib.clients.knowledge import KnowledgeClient
from sutazai.lib.clients.learning import LearningClient
from sutazai.lib.clients.reasoning import ReasoningClient
from sutazai.lib.contracts.reasoning import Retrieval
from sutazai.lib.errors import BadRequest, DependencyUnavailable, Forbidden, NotFound, SutazaiError, ValidationFailed
from sutazai.lib.fusion import weighted_rrf

DEPTHS = (2, 3, 4, 5, 6, 8)
WEIGHTS = (0.0, 0.5, 1.0, 2.0)
DEPTH_BOUNDS = (1, 12)
WEIGHT_BOUNDS = (0.0, 3.0)
PASSAGE_COST = 0.01
POOL = 50
MIN_CASES = 20
"""questions (with an answer some passage contains) needed on each half"""


@dataclass(frozen=True)
class Setting:
    depth: int = 4
    keyword: float = 1.0
    vector: float = 1.0

    @classmethod
    def of(cls, raw: dict[str, Any] | None) -> Setting:
        if not raw:
            return cls()
        weights = raw.get("weights") or {}
        return cls(depth=int(raw.get("depth", 4)), keyword=float(weights.get("keyword", 1.0)),
                   vector=float(weights.get("vector", 1.0)))

    def to_dict(self) -> dict[str, Any]:
        return {"depth": self.depth, "weights": {"keyword": self.keyword, "vector": self.vector}}


def check_setting(raw: Any) -> dict[str, Any]:
    """The retrieval setting if it is within the declared bounds, else ValidationFailed."""
    (d_low, d_high), (w_low, w_high) = DEPTH_BOUNDS, WEIGHT_BOUNDS
    shape = (f'a retrieval proposal changes {{"retrieval": {{"depth": <{d_low}-{d_high}>, "weights": '
             f'{{"keyword": <{w_low:g}-{w_high:g}>, "vector": <{w_low:g}-{w_high:g}>}}}}}} and nothing else')
    if not isinstance(raw, dict) or set(raw) - {"depth", "weights"} or "depth" not in raw:
        raise ValidationFailed(shape)
    depth, weights = raw["depth"], raw.get("weights") or {}
    if not isinstance(depth, int) or isinstance(depth, bool) or not d_low <= depth <= d_high:
        raise ValidationFailed(shape)
    if not isinstance(weights, dict) or set(weights) - {"keyword", "vector"}:
        raise ValidationFailed(shape)
    values = {name: weights.get(name, 1.0) for name in ("keyword", "vector")}
    if any(not isinstance(v, (int, float)) or isinstance(v, bool) or not w_low <= v <= w_high
           for v in values.values()):
        raise ValidationFailed(shape)
    if values["keyword"] == 0 and values["vector"] == 0:
        raise ValidationFailed("the keyword and vector weights cannot both be 0; one ranking must count")
    return Setting(depth=depth, keyword=float(values["keyword"]), vector=float(values["vector"])).to_dict()


def grid() -> list[Setting]:
    return [Setting(depth, kw, vec) for depth in DEPTHS for kw in WEIGHTS for vec in WEIGHTS if kw or vec]


@dataclass(frozen=True)
class Case:
    case_id: str
    question: str
    collection: str
    answers: tuple[str, ...]


def cases_of(suite: dict[str, Any]) -> list[Case]:
    """A suite's questions that are asked of a collection, with their reference answers as text."""
    found = []
    for item in suite.get("items", []):
        answer, collection = item.get("answer"), item.get("collection")
        answers = answer if isinstance(answer, list) else [answer]
        texts = tuple(str(a).strip() for a in answers if a is not None and str(a).strip())
        if collection and texts:
            found.append(Case(str(item["id"]), str(item["question"]), str(collection), texts))
    return found


def _normal(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold()
    tokens = (t.strip(".-") for t in re.sub(r"[^\w.%-]+", " ", folded).split())  # "4.5" and "QX-12" stay whole
    return " ".join(t for t in tokens if t)


def contains_answer(text: str, answers: Sequence[str]) -> bool:
    """Whether the passage states one of the answers (case, accents' forms, punctuation and spacing
    aside; whole words only, so "12" is not found in "2012")."""
    body = f" {_normal(text)} "
    return any(f" {_normal(a)} " in body for a in answers if _normal(a))


def split(cases: Sequence[Case], seed: int = 0) -> tuple[list[Case], list[Case]]:
    """(tuning, held-out): halves by a hash of each case's id, stable across runs."""
    tune: list[Case] = []
    held: list[Case] = []
    for case in cases:
        digest = hashlib.sha256(f"{seed}:{case.case_id}".encode()).digest()
        (tune if digest[0] % 2 == 0 else held).append(case)
    return tune, held


@dataclass(frozen=True)
class Rankings:
    """One question's keyword and vector rankings (chunk ids, best first) and which chunks hold
    an answer."""

    keyword: tuple[str, ...]
    vector: tuple[str, ...]
    relevant: frozenset[str]


def first_relevant(ranked: Sequence[str], relevant: frozenset[str]) -> int | None:
    return next((n for n, chunk in enumerate(ranked, start=1) if chunk in relevant), None)


def fused(r: Rankings, s: Setting) -> list[str]:
    return [cid for cid, _ in weighted_rrf([r.keyword, r.vector], weights=[s.keyword, s.vector])]


def utility(hits: Sequence[bool], depth: int) -> float:
    return sum(hits) / len(hits) - PASSAGE_COST * depth if hits else 0.0


def choose(tuning: Sequence[Rankings], current: Setting) -> tuple[Setting, list[dict[str, Any]]]:
    """The grid's best setting on the tuning questions (ties go to the current one, then the
    shallower, then the plainer weights), and the best few for the evidence."""
    scored = []
    for s in {*grid(), current}:
        ranks = [first_relevant(fused(r, s), r.relevant) for r in tuning]
        hits = [rank is not None and rank <= s.depth for rank in ranks]
        mrr = sum(1 / rank for rank in ranks if rank is not None and rank <= s.depth) / len(ranks)
        plainness = -(abs(s.keyword - 1.0) + abs(s.vector - 1.0))
        scored.append((round(utility(hits, s.depth), 6), s == current, -s.depth, plainness, s,
                       {**s.to_dict(), "recall": round(sum(hits) / len(hits), 4), "mrr": round(mrr, 4),
                        "utility": round(utility(hits, s.depth), 4)}))
    scored.sort(key=lambda row: (row[0], row[1], row[2], row[3]), reverse=True)
    return scored[0][4], [row[5] for row in scored[:5]]


def paired_interval(a: Sequence[float], b: Sequence[float], *, resamples: int = 2000,
                    seed: int = 0) -> tuple[float, float]:
    """Bootstrap 95% interval of mean(b - a) over the same cases."""
    rng = random.Random(seed)  # noqa: S311 - resampling, not secrecy
    diffs = [y - x for x, y in zip(a, b, strict=True)]
    means = sorted(sum(diffs[rng.randrange(len(diffs))] for _ in diffs) / len(diffs) for _ in range(resamples))
    return round(means[int(0.025 * resamples)], 4), round(means[int(0.975 * resamples) - 1], 4)


class Searcher(Protocol):
    """The knowledge service's search, as the deciding admin."""

    async def ranking(self, *, question: str, collection: str, mode: str, k: int,
                      credential: str) -> list[tuple[str, str]]: ...

    async def search(self, *, question: str, collection: str, setting: Setting,
                     credential: str) -> list[tuple[str, str]]: ...


class Suites(Protocol):
    async def suite(self, *, name: str, credential: str) -> dict[str, Any]: ...


async def evaluate(*, cases: Sequence[Case], current: Setting, searcher: Searcher, credential: str,
                   seed: int = 0) -> dict[str, Any]:
    """Tune on one half, measure on the other; the evidence, with `proposed` and `wins`."""
    tune_cases, held_cases = split(cases, seed)
    tuning, unanswerable = [], 0
    for case in tune_cases:
        kw = await searcher.ranking(question=case.question, collection=case.collection, mode="keyword", k=POOL,
                                    credential=credential)
        vec = await searcher.ranking(question=case.question, collection=case.collection, mode="vector", k=POOL,
                                     credential=credential)
        relevant = frozenset(cid for cid, text in [*kw, *vec] if contains_answer(text, case.answers))
        if not relevant:
            unanswerable += 1
            continue
        tuning.append(Rankings(tuple(c for c, _ in kw), tuple(c for c, _ in vec), relevant))
    if len(tuning) < MIN_CASES:
        raise ValidationFailed(f"{len(tuning)} tuning questions have an answer some passage contains; at least "
                               f"{MIN_CASES} are needed (name more suites whose questions are asked of a "
                               "collection, e.g. companies or squad-shifts, installed with `sutazai eval install`)")
    proposed, leaders = choose(tuning, current)
    now: list[bool] = []
    then: list[bool] = []
    held_unanswerable = 0
    for case in held_cases:
        pool = await searcher.ranking(question=case.question, collection=case.collection, mode="keyword", k=POOL,
                                      credential=credential)
        pool += await searcher.ranking(question=case.question, collection=case.collection, mode="vector", k=POOL,
                                       credential=credential)
        if not any(contains_answer(text, case.answers) for _, text in pool):
            held_unanswerable += 1
            continue
        for setting, into in ((current, now), (proposed, then)):
            found = await searcher.search(question=case.question, collection=case.collection, setting=setting,
                                          credential=credential)
            into.append(any(contains_answer(text, case.answers) for _, text in found[:setting.depth]))
    if len(now) < MIN_CASES:
        raise ValidationFailed(f"{len(now)} held-out questions have an answer some passage contains; at least "
                               f"{MIN_CASES} are needed (name more suites)")
    a = [float(h) - PASSAGE_COST * current.depth for h in now]
    b = [float(h) - PASSAGE_COST * proposed.depth for h in then]
    low, high = paired_interval(a, b, seed=seed)
    difference = round(sum(b) / len(b) - sum(a) / len(a), 4)
    return {
        "criterion": f"answer recall at the depth, less {PASSAGE_COST:g} per passage, higher on the held-out "
                     "questions (paired bootstrap 95% interval above zero)",
        "tuning_cases": len(tuning), "held_out_cases": len(now),
        "left_out": {"tuning": unanswerable, "held_out": held_unanswerable,
                     "why": "no passage in the first 50 of either ranking contains the answer"},
        "current": {**current.to_dict(), "recall": round(sum(now) / len(now), 4), "utility": round(sum(a) / len(a), 4)},
        "proposed": {**proposed.to_dict(), "recall": round(sum(then) / len(then), 4),
                     "utility": round(sum(b) / len(b), 4)},
        "utility_difference": difference, "utility_difference_ci": [low, high],
        "tuning_leaders": leaders, "wins": proposed != current and low > 0,
        "same_as_current": proposed == current,
    }


@contextmanager
def _refused(what: str) -> Iterator[None]:
    """The called service's errors as this service's, naming what was being done."""
    try:
        yield
    except Forbidden as exc:
        raise Forbidden(f"{what} needs a platform admin") from exc
    except NotFound as exc:
        raise NotFound(exc.detail or f"{what}: not found") from exc
    except BadRequest as exc:
        raise ValidationFailed(f"{what} was refused: {exc.detail}") from exc
    except ValidationFailed:
        raise
    except SutazaiError as exc:
        raise DependencyUnavailable(f"{what}: {exc.detail}") from exc


class KnowledgeSearches:
    """Searcher through the knowledge service's typed client."""

    def __init__(self, client: KnowledgeClient) -> None:
        self._client = client

    async def _get(self, credential: str, **params: Any) -> list[tuple[str, str]]:
        with _refused(f"searching {params.get('collection')!r}"):
            found = await self._client.search(credential=credential, **params)
        return [(h.chunk_id, h.text) for h in found.hits]

    async def ranking(self, *, question: str, collection: str, mode: str, k: int,
                      credential: str) -> list[tuple[str, str]]:
        return await self._get(credential, q=question, collection=collection, mode=mode, k=k)

    async def search(self, *, question: str, collection: str, setting: Setting,
                     credential: str) -> list[tuple[str, str]]:
        return await self._get(credential, q=question, collection=collection, k=setting.depth,
                               w_keyword=setting.keyword, w_vector=setting.vector)


class LearningSuites:
    """Suites through the learning service's typed client."""

    def __init__(self, client: LearningClient) -> None:
        self._client = client

    async def suite(self, *, name: str, credential: str) -> dict[str, Any]:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}", name):  # it goes into the URL's path
            raise ValidationFailed(f"{name[:80]!r} is not a suite name (letters, digits, '.', '_' or '-')")
        try:
            with _refused(f"reading suite {name!r}"):
                found = await self._client.suite(name, credential=credential)
        except NotFound as exc:
            raise NotFound(f"no suite {name!r}; `sutazai eval suites` lists them (`sutazai eval install` adds the "
                           "built-in ones)") from exc
        return found.model_dump(mode="json")


class ReasoningRetrieval:
    """The retrieval settings at the reasoning service (its typed client), as the deciding admin."""

    def __init__(self, client: ReasoningClient) -> None:
        self._client = client

    async def current(self, *, credential: str) -> dict[str, Any]:
        with _refused("reading the retrieval settings"):
            return (await self._client.retrieval(credential=credential)).model_dump(mode="json")

    async def put(self, *, retrieval: dict[str, Any], credential: str) -> dict[str, Any]:
        try:
            setting = Retrieval.model_validate(retrieval)
        except PydanticValidationError as exc:
            raise ValidationFailed(f"not a retrieval setting: {exc.errors()[0]['msg']}") from exc
        with _refused("changing the retrieval settings"):
            return (await self._client.put_retrieval(setting, credential=credential)).model_dump(mode="json")


class CurrentRetrieval(Protocol):
    async def current(self, *, credential: str) -> dict[str, Any]: ...


class RetrievalTuner:
    """Evidence for a retrieval proposal from named suites; knows nothing of HTTP."""

    def __init__(self, *, suites: Suites, searcher: Searcher, in_force: CurrentRetrieval) -> None:
        self._suites, self._searcher, self._in_force = suites, searcher, in_force

    async def evidence(self, *, suites: Sequence[str], credential: str, seed: int = 0) -> dict[str, Any]:
        cases: list[Case] = []
        for name in dict.fromkeys(suites):
            found = cases_of(await self._suites.suite(name=name, credential=credential))
            if not found:
                raise ValidationFailed(f"suite {name!r} has no questions asked of a collection with a text answer; "
                                       "retrieval is tuned on such questions (companies, squad-shifts)")
            cases.extend(found)
        current = Setting.of(await self._in_force.current(credential=credential))
        evidence = await evaluate(cases=cases, current=current, searcher=self._searcher, credential=credential,
                                  seed=seed)
        return {"suites": list(dict.fromkeys(suites)), "seed": seed, **evidence}

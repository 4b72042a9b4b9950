"""From what the steps produced to the answer a person gets: the claims checked against the
sources become numbered citations, the answer's features (`AnswerFeatures`) are assessed by the
metacognition service (or the prior), and the answer is given or withheld with the reason; an
outcome with no answer is an abstention that says why (or that the documents do not state it)."""

from __future__ import annotations

import re
import uuid
from dataclasses import asdict, dataclass, replace
from typing import Any

from sutazai.lib.confidence import AnswerFeatures, Grounding
from sutazai.reasoning.answers import Answer, AskOptions
from sutazai.reasoning.assessment import Assessor, assess
from sutazai.reasoning.planning import Plan, answer_kind
from sutazai.reasoning.steps import Budget, Spend, StepRecord, result_of
from sutazai.reasoning.strategies import NOT_STATED, Outcome
from sutazai.reasoning.tools.answering import VerifyOutput

_MARKER = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\]")


@dataclass(frozen=True)
class Checked:
    """The claims of an answer after verification, and the citations they make."""

    claims: list[dict[str, Any]]
    supported: float | None
    citations: list[dict[str, Any]]
    order: list[str]


def checked_claims(outcome: Outcome, verified: VerifyOutput | None) -> Checked:
    """The claims (restricted, for a computed answer, to the passages its values came from) and
    the citations in the order the claims cite them."""
    claims, supported = _claims(outcome, verified)
    by_chunk = {p.chunk_id: p for p in outcome.passages}
    order = list(dict.fromkeys([c for claim in claims for c in claim["chunk_ids"]]
                               + (outcome.cited if outcome.computed else [])))
    citations = [{"document_id": by_chunk[c].document_id, "chunk_id": c, "text": by_chunk[c].text,
                  "source": by_chunk[c].source} for c in order if c in by_chunk]
    return Checked(claims=claims, supported=supported, citations=citations, order=order)


def _claims(outcome: Outcome, verified: VerifyOutput | None) -> tuple[list[dict[str, Any]], float | None]:
    if verified is None or not outcome.passages and not outcome.computed:
        return [], None  # nothing was consulted that a claim could be checked against
    claims = [c.model_dump() for c in verified.claims]
    if outcome.computed and outcome.cited:  # a computed answer rests on the passages its values came from
        claims = [{**c, "chunk_ids": [i for i in c["chunk_ids"] if i in outcome.cited]} for c in claims]
    return claims, verified.supported_fraction


class Decider:
    """Answers or abstains; the assessor (the metacognition service) says how sure to be."""

    def __init__(self, assessor: Assessor | None) -> None:
        self._assessor = assessor

    async def decide(self, trace_id: uuid.UUID, outcome: Outcome, checked: StepRecord, *, plan: Plan, question: str,
                     model: str, options: AskOptions, budget: Budget, spend: Spend, credential: str | None,
                     explicit_threshold: float | None) -> Answer:
        found = checked_claims(outcome, result_of(checked, VerifyOutput))
        text = annotate(outcome.text or "", found.claims, found.order)
        features = AnswerFeatures(
            agreement=outcome.vote.agreement, supported_fraction=found.supported,
            retrieval_scores=tuple(sorted((p.score for p in outcome.passages), reverse=True)[:20]),
            answer_kind=answer_kind(question), strategy=plan.strategy,
            step_kinds=tuple(sorted({step.tool for step in plan.steps})), models=tuple(sorted(set(model.split("+")))),
            samples=max(1, outcome.vote.samples), computed=bool(outcome.computed),
            citations=len(found.citations)).to_dict()
        grounding: Grounding = "documents" if found.citations else "computed" if outcome.computed else "model"
        assessment = await assess(self._assessor, features=features, trace_id=trace_id,
                                  explicit_threshold=explicit_threshold,
                                  fallback_threshold=float(options.abstain_below or 0.0), credential=credential)
        score, threshold = float(assessment["probability"]), float(assessment["threshold"])
        base = Answer(trace_id=trace_id, answer=text, model=model, citations=found.citations, confidence=score,
                      claims=found.claims, budget=asdict(budget), spent=spend.to_dict(), assessment=assessment,
                      grounding=grounding)
        if not assessment["abstain"]:
            return base
        why = [f"{outcome.vote.votes} of {outcome.vote.samples} samples agreed"]
        if found.supported is not None and found.supported < 1:
            why.append(f"{round(found.supported * 100)}% of the answer's claims are supported by the sources")
        reason = f"confidence {score:.2f} is below {threshold:.2f}: " + "; ".join(why)
        return replace(base, answer=f"I don't know. {reason}.", abstained=True, reason=reason, withheld=text,
                       grounding="none")


def abstention(trace_id: uuid.UUID, outcome: Outcome, *, model: str, budget: Budget, spend: Spend) -> Answer:
    """No step produced an answer: say why; when the documents do not hold it, say that."""
    reason = outcome.failure or "no step produced an answer"
    said = f"{reason[0].upper()}{reason[1:]}." if reason == NOT_STATED else f"I don't know. {reason}."
    return Answer(trace_id=trace_id, answer=said, model=model, confidence=0.0, abstained=True, reason=reason,
                  budget=asdict(budget), spent=spend.to_dict())


def annotate(text: str, claims: list[dict[str, Any]], order: list[str]) -> str:
    """The answer with numbered citations after supported sentences and [unsupported] after
    the others; the model's own source numbers are replaced."""
    if not claims:
        return text
    out = _MARKER.sub("", text)
    for claim in claims:
        plain = _MARKER.sub("", claim["text"])
        if claim["supported"]:
            marks = "".join(f"[{order.index(c) + 1}]" for c in claim["chunk_ids"] if c in order)
        else:
            marks = "[unsupported]"
        if marks and plain in out:
            out = out.replace(plain, f"{plain} {marks}", 1)
    return out

"""Voting over samples and checking claims against sources."""

from __future__ import annotations

from sutazai.reasoning.consistency import normalize, vote
from sutazai.reasoning.tools.answering import VerifyInput, check_claims, sentences
from sutazai.reasoning.tools.knowledge import Passage


def test_numeric_answers_vote_on_their_value() -> None:
    result = vote(["The answer is 1,200.", "1200", "It is 1200.0 dollars", "900"], numeric=True)
    assert (result.key, result.votes, result.samples, result.agreement) == ("1200", 3, 4, 0.75)


def test_failed_samples_count_against_agreement() -> None:
    result = vote(["42", None, None], numeric=True)
    assert result.winner == "42" and round(result.agreement, 2) == 0.33
    assert vote([None, None], numeric=True).winner is None


def test_text_answers_group_by_normalized_words() -> None:
    assert normalize("The Orvane Systems!", numeric=False) == "orvane systems"
    result = vote(["Orvane Systems makes it.", "orvane systems makes it", "Kestrel Biotech."], numeric=False)
    assert result.votes == 2 and result.winner == "Orvane Systems makes it."


def passage(chunk: str, text: str) -> Passage:
    return Passage(chunk_id=chunk, document_id="d-" + chunk, source=chunk + ".txt", text=text, score=1.0)


def test_claims_are_supported_only_by_passages_holding_their_words_and_numbers() -> None:
    sources = [passage("c1", "Orvane Systems employs 1,240 people in Tallinn."),
               passage("c2", "The Lumen-7 sensor is made by Orvane Systems.")]
    out = check_claims(VerifyInput(answer="Orvane Systems employs 1,240 people. Orvane Systems employs 2,000 "
                                          "people. The moon is made of cheese.", passages=sources))
    assert [(c.supported, c.chunk_ids) for c in out.claims] == [(True, ["c1"]), (False, []), (False, [])]
    assert out.supported_fraction == 1 / 3


def test_a_computed_number_is_supported_by_the_computation() -> None:
    out = check_claims(VerifyInput(answer="855. Computed exactly: 1240 - 385 = 855.", passages=[],
                                   computed=["855", "1240", "385"]))
    assert all(c.supported for c in out.claims)


def test_refusals_are_not_claims_and_quotes_end_sentences() -> None:
    assert check_claims(VerifyInput(answer="I don't know.")).supported_fraction is None
    assert sentences("A said: \u201cOne.\u201d Then two.") == ["A said: \u201cOne.\u201d", "Then two."]


def test_a_short_answer_needs_a_passage_about_the_question() -> None:
    sources = [passage("k", "Kestrel Biotech is a small laboratory company in Porto."),
               passage("l", "The Lumen-7 sensor is made by Orvane Systems.")]
    question = "Which company makes the Lumen-7 sensor?"
    wrong = check_claims(VerifyInput(answer="Kestrel Biotech.", passages=sources, question=question))
    right = check_claims(VerifyInput(answer="Orvane Systems.", passages=sources, question=question))
    assert wrong.claims[0].supported is False and wrong.supported_fraction == 0
    assert right.claims[0].chunk_ids == ["l"] and right.supported_fraction == 1

"""Retrieval tuning: answer containment, the declared bounds, and the choice and its held-out
measurement over a fake search (a fake at the knowledge service's boundary: ranked lists made up
here, fused with the same weighted reciprocal-rank fusion the knowledge service uses)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from sutazai.lib.errors import ValidationFailed
from sutazai.lib.fusion import weighted_rrf
from sutazai.metacognition.proposals import check_change
from sutazai.metacognition.retrieval_tuning import Case, Setting, cases_of, contains_answer, evaluate, split


def test_an_answer_is_found_as_whole_words_whatever_the_case_and_punctuation() -> None:
    assert contains_answer("Founded in Tallinn, Estonia.", ["tallinn"])
    assert contains_answer("Revenue was 4,200 euros", ["4,200"])
    assert contains_answer("registered under the code QR-1234.", ["QR-1234"])
    assert contains_answer("it grew 4.5% in 2020", ["4.5%"]) and not contains_answer("it grew 4.5%", ["4"])
    assert not contains_answer("In 2012 it moved", ["12"])
    assert not contains_answer("Porto Alegre", ["Port"])
    assert contains_answer("the  Kestrel   Systems board", ["Kestrel Systems"])
    assert not contains_answer("anything", ["", "  "])


def test_only_questions_asked_of_a_collection_with_an_answer_are_kept() -> None:
    suite = {"items": [{"id": "a", "question": "q1", "answer": "Lyon", "collection": "c"},
                       {"id": "b", "question": "q2", "answer": ["x", "y"], "collection": "c"},
                       {"id": "c", "question": "q3", "answer": 42},  # no collection: not retrieval
                       {"id": "d", "question": "q4", "answer": 7, "collection": "c"}]}
    assert [(c.case_id, c.answers) for c in cases_of(suite)] == [("a", ("Lyon",)), ("b", ("x", "y")), ("d", ("7",))]


@pytest.mark.parametrize("change", [
    {"retrieval": {"depth": 0}}, {"retrieval": {"depth": 13}}, {"retrieval": {"depth": 4.5}},
    {"retrieval": {"depth": True}}, {"retrieval": {"depth": 4, "weights": {"keyword": 3.5}}},
    {"retrieval": {"depth": 4, "weights": {"keyword": 0, "vector": 0}}},
    {"retrieval": {"depth": 4, "weights": {"graph": 1}}}, {"retrieval": {"depth": 4, "k": 2}},
    {"retrieval": {"weights": {"keyword": 1}}}, {"retrieval": 4}, {"retrieval": {"depth": 4}, "routes": {}},
])
def test_a_retrieval_change_outside_its_bounds_is_refused(change: dict[str, Any]) -> None:
    with pytest.raises(ValidationFailed):
        check_change("retrieval", change)


def test_a_retrieval_change_within_bounds_is_kept_whole() -> None:
    assert check_change("retrieval", {"retrieval": {"depth": 6, "weights": {"keyword": 2}}}) == {
        "retrieval": {"depth": 6, "weights": {"keyword": 2.0, "vector": 1.0}}}


class FakeSearch:
    """Rankings made up per question: `good` lists the answer's chunk first, the other list
    buries it at `buried` (or leaves it out)."""

    def __init__(self, cases: list[Case], *, good: str, buried: int | None) -> None:
        self.rankings: dict[str, dict[str, list[tuple[str, str]]]] = {}
        for n, case in enumerate(cases):
            answer = (f"{case.case_id}-answer", f"the answer is {case.answers[0]}")
            noise = [(f"{case.case_id}-noise-{i}", f"nothing about question {n} here {i}") for i in range(30)]
            other = list(noise)
            if buried is not None:
                other.insert(buried - 1, answer)
            self.rankings[case.question] = {good: [answer, *noise],
                                            ("vector" if good == "keyword" else "keyword"): other}
        self.searches = 0

    async def ranking(self, *, question: str, collection: str, mode: str, k: int,
                      credential: str) -> list[tuple[str, str]]:
        del collection, credential
        return self.rankings[question][mode][:k]

    async def search(self, *, question: str, collection: str, setting: Setting,
                     credential: str) -> list[tuple[str, str]]:
        del collection, credential
        self.searches += 1
        kw, vec = self.rankings[question]["keyword"], self.rankings[question]["vector"]
        texts = dict(kw + vec)
        fused = weighted_rrf([[c for c, _ in kw], [c for c, _ in vec]], weights=[setting.keyword, setting.vector])
        return [(cid, texts[cid]) for cid, _ in fused[:setting.depth]]


def make_cases(n: int) -> list[Case]:
    return [Case(f"case-{i}", f"question {i}?", "docs", (f"value{i}",)) for i in range(n)]


def test_the_ranking_that_finds_the_answers_gets_the_weight_and_wins_on_held_out_questions() -> None:
    cases = make_cases(80)
    fake = FakeSearch(cases, good="keyword", buried=None)  # the vector ranking never has it
    current = Setting(depth=1, keyword=0.5, vector=2.0)  # vector first: the answer lands second
    evidence = asyncio.run(evaluate(cases=cases, current=current, searcher=fake, credential="k"))
    proposed = evidence["proposed"]
    assert proposed["weights"]["keyword"] > proposed["weights"]["vector"]
    assert evidence["current"]["recall"] == 0.0 and proposed["recall"] == 1.0
    assert evidence["wins"] and evidence["utility_difference_ci"][0] > 0
    tune, held = split(cases)
    assert evidence["tuning_cases"] == len(tune) and evidence["held_out_cases"] == len(held)
    assert fake.searches == 2 * len(held)  # the held-out half is measured through the real search path


def test_the_settings_in_force_stay_when_nothing_does_better() -> None:
    cases = make_cases(80)
    fake = FakeSearch(cases, good="keyword", buried=1)  # both rankings have it first
    current = Setting(depth=2, keyword=1.0, vector=1.0)  # the shallowest depth of the grid already
    evidence = asyncio.run(evaluate(cases=cases, current=current, searcher=fake, credential="k"))
    assert evidence["same_as_current"] and not evidence["wins"]


def test_a_deeper_search_must_find_more_than_it_costs() -> None:
    cases = make_cases(80)
    fake = FakeSearch(cases, good="vector", buried=None)
    current = Setting(depth=8, keyword=1.0, vector=1.0)  # finds everything, at 8 passages a question
    evidence = asyncio.run(evaluate(cases=cases, current=current, searcher=fake, credential="k"))
    assert evidence["proposed"]["depth"] < 8 and evidence["proposed"]["recall"] == 1.0 and evidence["wins"]


def test_questions_no_passage_answers_are_left_out_and_too_few_are_refused() -> None:
    cases = make_cases(30)
    fake = FakeSearch(cases, good="keyword", buried=None)
    for ranking in fake.rankings.values():  # the answer's passage no longer states it
        ranking["keyword"][0] = (ranking["keyword"][0][0], "unrelated")
    with pytest.raises(ValidationFailed, match="at least 20 are needed"):
        asyncio.run(evaluate(cases=cases, current=Setting(), searcher=fake, credential="k"))

"""Scoring is deterministic code: numbers within a tolerance, normalised text, any of several
answers; and the run statistics (Wilson intervals, paired comparison)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sutazai.learning.scoring import Outcome, compare, is_right, mcnemar_p, number_in, summary, wilson
from sutazai.learning.suites import Case

NUM = Case(case_id="n", question="How much?", numeric=Decimal(1250))
PI = Case(case_id="p", question="Pi?", numeric=Decimal("3.14"), tolerance=Decimal("0.01"))
TEXT = Case(case_id="t", question="Who?", answers=["Ada Lovelace", "Lovelace"])


@pytest.mark.parametrize(("answer", "right"), [
    ("The answer is 1,250.", True), ("$1250", True), ("It makes 1250 dollars. Earlier it made 900.", True),
    ("1249", False), ("about twelve hundred", False), ("", False),
])
def test_numbers(answer: str, right: bool) -> None:
    assert is_right(NUM, answer) is right


def test_tolerance_and_abstention() -> None:
    assert is_right(PI, "3.1416") and not is_right(PI, "3.2")
    assert not is_right(NUM, "1250", abstained=True)
    assert number_in("−7 degrees") == Decimal(-7)


@pytest.mark.parametrize(("answer", "right"), [
    ("Ada Lovelace.", True), ("It was Ada Lovelace, in 1843.", True), ("LOVELACE", True),
    ("Ádá Lovelace", True), ("Charles Babbage. Not Lovelace.", False), ("Lovelaceian", False),
])
def test_text_any_of(answer: str, right: bool) -> None:
    assert is_right(TEXT, answer) is right


def test_summary_and_intervals() -> None:
    outcomes = [Outcome("a", True, False, 1.0), Outcome("b", False, True, 3.0), Outcome("c", False, False, 2.0),
                Outcome("d", True, False, 4.0)]
    s = summary(outcomes)
    assert (s["accuracy"], s["coverage"], s["accuracy_answered"]) == (0.5, 0.75, pytest.approx(2 / 3))
    assert s["latency_p50_s"] == 2.5 and s["latency_p95_s"] == pytest.approx(3.85)
    low, high = wilson(35, 100)
    assert (round(low, 2), round(high, 2)) == (0.26, 0.45)  # the interval docs/benchmarks.md reports


def test_paired_comparison() -> None:
    a = [Outcome(str(i), i < 30, False) for i in range(100)]
    b = [Outcome(str(i), i < 30 or 50 <= i < 65, False) for i in range(100)]
    result = compare(a, b)
    assert result["only_b"] == 15 and result["only_a"] == 0 and result["difference"] == pytest.approx(0.15)
    low, high = result["difference_ci"]
    assert 0.07 <= low < 0.15 < high <= 0.23 and result["mcnemar_p"] < 0.001
    assert compare(a, a)["difference"] == 0 and compare(a, a)["mcnemar_p"] == 1.0
    assert compare(a, b) == compare(a, b)  # fixed seed: the same runs, the same figures
    assert mcnemar_p(5, 5) == 1.0 and mcnemar_p(0, 6) == pytest.approx(0.03125)


def test_a_bare_chain_of_thought_is_scored_on_its_conclusion() -> None:
    thought = "She has 16 eggs. She eats 3 and bakes 4, so 9 are left. 9 * 2 = 18. The answer is 18."
    assert is_right(NUM_18, thought, bare=True) and not is_right(NUM_18, thought)  # the first sentence says 16
    assert is_right(NUM_18, "16 - 7 = 9 eggs, 9 * $2 = $18", bare=True)
    assert is_right(TEXT, "Babbage designed it. The answer is: Ada Lovelace.", bare=True)
    assert not is_right(TEXT, "Ada Lovelace worked with Babbage. The answer is Babbage.", bare=True)


NUM_18 = Case(case_id="e", question="Eggs?", numeric=Decimal(18))


def test_passages_are_read_from_any_step_shape() -> None:
    from sutazai.learning.traces import passages_in

    trace = {"steps": [
        {"output": {"passages": [{"chunk_id": "c1", "document_id": "d", "source": "a.txt", "text": "A."}]}},
        {"output": {"exemplars": [], "demoted": [], "considered": 3}},  # a recall step: numbers, not passages
        {"output": {"considered": [{"chunk_id": "c2", "text": "B."}, {"chunk_id": 7}, "junk"], "cited": None}},
        {"output": None}, {"output": ["not", "a", "dict"]}, {}],
        "citations": [{"chunk_id": "c3", "document_id": "d", "source": "c.txt", "text": "C."}]}
    assert sorted(passages_in(trace)) == ["c1", "c2", "c3"]


def test_citation_markers_are_not_part_of_the_answer() -> None:
    # the pipeline puts "[1]" after a supported sentence; a year in brackets is not a marker
    assert is_right(NUM, "1,250. [1] The source says: “The approved answer is: 1,250.” [1]")
    assert is_right(NUM, "1250 [1, 2] and [unsupported]")
    assert not is_right(NUM, "[1]")
    assert is_right(Case(case_id="y", question="When?", numeric=Decimal(2020)), "In [2020].")


def test_the_wilson_interval_always_contains_its_estimate() -> None:
    # At 0 or n successes floating point once put the bound a hair past the estimate, and the
    # reliability plot's error bar (estimate minus bound) came out negative: matplotlib refused it.
    for n in range(1, 300):
        for right in range(n + 1):
            low, high = wilson(right, n)
            assert 0.0 <= low <= right / n <= high <= 1.0, (right, n)
    assert wilson(0, 11)[0] == 0.0 and wilson(21, 21)[1] == 1.0

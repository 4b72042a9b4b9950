"""Suite files: JSON lines and CSV read into cases, every problem reported with its line, and
written back in a form that reads the same."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from sutazai.learning.builtin_suites import Package, companies, fetch, multistep
from sutazai.learning.suites import digest, parse, render
from sutazai.lib.errors import ValidationFailed

GOOD_JSONL = "\n".join(json.dumps(c) for c in [
    {"id": "q1", "question": "What is 2 + 2?", "answer": 4},
    {"id": "q2", "question": "Capital of France?", "answer": ["Paris", "paris, France"], "tags": ["geo"]},
    {"question": "Pi to two places?", "answer": 3.14, "tolerance": 0.005, "collection": "maths"},
]) + "\n"


def test_jsonl_cases_are_read_with_their_kinds() -> None:
    cases = parse(GOOD_JSONL, "jsonl")
    assert [c.case_id for c in cases] == ["q1", "q2", "case-3"]
    assert cases[0].numeric == Decimal(4) and cases[0].answers == []
    assert cases[1].answers == ["Paris", "paris, France"] and cases[1].tags == ["geo"]
    assert cases[2].numeric == Decimal("3.14") and cases[2].tolerance == Decimal("0.005")
    assert cases[2].collection == "maths"


def test_csv_reads_numbers_by_their_tolerance_and_several_answers() -> None:
    text = "id,question,answer,tolerance,collection,tags\n" \
           "a,How many legs has a spider?,8,0,,animals;count\n" \
           'b,"Who wrote Hamlet, the play?",Shakespeare | William Shakespeare,,,\n'
    cases = parse(text, "csv")
    assert cases[0].numeric == 8 and cases[0].tags == ["animals", "count"]
    assert cases[1].answers == ["Shakespeare", "William Shakespeare"] and cases[1].numeric is None


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_written_suites_read_back_the_same(fmt: str) -> None:
    cases = parse(GOOD_JSONL, "jsonl")
    again = parse(render(cases, fmt), fmt)
    assert again == cases and digest(again) == digest(cases)


def test_every_problem_is_reported_with_its_line() -> None:
    bad = "\n".join([
        json.dumps({"id": "q1", "question": "ok?", "answer": "yes"}),
        json.dumps({"id": "q2", "answer": "no question"}),
        '{"id": "q3", "question": "broken", ',
        json.dumps({"id": "q1", "question": "again?", "answer": "dup"}),
        json.dumps({"id": "q5", "question": "empty answer?", "answer": "  "}),
        json.dumps({"id": "q6", "question": "bad tolerance?", "answer": 3, "tolerance": "wide"}),
        json.dumps({"id": "q7", "question": "bad collection?", "answer": "x", "collection": "Not Valid!"}),
        json.dumps(["not", "an", "object"]),
    ])
    with pytest.raises(ValidationFailed) as caught:
        parse(bad, "jsonl")
    detail = caught.value.detail
    assert "7 problem(s)" in detail
    for expected in ("line 2: 'question' is missing", "line 3: not valid JSON", "line 4: case id 'q1' repeats line 1",
                     "line 5: 'answer' is empty", "line 6: 'tolerance' 'wide' is not a number",
                     "line 7: 'collection'", "line 8: each line must be a JSON object"):
        assert expected in detail, (expected, detail)


def test_csv_problems_name_the_header_and_rows() -> None:
    with pytest.raises(ValidationFailed, match="missing: answer"):
        parse("id,question\nq,What?\n", "csv")
    with pytest.raises(ValidationFailed, match="unknown column"):
        parse("question,answer,weight\nWhat?,x,3\n", "csv")
    with pytest.raises(ValidationFailed, match="line 3: more fields than the header"):
        parse("question,answer\nWhat?,x\nWhy?,y,z\n", "csv")
    with pytest.raises(ValidationFailed, match="line 2: 'answer' 'many' is not a number, but a tolerance"):
        parse("question,answer,tolerance\nHow many?,many,1\n", "csv")
    with pytest.raises(ValidationFailed, match="holds no case"):
        parse("\n\n", "jsonl")


def test_generated_suites_are_stable_and_valid() -> None:
    for built in (companies(), multistep()):
        text = "".join(json.dumps(c) + "\n" for c in built.cases)
        cases = parse(text, "jsonl")
        assert len(cases) == 32 and {c.collection for c in cases} == {built.collection}
        assert len(built.documents) >= 12
    assert digest(parse("".join(json.dumps(c) + "\n" for c in companies().cases), "jsonl")) == digest(
        parse("".join(json.dumps(c) + "\n" for c in companies().cases), "jsonl"))


def test_a_package_file_whose_digest_differs_is_never_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # no package index is asked: the download fails here, as offline
    package = Package("sutazai-no-such-package==0.0.0", "cached.whl", "0" * 64)
    (tmp_path / "cached.whl").write_bytes(b"tampered")
    with pytest.raises(ValidationFailed, match="could not download"):  # the cached file is not trusted
        fetch(package, tmp_path)

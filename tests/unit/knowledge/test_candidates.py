"""The NER pass of graph extraction, with the real spaCy pipeline: which names become candidate
entities, with which type, and that a pipeline whose files do not match the pinned digest is
refused with what to do."""

from __future__ import annotations

import pytest

from sutazai.knowledge.graph import candidates as ner
from sutazai.knowledge.graph.extraction import RELATION_PATTERN, relations_schema


def test_named_entities_become_typed_candidates_and_values_do_not() -> None:
    found = ner.candidates("Ada Lovelace worked with Charles Babbage in London in 1843. "
                           "Babbage was paid 300 pounds by the Royal Society. Ada Lovelace wrote notes.")
    by_name = {c.name: c.type for c in found}
    assert by_name["Ada Lovelace"] == "person" and by_name["London"] == "place"
    assert by_name["Royal Society"] == "organization"  # "the" dropped
    assert not any(c.name in ("1843", "300 pounds") for c in found)  # dates and amounts are not nodes
    assert found[0].name == "Ada Lovelace"  # the most mentioned first


def test_names_the_model_could_not_choose_exactly_are_left_out() -> None:
    assert ner._clean('The "Carnival Cup') == "Carnival Cup"  # noqa: SLF001
    assert ner._clean('Cup "A" Final') == ""  # noqa: SLF001 - an inner quote cannot be a grammar choice
    assert ner.candidates("") == []


def test_relation_ends_are_limited_to_the_names_found() -> None:
    schema = relations_schema(["Ada Lovelace", "London"])
    item = schema["properties"]["relations"]["items"]["properties"]
    assert item["source"]["enum"] == item["target"]["enum"] == ["Ada Lovelace", "London"]
    assert item["relation"]["pattern"] == RELATION_PATTERN


def test_a_pipeline_that_does_not_match_its_digest_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    ner._pipeline.cache_clear()  # noqa: SLF001
    monkeypatch.setattr(ner, "NER_DIGEST", "0" * 64)
    try:
        with pytest.raises(ner.NerModelInvalid, match="does not match its pinned digest.*reinstall"):
            ner.warm_up()
    finally:
        monkeypatch.undo()
        ner._pipeline.cache_clear()  # noqa: SLF001
    ner.warm_up()  # the real digest matches

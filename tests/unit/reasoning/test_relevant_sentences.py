"""Which sentences a number may be read from: the one about the thing asked for, not a
neighbour that the same passage also names."""

from __future__ import annotations

from sutazai.reasoning.tools.knowledge import Passage
from sutazai.reasoning.tools.modeltools import relevant_sentences


def passage(text: str, n: int) -> Passage:
    return Passage(chunk_id=f"c{n}", document_id=f"d{n}", source=f"s{n}.txt", text=text, score=1.0)


def test_a_sentence_naming_the_entity_beats_one_in_a_passage_that_only_mentions_it() -> None:
    passages = [
        passage("Brightwater Analytics acquired Tidewell Labs in 2021. Brightwater Analytics employs 240 people.", 1),
        passage("Jonas Berg works at Tidewell Labs. Tidewell Labs employs 85 people.", 2),
    ]
    chosen = relevant_sentences("the employees of Tidewell Labs", passages, about="Tidewell Labs")
    assert chosen == ["Tidewell Labs employs 85 people."]


def test_pronouns_fall_back_to_the_passage_that_names_the_entity() -> None:
    passages = [
        passage("Kestrel Biotech is a laboratory in Porto. It employs 385 people.", 1),
        passage("Orvane Systems employs 1,240 people.", 2),
    ]
    chosen = relevant_sentences("the employees of Kestrel Biotech", passages, about="Kestrel Biotech")
    assert chosen == ["It employs 385 people."]


def test_the_asked_quantity_comes_before_the_name() -> None:
    passages = [passage("Tidewell Labs was founded in 1990. It employs 85 people.", 1)]
    chosen = relevant_sentences("the employees of Tidewell Labs", passages, about="Tidewell Labs")
    assert chosen == ["It employs 85 people."]

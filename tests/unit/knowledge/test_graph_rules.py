"""The junk filter, name normalisation and the admission of admin Cypher."""

import pytest

from sutazai.knowledge.graph.extraction import grounded, normalise, relation_label
from sutazai.knowledge.graph.readonly import admit, check_plan
from sutazai.knowledge.search.interface import Hit, reciprocal_rank_fusion
from sutazai.lib.errors import ValidationFailed

TEXT = "Ada Lovelace worked with Charles Babbage in London. Babbage designed the Analytical Engine."


def test_normalise_ignores_case_accents_punctuation_and_articles() -> None:
    assert normalise("The  Analytical Engine!") == "analytical engine"
    assert normalise("Orléans") == "orleans"
    assert relation_label("Worked With") == "worked_with"


def test_grounding_keeps_what_the_text_says_and_drops_inventions() -> None:
    candidate = {
        "entities": [{"name": "Ada Lovelace", "type": "person"}, {"name": "Isaac Newton", "type": "person"},
                     {"name": "London", "type": "place"}, {"name": "1", "type": "date"}],
        "relations": [
            {"source": "Ada Lovelace", "relation": "worked with", "target": "Charles Babbage"},
            {"source": "Charles Babbage", "relation": "born in", "target": "London"},  # copied from the example
            {"source": "Babbage", "relation": "designed", "target": "Analytical Engine"},
            {"source": "Ada Lovelace", "relation": "knew", "target": "Isaac Newton"},
            {"source": "London", "relation": "is", "target": "London"},
        ],
    }
    kept = grounded(candidate, TEXT)
    assert set(kept["entities"]) == {"ada lovelace", "london", "charles babbage", "babbage", "analytical engine"}
    assert kept["relations"] == [
        {"source": "ada lovelace", "relation": "worked_with", "target": "charles babbage"},
        {"source": "babbage", "relation": "designed", "target": "analytical engine"},
    ]


@pytest.mark.parametrize(("query", "fragment"), [
    ("MATCH (n) DETACH DELETE n", "DELETE, DETACH"),
    ("CREATE (n:Entity)", "CREATE"),
    ("MATCH (n) SET n.x = 1 RETURN n", "SET"),
    ("CALL db.labels()", "CALL"),
    ("MATCH (n {name: 'Ada'}) RETURN n", "parameters"),
    ("", "empty"),
    ("MATCH (n) RETURN n " + "x" * 5000, "limit"),
])
def test_admin_cypher_must_be_read_only_with_parameters(query: str, fragment: str) -> None:
    with pytest.raises(ValidationFailed, match=fragment):
        admit(query)


def test_reads_are_admitted_even_with_keywords_in_comments_and_names() -> None:
    assert admit("MATCH (n:Entity {name: $name}) // never DELETE\nRETURN n.`set` AS created LIMIT 5")


def test_reciprocal_rank_fusion_rewards_agreement() -> None:
    keyword = [Hit("a", 9.0), Hit("b", 5.0), Hit("c", 1.0)]
    vector = [Hit("d", 0.9), Hit("b", 0.8), Hit("e", 0.1)]
    fused = [h.chunk_id for h in reciprocal_rank_fusion([keyword, vector])]
    assert fused[0] == "b"  # second in both lists beats first in one
    assert set(fused) == {"a", "b", "c", "d", "e"}


@pytest.mark.parametrize("query", [
    # the review's trick: a `//` inside a string used to hide the rest of the line from the check
    "MATCH (n) WHERE n.name = '//' CALL dbms.procedures() YIELD name RETURN name",
    "MATCH (n) WHERE n.name = \"//\" LOAD CSV FROM 'https://example.org/x' AS row RETURN row",
    "RETURN 1 /* ' */ CALL db.labels() YIELD label RETURN label",
    "MATCH (n) RETURN n // '\nCALL dbms.procedures() YIELD name RETURN name",
    "MATCH (n) RETURN n; CALL db.labels()",
    "MATCH (n) RETURN n /* unterminated",
    "MATCH (n) RETURN 'unterminated",
    "MATCH (n) WITH n cAlL db.labels() YIELD label RETURN label",
    "load csv from $url as row return row",
])
def test_comment_and_string_tricks_cannot_hide_a_procedure_or_load_csv(query: str) -> None:
    with pytest.raises(ValidationFailed):
        admit(query)


def test_the_plan_check_refuses_operators_that_are_not_reads() -> None:
    check_plan(["Results", "    Project", "        Node By Label Scan | (n:Entity)"])
    check_plan(["ProduceResults@neo4j", "Projection@neo4j", "NodeByLabelScan@neo4j"])
    for plan in (["Results", "    Project", "        Load CSV"], ["Results", "  ProcedureCall"],
                 ["ProduceResults@neo4j", "ProcedureCall@neo4j"], ["Results", "Create"]):
        with pytest.raises(ValidationFailed, match="does not run"):
            check_plan(plan)

"""The rules planner reads the question's shape; plans are validated as DAGs."""

from __future__ import annotations

import pytest

from sutazai.reasoning.planning import (
    Plan,
    PlanInvalid,
    PlanRequest,
    asks_quantity,
    entities_in,
    expression_in,
    resolve,
    rules_plan,
    self_contained,
    settled,
    unmentioned,
    wants_sources,
    word_problem,
)
from sutazai.reasoning.tools.knowledge import Passage


def plan_for(question: str, *, knowledge: bool = False, samples: int = 3) -> Plan:
    return rules_plan(PlanRequest(question=question, has_knowledge=knowledge, samples=samples, temperature=0.0,
                                  sample_temperature=0.7, seed=0))


def tools(plan: Plan) -> list[str]:
    return [s.tool for s in plan.steps]


def test_arithmetic_goes_straight_to_the_calculator() -> None:
    assert tools(plan_for("What is 17 * 23 + 1/4?")) == ["calculator"]
    assert expression_in("Solve 2x + 3 = 11 for x") == ("2x + 3 = 11", "solve")
    assert expression_in("What is the capital of France?") is None


def test_dates_go_to_the_date_tool() -> None:
    plan = plan_for("How many days are there between 2024-01-01 and March 1, 2024?")
    assert tools(plan) == ["dates"] and plan.steps[0].input["operation"] == "between"
    later = plan_for("What date is 90 days after 2026-11-21?").steps[0].input
    assert later == {"operation": "add", "date": "2026-11-21", "span": {"days": 90}}


def test_a_word_problem_samples_programs_even_when_the_collection_has_documents() -> None:
    question = "Olivia has 23 dollars. She buys 5 bagels for 3 dollars each. How much money is left?"
    assert not wants_sources(question)  # its numbers are in the question: no passage is read for it
    plan = plan_for(question)
    assert tools(plan) == ["program"] * 3 + ["formulate", "calculator"] * 3 and plan.strategy == "compute"
    programs = [s for s in plan.steps if s.tool == "program"]
    assert [s.input["temperature"] for s in programs] == [0.0, 0.7, 0.7] and [s.input["seed"] for s in programs] \
        == [0, 1, 2]
    assert programs[2].unless_agreed == ("s1", "s2")  # the third only when the first two disagree
    # the arithmetic written as one expression stands in only when every program failed
    assert all(s.if_all_failed == ("s1", "s2", "s3") for s in plan.steps if s.tool == "formulate")
    assert plan.steps[0].input["question"] == question and plan.steps[0].input["inputs"] == {}


def test_programs_beyond_the_asked_samples_are_drawn_only_while_the_vote_is_unsettled() -> None:
    question = "Olivia has 23 dollars. She buys 5 bagels for 3 dollars each. How much money is left?"
    plan = rules_plan(PlanRequest(question=question, has_knowledge=False, samples=3, temperature=0.0,
                                  sample_temperature=0.7, seed=0, adaptive_samples=5))
    programs = [s for s in plan.steps if s.tool == "program"]
    assert [s.id for s in programs] == ["s1", "s2", "s3", "s4", "s5"]
    assert [s.unless_agreed for s in programs] == [(), (), ("s1", "s2"), ("s1", "s2", "s3"),
                                                   ("s1", "s2", "s3", "s4")]
    assert all(s.if_all_failed == ("s1", "s2", "s3", "s4", "s5") for s in plan.steps if s.tool == "formulate")
    # one or two samples asked for are honoured as they are: no adaptive extension
    assert len([s for s in rules_plan(PlanRequest(question=question, has_knowledge=False, samples=2,
                                                  temperature=0.0, sample_temperature=0.7, seed=0,
                                                  adaptive_samples=5)).steps if s.tool == "program"]) == 2


def test_number_words_that_name_what_documents_hold_do_not_make_a_word_problem() -> None:
    for question in ("What was the group's operating margin in the third quarter of 2026, in percent?",
                     "What is the combined budget of the two Port Services projects in thousand EUR?",
                     "How many days of annual leave does an employee with 6 years of service get?"):
        assert not word_problem(question) and wants_sources(question), question
        assert not self_contained(question), question
    assert word_problem("If Oslo has 40 staff and Bergen 25, how many more does Oslo have?")


def test_a_problem_stating_its_own_premises_is_self_contained_whatever_it_asks_for() -> None:
    # the question asks 'what was the price', 'how fast', 'what is the distance': no counting word
    for question in ("Kyle bought a book for $19.50. This is with a 25% discount from the original price. "
                     "What was the original price of the book?",
                     "John runs 60 miles a week. He runs 3 days a week. How fast does he run?",
                     "Jan has three times the number of pets as Marcia. If Cindy has four pets, how many do they "
                     "have?",
                     "Two trains travel 80 miles west. The next day they travel 150 miles north. What's the distance "
                     "covered by each train?"):
        assert self_contained(question), question
    for question in ("The board met twice in 2026. Who chaired the meetings?",  # asks for a name
                     "Revenue rose 12% in Q3. Why did it rise?",  # asks for a reason
                     "What is the capital of Norway?"):
        assert not self_contained(question), question
    # asked without documents about it (nothing found), it is computed, not 'not stated'
    plan = rules_plan(PlanRequest(question="Kyle paid $19.50 after a 25% discount. What was the original price?",
                                  has_knowledge=False, samples=3, temperature=0.0, sample_temperature=0.7, seed=0),
                      preface=[])
    assert plan.strategy == "compute" and "program" in tools(plan)


def test_a_self_contained_problem_the_passages_are_not_about_is_computed_from_its_own_numbers() -> None:
    question = "Kyle paid $19.50 for a novel after a 25% discount. What was the original price of the novel?"
    request = PlanRequest(question=question, has_knowledge=True, samples=3, temperature=0.0,
                          sample_temperature=0.7, seed=0)
    plan = rules_plan(request)
    unrelated = [Passage(chunk_id="c1", document_id="d1", source="travel.md",
                         text="Travel is reimbursed at 0.30 EUR per kilometre.", score=0.4)]
    after = settled(plan, request, unrelated)
    assert after.strategy == "compute" and tools(after)[0] == "search" and "program" in tools(after)
    about = [Passage(chunk_id="c2", document_id="d2", source="books.md",
                     text="Kyle paid 19.50 for the novel; the original price of the novel before the discount was 26.",
                     score=0.9)]
    assert settled(plan, request, about).strategy != "compute"  # the documents are about it: they are read


def test_arithmetic_written_in_words_is_a_plain_expression() -> None:
    assert expression_in("What is 12 times 7?") == ("12 * 7", "evaluate")
    assert expression_in("What is 3 plus 4 divided by 2?") == ("3 + 4 / 2", "evaluate")
    assert expression_in("How many times more staff does Oslo have than Bergen?") is None


def test_years_are_not_the_numbers_of_a_word_problem() -> None:
    assert wants_sources("What was the total revenue of Port Services in 2025 and 2026?")
    assert not wants_sources("What is 12 times 7?")


def test_a_comparison_across_two_documents_searches_each_and_extracts_each_value() -> None:
    plan = plan_for("How many more employees does Orvane Systems have than Kestrel Biotech?", knowledge=True)
    assert entities_in("How many more employees does Orvane Systems have than Kestrel Biotech?") == [
        "Orvane Systems", "Kestrel Biotech"]
    assert tools(plan)[:6] == ["search", "search", "search", "graph_lookup", "graph_lookup", "extract_value"]
    searches = [s for s in plan.steps if s.tool == "search"]
    assert all(s.depends_on == () for s in searches)  # independent: they run concurrently
    assert searches[1].input["query"] == "Orvane Systems employees"
    (calc,) = [s for s in plan.steps if s.tool == "calculator"]  # the wording fixes the operation
    assert calc.input == {"expression": "abs(a - b)", "variables": {"a": {"$ref": "s6.value"},
                                                                   "b": {"$ref": "s7.value"}}}
    assert calc.depends_on == ("s6", "s7")


def test_when_the_wording_does_not_fix_the_operation_the_model_writes_it_in_samples() -> None:
    plan = plan_for("What is the average headcount of Orvane Systems and Kestrel Biotech?", knowledge=True)
    programs = [s for s in plan.steps if s.tool == "program"]
    assert len(programs) == 3 and programs[0].input["inputs"]["a"] == {"$ref": "s6.value"}
    assert programs[0].input["described"]["a"] == "average headcount of Orvane Systems"
    assert plan_for("How many employees do Orvane Systems and Kestrel Biotech have in total?",
                    knowledge=True).steps[-1].input["expression"] == "a + b"


def test_an_open_question_with_documents_is_synthesized_from_all_sources() -> None:
    plan = plan_for("Which company makes the Lumen-7 sensor?", knowledge=True)
    synth = [s for s in plan.steps if s.tool == "synthesize"]
    assert len(synth) == 3 and set(synth[0].depends_on) == {"s1", "s2"}
    assert synth[0].input["passage_sets"] == [{"$ref": "s1.passages"}]


def test_every_rules_plan_is_a_valid_dag() -> None:
    names = {"search", "graph_lookup", "graph_path", "calculator", "dates", "formulate", "program", "extract_value",
             "model", "synthesize", "verify"}
    for question in ("What is 2+2?", "Who founded Orvane Systems and Kestrel Biotech?", "Why is the sky blue?"):
        plan_for(question, knowledge=True).validate(dict.fromkeys(names))


def test_invalid_plans_are_refused() -> None:
    plan = Plan()
    plan.add("search", {"query": "x"}, after=("s2",))
    plan.add("search", {"query": "y"}, after=("s1",))
    with pytest.raises(PlanInvalid, match="cycle"):
        plan.validate({"search": None})
    with pytest.raises(PlanInvalid, match="unknown tool 'search'"):
        plan.validate({})
    lonely = Plan()
    lonely.add("search", {}, after=("s9",))
    with pytest.raises(PlanInvalid, match="unknown step"):
        lonely.validate({"search": None})


def test_references_resolve_to_dependency_outputs() -> None:
    outputs = {"s1": {"passages": [{"text": "a"}]}, "s2": {"value": "7"}}
    value = {"expression": "a*2", "variables": {"a": {"$ref": "s2.value"}}, "p": [{"$ref": "s1.passages"}]}
    assert resolve(value, outputs) == {"expression": "a*2", "variables": {"a": "7"}, "p": [[{"text": "a"}]]}


def test_two_named_things_are_also_connected_through_the_graph() -> None:
    plan = plan_for("How is Marta Kowalski related to Brightwater Analytics?", knowledge=True)
    path = next(s for s in plan.steps if s.tool == "graph_path")
    assert path.input == {"source": "Marta Kowalski", "target": "Brightwater Analytics"}
    synth = next(s for s in plan.steps if s.tool == "synthesize")
    assert path.id in synth.depends_on and {"$ref": f"{path.id}.facts"} in synth.input["fact_sets"]


def test_which_of_two_has_more_is_a_comparison_that_answers_with_a_name() -> None:
    plan = plan_for("Which company has more employees, Orvane Systems or Kestrel Biotech?", knowledge=True)
    compare = plan.steps[-1]
    assert compare.tool == "compare" and compare.input["pick"] == "max"
    assert compare.input["values"] == {"Orvane Systems": {"$ref": "s6.value"}, "Kestrel Biotech": {"$ref": "s7.value"}}
    older = plan_for("Which is older, Orvane Systems or Kestrel Biotech?", knowledge=True)
    assert older.steps[-1].input["pick"] == "min"  # the earlier founding year
    assert "founding year" in older.steps[5].input["target"]


def test_a_number_is_read_from_the_table_row_that_names_what_the_question_asks_about() -> None:
    from sutazai.reasoning.tools.modeltools import relevant_sentences, units

    text = ("Offices of the group.\n\n| Office | City | Floor area (m2) | Staff | Opened |\n|---|---|---|---|---|\n"
            "| Head office | Oslo | 4,200 | 310 | 2009 |\n| Rotterdam office | Rotterdam | 3,600 | 95 | 2019 |\n\n"
            "The Hamburg office is planned for 2028.")
    rows = [u for u in units(text) if u.startswith("|")]
    header = "| Office | City | Floor area (m2) | Staff | Opened |\n"
    assert rows == [f"{header}| Head office | Oslo | 4,200 | 310 | 2009 |",
                    f"{header}| Rotterdam office | Rotterdam | 3,600 | 95 | 2019 |"]
    passages = [Passage(chunk_id="c", document_id="d", source="offices.md", text=text, score=1.0)]
    assert relevant_sentences("the floor area of the Rotterdam office", passages) == [rows[1]]
    # no row names Hamburg: no row's number is a candidate (the Oslo row's 4,200 is not its area)
    assert all("4,200" not in s and "3,600" not in s
               for s in relevant_sentences("What is the floor area of the Hamburg office?", passages))


def test_a_sum_over_the_rows_of_a_table_in_the_passages_is_read_from_the_table() -> None:
    question = "What is the combined budget of the two Port Services projects in thousand EUR?"
    request = PlanRequest(question=question, has_knowledge=True, samples=3, temperature=0.0,
                          sample_temperature=0.7, seed=0)
    table = ("| Project | Division | Budget (k EUR) |\n|---|---|---|\n| Crane Retrofit | Port Services | 2,450 |\n"
             "| Route Planner | Logistics | 1,750 |\n| Dock Mesh | Port Services | 980 |")
    plan = settled(rules_plan(request), request, [Passage(chunk_id="c", document_id="d", source="projects.md",
                                                          text=table, score=1.0)])
    assert plan.strategy == "table" and "read_table" in tools(plan)
    # a change over time is still no cell of a table: 'after the increase' is computed, not read
    later = "What will the Crane Retrofit budget be after the increase, in thousand EUR?"
    later_request = PlanRequest(question=later, has_knowledge=True, samples=3, temperature=0.0,
                                sample_temperature=0.7, seed=0)
    assert settled(rules_plan(later_request), later_request, [Passage(
        chunk_id="c", document_id="d", source="projects.md", text=table, score=1.0)]).strategy != "table"


@pytest.mark.parametrize(("question", "quantity"), [
    ("What is the budget of the Quay Wall Renewal project?", True),
    ("What was Offshore Energy's revenue in 2024?", True),
    ("What is the floor area of the Hamburg office?", True),
    ("What is the rate limit policy for the API?", False),  # 'rate' is not the head noun
    ("What is the deadline of the Quay Wall Renewal project?", False),  # a date, not an amount
    ("Why did the budget of the project grow?", False),
])
def test_a_measure_asked_by_its_name_is_a_quantity(question: str, quantity: bool) -> None:
    assert asks_quantity(question) is quantity


def test_a_name_no_passage_mentions_is_not_answered_from_a_neighbours_row() -> None:
    table = ("| Project | Division | Budget (k EUR) |\n|---|---|---|\n| Crane Retrofit | Port Services | 2,450 |\n"
             "| Route Planner | Logistics | 1,750 |")
    passages = [Passage(chunk_id="c", document_id="d", source="projects.md", text=table, score=1.0)]
    for question in ("What is the budget of the Quay Wall Renewal project?",
                     "What is the deadline of the Quay Wall Renewal project?"):
        request = PlanRequest(question=question, has_knowledge=True, samples=3, temperature=0.0,
                              sample_temperature=0.7, seed=0)
        plan = settled(rules_plan(request), request, passages)
        assert plan.strategy == "not_stated", question
        outcome = plan.reader.read({}) if plan.reader else None
        assert outcome is not None and outcome.failure is not None and "Quay Wall Renewal" in outcome.failure
        assert outcome.failure.startswith("the documents do not state")
    # a named row, a month and a capitalised first word are not 'unmentioned'
    assert unmentioned("What is the budget of the Route Planner project?", passages) is None
    assert unmentioned("Summarise the budgets of the projects in December.", passages) is None
    # of two names one mentioned is enough to read on
    assert unmentioned("Which has the larger budget, Route Planner or Quay Wall?", passages) is None


def test_a_question_naming_a_registered_tool_is_planned_as_a_call_with_the_arguments_it_states() -> None:
    from sutazai.reasoning.planning import chosen_tool, tool_arguments, tool_plan
    from sutazai.reasoning.tools.external import ExternalTool

    schema = {"type": "object", "required": ["ticket"], "properties": {
        "ticket": {"type": "string", "pattern": "^TCK-\\d+$"}, "priority": {"enum": ["low", "high"]},
        "limit": {"type": "integer"}}}
    status = ExternalTool(server="helpdesk", name="ticket_status", description="a ticket's status", schema=schema)
    other = ExternalTool(server="wiki", name="ticket_status", description="", schema=schema)
    assert chosen_tool("Use the ticket status tool for TCK-1042", [status]) is status
    assert chosen_tool("Ask wiki/ticket_status about TCK-7", [status, other]) is other  # the server named wins
    assert chosen_tool("What is the status of my ticket?", [status]) is None  # the tool is not named
    assert tool_arguments("Ticket TCK-1042, high priority, show 5", schema) == {
        "ticket": "TCK-1042", "priority": "high", "limit": 5}
    assert tool_arguments("any ticket", schema) == {}  # left to the model, under the schema
    plan = tool_plan(PlanRequest(question="Use ticket status for TCK-9", has_knowledge=True, samples=2,
                                 temperature=0.0, sample_temperature=0.7, seed=0), status)
    assert plan.strategy == "tool" and tools(plan) == ["mcp_call", "synthesize", "synthesize"]
    assert plan.steps[0].input["arguments"] == {"ticket": "TCK-9"}

"""Tables read as tables: a cell by row and column, rows chosen by name, list membership or a
number inside their range, superlatives over every row, and no guess when nothing singles out
one cell."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sutazai.reasoning.tables import answer_from_tables, condition, read_cell
from sutazai.reasoning.tools.knowledge import Passage
from sutazai.reasoning.tools.table import passage_tables

LEAVE = """## Annual leave

Employees earn leave by completed years of service.

| Years of service | Annual leave (working days) |
|---|---|
| Less than 2 years | 24 |
| 2 to 4 years | 26 |
| 5 to 9 years | 28 |
| 10 years or more | 30 |

Unused leave lapses on 31 March.
"""
REVENUE = """Division | Q1 2026 | Q2 2026 | Q3 2026
Port Services | 38.2 | 40.1 | 41.0
Marine Engineering | 22.5 | 21.9 | 19.4
Logistics | 55.0 | 57.3 | 60.2"""
TIERS = "Tier\tCities\tDaily allowance (EUR)\nTier A\tLondon, Paris, Zurich\t95\nTier B\tHamburg, Rotterdam, " \
        "Antwerp\t80\nTier C\tall other cities\t60"
APPROVALS = """Amount                              Approver
up to 2,500 EUR                     Team lead
from 2,500 EUR up to 10,000 EUR     Department head
over 10,000 EUR                     Chief Financial Officer"""


HEADINGS = {REVENUE: "Quarterly report > Revenue by division (million EUR)", TIERS: "Travel > Allowances",
            APPROVALS: "Purchasing > Approval thresholds"}


def read(question: str, *texts: str) -> tuple[str, str] | None:
    passages = [Passage(chunk_id=f"c{i}", document_id=f"d{i}", source=f"doc{i}", score=1.0, text=text,
                        heading=HEADINGS.get(text)) for i, text in enumerate(texts)]
    cell = read_cell(question, passage_tables(passages))
    return (cell.answer, cell.how) if cell else None


@pytest.mark.parametrize(("question", "answer", "how"), [
    ("How many days of annual leave does an employee with 6 years of service get?", "28", "6 falls in"),
    ("How much annual leave after 12 years of service?", "30", "12 falls in"),
    ("How many leave days for someone with 1 year of service?", "24", "1 falls in"),
    ("What was Port Services' revenue in the third quarter of 2026?", "41.0", "named"),
    ("What was Marine Engineering's revenue in Q1 2026?", "22.5", "named"),
    ("What is the daily allowance for a trip to Rotterdam?", "80", "listed"),
    ("Which tier is Antwerp in?", "Tier B", "listed"),
    ("Who must approve a purchase of 3,000 EUR?", "Department head", "3000 falls in"),
    ("Who approves a purchase of 12,000 EUR?", "Chief Financial Officer", "12000 falls in"),
    ("Which division had the highest revenue in Q2 2026?", "Logistics", "the largest Q2 2026 of 3 rows"),
    ("Which division had the lowest revenue in Q3 2026?", "Marine Engineering", "the smallest Q3 2026"),
    ("What was Marine Engineering's operating margin in Q3 2026?", None, None),  # no table names margins
    ("What was the largest Q1 2026 revenue of any division?", "55.0", "the largest"),
])
def test_a_cell_is_read_by_row_and_column(question: str, answer: str | None, how: str | None) -> None:
    found = read(question, LEAVE, REVENUE, TIERS, APPROVALS)
    if answer is None:
        assert found is None
        return
    assert found is not None and found[0] == answer and found[1].startswith(str(how))


@pytest.mark.parametrize("question", [
    "What is the capital of France?",  # no table is about it
    "What was Port Services' revenue?",  # the row, but not which quarter
    "Who approves a purchase of exactly 2,500 EUR?",  # two rows' ranges hold it: no guess
    "How many days of leave does a new employee get in 2026?",  # a year is not years of service
])
def test_no_cell_is_read_when_the_question_does_not_single_one_out(question: str) -> None:
    assert read(question, LEAVE, REVENUE, TIERS, APPROVALS) is None


@pytest.mark.parametrize(("label", "rule"), [
    ("5 to 9 years", (Decimal(5), Decimal(9), True)),
    ("10 years or more", (Decimal(10), None, True)),
    ("under 2,500 EUR", (None, Decimal(2500), False)),
    ("from 2,500 EUR up to 10,000 EUR", (Decimal(2500), Decimal(10000), True)),
    ("Less than 2 years", (None, Decimal(2), False)),
    ("< 5", (None, Decimal(5), False)),
    ("Port Services", None),
])
def test_row_conditions_are_read_as_ranges(label: str, rule: object) -> None:
    assert condition(label) == rule


def test_a_long_table_cut_into_chunks_is_joined_again_with_its_header() -> None:
    header = "| Project | Division | Budget (k EUR) |"
    first = Passage(chunk_id="c1", document_id="d1", source="projects.md", score=1.0, heading="Projects",
                    text=f"{header}\n|---|---|---|\n| Harbour Crane Retrofit | Port Services | 2,450 |\n"
                         "| Dock Sensor Mesh | Port Services | 980 |")
    second = Passage(chunk_id="c2", document_id="d1", source="projects.md", score=0.9,
                     heading=f"Projects > {header}",
                     text="| Hull Coating Study | Marine Engineering | 3,120 |\n| Route Planner 2 | Logistics | 1,75"
                          "0 |")
    (table,) = passage_tables([second, first])
    assert table.header == ("Project", "Division", "Budget (k EUR)") and len(table.rows) == 4
    cell = read_cell("Which project has the largest budget?", [table])
    assert cell is not None and cell.answer == "Hull Coating Study" and cell.ranking[0] == "Hull Coating Study 3,120"


ORG = "Division | Head | Main office\nPort Services | Ingrid Solberg | Bergen\nLogistics | Amira Haddad | Rotterdam"
PROJECTS = ("Project | Division | Budget (k EUR)\nCrane Retrofit | Port Services | 2,450\nRoute Planner | Logistics | "
            "1,750\nDock Mesh | Port Services | 1,750")


@pytest.mark.parametrize(("question", "answer"), [
    ("Who heads the division that owns the Crane Retrofit project?", "Ingrid Solberg"),
    ("In which city does the division that runs the Route Planner project have its main office?", "Rotterdam"),
    ("In which city is the main office of the division with the highest Q3 2026 revenue?", "Rotterdam"),
    ("What was the Q3 2026 revenue of the division headed by Ingrid Solberg?", "41.0"),
    ("Which division owns the project with the largest budget?", "Port Services"),
    ("Who heads the division that owns the Hull Study project?", None),  # no such project: no guess
])
def test_a_question_that_names_a_row_by_another_table_is_read_through_both(question: str, answer: str | None) -> None:
    passages = [Passage(chunk_id=f"c{i}", document_id=f"d{i}", source=f"doc{i}", score=1.0, text=text,
                        heading=HEADINGS.get(text)) for i, text in enumerate((ORG, PROJECTS, REVENUE))]
    cell = answer_from_tables(question, passage_tables(passages))
    assert (cell.answer if cell else None) == answer


OFFICES = ("Office | City | Floor area (m2) | Staff\nHead office | Oslo | 4,200 | 310\n"
           "Bergen office | Bergen | 2,900 | 240\nRotterdam office | Rotterdam | 3,600 | 290")


@pytest.mark.parametrize(("question", "answer"), [
    ("What is the combined budget of the two Port Services projects in thousand EUR?", "4200"),
    ("What is the average budget of the Port Services projects?", "2100"),
    ("How many more square metres does the head office have than the Rotterdam office?", "600"),
    ("What is the total staff of the Bergen office and the Rotterdam office?", "530"),
    ("What is the combined budget of the three Port Services projects?", None),  # there are two: no guess
    ("How many more staff does the head office have than the Bergen office and the Rotterdam office?", None),
])
def test_a_sum_an_average_or_a_difference_is_read_over_the_rows_the_question_names(question: str,
                                                                                   answer: str | None) -> None:
    passages = [Passage(chunk_id=f"c{i}", document_id=f"d{i}", source=f"doc{i}", score=1.0, text=text)
                for i, text in enumerate((PROJECTS, OFFICES))]
    cell = answer_from_tables(question, passage_tables(passages))
    assert (cell.answer if cell else None) == answer, cell
    if cell is not None:  # every value summed is shown with its row
        assert len(cell.ranking) >= 2 and cell.how.startswith(("the sum", "the average", "the difference"))


DATED = ("| Project | Division | Budget (k EUR) | Start | Deadline |\n|---|---|---|---|---|\n"
         "| Harbour Crane Retrofit | Port Services | 2,450 | 2025-03-01 | 2026-12-31 |\n"
         "| Route Planner 2 | Logistics | 1,750 | 2025-10-01 | 2026-09-30 |\n"
         "| Fleet Telematics | Logistics | 2,200 | 2026-02-09 | 2027-01-29 |")


@pytest.mark.parametrize(("question", "answer"), [
    ("What is the budget of the Logistics project that started in 2025, in thousand EUR?", "1,750"),
    ("What is the budget of the Logistics project whose deadline is in 2027?", "2,200"),
    # the year is matched in the column the question names (Start), not in another date column
    ("What is the deadline of the Logistics project that started in 2026?", "2027-01-29"),
    ("What is the budget of the Logistics project that started in 2024?", None),  # no row meets it: no guess
    ("What is the budget of the Logistics project?", None),  # two rows: no guess
])
def test_a_clause_that_narrows_the_named_rows_picks_the_one_row_meeting_it(question: str, answer: str | None) -> None:
    passages = [Passage(chunk_id="c", document_id="d", source="projects.md", score=1.0, text=DATED)]
    cell = answer_from_tables(question, passage_tables(passages))
    assert (cell.answer if cell else None) == answer, cell
    if cell is not None:
        assert "Logistics" in cell.how

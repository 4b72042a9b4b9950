"""Reading a cell of a table found in the retrieved passages, by row and column (see
`sutazai.reasoning.tables`). No model is asked: the cell is read, so it is cited exactly."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, Field

from sutazai.reasoning.tables import Table, answer_from_tables, cells_of, tables_in
from sutazai.reasoning.tools.base import ToolContext, ToolFailed, expect
from sutazai.reasoning.tools.knowledge import Passage


class ReadTableInput(BaseModel):
    question: str = Field(min_length=1, max_length=4000)
    passages: list[Passage] = Field(default_factory=list, max_length=40)


class ReadTableOutput(BaseModel):
    answer: str = Field(description="the row's name for 'which' questions, else the cell")
    value: str = Field(description="the cell read")
    column: str
    row: list[str]
    row_label: str
    how: str = Field(description="how the row was chosen (named, listed, a number inside its range, a ranking)")
    ranking: list[str] = Field(default_factory=list, description="every row by the column, for superlatives")
    header: list[str]
    chunk_id: str | None
    document_id: str | None
    source: str | None


def passage_tables(passages: list[Passage]) -> list[Table]:
    """The tables in the passages; a table cut into several chunks of one document is joined
    again (the chunks of a long table carry its header line in their heading)."""
    joined: dict[tuple[str, tuple[str, ...]], Table] = {}
    for passage in passages:
        header = _header_of(passage.heading)
        for table in tables_in(passage.text, header=header):
            key = (passage.document_id, table.header)
            before = joined.get(key)
            rows = table.rows if before is None else before.rows + tuple(r for r in table.rows if r not in before.rows)
            first = before or table
            joined[key] = Table(header=table.header, rows=rows, chunk_id=first.chunk_id or passage.chunk_id,
                                document_id=passage.document_id, source=passage.source,
                                context=first.context or (passage.heading or ""))
    return list(joined.values())


def _header_of(heading: str | None) -> tuple[str, ...] | None:
    if not heading or "|" not in heading:
        return None
    cells = cells_of(heading.rsplit("\n", 1)[-1].split(" > ")[-1])
    return tuple(cells) if cells else None


class ReadTable:
    name: ClassVar[str] = "read_table"
    kind: ClassVar[str] = "compute"
    description: ClassVar[str] = ("read one cell of a table in the passages by row and column (a row named, "
                                  "listed, or whose range holds a number of the question; or the top row of a "
                                  "ranking for 'largest'/'smallest')")
    input_model: ClassVar[type[BaseModel]] = ReadTableInput
    output_model: ClassVar[type[BaseModel]] = ReadTableOutput

    async def run(self, data: Any, ctx: ToolContext) -> BaseModel:  # noqa: ARG002
        data = expect(data, ReadTableInput)
        cell = answer_from_tables(data.question, passage_tables(data.passages))
        if cell is None:
            raise ToolFailed("no table in the passages singles out one row and one column for the question")
        table = cell.table
        return ReadTableOutput(answer=cell.answer, value=cell.value, column=cell.column, row=list(cell.row),
                               row_label=cell.row_label, how=cell.how, ranking=cell.ranking,
                               header=list(table.header), chunk_id=table.chunk_id, document_id=table.document_id,
                               source=table.source)

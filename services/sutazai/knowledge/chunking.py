"""Structure-following chunking: chunks never cross a heading or a page, group whole
paragraphs up to a size, and split an over-long paragraph only at sentence (or word)
boundaries. Each chunk is an exact span [start, end) of the canonical text.

A table (lines of cells separated by pipes or tabs) is a chunk of its own, whole up to
TABLE_MAX_CHARS so that a question over every row reads every row; a longer one is cut between
rows, and each later piece carries the table's header line in its heading, so that every row
is read with its columns' names."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sutazai.knowledge.parsing import Block, ParsedDocument, trimmed

_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+")
_SEPARATOR_ROW = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
TABLE_MAX_CHARS = 3000


def _table_line(line: str) -> bool:
    stripped = line.strip()
    return stripped.count("|") >= 1 and len([c for c in stripped.strip("|").split("|")]) >= 2 \
        or len([c for c in stripped.split("\t") if c.strip()]) >= 2


def _with_tables(text: str, block: Block) -> list[Block]:
    """The block cut where its lines turn from prose to a table (two or more table lines) and back."""
    lines, offset = text[block.start:block.end].splitlines(keepends=True), block.start
    runs: list[tuple[str, int, int]] = []
    for line in lines:
        kind = "table" if _table_line(line) else "paragraph"
        if runs and runs[-1][0] == kind:
            runs[-1] = (kind, runs[-1][1], offset + len(line))
        else:
            runs.append((kind, offset, offset + len(line)))
        offset += len(line)
    out: list[Block] = []
    for kind, start, end in runs:
        lines_in = text[start:end].count("\n") + (0 if text[start:end].endswith("\n") else 1)
        kind = kind if kind == "paragraph" or lines_in >= 2 else "paragraph"
        span = trimmed(text, start, end)
        if span:
            if out and out[-1].kind == kind == "paragraph":
                out[-1] = Block("paragraph", out[-1].start, span[1], page=block.page)
            else:
                out.append(Block(kind, *span, page=block.page))
    return out


def _table_pieces(text: str, block: Block, heading: str | None) -> list[tuple[int, int, str | None]]:
    """A table whole, or cut between rows into pieces of at most TABLE_MAX_CHARS; every piece after
    the first has the header line in its heading."""
    if block.end - block.start <= TABLE_MAX_CHARS:
        return [(block.start, block.end, heading)]
    header = text[block.start:block.end].splitlines()[0].strip()
    cuts: list[tuple[int, int]] = []
    start = cursor = block.start
    for line in text[block.start:block.end].splitlines(keepends=True):
        if cursor + len(line) - start > TABLE_MAX_CHARS and cursor > start:
            cuts.append((start, cursor))
            start = cursor
        cursor += len(line)
    cuts.append((start, block.end))
    later = " > ".join(p for p in (heading, header) if p)
    spans = [trimmed(text, s, e) for s, e in cuts]
    return [(*span, heading if i == 0 else later) for i, span in enumerate(spans) if span]


@dataclass(frozen=True)
class Chunk:
    ordinal: int
    start: int
    end: int
    text: str
    heading: str | None
    page: int | None


def chunk_document(doc: ParsedDocument, *, max_chars: int = 1200) -> list[Chunk]:
    """Split `doc` into chunks of at most `max_chars` characters (a single word longer than
    that is the only exception)."""
    spans: list[tuple[int, int, str | None, int | None]] = []
    headings: dict[int, str] = {}
    group: list[Block] = []

    def heading_path() -> str | None:
        return " > ".join(headings[level] for level in sorted(headings)) or None

    def flush() -> None:
        if group:
            spans.append((group[0].start, group[-1].end, heading_path(), group[0].page))
            group.clear()

    blocks = [piece for block in doc.blocks
              for piece in (_with_tables(doc.text, block) if block.kind == "paragraph" else [block])]
    for block in blocks:
        if block.kind == "heading":
            flush()
            headings = {lvl: h for lvl, h in headings.items() if lvl < block.level}
            headings[block.level] = doc.text[block.start:block.end]
            continue
        if block.kind == "table":
            flush()
            spans.extend((s, e, h, block.page) for s, e, h in _table_pieces(doc.text, block, heading_path()))
            continue
        size = block.end - block.start
        if size > max_chars:
            flush()
            spans.extend((s, e, heading_path(), block.page) for s, e in _split(doc.text, block, max_chars))
            continue
        if group and (block.end - group[0].start > max_chars or block.page != group[0].page):
            flush()
        group.append(block)
    flush()
    return [Chunk(i, s, e, doc.text[s:e], h, p) for i, (s, e, h, p) in enumerate(spans)]


def _split(text: str, block: Block, max_chars: int) -> list[tuple[int, int]]:
    """Pieces of an over-long block, cut after sentences, else at whitespace, else hard."""
    pieces, start = [], block.start
    while block.end - start > max_chars:
        window_end = start + max_chars
        cut = None
        for match in _SENTENCE_END.finditer(text, start, window_end):
            cut = match
        if cut is None or cut.start() <= start:
            space = text.rfind(" ", start, window_end)
            cut_at, next_start = (space, space + 1) if space > start else (window_end, window_end)
        else:
            cut_at, next_start = cut.start(), cut.end()
        pieces.append((start, cut_at))
        start = next_start
    if block.end > start:
        pieces.append((start, block.end))
    return [(s, e) for s, e in pieces if e > s]

"""Structure-following chunking: chunks never cross a heading or a page, group whole
paragraphs up to a size, and split an over-long paragraph only at sentence (or word)
boundaries. Each chunk is an exact span [start, end) of the canonical text."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sutazai.knowledge.parsing import Block, ParsedDocument

_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+")


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

    for block in doc.blocks:
        if block.kind == "heading":
            flush()
            headings = {lvl: h for lvl, h in headings.items() if lvl < block.level}
            headings[block.level] = doc.text[block.start:block.end]
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

"""Parsing and chunking: every chunk is an exact span of the canonical text, chunks follow
headings and pages, and bad input is refused with a reason."""

import json

import pytest

from sutazai.knowledge.chunking import chunk_document
from sutazai.knowledge.parsing import UnreadableDocument, UnsupportedType, media_type_for, parse

MARKDOWN = b"""# Handbook

Intro paragraph about the company.

## Leave

Employees get 25 days of paid leave per year.

Unused days expire in March.

## Travel

Book trains for trips under 500 km.
"""


def pdf_bytes(pages: list[str]) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 6, text)
    return bytes(pdf.output())


def test_markdown_chunks_follow_headings_and_point_at_exact_text() -> None:
    doc = parse(MARKDOWN, "text/markdown")
    chunks = chunk_document(doc, max_chars=400)
    assert [c.heading for c in chunks] == ["Handbook", "Handbook > Leave", "Handbook > Travel"]
    assert chunks[1].text == "Employees get 25 days of paid leave per year.\n\nUnused days expire in March."
    for chunk in chunks:
        assert MARKDOWN.decode()[chunk.start:chunk.end] == chunk.text
    assert doc.title == "Handbook"


def test_long_paragraphs_split_at_sentences_within_the_limit() -> None:
    sentence = "The quick brown fox jumps over the lazy dog. "
    doc = parse((sentence * 60).encode(), "text/plain")
    chunks = chunk_document(doc, max_chars=300)
    assert len(chunks) > 5
    assert all(len(c.text) <= 300 for c in chunks)
    assert all(c.text.endswith("dog.") for c in chunks)
    assert all(doc.text[c.start:c.end] == c.text for c in chunks)


def test_pdf_chunks_carry_their_page() -> None:
    doc = parse(pdf_bytes(["First page about llamas.", "Second page about alpacas."]), "application/pdf")
    chunks = chunk_document(doc)
    assert [(c.page, "llamas" in c.text, "alpacas" in c.text) for c in chunks] == [(1, True, False), (2, False, True)]


def test_html_keeps_headings_and_drops_scripts() -> None:
    html = b"<html><head><title>T</title><script>evil()</script></head><body><h1>Guide</h1>" \
           b"<p>Alpha <b>beta</b> gamma.</p><ul><li>One</li><li>Two</li></ul></body></html>"
    doc = parse(html, "text/html")
    assert "evil" not in doc.text and doc.title == "T"
    chunks = chunk_document(doc)
    assert chunks[0].heading == "Guide" and chunks[0].text == "Alpha beta gamma.\n\nOne\n\nTwo"


def test_json_is_flattened_to_paths() -> None:
    doc = parse(json.dumps({"team": {"lead": "Ada", "members": ["Bob", "Cy"]}}).encode(), "application/json")
    assert doc.text.splitlines()[0] == "team / lead: Ada"
    assert "team / members[1]: Cy" in doc.text


@pytest.mark.parametrize(("content", "media", "fragment"), [
    (b"", "text/plain", "empty"),
    (b"   \n\n  ", "text/markdown", "empty"),
    (b"\x00\x01\x02binary", "text/plain", "binary"),
    (b"\xff\xfe\xfa", "text/plain", "UTF-8"),
    (b"%PDF-1.4\n this is not really a pdf", "application/pdf", "malformed"),
    (b"hello", "application/pdf", "not a PDF"),
    (b"{not json", "application/json", "malformed"),
])
def test_bad_documents_are_refused_with_a_reason(content: bytes, media: str, fragment: str) -> None:
    with pytest.raises(UnreadableDocument, match=fragment):
        parse(content, media)


def test_media_types_and_unknown_types() -> None:
    assert media_type_for("notes.MD", None) == "text/markdown"
    assert media_type_for(None, "text/html; charset=utf-8") == "text/html"
    with pytest.raises(UnsupportedType, match="supported: .htm"):
        media_type_for("archive.zip", "application/zip")


def test_blank_pdf_has_no_extractable_text() -> None:
    with pytest.raises(UnreadableDocument, match="no extractable text"):
        parse(pdf_bytes([" "]), "application/pdf")




TABLE_MD = b"""# Leave policy

Employees earn leave by completed years of service:
| Years of service | Annual leave (working days) |
|---|---|
| Less than 2 years | 24 |
| 5 to 9 years | 28 |

Unused leave lapses on 31 March.
"""


def test_a_table_is_a_chunk_of_its_own_with_every_row() -> None:
    doc = parse(TABLE_MD, "text/markdown")
    chunks = chunk_document(doc, max_chars=1200)
    texts = [c.text for c in chunks]
    assert texts == ["Employees earn leave by completed years of service:",
                     "| Years of service | Annual leave (working days) |\n|---|---|\n| Less than 2 years | 24 |\n"
                     "| 5 to 9 years | 28 |",
                     "Unused leave lapses on 31 March."]
    assert all(TABLE_MD.decode()[c.start:c.end] == c.text for c in chunks)


def test_a_long_table_is_cut_between_rows_and_each_piece_names_the_columns() -> None:
    rows = "\n".join(f"| Project {i:03d} | Division {i % 4} | {1000 + i} |" for i in range(200))
    text = f"# Projects\n\n| Project | Division | Budget |\n|---|---|---|\n{rows}\n".encode()
    chunks = chunk_document(parse(text, "text/markdown"), max_chars=1200)
    assert len(chunks) > 2 and all(len(c.text) <= 3000 for c in chunks)
    assert chunks[0].heading == "Projects" and chunks[0].text.startswith("| Project | Division | Budget |")
    assert all(c.heading == "Projects > | Project | Division | Budget |" for c in chunks[1:])
    assert all(line.startswith(("| Project ", "|---")) for c in chunks for line in c.text.splitlines())  # whole rows
    assert sum(c.text.count("\n") + 1 for c in chunks) == 202


def test_an_html_table_keeps_its_rows_and_columns() -> None:
    html = (b"<html><body><h1>Travel</h1><p>Daily allowances by city tier.</p><table><caption>Allowances"
            b"</caption><tr><th>Tier</th><th>Cities</th><th>EUR</th></tr><tr><td>Tier A</td><td>London, Paris"
            b"</td><td>95</td></tr><tr><td>Tier B</td><td>Hamburg, Rotterdam</td><td>80</td></tr></table>"
            b"</body></html>")
    doc = parse(html, "text/html")
    assert "Tier | Cities | EUR\nTier A | London, Paris | 95\nTier B | Hamburg, Rotterdam | 80" in doc.text
    chunks = chunk_document(doc)
    assert any(c.text.endswith("Tier B | Hamburg, Rotterdam | 80") for c in chunks)

"""Documents to canonical text plus structure (headings, paragraphs, pages), with character
offsets into that text, so every chunk and citation points at exact text.

For .txt and .md the canonical text is the source itself; for .html, .pdf and .json it is the
extracted text, stored alongside the original bytes. A PDF page without a text layer (a scan) and
an image (PNG, JPEG, TIFF; each frame of a TIFF a page) are read by OCR (Debian's Tesseract through
pytesseract; a PDF page rendered by PDFium at OCR_DPI), keeping page numbers for citations.
`parse(..., ocr=False)` checks such a file without reading it (the upload's quick check); the
ingestion job reads it."""

from __future__ import annotations

import io
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from sutazai.lib.contracts.knowledge import MEDIA_TYPES
from sutazai.lib.errors import UnsupportedMediaType, ValidationFailed
from sutazai.lib.input_guard import check_text, json_depth

logger = logging.getLogger(__name__)
_BY_MEDIA = {v: v for v in MEDIA_TYPES.values()} | {"text/x-markdown": "text/markdown"}
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n+")
_MD_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$")


class UnsupportedType(UnsupportedMediaType):
    """The file type is not one SutazAI can ingest."""


class UnreadableDocument(ValidationFailed):
    """Empty, binary or malformed content: the document cannot be indexed."""


@dataclass(frozen=True)
class Block:
    """A structural unit of the canonical text: text[start:end]."""

    kind: str  # "heading" or "paragraph"
    start: int
    end: int
    level: int = 0
    page: int | None = None


@dataclass
class ParsedDocument:
    text: str
    media_type: str
    title: str | None = None
    blocks: list[Block] = field(default_factory=list)
    ocr_pages: list[int] = field(default_factory=list)
    """the pages read by OCR (or, parsed with ocr=False, that OCR would read)"""


OCR_DPI = 300
"""Resolution a scanned PDF page is rendered at for OCR (Tesseract reads best at about 300 dpi)."""
OCR_LANGUAGES = "eng"
OCR_MIN_TEXT = 16
"""A PDF page whose text layer holds fewer characters than this is read by OCR."""
MAX_IMAGE_PIXELS = 60_000_000
"""The largest image (or rendered page) read, in pixels: a decompression bomb is refused."""
IMAGE_TYPES = ("image/png", "image/jpeg", "image/tiff")


def ocr_available() -> bool:
    """Whether Tesseract is installed (the `tesseract` program on PATH)."""
    import shutil

    return shutil.which("tesseract") is not None


NO_TESSERACT = ("reading scanned pages and images needs Tesseract OCR, which is not installed on the knowledge "
                "service: install Debian's tesseract-ocr and tesseract-ocr-eng (the Compose images have them)")


def media_type_for(filename: str | None, declared: str | None) -> str:
    """The supported media type of an upload, from its extension or declared type."""
    suffix = PurePath(filename or "").suffix.lower()
    if suffix in MEDIA_TYPES:
        return MEDIA_TYPES[suffix]
    base = (declared or "").split(";")[0].strip().lower()
    if base in _BY_MEDIA:
        return _BY_MEDIA[base]
    supported = ", ".join(sorted(set(MEDIA_TYPES)))
    raise UnsupportedType(
        f"cannot ingest {filename or 'this upload'!r} ({base or 'no type'}); supported: {supported}"
    )


def parse(content: bytes, media_type: str, *, ocr: bool = True) -> ParsedDocument:
    """Parse bytes of a supported type; raise UnreadableDocument saying what is wrong. With
    `ocr=False` a scan or an image is checked (it opens, Tesseract is there) but not read."""
    if not content.strip():
        raise UnreadableDocument("the document is empty")
    if media_type == "application/pdf":
        parsed = _parse_pdf(content, ocr=ocr)
    elif media_type in IMAGE_TYPES:
        parsed = _parse_image(content, media_type, ocr=ocr)
    else:
        parser = {"text/plain": _parse_text, "text/markdown": _parse_markdown, "text/html": _parse_html,
                  "application/json": _parse_json}[media_type]
        parsed = parser(content)
    if parsed.ocr_pages and not ocr:
        return parsed  # checked; the ingestion job reads it
    if not parsed.text.strip() or not parsed.blocks:
        raise UnreadableDocument("the document has no extractable text" + (
            " (OCR found no text on its pages)" if parsed.ocr_pages else ""))
    return parsed


def parse_ocr(content: bytes, media_type: str) -> ParsedDocument:
    """`parse` reading scans and images by OCR (a plain function, for the parsing sandbox)."""
    return parse(content, media_type, ocr=True)


def parse_checked(content: bytes, media_type: str) -> ParsedDocument:
    """`parse` checking scans and images without reading them (for the parsing sandbox)."""
    return parse(content, media_type, ocr=False)


def _decode(content: bytes) -> str:
    if b"\x00" in content:
        raise UnreadableDocument("the file looks binary (it contains NUL bytes); upload text, "
                                 "Markdown, HTML, PDF or JSON")
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableDocument(f"the file is not valid UTF-8 text (byte {exc.start}); convert it "
                                 "to UTF-8 first") from exc


def _paragraphs(text: str, start: int, end: int, page: int | None = None) -> list[Block]:
    blocks, cursor = [], start
    for match in [*_PARAGRAPH_BREAK.finditer(text, start, end), None]:
        stop = match.start() if match else end
        block = trimmed(text, cursor, stop)
        if block:
            blocks.append(Block("paragraph", *block, page=page))
        if match:
            cursor = match.end()
    return blocks


def trimmed(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The span [start, end) without the whitespace at its ends; None when nothing is left."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if end > start else None


def _parse_text(content: bytes) -> ParsedDocument:
    text = _decode(content)
    return ParsedDocument(text, "text/plain", None, _paragraphs(text, 0, len(text)))


def _parse_markdown(content: bytes) -> ParsedDocument:
    text = _decode(content)
    blocks: list[Block] = []
    title, body_start, offset, in_fence = None, 0, 0, False
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        if stripped.startswith(("```", "~~~")):
            in_fence = not in_fence
        match = None if in_fence else _MD_HEADING.match(line.rstrip("\n"))
        if match:
            blocks.extend(_paragraphs(text, body_start, offset))
            start = offset + line.index(match.group(2))
            blocks.append(Block("heading", start, start + len(match.group(2)), len(match.group(1))))
            title = title or match.group(2)
            body_start = offset + len(line)
        offset += len(line)
    blocks.extend(_paragraphs(text, body_start, len(text)))
    return ParsedDocument(text, "text/markdown", title, blocks)


_HTML_BLOCKS = ["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "pre", "blockquote", "td", "th",
                "dt", "dd", "figcaption", "caption"]


def _parse_html(content: bytes) -> ParsedDocument:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(_decode(content), "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "svg"]):
        tag.decompose()
    title = soup.title.get_text(" ", strip=True) if soup.title else None
    parts: list[str] = []
    blocks: list[Block] = []
    length = 0
    for element in soup.find_all([*_HTML_BLOCKS, "table"]):
        if element.find_parent([*_HTML_BLOCKS, "table"]):
            continue  # counted with its block ancestor (or its table)
        chunk = _table_text(element) if element.name == "table" else " ".join(element.get_text(" ").split())
        if not chunk:
            continue
        if parts:
            parts.append("\n\n")
            length += 2
        is_heading = element.name in _HTML_BLOCKS[:6]
        blocks.append(Block("heading" if is_heading else "paragraph", length, length + len(chunk),
                            int(element.name[1]) if is_heading else 0))
        parts.append(chunk)
        length += len(chunk)
    if not blocks:  # plain text inside <body> without block tags
        text = " ".join(soup.get_text(" ").split())
        return ParsedDocument(text, "text/html", title, [Block("paragraph", 0, len(text))] if text else [])
    return ParsedDocument("".join(parts), "text/html", title, blocks)


def _table_text(table: Any) -> str:
    """An HTML table as lines of cells separated by ' | ' (the header row first), the form the
    chunker and the table reader know; a caption comes first, on a line of its own."""
    lines = []
    caption = table.find("caption")
    if caption is not None:
        lines.append(" ".join(caption.get_text(" ").split()))
    for row in table.find_all("tr"):
        cells = [" ".join(c.get_text(" ").split()).replace("|", "/") for c in row.find_all(["th", "td"])]
        if any(cells):
            lines.append(" | ".join(cells) if len(cells) > 1 else cells[0])
    return "\n".join(lines)


def _parse_pdf(content: bytes, *, ocr: bool = True) -> ParsedDocument:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    if not content.startswith(b"%PDF-"):
        raise UnreadableDocument("the file is not a PDF (no %PDF- header)")
    try:
        reader = PdfReader(io.BytesIO(content), strict=False)
        if reader.is_encrypted:
            raise UnreadableDocument("the PDF is encrypted; upload an unprotected copy")
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise UnreadableDocument(f"the PDF is malformed: {exc}") from exc
    scanned = [n for n, page_text in enumerate(pages, start=1) if len(page_text.strip()) < OCR_MIN_TEXT]
    if scanned and not ocr_available():
        if len(scanned) == len(pages):
            raise UnreadableDocument(f"the PDF has no text layer (a scan); {NO_TESSERACT}")
        logger.warning("page(s) %s of a PDF have no text layer and are not read: %s", _pages(scanned), NO_TESSERACT)
        scanned = []
    if scanned:
        if ocr:
            read = _ocr_pdf_pages(content, scanned)
            pages = [read.get(n, page_text) for n, page_text in enumerate(pages, start=1)]
    title = reader.metadata.title if reader.metadata and reader.metadata.title else None
    parsed = _paged(pages, "application/pdf", title)
    parsed.ocr_pages = scanned
    return parsed


def _paged(pages: list[str], media_type: str, title: str | None) -> ParsedDocument:
    text, blocks = "", []
    for number, page_text in enumerate(pages, start=1):
        if text:
            text += "\n\n"
        start = len(text)
        text += page_text.replace("\x00", "")
        blocks.extend(_paragraphs(text, start, len(text), page=number))
    return ParsedDocument(text, media_type, title, blocks)


def _pages(numbers: list[int]) -> str:
    shown = ", ".join(map(str, numbers[:10]))
    return shown + (f" and {len(numbers) - 10} more" if len(numbers) > 10 else "")


def _ocr(image: Any) -> str:
    """The text Tesseract reads in a PIL image (page segmentation: automatic)."""
    import pytesseract
    from PIL import ImageFilter

    page = image.convert("L").filter(ImageFilter.MedianFilter(3))  # a scan's speckle is no text
    try:
        return str(pytesseract.image_to_string(page, lang=OCR_LANGUAGES, config="--psm 3"))
    except pytesseract.TesseractNotFoundError as exc:
        raise UnreadableDocument(NO_TESSERACT) from exc
    except pytesseract.TesseractError as exc:
        raise UnreadableDocument(f"OCR could not read a page: {exc.message or exc}") from exc


def _ocr_pdf_pages(content: bytes, numbers: list[int]) -> dict[int, str]:
    """OCR of the given pages (1-based), each rendered at OCR_DPI."""
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(content)
    except pdfium.PdfiumError as exc:
        raise UnreadableDocument(f"the PDF's pages cannot be rendered for OCR: {exc}") from exc
    try:
        read = {}
        for number in numbers:
            page = pdf[number - 1]
            width, height = page.get_size()
            scale = OCR_DPI / 72
            if width * height * scale * scale > MAX_IMAGE_PIXELS:
                scale = (MAX_IMAGE_PIXELS / (width * height)) ** 0.5
            read[number] = _ocr(page.render(scale=scale).to_pil())
        return read
    finally:
        pdf.close()


def _parse_image(content: bytes, media_type: str, *, ocr: bool = True) -> ParsedDocument:
    """An image read by OCR, each frame (of a multi-page TIFF) a page."""
    from PIL import Image, ImageSequence, UnidentifiedImageError

    if not ocr_available():
        raise UnreadableDocument(f"an image is read by OCR; {NO_TESSERACT}")
    try:
        with Image.open(io.BytesIO(content)) as image:
            if image.width * image.height > MAX_IMAGE_PIXELS:  # checked before any pixel is decoded
                raise UnreadableDocument(f"the image is {image.width} x {image.height} pixels; the most read is "
                                         f"{MAX_IMAGE_PIXELS:,} pixels (a page scanned at 300 dpi has about 8.7 "
                                         "million): scan at a lower resolution")
            kind = {"PNG": "image/png", "JPEG": "image/jpeg", "MPO": "image/jpeg", "TIFF": "image/tiff"}.get(
                str(image.format))
            if kind is None:
                raise UnreadableDocument(f"the file is not a PNG, JPEG or TIFF image (it reads as {image.format})")
            frames = [frame.copy() for frame in ImageSequence.Iterator(image)]
            for frame in frames:
                frame.load()  # a truncated or corrupt image fails here, not half-way through OCR
    except UnidentifiedImageError as exc:
        raise UnreadableDocument("the file is not an image that can be read (not a PNG, JPEG or TIFF, or corrupt); "
                                 "upload an intact PNG, JPEG or TIFF") from exc
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise UnreadableDocument(f"the image cannot be read ({exc}); upload an intact PNG, JPEG or TIFF") from exc
    numbers = list(range(1, len(frames) + 1))
    parsed = _paged([_ocr(frame) for frame in frames] if ocr else ["" for _ in frames], media_type, None)
    parsed.ocr_pages = numbers
    return parsed


MAX_JSON_DEPTH = 100
"""How deep an uploaded JSON document may nest (deeper ones are refused before parsing)."""


def _parse_json(content: bytes) -> ParsedDocument:
    depth = json_depth(content)
    if depth > MAX_JSON_DEPTH:
        raise UnreadableDocument(f"the JSON nests {depth} levels deep; at most {MAX_JSON_DEPTH} are indexed")
    try:
        value = json.loads(_decode(content))
    except json.JSONDecodeError as exc:
        raise UnreadableDocument(f"the JSON is malformed: {exc.msg} at line {exc.lineno}") from exc
    lines = _flatten(value)
    for line in lines:
        try:
            check_text("the JSON document", line)
        except ValidationFailed as exc:
            raise UnreadableDocument(exc.detail) from exc
    blocks, offset = [], 0
    for line in lines:
        blocks.append(Block("paragraph", offset, offset + len(line)))
        offset += len(line) + 2
    return ParsedDocument("\n\n".join(lines), "application/json", None, blocks)


def _flatten(value: Any) -> list[str]:
    """One line per scalar, `path / to[0]: value`, in document order (iterative: no recursion)."""
    out: list[str] = []
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, dict):
            stack.extend(reversed([(f"{path} / {key}" if path else str(key), child) for key, child in item.items()]))
        elif isinstance(item, list):
            stack.extend(reversed([(f"{path}[{index}]", child) for index, child in enumerate(item)]))
        elif item is not None and str(item).strip():
            out.append(f"{path}: {item}" if path else str(item))
    return out

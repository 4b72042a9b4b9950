"""Scanned documents are read by OCR (Debian's Tesseract, really run): an image-only PDF, a PNG,
a JPEG and a multi-page TIFF, with their page numbers; a PDF's text pages keep their text layer;
a corrupt or fake image and a scan without Tesseract installed are clear errors."""

from __future__ import annotations

import re

import pytest

from sutazai.knowledge import parsing
from sutazai.knowledge.parsing import UnreadableDocument, parse
from tests.scans import image_file, scanned_pdf, typeset

POLICY = ("Travel policy of Orvane Systems.\nThe kilometre allowance is 0.30 EUR per kilometre.\n"
          "Hotel nights in Oslo are reimbursed up to 180 EUR per night.")
OFFICES = "The Bergen office opened in 2014 and has 140 staff."


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def test_an_image_only_pdf_is_read_by_ocr_page_by_page() -> None:
    scan = scanned_pdf([POLICY, OFFICES])
    checked = parse(scan, "application/pdf", ocr=False)  # the upload's quick check reads nothing
    assert checked.ocr_pages == [1, 2] and checked.text.strip() == ""
    parsed = parse(scan, "application/pdf", ocr=True)
    assert parsed.ocr_pages == [1, 2]
    assert {"kilometre", "allowance", "hotel", "oslo", "180"} <= words(parsed.text)
    page_two = [parsed.text[b.start:b.end] for b in parsed.blocks if b.page == 2]
    assert page_two and {"bergen", "2014", "140"} <= words(" ".join(page_two))
    assert all(b.page in (1, 2) for b in parsed.blocks)


def test_a_pdf_with_a_text_layer_is_not_read_by_ocr() -> None:
    parsed = parse(typeset([POLICY]), "application/pdf", ocr=True)
    assert parsed.ocr_pages == [] and "0.30 EUR per kilometre" in parsed.text


@pytest.mark.parametrize(("kind", "media_type"), [("PNG", "image/png"), ("JPEG", "image/jpeg")])
def test_an_image_is_read_by_ocr(kind: str, media_type: str) -> None:
    parsed = parse(image_file([POLICY], kind), media_type, ocr=True)
    assert parsed.ocr_pages == [1] and {"kilometre", "allowance", "oslo"} <= words(parsed.text)


def test_each_frame_of_a_tiff_is_a_page() -> None:
    parsed = parse(image_file([POLICY, OFFICES], "TIFF"), "image/tiff", ocr=True)
    assert parsed.ocr_pages == [1, 2]
    assert {"bergen", "140"} <= words(" ".join(parsed.text[b.start:b.end] for b in parsed.blocks if b.page == 2))


@pytest.mark.parametrize("content", [image_file([POLICY], "PNG")[:2000], b"GIF89a" + b"\x00" * 64,
                                     b"\x89PNG\r\n\x1a\n" + b"\xff" * 200])
def test_a_corrupt_or_fake_image_is_a_clear_error(content: bytes) -> None:
    with pytest.raises(UnreadableDocument, match="upload an intact PNG, JPEG or TIFF"):
        parse(content, "image/png", ocr=False)


def test_a_decompression_bomb_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parsing, "MAX_IMAGE_PIXELS", 1000)  # the real limit, lowered to a small image
    with pytest.raises(UnreadableDocument, match="scan at a lower resolution"):
        parse(image_file([POLICY], "PNG"), "image/png", ocr=False)


def test_without_tesseract_a_scan_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parsing, "ocr_available", lambda: False)  # a host without the tesseract program
    with pytest.raises(UnreadableDocument, match="install Debian's tesseract-ocr"):
        parse(scanned_pdf([OFFICES]), "application/pdf", ocr=False)
    with pytest.raises(UnreadableDocument, match="tesseract-ocr"):
        parse(image_file([OFFICES], "PNG"), "image/png", ocr=False)
    # a PDF's text pages are still read; only its scanned page is left out (and logged)
    mixed = parse(typeset([POLICY, " "]), "application/pdf", ocr=True)
    assert "0.30 EUR per kilometre" in mixed.text and mixed.ocr_pages == []

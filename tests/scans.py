"""Scanned documents made for tests and the OCR benchmark: text typeset as a PDF (fpdf2's core
Helvetica, no font file needed), each page rendered to a grey image by PDFium at a given dpi,
speckled with salt-and-pepper noise and slightly rotated, then saved as an image-only PDF (no text
layer), a PNG or a multi-page TIFF. The text put on each page is returned with it, so what OCR
reads can be scored against it."""

from __future__ import annotations

import io
import random
from collections.abc import Sequence

from fpdf import FPDF
from PIL import Image


def typeset(pages: Sequence[str]) -> bytes:
    """A PDF with a text layer: one page per string."""
    pdf = FPDF()
    pdf.set_auto_page_break(auto=True, margin=15)
    for text in pages:
        pdf.add_page()
        pdf.set_font("Helvetica", size=12)
        pdf.multi_cell(0, 7, text)
    return bytes(pdf.output())


def scanned_pages(pages: Sequence[str], *, dpi: int = 200, noise: float = 0.002, tilt: float = 0.5,
                  seed: int = 0) -> list[Image.Image]:
    """Each page as a grey image at `dpi`, with a share `noise` of pixels flipped to black or white
    and rotated by up to `tilt` degrees, as a flatbed scanner gives it."""
    import pypdfium2 as pdfium

    rng = random.Random(seed)
    document = pdfium.PdfDocument(typeset(pages))
    images = []
    try:
        for index in range(len(document)):
            image = document[index].render(scale=dpi / 72).to_pil().convert("L")
            image = image.rotate(rng.uniform(-tilt, tilt), fillcolor=255, expand=False)
            pixels = image.load()
            assert pixels is not None
            for _ in range(int(image.width * image.height * noise)):
                pixels[rng.randrange(image.width), rng.randrange(image.height)] = rng.choice((0, 255))
            images.append(image)
    finally:
        document.close()
    return images


def scanned_pdf(pages: Sequence[str], *, dpi: int = 200, **noise: float) -> bytes:
    """An image-only PDF of the pages: no text layer, as a scanner writes it."""
    images = scanned_pages(pages, dpi=dpi, **noise)  # type: ignore[arg-type]
    out = io.BytesIO()
    images[0].save(out, "PDF", resolution=dpi, save_all=True, append_images=images[1:])
    return out.getvalue()


def image_file(pages: Sequence[str], kind: str, *, dpi: int = 200) -> bytes:
    """The pages as a PNG or JPEG (the first page) or a multi-page TIFF."""
    images = scanned_pages(pages, dpi=dpi)
    out = io.BytesIO()
    if kind == "TIFF":
        images[0].save(out, "TIFF", save_all=True, append_images=images[1:], dpi=(dpi, dpi))
    else:
        images[0].save(out, kind, dpi=(dpi, dpi))
    return out.getvalue()

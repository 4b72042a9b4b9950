"""OCR of scanned documents: character accuracy and pages per second of the knowledge service's
reader (sutazai.knowledge.parsing: Debian's Tesseract through pytesseract, a PDF page rendered by
PDFium at 300 dpi, a 3-pixel median filter against speckle) on a generated scanned corpus.

The corpus: the enterprise suite's 12 documents (a fictional organisation's policies, tables,
report and registers), Markdown marks and HTML tags stripped, typeset as PDF pages (tests/scans.py), each page
rendered at 150, 200 and 300 dpi with salt-and-pepper noise (0.2% of pixels) and up to 0.5 degrees
of tilt, saved as an image-only PDF, and read by `parse(..., ocr=True)`. Character accuracy is
1 - (Levenshtein distance / reference length) on the text with runs of whitespace made one space;
pages per second is the whole parse (render + OCR) of each document, on this machine.

Run: .venv/bin/python bench/ocr_bench.py
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.scans import scanned_pdf  # noqa: E402

from sutazai.knowledge.parsing import parse  # noqa: E402
from sutazai.learning import enterprise_suite  # noqa: E402

LINES_PER_PAGE = 40


def plain(markdown: str) -> str:
    """The document as it would be printed: no Markdown marks or HTML tags, table cells spaced."""
    text = re.sub(r"<(?:br|p|h[1-6]|tr|li|table|ul|ol|div)\b[^>]*>", "\n", markdown, flags=re.I)
    text = re.sub(r"</(?:td|th)>", "   ", text, flags=re.I)
    text = re.sub(r"<[^>]+>", "", text)
    text = re.sub(r"^#+\s*", "", text, flags=re.M)
    text = re.sub(r"^\|?[-:| ]+\|?$", "", text, flags=re.M)
    text = re.sub(r"\s*\|\s*", "   ", text)
    return text.replace("**", "").replace("`", "")


def pages_of(text: str) -> list[str]:
    lines = [line.strip() for line in text.splitlines()]
    return ["\n".join(lines[i:i + LINES_PER_PAGE]) for i in range(0, len(lines), LINES_PER_PAGE)]


def squeeze(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions)."""
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dpi", type=int, nargs="+", default=[150, 200, 300])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "ocr.json")
    args = parser.parse_args()
    tesseract = subprocess.run(["tesseract", "--version"], capture_output=True, text=True, check=True)  # noqa: S603,S607
    rows = []
    for dpi in args.dpi:
        for name, markdown in enterprise_suite.DOCUMENTS.items():
            pages = pages_of(plain(markdown))
            scan = scanned_pdf(pages, dpi=dpi)
            started = time.perf_counter()
            parsed = parse(scan, "application/pdf", ocr=True)
            seconds = time.perf_counter() - started
            reference, read = squeeze("\n".join(pages)), squeeze(parsed.text)
            errors = distance(reference, read)
            rows.append({"dpi": dpi, "document": name, "pages": len(pages), "ocr_pages": len(parsed.ocr_pages),
                         "reference_chars": len(reference), "edit_distance": errors,
                         "character_accuracy": round(1 - errors / len(reference), 4), "seconds": round(seconds, 2)})
            print(f"{dpi} dpi {name}: {rows[-1]['character_accuracy']:.3f}, {len(pages)} page(s) in {seconds:.1f} s",
                  flush=True)
    summary = {}
    for dpi in args.dpi:
        mine = [r for r in rows if r["dpi"] == dpi]
        chars = sum(r["reference_chars"] for r in mine)
        summary[str(dpi)] = {
            "documents": len(mine), "pages": sum(r["pages"] for r in mine),
            "character_accuracy": round(1 - sum(r["edit_distance"] for r in mine) / chars, 4),
            "worst_document_accuracy": min(r["character_accuracy"] for r in mine),
            "median_document_accuracy": round(statistics.median(r["character_accuracy"] for r in mine), 4),
            "pages_per_second": round(sum(r["pages"] for r in mine) / sum(r["seconds"] for r in mine), 3)}
    args.out.write_text(json.dumps({
        "command": " ".join(["python", *sys.argv]),
        "machine": {"python": platform.python_version(), "cpu": platform.processor() or platform.machine(),
                    "cores": os.cpu_count()},
        "tesseract": tesseract.stdout.splitlines()[0], "summary": summary, "rows": rows}, indent=1) + "\n")
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()

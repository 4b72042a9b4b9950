"""Every figure in docs/benchmarks.md and docs/operations.md follows from a committed raw result file.

Each section (a heading and its text, with the raw files its parent headings cite) names the
files its figures come from (`bench/results/...`, `models/calibrators/...`; `<name>` stands for
any name). The checks: every cited file exists; a section with figures in a table cites at least
one raw file; and every decimal figure in its tables is one of the numbers in those files, at the
precision printed (also read as a share x100, or seconds/milliseconds x1000). A number made by
hand, copied from a terminal, or left behind when the raw file changed fails here."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = (ROOT / "docs" / "benchmarks.md", ROOT / "docs" / "operations.md")
CITE = re.compile(r"(?:bench/results|models/calibrators)/[\w./<>-]*[\w>]")
FIGURE = re.compile(r"(?<![\w.])-?\d+\.\d+(?![\w.])")
NUMBER = re.compile(rb"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
RAW_SUFFIXES = (".json", ".jsonl", ".csv", ".log")
SCALES = (Decimal(1), Decimal(100), Decimal(1000), Decimal("0.001"))


def sections(doc: Path) -> list[tuple[str, str, list[str]]]:
    """(heading, text, cited paths including the parent headings') for each section."""
    out: list[tuple[str, str, list[str]]] = []
    inherited: dict[int, list[str]] = {}
    # a shell comment in a code block is no heading; a typeset minus is a minus
    text = re.sub(r"\n```.*?\n```", lambda m: m.group(0).replace("\n#", "\n "), doc.read_text(), flags=re.S)
    for part in re.split(r"\n(?=#{1,4} )", text.replace("\u2212", "-")):
        heading = part.splitlines()[0]
        level = len(heading) - len(heading.lstrip("#"))
        own = CITE.findall(part)
        inherited = {k: v for k, v in inherited.items() if k < level}
        inherited[level] = own
        out.append((heading, part, [c for k in sorted(inherited) for c in inherited[k]]))
    return out


def pattern_of(cited: str) -> str:
    """A cited path as a glob: `<name>` stands for any name."""
    return re.sub(r"<[^>]*>", "*", cited.rstrip("."))


def files(cited: str) -> list[Path]:
    pattern = pattern_of(cited)
    matched = sorted(ROOT.glob(pattern)) if "*" in pattern else [ROOT / pattern]
    found = []
    for path in matched:
        if path.is_dir():
            found += [f for f in sorted(path.rglob("*")) if f.suffix in RAW_SUFFIXES]
        elif path.exists():
            found.append(path)
    return found


@cache
def numbers(path: Path) -> frozenset[Decimal]:
    if path.suffix not in RAW_SUFFIXES:
        return frozenset()
    out = set()
    for raw in NUMBER.findall(path.read_bytes()):
        try:
            value = Decimal(raw.decode())
        except InvalidOperation:  # pragma: no cover - the pattern only matches numbers
            continue
        if value.is_finite() and abs(value.adjusted()) < 30:  # ids and hashes read as huge numbers are no figures
            out.add(value)
    return frozenset(out)


def printed(figure: str, values: frozenset[Decimal]) -> bool:
    """Whether the figure is one of the values, rounded as printed (half up or half even)."""
    target = Decimal(figure)
    quantum = Decimal(1).scaleb(target.as_tuple().exponent)  # type: ignore[arg-type]
    for value in values:
        for scale in SCALES:
            scaled = value * scale
            if abs(scaled - target) > quantum:
                continue
            if any(scaled.quantize(quantum, rounding=r) == target for r in (ROUND_HALF_UP, ROUND_HALF_EVEN)):
                return True
    return False


def table_figures(text: str) -> list[str]:
    """Decimal figures in table rows, except a row's own baseline ("1.00 (baseline)")."""
    figures = []
    for line in text.splitlines():
        if line.startswith("|"):
            for cell in line.split("|"):
                if "(baseline)" not in cell:
                    figures += FIGURE.findall(cell)
    return figures


SECTIONS = [(f"{doc.name}: {heading}", text, cited) for doc in DOCS for heading, text, cited in sections(doc)]
BY_DOC = {doc.name: sections(doc) for doc in DOCS}


def exists(cited: str) -> bool:
    pattern = pattern_of(cited)
    return any(ROOT.glob(pattern)) if "*" in pattern else (ROOT / pattern).exists()


def test_every_cited_raw_file_exists() -> None:
    missing = sorted({c for _, text, _ in SECTIONS for c in CITE.findall(text) if not exists(c)})
    assert not missing, f"the documents cite raw files that are not committed: {missing}"


@pytest.mark.parametrize(("heading", "text", "cited"), SECTIONS, ids=[h.replace("# ", "")[:60] for h, _, _ in SECTIONS])
def test_each_table_figure_comes_from_the_raw_files_the_section_cites(heading: str, text: str,
                                                                      cited: list[str]) -> None:
    figures = table_figures(text)
    if not figures:
        return
    raw = [f for c in cited for f in files(c)]
    assert raw, f"{heading!r} has figures in a table but cites no raw result file (bench/results/...)"
    values = frozenset().union(*(numbers(f) for f in raw))
    unfounded = [f for f in figures if not printed(f, values)]
    assert not unfounded, (f"{heading!r}: these figures are in none of {[str(f.relative_to(ROOT)) for f in raw]}: "
                           f"{unfounded}")


def prose_figures(text: str) -> list[str]:
    """Decimal figures outside tables, images and code spans (commands, settings)."""
    body = re.sub(r"`[^`]*`", "", text)
    return [f for line in body.splitlines() if not line.startswith(("|", "![")) for f in FIGURE.findall(line)]


@pytest.mark.parametrize("doc", ["benchmarks.md"])
def test_every_figure_in_the_text_is_in_a_raw_file_the_document_cites(doc: str) -> None:
    """Text may quote a figure of another section (a summary, a comparison), so the text's figures
    are looked up in every raw file the document cites, not only the section's."""
    parts = BY_DOC[doc]
    raw = sorted({f for _, text, _ in parts for c in CITE.findall(text) for f in files(c)})
    values = frozenset().union(*(numbers(f) for f in raw))
    unfounded = {heading: missing for heading, text, _ in parts
                 if (missing := [f for f in prose_figures(text) if not printed(f, values)])}
    assert not unfounded, f"figures in docs/{doc}'s text that no committed raw file holds: {unfounded}"


def test_the_check_finds_a_figure_that_is_not_in_the_data() -> None:
    values = frozenset({Decimal("0.7342"), Decimal("317.25"), Decimal("0.0415")})
    assert printed("0.734", values) and printed("317.3", values) and printed("317.2", values)
    assert printed("73.4", values) and printed("4.15", values)
    assert not printed("0.735", values) and not printed("0.73", frozenset({Decimal("0.7249")}))

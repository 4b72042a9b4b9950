"""The labels' CSV export: cells a spreadsheet would run as formulas are shown as text."""

from __future__ import annotations

from sutazai.cli.meta import csv_cell


def test_text_that_looks_like_a_formula_is_led_by_a_quote() -> None:
    for hostile in ("=HYPERLINK(\"http://x\")", "+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"):
        assert csv_cell(hostile) == "'" + hostile
    assert csv_cell("answer") == "answer" and csv_cell("a=b") == "a=b"


def test_numbers_lists_and_nothing_keep_their_meaning() -> None:
    assert csv_cell(-0.5) == -0.5 and csv_cell(3) == 3 and csv_cell(True) is True
    assert csv_cell(None) == "" and csv_cell(["=a", 1]) == '["=a", 1]' and csv_cell({"k": 1}) == '{"k": 1}'

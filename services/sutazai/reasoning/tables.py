"""Tables read as tables: rows and columns recovered from passage text (Markdown pipe tables,
HTML tables as the knowledge service renders them, tab- or space-aligned text tables), and a
cell read by row and column the way a person reads one.

A row is chosen by what the question says about it: its name ("Port Services"), a number that
falls in the row's range or condition ("6 years" in "5 to 9 years", "3,000 EUR" in "from 2,500
EUR up to 10,000 EUR", "under 2,500", "10 or more"), or a member of the row's list ("Rotterdam"
in "Tier B: Hamburg, Rotterdam"). A column is chosen by the words of its header the question
uses. A superlative ("which project has the largest budget") ranks every row of the table by
that column. Nothing here guesses: when the question does not single out one row and one
column, no cell is read and the caller answers another way."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

_SEPARATOR_ROW = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_WORD = re.compile(r"[a-z0-9][a-z0-9'-]*")
_NUMBER = re.compile(r"(?<![\w.])-?\d{1,3}(?:[,\u00a0 ]\d{3})+(?:\.\d+)?(?![\w])|(?<![\w.])-?\d+(?:\.\d+)?(?!\w)")
_STOP = frozenset(
    "a an the of to in on at by for with from and or is are was were be been it its this that which who what when "
    "where how many much does do did has have had per each our their there than get gets got".split())
_MOST = re.compile(r"\b(largest|biggest|highest|most|greatest|maximum|max|longest|latest|newest|top)\b", re.I)
_LEAST = re.compile(r"\b(smallest|lowest|least|fewest|minimum|min|shortest|earliest|oldest|cheapest)\b", re.I)
_ASKED = re.compile(r"^\s*(?:in |at |from |to |for |of )?(?:which|what|whose)\s+(\w+)", re.I)
_VAGUE = frozenset({"is", "was", "are", "were", "does", "did", "do", "has", "have", "had", "kind", "type", "the",
                    "a", "an", "of", "will", "would", "can", "could", "should", "must", "may", "happens", "time",
                    "year", "date", "day", "month", "amount", "number", "value", "percentage"})
"""Words after 'which'/'what' that say what kind of value is asked for, not which column holds it."""
_NAMES_ROW = re.compile(r"^\s*(which|who|whose|name the|what is the name)\b", re.I)


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    chunk_id: str | None = None
    document_id: str | None = None
    source: str | None = None
    context: str = ""
    """the section the table is in (its heading), which often names what the table measures"""


@dataclass(frozen=True)
class Cell:
    """A cell read from a table, with how the row and column were chosen."""

    value: str
    row: tuple[str, ...]
    column: str
    row_label: str
    how: str
    table: Table
    answer: str = ""
    ranking: list[str] = field(default_factory=list)


def cells_of(line: str) -> list[str] | None:
    """The cells of one table line (pipes, tabs, or three spaces apart), or None for a line of prose."""
    if "|" in line:
        parts = [c.strip() for c in line.strip().strip("|").split("|")]
        return parts if len(parts) >= 2 else None
    if "\t" in line:
        parts = [c.strip() for c in line.strip().split("\t") if c.strip()]
        return parts if len(parts) >= 2 else None
    parts = [c.strip() for c in re.split(r"\s{3,}", line.strip()) if c.strip()]
    return parts if len(parts) >= 2 else None


def tables_in(text: str, *, header: tuple[str, ...] | None = None) -> list[Table]:
    """Every table in `text`: runs of at least two lines (three for space-aligned text) with the
    same number of cells. The first line is the header unless `header` is given (a chunk cut from
    a longer table carries its header separately) and the first line does not repeat it."""
    found: list[Table] = []
    run: list[list[str]] = []
    kinds: list[bool] = []

    def flush() -> None:
        minimum = 2 if any(kinds) else 3
        if len(run) >= minimum:
            rows = [tuple(r) for r in run]
            if header is not None and len(header) == len(rows[0]) and rows[0] != header:
                found.append(Table(header=header, rows=tuple(rows)))
            elif len(rows) >= 2:
                found.append(Table(header=rows[0], rows=tuple(rows[1:])))
        run.clear()
        kinds.clear()

    for line in text.splitlines():
        if _SEPARATOR_ROW.match(line) and run:
            continue
        cells = cells_of(line)
        if cells is None or (run and len(cells) != len(run[0])):
            flush()
            if cells is None:
                continue
        run.append(cells)
        kinds.append("|" in line or "\t" in line)
    flush()
    return found


_ORDINALS = {"first": "1", "second": "2", "third": "3", "fourth": "4", "1st": "1", "2nd": "2", "3rd": "3",
             "4th": "4"}
_PERIOD = re.compile(r"\b(first|second|third|fourth|1st|2nd|3rd|4th)\s+(quarter|half)\b")


_SQUARE = re.compile(r"\bsquare (?:met(?:re|er)s?)\b|\bsq\.? ?m\b|\bm\u00b2")


def words(text: str) -> set[str]:
    """Content words by their first five letters; 'third quarter' is read as 'q3', 'first half' as 'h1'."""
    text = _PERIOD.sub(lambda m: f"{m.group(2)[0]}{_ORDINALS[m.group(1)]}", text.lower())
    text = _SQUARE.sub("m2", text)
    return {_stem(w) for w in _WORD.findall(text) if w not in _STOP and len(w) > 1}


def _stem(word: str) -> str:
    """A word's first five letters after a plural's 's' or an 'ed'/'ing' ending is dropped ('heads'
    and 'head', 'opened' and 'open' are one)."""
    if word.isalpha() and len(word) > 4:
        for ending in ("ing", "ed"):
            if word.endswith(ending) and len(word) - len(ending) >= 3:
                word = word[:-len(ending)]
                break
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss") and word.isalpha():
        word = word[:-1]
    return word[:5]


_MEASURES = frozenset(_stem(w) for w in (
    "margin", "profit", "cost", "price", "revenue", "budget", "headcount", "area", "value", "allowance", "limit",
    "salary", "rate", "fee", "turnover", "income", "loss", "sales", "population", "capacity", "deadline", "size",
    "weight", "length", "duration", "score", "share", "volume", "ebit", "ebitda", "expenses", "debt"))
"""Words that name what a question measures: a table must name it too (in its header or section)
before a cell of it can answer ("operating margin" is not read from a revenue table)."""


def about(question: str, table: Table) -> bool:
    """Whether the table is about the question: they share a word, and every measure the question
    names is named by the table (its header, its section or its cells)."""
    asked = words(question)
    named = words(" ".join(table.header) + " " + table.context)
    if not asked & named:
        return False
    cells = words(" ".join(" ".join(r) for r in table.rows))
    return not (asked & _MEASURES) - named - cells


def number(text: str) -> Decimal | None:
    """The first number in a cell ('1,240', '41.0 m EUR', '28 days'), as an exact decimal."""
    found = _NUMBER.search(text)
    if not found:
        return None
    try:
        return Decimal(re.sub(r"[,\u00a0 ]", "", found.group(0)))
    except InvalidOperation:
        return None


def _numbers(text: str) -> list[Decimal]:
    """The quantities a question states; identifiers such as 'C-106' or 'Q3' are not quantities."""
    text = re.sub(r"\b[A-Za-z]+-?\d+\b", " ", text)
    out = []
    for m in _NUMBER.finditer(text):
        try:
            out.append(Decimal(re.sub(r"[,\u00a0 ]", "", m.group(0))))
        except InvalidOperation:
            continue
    return out


_BELOW = re.compile(r"(?:\b(?:under|below|less than|fewer than|up to|at most|not more than|maximum of|max\.?)|<=?)\s*$")
_ABOVE = re.compile(r"(?:\b(?:over|above|more than|at least|from|minimum of|min\.?)|>=?)\s*$")
_ABOVE_AFTER = re.compile(r"^\s*(?:[a-z%\u20ac$]+\s*)?(\+|or more|or over|or above|and more|and above|or longer|"
                          r"or later|and over|plus)\b", re.I)
_RANGE = re.compile(r"(?P<a>\d[\d,.\u00a0 ]*)\s*(?:[a-z%\u20ac$]+\s*)?(?:to|-|\u2013|\u2014|until|through|and)\s*"
                    r"(?:[a-z%\u20ac$]+\s*)?(?P<b>\d[\d,.\u00a0 ]*)", re.I)


def condition(label: str) -> tuple[Decimal | None, Decimal | None, bool] | None:
    """The numeric range a row label states: (low, high, high_inclusive), either end open; None
    when the label states no range ('5 to 9 years', '10 or more', 'under 2,500 EUR',
    'from 2,500 EUR up to 10,000 EUR', '< 5')."""
    text = label.lower().replace("\u2212", "-")
    values = list(_NUMBER.finditer(text))
    if not values:
        return None
    between = _RANGE.search(text)
    if len(values) >= 2 and (between or re.search(r"\bup to\b|\bbelow\b|\bunder\b|\bless than\b", text)):
        low, high = _decimal(values[0].group(0)), _decimal(values[1].group(0))
        exclusive = bool(re.search(r"\b(below|under|less than)\s*(?:[a-z%\u20ac$]+\s*)?" +
                                   re.escape(values[1].group(0)), text))
        return low, high, not exclusive
    (only,) = values[:1]
    before, after = text[:only.start()], text[only.end():]
    value = _decimal(only.group(0))
    if _BELOW.search(before):
        strict = bool(re.search(r"\b(under|below|less than|fewer than)\s*$|<\s*$", before))
        # "<= 5" is inclusive
        return None, value, not strict
    if _ABOVE.search(before) or _ABOVE_AFTER.search(after):
        if re.search(r"\b(over|above|more than)\s*$|>\s*$", before) and value is not None:
            return value + Decimal("0.000001"), None, True
        return value, None, True
    return None


def _decimal(text: str) -> Decimal | None:
    try:
        return Decimal(re.sub(r"[,\u00a0 ]", "", text))
    except InvalidOperation:
        return None


def _inside(value: Decimal, rule: tuple[Decimal | None, Decimal | None, bool]) -> bool:
    low, high, inclusive = rule
    if low is not None and value < low:
        return False
    if high is not None:
        return value <= high if inclusive else value < high
    return True


def _named(question: str, label: str) -> int:
    """How strongly the question names the row: every word of the label (2), or a listed member."""
    asked = question.lower()
    plain = re.sub(r"\s+", " ", label.lower()).strip(" .*")
    if plain and len(plain) > 2 and re.search(rf"(?<!\w){re.escape(plain)}(?!\w)", asked):
        return 3
    members = [m.strip(" .*") for m in re.split(r",(?!\d{3})|[;:/]|\band\b", plain)]
    members = [m for m in members if re.search(r"[a-z]{3,}", m) and not re.search(r"\d", m)]
    if len(members) >= 2 and any(re.search(rf"(?<!\w){re.escape(m)}(?!\w)", asked) for m in members):
        return 2
    return 0


def _column(question: str, table: Table, *, exclude: int | None, among: list[int] | None = None) -> int | None:
    asked = words(question)
    scored = [(len(asked & words(h)), -i) for i, h in enumerate(table.header)
              if i != exclude and (among is None or i in among)]
    best = max(scored, default=(0, 0))
    if best[0] == 0:
        return None
    tied = [s for s in scored if s[0] == best[0]]
    if len(tied) == 1:
        return -best[1]
    question_word = _ASKED.search(question)  # "which division ...": the word after the question word names the column
    if question_word:
        named = [-i for n, i in tied if _stem(question_word.group(1).lower()) in words(table.header[-i])]
        if len(named) == 1:
            return named[0]
    return None


def _row_matches(question: str, table: Table) -> list[tuple[int, int, str, int]]:
    """(row, strength, how, column) for rows the question singles out by name, list membership or
    range (a year in the question is not matched against ranges of other quantities)."""
    numbers = _numbers(question)
    out = []
    for r, row in enumerate(table.rows):
        for c, cell in enumerate(row):
            named = _named(question, cell)
            if named:
                out.append((r, named, "named" if named == 3 else "listed", c))
                break
            rule = condition(cell) if _same_units(question, cell) else None
            inside = [n for n in numbers if rule and _inside(n, rule) and (not _year(n) or _years_rule(rule))]
            if rule and inside:
                out.append((r, 2, f"{', '.join(str(n) for n in inside)} falls in \u201c{cell}\u201d", c))
                break
    return out


_RANGE_WORDS = frozenset({"to", "or", "more", "less", "than", "under", "over", "up", "from", "at", "least",
                          "most", "above", "below", "and", "until", "through", "fewer", "longer", "later", "plus",
                          "maxim", "minim", "max", "min", "not"})


def _same_units(question: str, label: str) -> bool:
    """Whether a range label's unit words (years, EUR, employees) are words of the question; a label
    with no unit word matches any number."""
    units = {w[:4] for w in words(label) if w.isalpha() and w not in _RANGE_WORDS}
    return not units or bool(units & {w[:4] for w in words(question)})


def _year(n: Decimal) -> bool:
    return n == n.to_integral_value() and 1900 <= n <= 2100


def _years_rule(rule: tuple[Decimal | None, Decimal | None, bool]) -> bool:
    return any(b is not None and _year(b) for b in rule[:2])


def read_cell(question: str, tables: list[Table]) -> Cell | None:
    """The one cell the question asks for, or None when it does not single one out."""
    candidates: list[tuple[int, Cell]] = []
    totals: list[tuple[int, Cell]] = []
    asked = _ASKED.search(question)
    wanted = _stem(asked.group(1).lower()) if asked and asked.group(1).lower() not in _VAGUE else None
    for table in tables:
        if not about(question, table) or wanted and wanted not in words(" ".join(table.header) + " " + table.context):
            continue  # not about it, or it has no column for what is asked ("in which city ...")
        overlap = len(words(question) & words(" ".join(table.header)))
        total = _aggregate(question, table)
        if total is not None:
            totals.append((overlap, total))
        cell = _superlative(question, table) or _lookup(question, table)
        if cell is not None:
            candidates.append((overlap, cell))
    candidates = totals or candidates  # a sum or difference asked for is answered by one, not by one cell
    if not candidates:
        return None
    candidates.sort(key=lambda c: c[0], reverse=True)
    candidates = [c for c in candidates if c[0] == candidates[0][0]]
    if len({c[1].value for c in candidates}) > 1:
        return None  # two tables answer differently and neither fits the question better
    return candidates[0][1]


def _lookup(question: str, table: Table) -> Cell | None:
    matches = _row_matches(question, table)
    if not matches:
        return None
    strongest = max(m[1] for m in matches)
    chosen = [m for m in matches if m[1] == strongest]
    if len({m[0] for m in chosen}) != 1:
        return None
    r, _, how, matched = chosen[0]
    column = _column(question, table, exclude=matched)
    if column is None and len(table.header) == 2:
        column = 1 - matched  # a two-column table: the other column holds the value
    if column is None:
        return None
    row = table.rows[r]
    value = row[column]
    label = row[matched]
    return Cell(value=value, row=row, column=table.header[column], row_label=label, how=how, table=table,
                answer=value)


def _superlative(question: str, table: Table) -> Cell | None:
    plain = re.sub(r"\bat (?:most|least)\b", " ", question, flags=re.I)
    most, least = _MOST.search(plain), _LEAST.search(plain)
    if bool(most) == bool(least):
        return None
    numeric = [c for c in range(1, len(table.header))
               if sum(number(row[c]) is not None for row in table.rows) > len(table.rows) / 2]
    unitless = re.sub(r"\b(days?|weeks?|months?|years?|hours?|eur|euros?|usd|number|amount|percent|k|m)\b", " ",
                      re.sub(_MOST if most else _LEAST, " ", plain), flags=re.I)
    column = _column(unitless, table, exclude=0, among=numeric)  # a unit alone does not name a column
    if column is None:
        return None
    values = [(number(row[column]), r) for r, row in enumerate(table.rows)]
    known = [(v, r) for v, r in values if v is not None]
    if len(known) < 2 or len(known) < len(values) / 2:
        return None
    known.sort(key=lambda x: x[0], reverse=bool(most))
    if known[0][0] == known[1][0]:
        return None  # a tie: no single row answers
    row = table.rows[known[0][1]]
    ranking = [f"{table.rows[r][0]} {table.rows[r][column]}" for _, r in known]
    answer = row[column]
    if _NAMES_ROW.search(question):
        named = _column(plain, table, exclude=column, among=[c for c in range(len(table.header)) if c not in numeric])
        answer = row[named if named is not None else 0]
    return Cell(value=row[column], row=row, column=table.header[column], row_label=row[0],
                how=f"the {'largest' if most else 'smallest'} {table.header[column]} of {len(known)} rows",
                table=table, answer=answer, ranking=ranking)


_SUM = re.compile(r"\b(combined|total|sum|altogether|together|in all)\b", re.I)
_AVERAGE = re.compile(r"\b(average|mean)\b", re.I)
_DIFFERENCE = re.compile(r"\bhow (?:many|much) (?:more|fewer|less)\b|\bdifference\b", re.I)
_COUNT_WORDS = {"two": 2, "both": 2, "three": 3, "four": 4, "five": 5, "six": 6}


def aggregates(question: str) -> bool:
    """Whether the question asks for a sum, an average or a difference over rows."""
    return bool(_SUM.search(question) or _AVERAGE.search(question) or _DIFFERENCE.search(question))


def _aggregate(question: str, table: Table) -> Cell | None:
    """A sum, an average or a difference of one column over the rows the question names: by their
    own label ('the head office and the Rotterdam office') or by a value they share ('the two Port
    Services projects'). None unless at least two rows are named through one column, every one
    holds a number there, a count the question states matches, and a difference has two rows."""
    if not aggregates(question):
        return None
    difference = bool(_DIFFERENCE.search(question))
    numeric = [c for c in range(len(table.header))
               if sum(number(row[c]) is not None for row in table.rows) > len(table.rows) / 2]
    text = [c for c in range(len(table.header)) if c not in numeric]
    unitless = re.sub(r"\b(days?|weeks?|months?|years?|hours?|eur|euros?|usd|number|amount|percent|k|m|thousand|"
                      r"million|total|combined|sum|average|mean|difference)\b", " ", question, flags=re.I)
    column = _column(unitless, table, exclude=None, among=numeric)
    if column is None:
        return None
    by_column = {c: [r for r, row in enumerate(table.rows) if _named(question, row[c]) == 3] for c in text}
    named = [(c, rows) for c, rows in by_column.items() if len(rows) >= 2]
    if len({tuple(rows) for _, rows in named}) != 1:
        return None  # no rows named, or two different selections: not one set of rows
    through, rows = named[0]
    stated = next((n for w, n in _COUNT_WORDS.items() if re.search(rf"\b{w}\b", question, re.I)), None)
    values = [number(table.rows[r][column]) for r in rows]
    if stated is not None and stated != len(rows) or any(v is None for v in values) \
            or difference and len(rows) != 2:
        return None
    known = [v for v in values if v is not None]
    result: Decimal = sum(known, Decimal(0))
    how = "the sum"
    if difference:
        result, how = abs(known[0] - known[1]), "the difference"
    elif _AVERAGE.search(question):
        result, how = result / len(known), "the average"
    shown = format(result.quantize(Decimal("0.01")).normalize(), "f") if result != result.to_integral() \
        else format(result.to_integral(), "f")
    label = " and ".join(dict.fromkeys(table.rows[r][through] for r in rows))
    return Cell(value=shown, row=table.rows[rows[0]], column=table.header[column], row_label=label,
                how=f"{how} of {table.header[column]} over the {len(rows)} rows named by {table.header[through]}",
                table=table, answer=shown, ranking=[f"{table.rows[r][0]} {table.rows[r][column]}" for r in rows])


def _selected_rows(question: str, table: Table) -> list[tuple[tuple[str, ...], str, int]]:
    """Rows of a table the question picks out by name (row, how, the column that named it), or its
    top row by a superlative."""
    top = _superlative(question, table)
    if top is not None:
        return [(top.row, top.how, -1)]
    return [(table.rows[r], how, c) for r, strength, how, c in _row_matches(question, table) if strength == 3]


def read_chain(question: str, tables: list[Table]) -> Cell | None:
    """A two-hop read for a question that names something by what another table says of it ("who
    heads the division that owns project X", "the city where the division with the highest Q3
    revenue has its main office"): a row picked out in one table gives a value that names a row of
    another table, whose cell the question asks for. None unless exactly one answer is found."""
    found: dict[str, Cell] = {}
    for first in tables:
        if not _shares(question, first):
            continue
        for row, how, named_by in _selected_rows(question, first):
            for c, value in enumerate(row):
                if c == named_by or not re.search(r"[A-Za-z]{2,}", value):
                    continue  # a hop goes through a name, never through a number or a date
                for second in tables:
                    if second is first or not _shares(question, second):
                        continue
                    hits = _rows_holding(second, value)
                    if len(hits) != 1:
                        continue  # the value names no row there, or several
                    hit, holding = hits[0]
                    column = _column(question, second, exclude=holding)
                    if column is None or words(second.header[column]) <= words(first.header[c]):
                        continue
                    found.setdefault(hit[column], Cell(
                        value=hit[column], row=hit, column=second.header[column], row_label=hit[0],
                        how=f"{row[0]} ({how}) has {first.header[c]} {value}; {value} has {second.header[column]} "
                            f"{hit[column]}", table=second, answer=hit[column]))
    return next(iter(found.values())) if len(found) == 1 else None


def _shares(question: str, table: Table) -> bool:
    return bool(words(question) & words(" ".join(table.header) + " " + table.context))


def _rows_holding(table: Table, value: str) -> list[tuple[tuple[str, ...], int]]:
    """The rows with a cell equal to `value` (and which column holds it); its first column first."""
    wanted = value.strip().lower()
    for column in range(len(table.header)):
        rows = [(r, column) for r in table.rows if r[column].strip().lower() == wanted]
        if rows:
            return rows
    return []


_CLAUSE = re.compile(r"\bthe \w+(?: \w+)? (?:that|which|who|whose|where|when)\b|"
                     r"\b(?:headed|owned|run|led|held|managed) by\b", re.I)


_DATED = re.compile(r"^\s*((?:19|20)\d\d)(?:-\d\d(?:-\d\d)?)?\s*$|\b((?:19|20)\d\d)\s*$")


def _conditions_met(question: str, table: Table, row: tuple[str, ...], *, skip: set[int]) -> list[tuple[int, str]]:
    """The cells of `row` besides column `skip` that the question names: a name it says, or a date
    in a year it says ('the project that started in 2025' names a Start of 2025-10-01)."""
    years = set(re.findall(r"\b(?:19|20)\d\d\b", question))
    asked = words(question)
    dated_columns = [c for c, h in enumerate(table.header) if c not in skip and words(h) & asked
                     and any(_DATED.search(r[c]) for r in table.rows if c < len(r))]
    met = []
    for c, cell in enumerate(row):
        if c in skip:
            continue
        dated = _DATED.search(cell)
        year = dated and (dated.group(1) or dated.group(2))
        if year and year in years and (not dated_columns or c in dated_columns) \
                or not year and re.search(r"[A-Za-z]{3}", cell) and _named(question, cell) == 3:
            met.append((c, f"{table.header[c]} {cell}"))  # a date in the column the question names
    return met


_HEAD = re.compile(r"^\s*(?:what|how much|how many)(?:'s| is| was| are| were| will be| would be)?\s+(?:the\s+)?"
                   r"([A-Za-z][\w-]*)", re.I)


def _head_column(question: str, table: Table, *, exclude: int) -> int | None:
    """The column the question asks for: the one its head noun names ('What is the *budget* of the
    project whose deadline ...'), else the best by shared words."""
    head = _HEAD.match(question)
    if head:
        stem = _stem(head.group(1).lower())
        named = [c for c, h in enumerate(table.header) if c != exclude and stem in words(h)]
        if len(named) == 1:
            return named[0]
    return _column(question, table, exclude=exclude)


def read_filtered(question: str, tables: list[Table]) -> Cell | None:
    """The cell of the one row that meets every condition the question sets: a row it names (or a
    value shared by several rows: 'the Logistics project') narrowed by another of its cells ('that
    started in 2025'). None unless exactly one row meets the most conditions, at least two."""
    found: dict[str, Cell] = {}
    for table in tables:
        if not about(question, table):
            continue
        scored = []
        for r, _, _, matched in _row_matches(question, table):
            column = _head_column(question, table, exclude=matched)
            met = _conditions_met(question, table, table.rows[r], skip={matched, -1 if column is None else column})
            if met and column is not None:
                scored.append((len(met), r, matched, met))
        if not scored:
            continue
        best = max(s[0] for s in scored)
        top = [s for s in scored if s[0] == best]
        if len(top) != 1:
            continue
        _, r, matched, met = top[0]
        column = _head_column(question, table, exclude=matched)
        if column is None or column in {c for c, _ in met}:
            continue
        row = table.rows[r]
        found.setdefault(row[column], Cell(
            value=row[column], row=row, column=table.header[column], row_label=row[0],
            how=f"the row with {table.header[matched]} {row[matched]} and {' and '.join(t for _, t in met)}",
            table=table, answer=row[column]))
    return next(iter(found.values())) if len(found) == 1 else None


def answer_from_tables(question: str, tables: list[Table]) -> Cell | None:
    """The cell that answers the question: through two tables when the question names something
    by what another fact says of it, or in one row that meets the clause's condition ('the
    project that started in 2025'); else one cell (or, failing that, two tables)."""
    if _CLAUSE.search(question):
        return read_chain(question, tables) or read_filtered(question, tables)
    return read_cell(question, tables) or read_chain(question, tables)

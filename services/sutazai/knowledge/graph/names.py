"""Entity names as keys: the normalised form under which two spellings of a name are one."""

from __future__ import annotations

import re
import unicodedata

_ARTICLES = re.compile(r"^(the|a|an)\s+")
_NON_WORD = re.compile(r"[^\w\s-]")
_SPACES = re.compile(r"\s+")


def normalise(name: str) -> str:
    """Case-, accent-, punctuation- and article-insensitive key of an entity name."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode() or name
    text = _SPACES.sub(" ", _NON_WORD.sub(" ", text.casefold())).strip()
    return _ARTICLES.sub("", text)

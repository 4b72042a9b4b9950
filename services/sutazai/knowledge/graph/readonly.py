"""Admission of admin Cypher: read-only clauses, values passed as parameters, bounded size.
The backends enforce read-only execution too (GRAPH.RO_QUERY, Neo4j read transactions); this
check gives a clear 4xx before anything runs."""

from __future__ import annotations

import re

from sutazai.lib.errors import ValidationFailed

MAX_QUERY_CHARS = 4000
_FORBIDDEN = ("CREATE", "MERGE", "SET", "DELETE", "DETACH", "REMOVE", "DROP", "FOREACH", "LOAD", "CALL")
_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)
_STRING = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
_BACKTICK = re.compile(r"`[^`]*`")
_WORD = re.compile(r"[A-Za-z_]+")


def admit(query: str) -> str:
    """Return the query if it may run; raise ValidationFailed saying what to change."""
    text = query.strip()
    if not text:
        raise ValidationFailed("query is empty")
    if len(text) > MAX_QUERY_CHARS:
        raise ValidationFailed(f"query is {len(text)} characters; the limit is {MAX_QUERY_CHARS}")
    bare = _BACKTICK.sub(" ", _COMMENT.sub(" ", text))
    if _STRING.search(bare):
        raise ValidationFailed("pass values as parameters ($name with \"parameters\": {...}), not as quoted "
                               "literals in the query")
    words = {w.upper() for w in _WORD.findall(bare)}
    refused = sorted(words & set(_FORBIDDEN))
    if refused:
        raise ValidationFailed(f"only read queries are allowed; remove {', '.join(refused)}")
    return text

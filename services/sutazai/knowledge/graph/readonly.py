"""Admission of admin Cypher, in two layers, before the backend runs it read-only:

1. A lexer reads the query once, left to right, as Cypher does (strings, backtick names, line
   and block comments, parameters), so that no comment can hide a clause inside a string and no
   string can hide one inside a comment. Only read clauses may appear (no procedure CALL, no
   LOAD CSV, no write), values come as parameters, and the size is bounded.
2. The database's own parser plans the query without running it (`GRAPH.EXPLAIN` on FalkorDB,
   `EXPLAIN` on Neo4j) and every operator of the plan must be a read operator (see
   `check_plan`): what the lexer missed, the planner does not.

The backends then run it in read-only mode (GRAPH.RO_QUERY, Neo4j read transactions); the graph
servers are configured so that nothing they run can open an outside connection (see
docs/security.md)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from sutazai.lib.errors import ValidationFailed

MAX_QUERY_CHARS = 4000
_FORBIDDEN = frozenset({
    "CREATE", "MERGE", "SET", "DELETE", "DETACH", "REMOVE", "DROP", "FOREACH", "LOAD", "CALL", "USE",
    "ALTER", "GRANT", "DENY", "REVOKE", "START", "STOP", "SHOW", "TERMINATE", "FINISH", "INSERT",
})
_TOKEN = re.compile(r"""
      (?P<ws>\s+)
    | (?P<line_comment>//[^\n]*)
    | (?P<block_comment>/\*.*?\*/)
    | (?P<open_comment>/\*)
    | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
    | (?P<open_string>['"])
    | (?P<quoted>`(?:[^`]|``)*`)
    | (?P<open_quoted>`)
    | (?P<param>\$(?:[A-Za-z_][A-Za-z0-9_]*|`(?:[^`]|``)*`|\d+))
    | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
    | (?P<other>.)
""", re.VERBOSE | re.DOTALL)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str


def tokens(query: str) -> list[Token]:
    """The query's tokens (comments and white space dropped). Raises ValidationFailed on an
    unterminated string, name or comment."""
    found: list[Token] = []
    for match in _TOKEN.finditer(query):
        kind = match.lastgroup or "other"
        if kind in ("ws", "line_comment", "block_comment"):
            continue
        if kind.startswith("open_"):
            what = {"open_comment": "comment (/* without */)", "open_string": "string",
                    "open_quoted": "`name`"}[kind]
            raise ValidationFailed(f"the query has an unterminated {what} at character {match.start()}")
        found.append(Token(kind, match.group()))
    return found


def admit(query: str) -> str:
    """Return the query if it may run; raise ValidationFailed saying what to change."""
    text = query.strip()
    if not text:
        raise ValidationFailed("query is empty")
    if len(text) > MAX_QUERY_CHARS:
        raise ValidationFailed(f"query is {len(text)} characters; the limit is {MAX_QUERY_CHARS}")
    if "\x00" in text:
        raise ValidationFailed("the query contains a NUL character")
    found = tokens(text)
    if any(t.kind == "string" for t in found):
        raise ValidationFailed("pass values as parameters ($name with \"parameters\": {...}), not as quoted "
                               "literals in the query")
    refused = sorted({t.text.upper() for t in found if t.kind == "word"} & _FORBIDDEN)
    if refused:
        raise ValidationFailed(f"only read queries are allowed (no writes, procedure calls or LOAD CSV); "
                               f"remove {', '.join(refused)}")
    if any(t.kind == "other" and t.text == ";" for t in found[:-1]):
        raise ValidationFailed("send one statement per request (no ';' between statements)")
    return text


READ_OPERATORS = frozenset(name.casefold() for name in (
    # FalkorDB (GRAPH.EXPLAIN)
    "Results", "Project", "Aggregate", "Sort", "Skip", "Limit", "Distinct", "Filter", "Optional",
    "All Node Scan", "Node By Label Scan", "Node By Index Scan", "Node By Id Seek", "Node By Label and ID Scan",
    "Edge By Index Scan", "Conditional Traverse", "Conditional Variable Length Traverse", "Expand Into",
    "Apply", "Semi Apply", "Anti Semi Apply", "Or Apply Multiplexer", "And Apply Multiplexer", "Argument",
    "Argument List", "Cartesian Product", "Unwind", "Value Hash Join", "Union", "Join", "Cond Var Len Traverse",
    "Path Filter",
    # Neo4j (EXPLAIN; the plan's operatorType without the "@database" suffix)
    "ProduceResults", "Projection", "EagerAggregation", "OrderedAggregation", "Top", "PartialSort",
    "PartialTop", "AllNodesScan", "NodeByLabelScan", "NodeIndexSeek", "NodeUniqueIndexSeek",
    "NodeIndexScan", "NodeIndexContainsScan", "NodeIndexEndsWithScan", "NodeByIdSeek", "NodeByElementIdSeek",
    "DirectedRelationshipTypeScan", "UndirectedRelationshipTypeScan", "DirectedRelationshipIndexSeek",
    "UndirectedRelationshipIndexSeek", "DirectedRelationshipIndexScan", "UndirectedRelationshipIndexScan",
    "Expand(All)", "Expand(Into)", "OptionalExpand(All)", "OptionalExpand(Into)", "VarLengthExpand(All)",
    "VarLengthExpand(Into)", "VarLengthExpand(Pruning)", "BFSPruningVarLengthExpand(All)",
    "ShortestPath", "StatefulShortestPath(All)", "StatefulShortestPath(Into)", "Selection", "CartesianProduct",
    "NodeHashJoin", "ValueHashJoin", "Apply", "SemiApply", "AntiSemiApply", "SelectOrSemiApply",
    "SelectOrAntiSemiApply", "LetSemiApply", "LetAntiSemiApply", "RollUpApply", "ConditionalApply",
    "AntiConditionalApply", "Argument", "Optional", "Unwind", "UnionAll", "Union", "OrderedUnion",
    "Eager", "CacheProperties", "NodeCountFromCountStore", "RelationshipCountFromCountStore",
    "AssertSameNode", "EmptyResult", "ProjectEndpoints", "Anti", "PartitionedAllNodesScan",
))


def check_plan(operators: Iterable[str]) -> None:
    """Refuse a planned query any of whose operators is not a read operator (the planner's view
    of a procedure call, LOAD CSV or a write), naming them."""
    names = {op.split("|", 1)[0].split("@", 1)[0].strip() for op in operators}
    refused = sorted(n for n in names if n and n.casefold() not in READ_OPERATORS)
    if refused:
        raise ValidationFailed(f"the database plans this query with {', '.join(refused)}, which the read-only "
                               "Cypher endpoint does not run (only reads over the collection's graph)")

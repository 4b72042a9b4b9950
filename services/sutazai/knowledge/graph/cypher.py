"""The Cypher both graph backends run. Kept to the dialect FalkorDB and Neo4j share: one
relationship type (REL) with the relation name as a property, epoch-second times, explicit
`collection` on every node and edge, variable-length paths filtered with all(). Backend
differences (index DDL, graph selection, read-only execution, timeouts) live in each backend."""

from __future__ import annotations

VALID_AT = "(r.valid_from <= $as_of AND (r.valid_to IS NULL OR r.valid_to > $as_of))"
ENTITY_FIELDS = "e.id AS id, e.name AS name, e.type AS type, e.aliases AS aliases"
FACT_FIELDS = (
    "r.id AS id, a.id AS source_id, r.relation AS relation, b.id AS target_id, r.document_id AS document_id, "
    "r.chunk_id AS chunk_id, r.version AS version, r.model AS model, r.extracted_at AS extracted_at, "
    "r.valid_from AS valid_from, r.valid_to AS valid_to"
)

UPSERT_ENTITY = """
MERGE (e:Entity {id: $id})
SET e.collection = $collection, e.name = $name, e.type = $type, e.aliases = $aliases
"""

UPSERT_FACT = """
MATCH (a:Entity {id: $source_id, collection: $collection}), (b:Entity {id: $target_id, collection: $collection})
MERGE (a)-[r:REL {id: $id}]->(b)
SET r.collection = $collection, r.relation = $relation, r.document_id = $document_id, r.chunk_id = $chunk_id,
    r.version = $version, r.model = $model, r.extracted_at = $extracted_at, r.valid_from = $valid_from,
    r.valid_to = $valid_to
"""

CLOSE_FACTS = """
MATCH (:Entity {collection: $collection})-[r:REL {document_id: $document_id}]->(:Entity)
WHERE r.version < $before_version AND r.valid_to IS NULL
SET r.valid_to = $at
RETURN count(r) AS closed
"""

DELETE_DOCUMENT_FACTS = """
MATCH (:Entity {collection: $collection})-[r:REL {document_id: $document_id}]->(:Entity)
DELETE r
"""

DELETE_ORPHANS = """
MATCH (e:Entity {collection: $collection})
OPTIONAL MATCH (e)-[r:REL]-()
WITH e, count(r) AS degree
WHERE degree = 0
DELETE e
"""

ALL_ENTITIES = f"""
MATCH (e:Entity {{collection: $collection}}) WHERE e.id > $after
RETURN {ENTITY_FIELDS} ORDER BY e.id LIMIT $limit
"""

ALL_FACTS = f"""
MATCH (a:Entity {{collection: $collection}})-[r:REL]->(b:Entity {{collection: $collection}}) WHERE r.id > $after
RETURN {FACT_FIELDS} ORDER BY r.id LIMIT $limit
"""

GET_ENTITIES = f"""
MATCH (e:Entity {{collection: $collection}}) WHERE e.id IN $ids
RETURN {ENTITY_FIELDS}
"""

FACTS_OF = f"""
MATCH (a:Entity {{collection: $collection}})-[r:REL]->(b:Entity {{collection: $collection}})
WHERE (a.id = $id OR b.id = $id) AND ($as_of IS NULL OR {VALID_AT})
RETURN {FACT_FIELDS}
ORDER BY r.valid_from DESC LIMIT 200
"""

FACTS_BY_ID = f"""
MATCH (a:Entity {{collection: $collection}})-[r:REL]->(b:Entity {{collection: $collection}})
WHERE r.id IN $ids
RETURN {FACT_FIELDS}
"""


def neighbourhood(hops: int) -> str:
    """Paths of up to `hops` edges from an entity, each edge valid at $as_of and, when given,
    of one of $relations. `hops` is validated by the caller (a pattern bound cannot be a parameter)."""
    return f"""
MATCH p = (s:Entity {{id: $id, collection: $collection}})-[:REL*1..{int(hops)}]-(:Entity)
WHERE all(r IN relationships(p) WHERE ($as_of IS NULL OR {VALID_AT})
          AND (size($relations) = 0 OR r.relation IN $relations))
RETURN [n IN nodes(p) | n.id] AS node_ids, [r IN relationships(p) | r.id] AS fact_ids
LIMIT 500
"""


def paths(max_hops: int) -> str:
    return f"""
MATCH p = (s:Entity {{id: $source, collection: $collection}})-[:REL*1..{int(max_hops)}]-(t:Entity {{id: $target}})
WHERE all(r IN relationships(p) WHERE $as_of IS NULL OR {VALID_AT})
RETURN [n IN nodes(p) | n.id] AS node_ids, [r IN relationships(p) | r.id] AS fact_ids, length(p) AS hops
ORDER BY hops LIMIT $limit
"""

"""The knowledge graph: one GraphStore interface, FalkorDB (embedded) and Neo4j 5 (Compose)."""

"""Knowledge service (prefix /api/knowledge): Documents, ingestion jobs, chunks, search index and the knowledge graph."""

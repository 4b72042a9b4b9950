"""Knowledge service (prefix /api/knowledge): documents, ingestion jobs, chunks, search index
and the knowledge graph."""

"""The search index: one interface, PostgreSQL (embedded) and Elasticsearch 8 (Compose)."""

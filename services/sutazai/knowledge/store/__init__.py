"""All SQL of the knowledge service, by table family: `documents` (with blobs and texts),
`jobs`, `chunks` and `entities`. Every function takes keyword-only arguments and the connection
to run on, so a caller decides the transaction. (The PostgreSQL search backend keeps its own
queries in `knowledge/search/postgres.py`, beside the Elasticsearch one.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from psycopg import AsyncConnection

SCHEMA = "knowledge"
MIGRATIONS = Path(__file__).parent.parent / "migrations"
Conn = AsyncConnection[dict[str, Any]]
Row = dict[str, Any]

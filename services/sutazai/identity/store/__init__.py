"""All SQL of the identity service: API keys (`keys`) and the audit log (`audit`). Every
function takes keyword-only arguments and the connection to run on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from psycopg import AsyncConnection

SCHEMA = "identity"
MIGRATIONS = Path(__file__).parent.parent / "migrations"
Conn = AsyncConnection[dict[str, Any]]

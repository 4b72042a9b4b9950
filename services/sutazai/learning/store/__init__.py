"""All SQL of the learning service (today: feedback on answers). Every function takes
keyword-only arguments and the connection to run on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from psycopg import AsyncConnection

SCHEMA = "learning"
MIGRATIONS = Path(__file__).parent.parent / "migrations"
Conn = AsyncConnection[dict[str, Any]]

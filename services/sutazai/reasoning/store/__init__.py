"""All SQL of the reasoning service: `traces` (with their steps) and model `routes`. Every
function takes keyword-only arguments and the connection to run on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from psycopg import AsyncConnection

SCHEMA = "reasoning"
MIGRATIONS = Path(__file__).parent.parent / "migrations"
Conn = AsyncConnection[dict[str, Any]]
